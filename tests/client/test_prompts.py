"""``client.prompts`` against the engine: names resolve in the space, labels and tags by their verbs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from arize_skills.client import AsyncArizeClient
from arize_skills.errors import NameNotFoundError, NotFoundError

MESSAGES = [{"role": "USER", "content": "Hello, {name}!"}]


async def test_a_prompt_name_resolves_to_its_exact_match_in_the_space(client: AsyncArizeClient) -> None:
    exact = await client.prompts.create("greeter", messages=MESSAGES, provider="OPEN_AI")
    await client.prompts.create("greeter v2", messages=MESSAGES, provider="OPEN_AI")
    assert await client.resolve.id_of("prompt", "greeter") == exact.id
    assert (await client.prompts.get("greeter")).id == exact.id

    with pytest.raises(NameNotFoundError) as caught:
        await client.prompts.get("greter")
    assert "greeter" in caught.value.suggestions


async def test_the_labelled_version_loads_by_prompt_name(client: AsyncArizeClient) -> None:
    created = await client.prompts.create("greeter", messages=MESSAGES, provider="OPEN_AI", model="gpt-4o")
    assert created.version is not None
    first = created.version.id
    second = await client.prompts.create_version(
        "greeter", commit_message="v2", messages=[{"role": "USER", "content": "Hi {name}"}], provider="ANTHROPIC"
    )

    await client.prompts.set_labels(first, ["production", "staging"])
    loaded = await client.prompts.get("greeter", label="production")
    assert loaded.version is not None and loaded.version.id == first and loaded.version.model == "gpt-4o"

    # set_label adds one label and keeps the version's others; the label leaves the version it named.
    promoted = await client.prompts.set_label(second.id, "production")
    assert promoted.labels == ["production"]
    await client.prompts.set_label(second.id, "canary/10%")
    assert (await client.prompts.get_version(second.id)).labels == ["canary/10%", "production"]
    assert (await client.prompts.get_version(first)).labels == ["staging"]
    assert (await client.prompts.get_by_label("greeter", "canary/10%")).id == second.id

    await client.prompts.delete_label(second.id, "canary/10%")
    with pytest.raises(NotFoundError):
        await client.prompts.get_by_label("greeter", "canary/10%")
    assert [v.id async for v in client.prompts.list_versions("greeter")] == [second.id, first]


async def test_tags_are_created_attached_and_detached_by_prompt_name(client: AsyncArizeClient) -> None:
    await client.prompts.create("greeter", messages=MESSAGES, provider="OPEN_AI")
    tag = await client.tags.create("team-a", color="BLUE")
    assert [t.id for t in await client.prompts.add_tags("greeter", [tag.id])] == [tag.id]
    renamed = await client.tags.update(tag.id, name="team-b", color=None)
    assert renamed.name == "team-b" and renamed.color is None
    assert [t.name for t in await client.prompts.list_tags("greeter")] == ["team-b"]
    removed = await client.prompts.remove_tags("greeter", [tag.id])
    assert removed.completed and removed.deleted == [tag.id]
    await client.tags.delete(tag.id)


async def test_requests_are_checked_before_anything_is_sent(client: AsyncArizeClient) -> None:
    with pytest.raises(ValidationError, match="messages"):
        await client.prompts.create("greeter", messages=[], provider="OPEN_AI")
    with pytest.raises(ValueError, match="not both"):
        await client.prompts.get("greeter", version_id="UHJvbXB0VmVyc2lvbjox", label="production")
    assert [p async for p in client.prompts.list()] == []
