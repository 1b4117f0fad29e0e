"""Name → ID resolution against the engine, as the official SDK does it (AX_API.md §4.2)."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import AsyncIterator

import httpx2
import pytest
from arize.utils.resolve import is_resource_id as sdk_is_resource_id

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.store.objects import insert_object
from arize_skills.errors import AmbiguousNameError, NameNotFoundError, ResolutionError
from arize_skills.models.ids import encode_id, is_resource_id


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Passes every request to the engine's transport and keeps a copy, to see what the resolver asked."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    def gets(self, path: str) -> list[httpx2.Request]:
        return [r for r in self.requests if r.method == "GET" and r.url.path == path]


@pytest.fixture
async def recorded(
    engine: Engine, client: AsyncArizeClient
) -> AsyncIterator[tuple[AsyncArizeClient, RecordingTransport]]:
    transport = RecordingTransport(engine.transport())
    async with AsyncArizeClient(transport=transport, space=client.space) as recording_client:
        yield recording_client, transport


async def add_organization(engine: Engine, name: str) -> str:
    """There is no public route for organizations: insert one the way the engine stores it."""

    def run(conn: sqlite3.Connection) -> str:
        return insert_object(conn, "Organization", name=name, body={}, now=engine.now()).id

    return await engine.store.write(run)


async def test_a_project_name_resolves_to_its_exact_match_on_a_late_page_of_substring_matches(
    client: AsyncArizeClient, recorded: tuple[AsyncArizeClient, RecordingTransport]
) -> None:
    # The engine lists projects newest first, so the oldest (the exact match) lands on the second page.
    exact = await client.projects.create("checkout")
    other_case = await client.projects.create("Checkout")
    for n in range(148):
        await client.projects.create(f"checkout-{n}" if n % 2 else f"my checkout {n}")
    resolver_client, transport = recorded

    assert await resolver_client.resolve.id_of("project", "checkout") == exact.id
    assert await resolver_client.resolve.id_of("project", "Checkout") == other_case.id

    lookups = transport.gets("/v2/projects")
    first_walk = lookups[:2]
    assert [r.url.params.get("limit") for r in first_walk] == ["100", "100"]
    assert [r.url.params.get("name") for r in first_walk] == ["checkout", "checkout"]
    assert all(r.url.params.get("space_id") == client.space for r in first_walk)
    assert first_walk[0].url.params.get("cursor") is None
    assert first_walk[1].url.params.get("cursor")


async def test_the_resolver_sends_back_the_cursor_the_server_gave(
    client: AsyncArizeClient, recorded: tuple[AsyncArizeClient, RecordingTransport]
) -> None:
    await client.projects.create("needle")
    for n in range(100):
        await client.projects.create(f"needle {n}")
    resolver_client, transport = recorded
    first_page = await client.request(
        "GET", "/v2/projects", params={"space_id": client.space, "name": "needle", "limit": 100}
    )

    await resolver_client.resolve.id_of("project", "needle")

    second = transport.gets("/v2/projects")[1]
    assert second.url.params.get("cursor") == first_page["pagination"]["next_cursor"]


async def test_a_name_that_only_matches_as_a_substring_is_not_found_and_the_error_says_where(
    client: AsyncArizeClient, recorded: tuple[AsyncArizeClient, RecordingTransport]
) -> None:
    for n in range(120):
        await client.projects.create(f"orders-{n}")
    resolver_client, transport = recorded

    with pytest.raises(NameNotFoundError) as caught:
        await resolver_client.resolve.id_of("project", "orders")
    error = caught.value
    assert (error.kind, error.name) == ("project", "orders")
    assert "project" in str(error)
    assert "'orders'" in str(error)
    assert str(client.space) in str(error)
    searched = [r for r in transport.gets("/v2/projects") if "name" in r.url.params]
    assert len(searched) == 2
    assert error.suggestions and all(name.startswith("orders-") for name in error.suggestions)


async def test_a_name_that_differs_only_in_case_resolves_when_it_is_the_only_such_name(
    client: AsyncArizeClient,
) -> None:
    project = await client.projects.create("Checkout Service")
    assert await client.resolve.id_of("project", "checkout service") == project.id


async def test_an_exact_match_wins_over_names_that_differ_only_in_case(client: AsyncArizeClient) -> None:
    await client.projects.create("Checkout")
    exact = await client.projects.create("checkout")
    assert await client.resolve.id_of("project", "checkout") == exact.id


async def test_two_names_that_differ_from_the_given_one_only_in_case_are_ambiguous(client: AsyncArizeClient) -> None:
    upper = await client.projects.create("CHECKOUT")
    title = await client.projects.create("Checkout")
    with pytest.raises(AmbiguousNameError) as caught:
        await client.resolve.id_of("project", "checkout")
    assert {cid for cid, _ in caught.value.candidates} == {upper.id, title.id}


async def test_a_name_not_found_suggests_up_to_five_of_the_closest_names(client: AsyncArizeClient) -> None:
    for name in ["support-bot", "support-bots", "supprt-bot-v2", "billing", "search", "onboarding", "sales-bot"]:
        await client.projects.create(name)
    with pytest.raises(NameNotFoundError) as caught:
        await client.resolve.id_of("project", "suport-bot")
    suggestions = caught.value.suggestions
    assert 1 <= len(suggestions) <= 5
    assert suggestions[0] == "support-bot"
    assert "billing" not in suggestions


async def test_an_experiment_name_in_another_case_resolves_inside_its_dataset(client: AsyncArizeClient) -> None:
    dataset = await client.datasets.create("qa", examples=[{"question": "q"}])
    examples = [example async for example in client.datasets.list_examples(dataset.id)]
    experiment = await client.experiments.create(
        "Baseline", dataset=dataset.id, runs=[{"example_id": examples[0].id, "output": "a"}]
    )
    assert await client.resolve.experiment_id("baseline", dataset="qa") == experiment.id
    assert await client.resolve.experiment_id("BASELINE") == experiment.id


async def test_a_project_name_in_a_space_given_by_name_resolves(client: AsyncArizeClient, engine: Engine) -> None:
    project = await client.projects.create("billing")
    async with AsyncArizeClient(transport=engine.transport()) as no_default:
        assert await no_default.resolve.id_of("project", "billing", space="default") == project.id


async def test_a_space_name_shared_by_two_organizations_is_ambiguous_and_lists_both(
    client: AsyncArizeClient, engine: Engine
) -> None:
    org_id = await add_organization(engine, "acme")
    twin = await client.spaces.create(name="default", organization_id=org_id)
    await client.spaces.create(name="default-archive", organization_id=org_id)

    with pytest.raises(AmbiguousNameError) as caught:
        await client.resolve.space_id("default")
    error = caught.value
    ids = {candidate_id for candidate_id, _ in error.candidates}
    assert ids == {client.space, twin.id}
    assert str(client.space) in str(error)
    assert twin.id in str(error)
    assert org_id in str(error)
    assert "space ID" in str(error)
    assert await client.resolve.space_id("default-archive") != twin.id


async def test_a_space_name_resolves_to_its_id(client: AsyncArizeClient) -> None:
    assert await client.resolve.space_id("default") == client.space


async def test_an_unknown_space_name_is_not_found(client: AsyncArizeClient) -> None:
    with pytest.raises(NameNotFoundError) as caught:
        await client.resolve.space_id("defaul")
    assert (caught.value.kind, caught.value.name) == ("space", "defaul")
    assert "space" in str(caught.value)
    assert "'defaul'" in str(caught.value)


async def test_without_a_space_a_name_cannot_be_resolved_and_the_error_says_how_to_set_one(engine: Engine) -> None:
    async with AsyncArizeClient(transport=engine.transport()) as no_space:
        with pytest.raises(ResolutionError) as caught:
            await no_space.resolve.space_id()
        assert "ARIZE_SPACE_ID" in str(caught.value)
        assert "space=" in str(caught.value)
        with pytest.raises(ResolutionError):
            await no_space.resolve.id_of("project", "anything")
        with pytest.raises(ResolutionError):
            await no_space.projects.create("nowhere")


async def test_ids_pass_through_without_any_request(recorded: tuple[AsyncArizeClient, RecordingTransport]) -> None:
    resolver_client, transport = recorded
    project_id = encode_id("Model", 987654, "zZzZ")
    space_id = encode_id("Space", 42, "aBcD")
    assert await resolver_client.resolve.id_of("project", project_id) == project_id
    assert await resolver_client.resolve.id_of("dataset", "RGF0YXNldDo1NjpxUndY", space="not used") == (
        "RGF0YXNldDo1NjpxUndY"
    )
    assert await resolver_client.resolve.space_id(space_id) == space_id
    assert await resolver_client.resolve.experiment_id(encode_id("Experiment", 3)) == encode_id("Experiment", 3)
    assert transport.requests == []


async def test_an_unknown_kind_is_a_clear_programming_error(client: AsyncArizeClient) -> None:
    with pytest.raises(ValueError, match="project"):
        await client.resolve.id_of("widget", "x")


TRICKY = [
    "abcd",  # valid base64, but "i\xb7\x1d" is not UTF-8 text with ':'
    "dGVzdA==",  # "test": base64, no ':'
    "U3BhY2U6MTpWNEth",
    "TW9kZWw6MTIzOmFCY0Q=",
    "RGF0YXNldFZlcnNpb246MTIzNDU=",
    "VGFnOjEyMzQ1",
    "Og==",  # ":" alone
    base64.b64encode(b"not:an:id:at:all").decode(),
    base64.b64encode("Space:1:\u00e9t\u00e9".encode()).decode(),
    base64.b64encode(b"\xff\xfe:\x00").decode(),  # has ':' but is not UTF-8
    "U3BhY2U6MTpWNEth".rstrip("="),
    "TW9kZWw6MTIzOmFCY0Q",  # padding removed
    base64.urlsafe_b64encode(b"Model:1:??>>").decode(),  # urlsafe alphabet
    base64.b64encode(b"Model:1:??>>").decode(),
    " U3BhY2U6MTpWNEth",
    "U3BhY2U6MTpWNEth\n",
    "Space:1:V4Ka",
    "my project",
    "checkout",
    "",
    "====",
    "caf\u00e9",
    "1234",
]


@pytest.mark.parametrize("value", TRICKY)
def test_is_resource_id_agrees_with_the_official_sdk(value: str) -> None:
    assert is_resource_id(value) is sdk_is_resource_id(value)


def test_is_resource_id_treats_valid_base64_without_a_colon_as_a_name() -> None:
    assert is_resource_id("abcd") is False
    assert is_resource_id("dGVzdA==") is False
    assert is_resource_id("U3BhY2U6MTpWNEth") is True
