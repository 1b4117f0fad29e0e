"""Typed documents: the JSON bodies of stored objects, as pydantic models.

``document(obj, TaskDoc)`` parses an object's body once; code then reads fields by attribute, so the type checker
catches a renamed field. ``doc.to_body()`` is the JSON to store again (``update_object(conn, obj, now=…,
body=doc.to_body())``).

The stored JSON does not change: every model allows extra keys (old bodies, and keys this module does not name,
load and are written back as they were), and ``to_body`` dumps only the fields that are *set* — present in the
body that was loaded, passed to the constructor, or assigned since. A key absent today stays absent, a key stored
as ``null`` stays ``null``. ``unset`` removes a key, for the few places that delete one. Numbers keep their JSON
type (``int | float``), so ``1`` is not rewritten as ``1.0``.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AnnotationConfigDoc",
    "AnnotationQueueDoc",
    "CodeConfigDoc",
    "Document",
    "EvaluationRunParameters",
    "EvaluatorDoc",
    "EvaluatorVersionDoc",
    "ExperimentDoc",
    "ExperimentRunParameters",
    "IntegrationDoc",
    "IntegrationScopingDoc",
    "LlmConfigDoc",
    "OrganizationDoc",
    "ProjectDoc",
    "PromptDoc",
    "PromptVersionDoc",
    "QueryFilterDoc",
    "QueryFiltersDoc",
    "RunConfigurationDoc",
    "SpaceDoc",
    "TagDoc",
    "TaskDoc",
    "TaskEvaluatorDoc",
    "TaskRunDoc",
    "TemplateConfigDoc",
]

Number = int | float

D = TypeVar("D", bound="Document")


class Document(BaseModel):
    """Base of every stored document: unknown keys are kept, and only set fields are written back."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    @classmethod
    def load(cls, body: dict[str, Any]) -> Self:
        """Parse a stored body."""
        return cls.model_validate(body)

    def to_body(self) -> dict[str, Any]:
        """The JSON object to store: set fields and extra keys, as loaded or assigned."""
        return self.model_dump(mode="json", exclude_unset=True)

    def unset(self, name: str) -> None:
        """Drop a field from the stored body (it reads as its default until set again)."""
        field = type(self).model_fields[name]
        setattr(self, name, field.get_default(call_default_factory=True))
        self.model_fields_set.discard(name)

    def copy_sent(self, body: BaseModel, *names: str) -> None:
        """Set each named field to the value a PATCH ``body`` sent for it (``null`` included); skip those not sent.

        Each name must be a field of both models, checked on every call, so a renamed field fails in the first
        test that sends it rather than being skipped silently.
        """
        for name in names:
            if name not in type(self).model_fields or name not in type(body).model_fields:
                raise TypeError(f"{name!r} is not a field of both {type(self).__name__} and {type(body).__name__}")
            if name in body.model_fields_set:
                setattr(self, name, getattr(body, name))

    def extra(self, key: str) -> Any:
        """The value of a key this model does not name, or ``None``."""
        return (self.model_extra or {}).get(key)


# --- tasks -----------------------------------------------------------------------------------------------------


class QueryFilterDoc(Document):
    """One named query of a task's ``query_filters``."""

    id: str
    filter: str


class QueryFiltersDoc(Document):
    """A task's named queries and the expression combining them."""

    filters: list[QueryFilterDoc] = Field(default_factory=list)
    expression: str | None = None


class TaskEvaluatorDoc(Document):
    """One entry of a task's ``evaluators``: the evaluator (and pinned version) and how it reads the data."""

    evaluator_id: str
    evaluator_num: int
    evaluator_version_id: str | None = None
    evaluator_version_num: int | None = None
    query_filter: str | None = None
    column_mappings: dict[str, Any] | None = None
    query_mappings: list[dict[str, Any]] | None = None


class RunConfigurationDoc(Document):
    """A RUN_EXPERIMENT task's ``run_configuration`` (LLM_GENERATION, TEMPLATE_EVALUATION or AGENT_CALL)."""

    experiment_type: str | None = None
    ai_integration_id: str | None = None
    model_name: str | None = None
    provider_parameters: dict[str, Any] | None = None
    invocation_parameters: dict[str, Any] | None = None
    evaluator_version_id: str | None = None
    messages: list[dict[str, Any]] | None = None
    input_variable_format: str | None = None
    tool_config: Any = None
    template: str | None = None
    column_mapping: dict[str, Any] | None = None
    classification_choices: dict[str, Any] | None = None
    provide_explanation: bool | None = None


