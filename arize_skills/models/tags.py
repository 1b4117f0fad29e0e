"""Tags (``/v2/tags``) and the tag lists of the resources that carry them (``/v2/<resource>/{id}/tags``).

A tag is defined once per space (its name unique there, compared case-insensitively) and attached to many
resources. Attaching is idempotent; detaching reports the IDs that were not attached instead of failing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ._base import Pagination, RequestModel, ResponseModel, Timestamp

__all__ = [
    "MAX_TAG_IDS",
    "TAG_NAME_MAX_LENGTH",
    "AddTagsRequest",
    "CreateTagRequest",
    "RemoveTagsRequest",
    "RemoveTagsResponse",
    "Tag",
    "TagColor",
    "TagList",
    "UpdateTagRequest",
]

TAG_NAME_MAX_LENGTH = 100
MAX_TAG_IDS = 100
"""How many tag IDs one attach or detach request may carry."""

TagColor = Literal[
    "GRAY",
    "INDIGO",
    "BLUE",
    "CYAN",
    "TEAL",
    "PINE",
    "GREEN",
    "LIME",
    "OLIVE",
    "LEMON",
    "YELLOW",
    "ORANGE",
    "RED",
    "CORAL",
    "PINK",
    "PLUM",
    "PURPLE",
    "BROWN",
    "AUBURN",
]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


TagName = Annotated[str, Field(min_length=1, max_length=TAG_NAME_MAX_LENGTH), AfterValidator(_not_blank)]


class CreateTagRequest(RequestModel):
    """``POST /v2/tags``: a tag in a space; the name must not be blank and is unique there but for case."""

    name: TagName
    description: str | None = None
    color: TagColor | None = None
    space_id: str = Field(min_length=1)


class UpdateTagRequest(RequestModel):
    """``PATCH /v2/tags/{id}``: at least one field; ``null`` clears ``description`` or ``color``."""

    name: TagName | None = None
    description: str | None = None
    color: TagColor | None = None


TagIds = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, max_length=MAX_TAG_IDS)]


class AddTagsRequest(RequestModel):
    """``POST /v2/<resource>/{id}/tags``: 1–100 existing tags of the resource's space to attach."""

    tag_ids: TagIds


class RemoveTagsRequest(RequestModel):
    """``DELETE /v2/<resource>/{id}/tags``: 1–100 tag IDs to detach."""

    tag_ids: TagIds


class Tag(ResponseModel):
    """A tag; ``description`` and ``color`` are ``null`` when not set."""

    id: str
    name: str
    description: str | None = None
    color: str | None = None
    space_id: str
    created_at: Timestamp
    updated_at: Timestamp


class TagList(ResponseModel):
    """A resource's tags, most recently updated first; never paginated (``has_more`` is always false)."""

    tags: list[Tag]
    pagination: Pagination = Field(default_factory=Pagination)


class RemoveTagsResponse(ResponseModel):
    """Each requested ID lands in ``deleted`` or ``not_deleted``; ``completed`` when ``not_deleted`` is empty."""

    completed: bool
    deleted: list[str] = Field(default_factory=list)
    not_deleted: list[str] = Field(default_factory=list)
