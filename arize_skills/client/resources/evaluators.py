"""``client.evaluators``: evaluators, their versions, and the built-in judge templates."""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack

from pydantic import BaseModel

from ...models.evaluators import (
    CreateEvaluatorRequest,
    CreateEvaluatorVersionRequest,
    DataGranularity,
    DeleteEvaluatorVersionsRequest,
    DeleteEvaluatorVersionsResponse,
    Evaluator,
    EvaluatorTemplate,
    EvaluatorTemplateList,
    EvaluatorVersion,
    EvaluatorWithVersion,
    InvocationParamsRequest,
    ManagedEvaluatorName,
    OptimizationDirection,
    ProviderParamsRequest,
    StaticParamRequest,
    UpdateEvaluatorRequest,
)
from .._paginator import AsyncPaginator
from .._resource import Resource, given
from .projects import space_params
from .tasks import NOT_GIVEN, NotGiven

__all__ = ["Evaluators", "JudgeOptions", "column_name_for"]

DEFAULT_COMMIT_MESSAGE = "Initial version"


class JudgeOptions(TypedDict, total=False):
    """``create_judge``'s keywords that ``create_from_template`` passes on as given."""

    include_explanations: bool
    use_function_calling: bool
    invocation_parameters: InvocationParamsRequest | Mapping[str, Any] | None
    provider_parameters: ProviderParamsRequest | Mapping[str, Any] | None
    description: str | None
    commit_message: str
    space: str | None


def column_name_for(name: str) -> str:
    """A valid eval column name derived from an evaluator name (``"Helpfulness v2!"`` → ``helpfulness_v2``)."""
    slug = re.sub(r"[^a-zA-Z0-9_]+", "_", name).strip("_").lower()
    return slug or "eval"