class TaskDoc(Document):
    """A ``Task`` object's document (see ``store.tasks``)."""

    type: str
    project_id: str | None = None
    project_num: int | None = None
    dataset_id: str | None = None
    dataset_num: int | None = None
    sampling_rate: Number | None = None
    is_continuous: bool | None = None
    query_filter: str | None = None
    query_filters: QueryFiltersDoc | None = None
    data_granularity: str | None = None
    evaluators: list[TaskEvaluatorDoc] | None = None
    experiment_ids: list[str] | None = None
    experiment_nums: list[int] | None = None
    run_configuration: RunConfigurationDoc | None = None
    last_run_at: str | None = None
    created_by_user_id: str | None = None
    continuous_cursor: str | None = None
    """The ``received_at`` time from which the next continuous run takes newly received spans (continuous only)."""


# --- experiments -----------------------------------------------------------------------------------------------


class ExperimentDoc(Document):
    """An ``Experiment`` object's document (the fields the runner reads; the experiment routes write more)."""

    dataset_id: str | None = None
    dataset_version_id: str | None = None
    task_run_id: str | None = None
    """Set on an experiment a RUN_EXPERIMENT run created."""


# --- task runs -------------------------------------------------------------------------------------------------


class EvaluationRunParameters(Document):
    """The ``parameters`` of a run of an evaluation task (triggered, continuous or chained)."""

    max_spans: int | None = None
    override_evaluations: bool | None = None
    experiment_ids: list[str] | None = None
    experiment_nums: list[int] | None = None
    continuous: bool | None = None
    """Set on the runs a continuous task's tick creates."""
    received_from: str | None = None
    received_to: str | None = None


class ExperimentRunParameters(Document):
    """The ``parameters`` of a run of a RUN_EXPERIMENT task."""

    experiment_name: str | None = None
    dataset_num: int | None = None
    dataset_version_id: str | None = None
    dataset_version_num: int | None = None
    example_ids: list[str] | None = None
    max_examples: int | None = None
    query_filter: str | None = None
    tracing_metadata: dict[str, Any] | None = None
    evaluation_task_ids: list[str] | None = None
    evaluation_task_nums: list[int] | None = None


class TaskRunDoc(Document):
    """A ``TaskRun`` object's document. ``parameters`` is kept as stored; read it with ``evaluation_parameters``
    or ``experiment_parameters`` according to ``task_type``."""

    task_id: str | None = None
    task_type: str | None = None
    status: str
    experiment_id: str | None = None
    experiment_num: int | None = None
    run_started_at: str | None = None
    run_finished_at: str | None = None
    data_start_time: str | None = None
    data_end_time: str | None = None
    num_successes: int = 0
    num_errors: int = 0
    num_skipped: int = 0
    failure_reason: str | None = None
    created_by_user_id: str | None = None
    parameters: dict[str, Any] | None = None
    resumed: bool | None = None
    """Set when an engine restart found the run RUNNING and queued it again."""
    notes: list[str] | None = None
    errors_sample: list[dict[str, Any]] | None = None

    def evaluation_parameters(self) -> EvaluationRunParameters:
        """``parameters`` of an evaluation task's run."""
        return EvaluationRunParameters.load(self.parameters or {})

    def experiment_parameters(self) -> ExperimentRunParameters:
        """``parameters`` of a RUN_EXPERIMENT task's run."""
        return ExperimentRunParameters.load(self.parameters or {})


# --- evaluators ------------------------------------------------------------------------------------------------


class EvaluatorDoc(Document):
    """An ``Evaluator`` object's document."""

    type: str
    description: str | None = None
    created_by_user_id: str | None = None


class LlmConfigDoc(Document):
    """The ``llm_config`` of a template configuration."""

    ai_integration_id: str | None = None
    model_name: str | None = None
    invocation_parameters: dict[str, Any] | None = None
    provider_parameters: dict[str, Any] | None = None


class TemplateConfigDoc(Document):
    """A TEMPLATE version's ``template_config`` (an LLM judge)."""

    name: str
    template: str
    llm_config: LlmConfigDoc | None = None
    classification_choices: dict[str, Number] | None = None
    include_explanations: bool | None = None
    use_function_calling: bool | None = None
    use_structured_output: bool | None = None
    direction: str | None = None
    data_granularity: str | None = None


class CodeConfigDoc(Document):
    """A CODE version's ``code_config`` (MANAGED or CUSTOM; a CUSTOM one's ``code`` and ``imports`` are extra
    keys, since the local engine never runs them)."""

    type: str | None = None
    name: str | None = None
    managed_evaluator: str | None = None
    variables: list[str] | None = None
    static_params: list[dict[str, Any]] | None = None
    query_filter: str | None = None
    data_granularity: str | None = None


