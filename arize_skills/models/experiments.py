"""Experiments and their runs (``/v2/experiments``).

A run is ``{example_id, output, …extra fields}``. Evaluation results travel as flat extra keys
``eval.<name>.score`` / ``.label`` / ``.explanation`` / ``.metadata.<key>`` (``parse_eval_key`` reads them); any
other extra key (``model``, ``latency``, ``eval.<name>.trace.id``, …) is a custom run column.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, ConfigDict, Field, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from ._base import Name, Pagination, RequestModel, ResponseModel, Timestamp
from .annotations import AnnotateRecordInput, Annotation

__all__ = [
    "MAX_RUNS_PER_REQUEST",
    "AnnotateExperimentRunsRequest",
    "AppendExperimentRunsRequest",
    "CreateExperimentRequest",
    "EvalKey",
    "Experiment",
    "ExperimentList",
    "ExperimentRun",
    "ExperimentRunInput",
    "ExperimentRunList",
    "ExperimentWithRunIds",
    "SearchExperimentRunsRequest",
    "parse_eval_key",
]

MAX_RUNS_PER_REQUEST = 1000
"""AX's cap on runs (and annotation records) in one request; the client chunks above it."""

RESERVED_RUN_KEYS = ("id", "annotations")

_EVAL_METADATA = re.compile(r"^eval\.(?P<name>.+?)\.metadata\.(?P<key>.+)$")
_EVAL_FIELD = re.compile(r"^eval\.(?P<name>.+)\.(?P<field>score|label|explanation)$")


class EvalKey(NamedTuple):
    """A parsed ``eval.<name>.<field>`` key; ``metadata_key`` is set for ``eval.<name>.metadata.<key>``."""

    name: str
    field: Literal["score", "label", "explanation", "metadata"]
    metadata_key: str | None = None


@lru_cache(maxsize=4096)
def parse_eval_key(key: str) -> EvalKey | None:
    """The evaluation-result key ``key`` names, or ``None`` when it is an ordinary run column."""
    # Cached: an upload asks about the same few column names for every run.
    if not key.startswith("eval."):
        return None
    match = _EVAL_METADATA.match(key)
    if match:
        return EvalKey(match["name"], "metadata", match["key"])
    match = _EVAL_FIELD.match(key)
    if match:
        field: Literal["score", "label", "explanation"] = match["field"]  # type: ignore[assignment]
        return EvalKey(match["name"], field)
    return None


def _check_experiment_name(value: str) -> str:
    if '"' in value or "\\" in value:
        raise PydanticCustomError("experiment_name", 'must not contain double quotes (") or backslashes (\\)')
    if not value.strip():
        raise PydanticCustomError("blank_name", "must not be empty or only whitespace")
    return value


ExperimentName = Annotated[Name, AfterValidator(_check_experiment_name)]


class ExperimentRunInput(RequestModel):
    """One run to upload: ``output`` must be a string (JSON-encode structured outputs); extra keys are kept."""

    model_config = ConfigDict(extra="allow")

    example_id: StrictStr | None = None
    output: StrictStr
    error: StrictStr | None = None

    @model_validator(mode="after")
    def _check_extra_keys(self) -> ExperimentRunInput:
        for key, value in (self.model_extra or {}).items():
            if key in RESERVED_RUN_KEYS:
                raise PydanticCustomError(
                    "reserved_key",
                    "'{key}' is assigned by the server and must not be sent (rename the column)",
                    {"key": key},
                )
            parsed = parse_eval_key(key)
            if parsed is None or value is None:
                continue
            if parsed.field == "score" and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise PydanticCustomError(
                    "eval_score", "'{key}' must be a number or null, got {value!r}", {"key": key, "value": value}
                )
            if parsed.field in ("label", "explanation") and not isinstance(value, str):
                raise PydanticCustomError(
                    "eval_text", "'{key}' must be a string or null, got {value!r}", {"key": key, "value": value}
                )
        return self


class CreateExperimentRequest(RequestModel):
    """``POST /v2/experiments``: exactly one of ``dataset_id`` (dataset experiment) or ``space_id`` (standalone)."""

    name: ExperimentName
    dataset_id: str | None = None
    space_id: str | None = None
    experiment_runs: list[ExperimentRunInput] = Field(min_length=1, max_length=MAX_RUNS_PER_REQUEST)

    @model_validator(mode="after")
    def _one_owner(self) -> CreateExperimentRequest:
        if (self.dataset_id is None) == (self.space_id is None):
            raise PydanticCustomError(
                "experiment_owner",
                "send exactly one of dataset_id (an experiment on a dataset) or space_id (a standalone experiment)",
            )
        return self


class AppendExperimentRunsRequest(RequestModel):
    """``POST /v2/experiments/{id}/runs``."""

    experiment_runs: list[ExperimentRunInput] = Field(min_length=1, max_length=MAX_RUNS_PER_REQUEST)


class SearchExperimentRunsRequest(RequestModel):
    """``POST /v2/experiments/{id}/runs/search``: paging lives in the body on this endpoint."""

    filter: str | None = None
    limit: int | None = Field(default=None, ge=1, le=500, strict=True)
    cursor: str | None = None


class AnnotateExperimentRunsRequest(RequestModel):
    """``POST /v2/experiments/{id}/runs/annotate``: ``record_id`` is the run ID."""

    annotations: list[AnnotateRecordInput] = Field(min_length=1, max_length=MAX_RUNS_PER_REQUEST)


class Experiment(ResponseModel):
    """An experiment: a named set of runs, on a dataset (version) or standalone in a space."""

    id: str
    name: str
    space_id: str
    dataset_id: str | None = None
    dataset_version_id: str | None = None
    created_at: Timestamp
    updated_at: Timestamp
    experiment_traces_project_id: str | None = None
    integration_id: str | None = None


class ExperimentWithRunIds(Experiment):
    """The experiment and the IDs of the runs just written, in input order."""

    run_ids: list[str]


class ExperimentList(ResponseModel):
    """``GET /v2/experiments``."""

    experiments: list[Experiment]
    pagination: Pagination


class ExperimentRun(ResponseModel):
    """A run: system fields plus custom columns and ``eval.<name>.*`` results as additional properties."""

    id: str
    example_id: str | None = None
    output: str | None = None
    error: str | None = None
    annotations: list[Annotation] = Field(default_factory=list)

    @property
    def fields(self) -> dict[str, Any]:
        """The run's custom columns and ``eval.<name>.*`` keys."""
        return dict(self.model_extra or {})

    def evaluation(self, name: str) -> dict[str, Any]:
        """This run's ``eval.<name>.*`` values: ``{"score", "label", "explanation", "metadata"}`` (absent: None)."""
        result: dict[str, Any] = {"score": None, "label": None, "explanation": None, "metadata": {}}
        for key, value in self.fields.items():
            parsed = parse_eval_key(key)
            if parsed is None or parsed.name != name:
                continue
            if parsed.metadata_key is not None:
                result["metadata"][parsed.metadata_key] = value
            else:
                result[parsed.field] = value
        return result


class ExperimentRunList(ResponseModel):
    """``GET /v2/experiments/{id}/runs`` and ``POST …/runs/search``."""

    experiment_runs: list[ExperimentRun]
    pagination: Pagination
