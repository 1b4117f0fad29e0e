"""What the judge tools share: loading a judge with its configuration, and the arguments that name one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ...models.evaluators import EvaluatorWithVersion, TemplateConfig
from ..state import AppState

__all__ = ["ColumnMappingsArg", "VersionIdArg", "request_fields", "template_judge"]

VersionIdArg = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=512,
        description="A version ID of the judge (update_judge returns them); omit for the latest version.",
    ),
]
ColumnMappingsArg = Annotated[
    dict[str, str] | None,
    Field(
        description=(
            "Where each template variable gets its value: {variable: path}. On spans a path is an attribute "
            "path ('attributes.input.value', 'attributes.llm.output_messages.0.message.content') or a fixed "
            "column ('name', 'status_code'); on dataset examples it is a column ('question', 'reference'). A "
            "variable without an entry is read from the path of its own name."
        )
    ),
]


async def template_judge(
    state: AppState, judge: str, version_id: str | None, space: str | None
) -> tuple[EvaluatorWithVersion, TemplateConfig]:
    """The judge (an LLM-as-judge evaluator) with its version (latest unless ``version_id``) and configuration.

    Raises:
        ToolError: the evaluator is a code or remote evaluator, or its version carries no prompt.
    """
    found = await state.client.evaluators.get(judge, version_id=version_id, space=space)
    version = found.version
    if found.type != "TEMPLATE":
        raise ToolError(
            f"judge: '{found.name}' is a {found.type} evaluator, not an LLM judge; this tool works on judges made "
            "with create_judge (find(kind='evaluator') lists the evaluators)"
        )
    config = version.template_config if version is not None else None
    if version is None or config is None or not config.template:
        raise ToolError(f"judge: '{found.name}' has no version with a prompt; create one with update_judge")
    return found, config


def request_fields(values: Mapping[str, Any] | None, model: type[BaseModel]) -> dict[str, Any]:
    """The stored parameters a request model accepts (responses may carry response-only fields)."""
    return {key: value for key, value in (values or {}).items() if key in model.model_fields and value is not None}