def _body(request: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(request, BaseModel):
        to_body = getattr(request, "to_body", None)
        if callable(to_body):
            body: dict[str, Any] = to_body()
            return body
        return request.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dict(request)


def _params(value: BaseModel | Mapping[str, Any] | None) -> dict[str, Any]:
    return _body(value) if value is not None else {}


class Evaluators(Resource):
    """Evaluators (LLM judges, code evaluators), versions and the judge template catalogue.

    ``create`` and ``create_version`` send the request you give them (a model or a dict) as is; ``create_judge``,
    ``create_from_template`` and ``create_code_evaluator`` build it from keywords, resolving names to IDs.
    An evaluator or AI integration may be given by ID or exact name (names are looked up in ``space``).
    """

    def list(self, *, space: str | None = None, name: str | None = None, limit: int = 50) -> AsyncPaginator[Evaluator]:
        """Evaluators, most recently updated first, optionally in one space and by name substring."""
        params = {**space_params(space or self._client.space), "name": name, "limit": limit}
        return self._paginate("/v2/evaluators", "evaluators", Evaluator, params=params)

    async def get(
        self, evaluator: str, *, version_id: str | None = None, space: str | None = None
    ) -> EvaluatorWithVersion:
        """An evaluator with its latest version, or with ``version_id``."""
        evaluator_id = await self._client.resolve.id_of("evaluator", evaluator, space=space)
        params = {"version_id": version_id} if version_id else None
        return await self._get_model(EvaluatorWithVersion, f"/v2/evaluators/{evaluator_id}", params=params)

    async def create(self, request: CreateEvaluatorRequest | Mapping[str, Any]) -> EvaluatorWithVersion:
        """``POST /v2/evaluators`` with exactly this body (a ``CreateEvaluatorRequest`` or a dict)."""
        data = await self._request("POST", "/v2/evaluators", body=_body(request))
        return EvaluatorWithVersion.model_validate(data)

    async def _create_typed(
        self,
        space_id: str,
        name: str,
        evaluator_type: str,
        config_key: str,
        config: dict[str, Any],
        commit_message: str,
        description: str | None,
    ) -> EvaluatorWithVersion:
        fields = {
            "space_id": space_id,
            "name": name,
            "type": evaluator_type,
            "version": {"commit_message": commit_message, config_key: config},
            **given(description=description),
        }
        return await self.create(CreateEvaluatorRequest.model_validate(fields))

    async def create_judge(
        self,
        name: str,
        *,
        template: str,
        ai_integration: str,
        model_name: str,
        classification_choices: Mapping[str, float] | None = None,
        column_name: str | None = None,
        include_explanations: bool = True,
        use_function_calling: bool = True,
        direction: OptimizationDirection | None = None,
        data_granularity: DataGranularity | None = None,
        invocation_parameters: InvocationParamsRequest | Mapping[str, Any] | None = None,
        provider_parameters: ProviderParamsRequest | Mapping[str, Any] | None = None,
        description: str | None = None,
        commit_message: str = DEFAULT_COMMIT_MESSAGE,
        space: str | None = None,
    ) -> EvaluatorWithVersion:
        """Create an LLM-as-judge (``TEMPLATE``) evaluator.

        ``template`` uses ``{var}`` placeholders and names every label of ``classification_choices``;
        ``column_name`` (the eval column) defaults to a slug of ``name``; ``ai_integration`` is a name or ID.
        """
        space_id = await self._client.resolve.space_id(space)
        integration_id = await self._client.resolve.id_of("ai_integration", ai_integration, space=space_id)
        config: dict[str, Any] = {
            "name": column_name or column_name_for(name),
            "template": template,
            "include_explanations": include_explanations,
            "use_function_calling": use_function_calling,
            "llm_config": {
                "ai_integration_id": integration_id,
                "model_name": model_name,
                "invocation_parameters": _params(invocation_parameters),
                "provider_parameters": _params(provider_parameters),
            },
        }
        config.update(
            given(
                classification_choices=dict(classification_choices) if classification_choices is not None else None,
                direction=direction,
                data_granularity=data_granularity,
            )
        )
        return await self._create_typed(
            space_id, name, "TEMPLATE", "template_config", config, commit_message, description
        )

    async def create_from_template(
        self,
        template: str,
        *,
        ai_integration: str,
        model_name: str,
        name: str | None = None,
        **options: Unpack[JudgeOptions],
    ) -> EvaluatorWithVersion:
        """Create a judge from a built-in template (by ``column_name``, e.g. ``"hallucination"``), mapping its
        fields as AX documents. The evaluator is named ``name`` or the template's display name; ``options`` are
        ``create_judge``'s, with the same defaults."""
        templates = await self.list_templates()
        found = next((t for t in templates if t.column_name == template), None)
        if found is None:
            known = ", ".join(t.column_name for t in templates)
            raise ValueError(f"no built-in template named {template!r}; the templates are: {known}")
        return await self.create_judge(
            name or found.display_name,
            template=found.template,
            ai_integration=ai_integration,
            model_name=model_name,
            classification_choices=found.classification_choices,
            column_name=found.column_name,
            direction=found.direction,
            data_granularity=found.data_granularity,
            **options,
        )

    async def create_code_evaluator(
        self,
        name: str,
        *,
        managed_evaluator: ManagedEvaluatorName,
        variables: Sequence[str],
        static_params: Sequence[StaticParamRequest | Mapping[str, Any]] | None = None,
        column_name: str | None = None,
        query_filter: str | None = None,
        data_granularity: DataGranularity | None = None,
        description: str | None = None,
        commit_message: str = DEFAULT_COMMIT_MESSAGE,
        space: str | None = None,
    ) -> EvaluatorWithVersion:
        """Create a managed code evaluator (``EXACT_MATCH``, ``MATCHES_REGEX``, ``JSON_PARSEABLE``,
        ``CONTAINS_ANY_KEYWORD``, ``CONTAINS_ALL_KEYWORDS``); see ``arize_skills.evals.code_evaluators`` for
        the variables and static params each takes."""
        space_id = await self._client.resolve.space_id(space)
        config: dict[str, Any] = {
            "type": "MANAGED",
            "name": column_name or column_name_for(name),
            "managed_evaluator": managed_evaluator,
            "variables": builtins.list(variables),
        }
        config.update(
            given(
                static_params=[_body(p) for p in static_params] if static_params is not None else None,
                query_filter=query_filter,
                data_granularity=data_granularity,
            )
        )
        return await self._create_typed(space_id, name, "CODE", "code_config", config, commit_message, description)

    async def update(
        self,
        evaluator: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        description: str | None | NotGiven = NOT_GIVEN,
        space: str | None = None,
    ) -> Evaluator:
        """Rename an evaluator and/or change its description (``None`` clears it)."""
        fields: dict[str, Any] = {}
        if not isinstance(name, NotGiven):
            fields["name"] = name
        if not isinstance(description, NotGiven):
            fields["description"] = description
        body = UpdateEvaluatorRequest(**fields).to_body()
        evaluator_id = await self._client.resolve.id_of("evaluator", evaluator, space=space)
        return Evaluator.model_validate(await self._request("PATCH", f"/v2/evaluators/{evaluator_id}", body=body))

    async def delete(self, evaluator: str, *, space: str | None = None) -> None:
        """Delete an evaluator and its versions (refused with a ``ConflictError`` while a task uses it)."""
        evaluator_id = await self._client.resolve.id_of("evaluator", evaluator, space=space)
        await self._request("DELETE", f"/v2/evaluators/{evaluator_id}")

    async def create_version(
        self, evaluator: str, version: CreateEvaluatorVersionRequest | Mapping[str, Any], *, space: str | None = None
    ) -> EvaluatorVersion:
        """Add a version (``commit_message`` plus the configuration of the evaluator's type); it becomes latest."""
        evaluator_id = await self._client.resolve.id_of("evaluator", evaluator, space=space)
        data = await self._request("POST", f"/v2/evaluators/{evaluator_id}/versions", body=_body(version))
        return EvaluatorVersion.model_validate(data)

    def list_versions(
        self, evaluator: str, *, space: str | None = None, limit: int = 50
    ) -> AsyncPaginator[EvaluatorVersion]:
        """An evaluator's versions, newest first."""

        async def path() -> str:
            evaluator_id = await self._client.resolve.id_of("evaluator", evaluator, space=space)
            return f"/v2/evaluators/{evaluator_id}/versions"

        return self._paginate(path, "evaluator_versions", EvaluatorVersion, params={"limit": limit})

    async def delete_versions(
        self, evaluator: str, version_ids: Sequence[str], *, space: str | None = None
    ) -> DeleteEvaluatorVersionsResponse:
        """Delete up to 100 versions; each ID comes back in ``deleted_version_ids`` or ``not_deleted_version_ids``."""
        evaluator_id = await self._client.resolve.id_of("evaluator", evaluator, space=space)
        body = DeleteEvaluatorVersionsRequest(version_ids=builtins.list(version_ids)).to_body()
        data = await self._request("DELETE", f"/v2/evaluators/{evaluator_id}/versions", body=body)
        return DeleteEvaluatorVersionsResponse.model_validate(data)

    async def get_version(self, version_id: str) -> EvaluatorVersion:
        """One evaluator version by ID."""
        return await self._get_model(EvaluatorVersion, f"/v2/evaluator-versions/{version_id}")

    async def list_templates(self) -> builtins.list[EvaluatorTemplate]:
        """The built-in judge templates (the whole catalogue; not paginated)."""
        return (await self._get_model(EvaluatorTemplateList, "/v2/evaluator-templates")).evaluator_templates
