"""What a model sends, taken as it meant it or refused in plain words, before a tool runs.

``ToolArguments`` is the SDK's ``Tool`` with one more step in front of the SDK's own validation:

- an enum value given in another case or with other separators (``openai``, ``open-ai``) becomes the one
  allowed value it stands for (``OPEN_AI``), wherever the input schema has an enum (nested objects and lists too);
- an argument the tool does not have is refused, naming the tool's arguments (otherwise the SDK drops it
  silently, and ``override_evaluations=true`` would do nothing without a word);
- a value the arguments model refuses gives one plain sentence per bad field (``errors.plain_validation``), not
  pydantic's report with its links;
- a tool's error reads as what went wrong, without the SDK's "Error executing tool <name>: " in front.
"""

from __future__ import annotations

import re
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from pydantic import ValidationError

from .errors import plain_validation

__all__ = ["ToolArguments", "loosen_enums"]


def _key(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.casefold())


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = defs.get(ref.removeprefix("#/$defs/"))
        if isinstance(target, dict):
            return target
    return schema


def loosen_enums(value: Any, schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """``value`` with every string that a schema enum spells otherwise replaced by the enum's own spelling.

    A string matches an allowed value when both agree once case and everything but letters and digits are
    dropped, and no other allowed value agrees too. Anything else is left for validation to judge.
    """
    defs = schema.get("$defs", {}) if defs is None else defs
    schema = _resolve(schema, defs)
    for option in schema.get("anyOf", []):
        if isinstance(option, dict):
            value = loosen_enums(value, option, defs)
    allowed = schema.get("enum")
    if isinstance(value, str) and isinstance(allowed, list) and value not in allowed:
        matches = [a for a in allowed if isinstance(a, str) and _key(a) == _key(value)]
        if len(matches) == 1:
            return matches[0]
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        properties: dict[str, Any] = schema["properties"]
        return {k: loosen_enums(v, properties[k], defs) if k in properties else v for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [loosen_enums(item, schema["items"], defs) for item in value]
    return value


class ToolArguments(Tool):
    """A ``Tool`` that loosens enum spellings, refuses unknown arguments and explains bad values plainly."""

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        known = {field.alias or name for name, field in self.fn_metadata.arg_model.model_fields.items()}
        unknown = sorted(set(arguments) - known)
        if unknown:
            names = ", ".join(unknown)
            raise ToolError(
                f"{names}: not {'an argument' if len(unknown) == 1 else 'arguments'} of {self.name}; "
                f"its arguments are {', '.join(sorted(known))}"
            )
        arguments = loosen_enums(arguments, self.parameters)
        try:
            self.fn_metadata.validate_arguments(arguments)
        except ValidationError as exc:
            raise ToolError(plain_validation(exc)) from None
        try:
            return await super().run(arguments, context, convert_result)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            # The SDK prefixes every message with "Error executing tool <name>: ": the model knows which tool it
            # called, so the message starts with what went wrong.
            prefix = f"Error executing tool {self.name}: "
            text = str(exc)
            if not text.startswith(prefix):
                raise
            raise ToolError(text.removeprefix(prefix)) from exc.__cause__
