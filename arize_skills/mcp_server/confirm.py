"""Confirmation of destructive actions, in both protocol eras (MCP_PLATFORM §1.9).

A destructive tool takes a ``confirm: Confirm = False`` argument and a parameter filled by a resolver::

    async def _delete_question(task: str, ctx: ToolContext) -> str:
        found = await app_state(ctx).client.tasks.get(task)
        return f"Delete task '{found.name}' (id {found.id}) and its runs? This cannot be undone."

    ConfirmDelete = Annotated[Confirmed, confirmation(_delete_question)]

    @tool_errors
    async def delete_task(task: TaskRef, confirmed: ConfirmDelete, ctx: ToolContext, confirm: Confirm = False)
        -> DeleteTaskResult: ...

Before the tool body runs, the resolver decides:

1. ``confirm=true`` → confirmed (the agent asked the user itself);
2. else, when the client can show a form (it declared elicitation, and the connection can carry the question) →
   the user is asked the question as a yes/no form; yes → confirmed; no, a dismissal, or an unticked box → a
   ``ToolError`` saying nothing was changed;
3. else → a ``ToolError``: "Confirmation required: <question> Ask the user, then call again with confirm=true."

The question function takes tool arguments by name (and optionally the ``ctx``); it may look things up (errors
of our tree become actionable ``ToolError``s) but must render the same text every time it is asked, since the
modern era re-runs it when the answer comes back and matches the answer to the exact question.

A tool that needs the user's yes only sometimes (a backfill that would overwrite uploaded scores, labels written
over other labels) plans first and asks only when its plan has a question: ``approval(Resolve(plan_it))`` resolves
to an ``Approval`` (``how=None`` when nothing needed asking), sharing the plan with the tool's own parameter.
"""

# No ``from __future__ import annotations`` here: the resolvers below get their annotations as real objects
# (they close over the question function), and the SDK reads them with ``typing.get_type_hints``.

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NoReturn, Protocol

from mcp.server.mcpserver import (
    AcceptedElicitation,
    CancelledElicitation,
    Context,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field

from .errors import tool_errors

__all__ = ["Approval", "Confirmation", "Confirmed", "Questioned", "approval", "client_can_elicit", "confirmation"]


class Confirmation(BaseModel):
    """The form shown to the user: one yes/no box."""

    confirm: bool = Field(title="Go ahead", description="Tick to go ahead; leave unticked to change nothing.")


@dataclass(frozen=True)
class Confirmed:
    """Injected into a destructive tool once the user confirmed; ``how`` says how they did."""

    how: Literal["argument", "elicitation"]
    question: str


def client_can_elicit(ctx: Context[Any, Any]) -> bool:
    """Whether this call's client can show the user a form and send the answer back."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        # The modern era asks through the tool's result (input_required), which every connection can carry.
        return True
    return ctx.request_context.session.can_send_request


def _ask_user(ctx: Context[Any, Any], confirm: bool, question: str | None) -> Confirmation | Elicit[Confirmation]:
    # Confirmed by argument (or nothing to ask): go ahead; else ask through a form, or say how to confirm.
    if question is None or confirm:
        return Confirmation(confirm=True)
    if client_can_elicit(ctx):
        return Elicit(question, Confirmation)
    raise _required(question)


def confirmation(question: Callable[..., str] | Callable[..., Awaitable[str]]) -> Resolve:
    """The ``Resolve`` marker of a destructive tool's confirmation parameter (see the module docstring).

    The tool must have a ``confirm`` argument; ``question`` takes tool arguments by name and may take a
    ``Context``.
    """
    if inspect.iscoroutinefunction(question):
        ask_question: Callable[..., Any] = tool_errors(question)
    else:
        ask_question = question

    async def ask(ctx: Context[Any, Any], confirm: bool, text: str) -> Confirmation | Elicit[Confirmation]:
        return _ask_user(ctx, confirm, text)

    ask.__annotations__ = {
        "ctx": Context,
        "confirm": bool,
        "text": Annotated[str, Resolve(ask_question)],
        "return": Confirmation | Elicit[Confirmation],
    }

    async def decide(confirm: bool, text: str, answer: ElicitationResult[Confirmation]) -> Confirmed:
        if isinstance(answer, AcceptedElicitation) and answer.data.confirm:
            return Confirmed(how="argument" if confirm else "elicitation", question=text)
        _refused(answer)

    decide.__annotations__ = {
        "confirm": bool,
        "text": Annotated[str, Resolve(ask_question)],
        "answer": Annotated[ElicitationResult[Confirmation], Resolve(ask)],
        "return": Confirmed,
    }
    return Resolve(decide)


class Questioned(Protocol):
    """A tool's plan that may need the user's yes before it is carried out."""

    def question(self) -> str | None:
        """What to ask the user (``None``: nothing needs asking); the same text every time."""
        ...


@dataclass(frozen=True)
class Approval:
    """How a plan's question was approved (``how=None``: it had none)."""

    how: Literal["argument", "elicitation"] | None


def _required(text: str) -> ToolError:
    return ToolError(f"Confirmation required: {text} Ask the user, then call again with confirm=true.")


def approval(plan: Resolve) -> Resolve:
    """The ``Resolve`` marker of a confirmation asked only when the plan ``plan`` resolves to has a question
    (a ``Questioned``); the tool must have a ``confirm`` argument."""

    async def ask(ctx: Context[Any, Any], confirm: bool, found: Questioned) -> Confirmation | Elicit[Confirmation]:
        return _ask_user(ctx, confirm, found.question())

    ask.__annotations__ = {
        "ctx": Context,
        "confirm": bool,
        "found": Annotated[Any, plan],
        "return": Confirmation | Elicit[Confirmation],
    }

    async def decide(confirm: bool, found: Questioned, answer: ElicitationResult[Confirmation]) -> Approval:
        if isinstance(answer, AcceptedElicitation) and answer.data.confirm:
            if found.question() is None:
                return Approval(None)
            return Approval("argument" if confirm else "elicitation")
        _refused(answer)

    decide.__annotations__ = {
        "confirm": bool,
        "found": Annotated[Any, plan],
        "answer": Annotated[ElicitationResult[Confirmation], Resolve(ask)],
        "return": Approval,
    }
    return Resolve(decide)


def _refused(answer: ElicitationResult[Confirmation]) -> NoReturn:
    if isinstance(answer, CancelledElicitation):
        raise ToolError("The user dismissed the confirmation: nothing was changed.")
    raise ToolError("The user did not confirm: nothing was changed. Do not retry unless the user asks again.")