class EvaluatorVersionDoc(Document):
    """An ``EvaluatorVersion`` object's document: one of its configurations, by ``type``."""

    type: str
    commit_hash: str | None = None
    commit_message: str | None = None
    created_by_user_id: str | None = None
    template_config: TemplateConfigDoc | None = None
    code_config: CodeConfigDoc | None = None
    remote_config: dict[str, Any] | None = None
    ai_integration_num: int | None = None

    def data_granularity(self) -> str:
        """The granularity its configuration works on (``SPAN`` when none is given)."""
        config = self.template_config or self.code_config
        given = config.data_granularity if config is not None else (self.remote_config or {}).get("data_granularity")
        return str(given or "SPAN").upper()


# --- AI integrations -------------------------------------------------------------------------------------------


class IntegrationScopingDoc(Document):
    """Where an integration may be used: an organization and optionally one space of it (both absent = all)."""

    organization_num: int | None = None
    space_num: int | None = None


class IntegrationDoc(Document):
    """An ``LlmIntegration`` object's document (the API key lives elsewhere, see ``store.integrations``)."""

    provider: str
    base_url: str | None = None
    model_names: list[str] | None = None
    headers: dict[str, str] | None = None
    enable_default_models: bool | None = False
    function_calling_enabled: bool | None = True
    auth_type: str | None = "DEFAULT"
    provider_metadata: dict[str, Any] | None = None
    scopings: list[IntegrationScopingDoc] | None = None
    created_by_user_id: str | None = None


# --- organizations, spaces, projects ---------------------------------------------------------------------------


class OrganizationDoc(Document):
    """An ``Organization`` object's document (one stored without a description reads as ``""``, as on AX)."""

    description: str | None = ""


class SpaceDoc(Document):
    """A ``Space`` object's document. ``default_llm_integration`` and ``default_agent_runtime`` are stored as the
    JSON of their request models."""

    description: str | None = None
    is_private: bool | None = False
    default_llm_integration: dict[str, Any] | None = None
    ml_models_enabled: bool | None = False
    gradient_start_color: str | None = None
    gradient_end_color: str | None = None
    default_agent_runtime: dict[str, Any] | None = None


class ProjectDoc(Document):
    """A project's (kind ``Model``) document."""

    project_type: str | None = None


# --- annotation configs ----------------------------------------------------------------------------------------


class AnnotationConfigDoc(Document):
    """An ``AnnotationConfig`` object's document: ``type`` and, by type, ``values`` (CATEGORICAL),
    ``minimum_score``/``maximum_score`` (CONTINUOUS) and ``optimization_direction`` (both)."""

    type: str
    values: list[dict[str, Any]] | None = None
    """Each ``{"label": …, "score": …}``, as the request gave it."""
    minimum_score: Number | None = None
    maximum_score: Number | None = None
    optimization_direction: str | None = None


# --- annotation queues ---------------------------------------------------------------------------------------------


class AnnotationQueueDoc(Document):
    """An ``AnnotationQueue`` object's document: what its people label with, who they are, and how records are
    assigned to them. Records live in ``annotation_queue_records``."""

    instructions: str | None = None
    annotation_config_nums: list[int] = Field(default_factory=list)
    annotator_emails: list[str] = Field(default_factory=list)
    """Lower-cased, in the order given."""
    assignment_method: str = "ALL"
    column_allowlist: list[str] | None = None


# --- prompts and tags ------------------------------------------------------------------------------------------


class PromptDoc(Document):
    """A ``Prompt`` object's document. ``labels`` maps each label name to the number of the one version it names
    (so a label can never name two versions); ``tag_nums`` are the numbers of the attached ``Tag`` objects."""

    description: str | None = None
    created_by_user_id: str | None = None
    labels: dict[str, int] | None = None
    tag_nums: list[int] | None = None

    def labels_of(self, version_num: int) -> list[str]:
        """The labels naming this version, sorted."""
        return sorted(name for name, num in (self.labels or {}).items() if num == version_num)


class PromptVersionDoc(Document):
    """A ``PromptVersion`` object's document: the version as created (request form, defaults filled in), plus its
    commit hash. ``invocation_params`` and ``provider_params`` hold only the parameters that were given."""

    commit_hash: str | None = None
    commit_message: str | None = None
    input_variable_format: str | None = None
    provider: str | None = None
    model: str | None = None
    messages: list[dict[str, Any]] | None = None
    invocation_params: dict[str, Any] | None = None
    provider_params: dict[str, Any] | None = None
    created_by_user_id: str | None = None


class TagDoc(Document):
    """A ``Tag`` object's document (its name is the object's name)."""

    description: str | None = None
    color: str | None = None
