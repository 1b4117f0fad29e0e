"""The engine's routes, one module per AX resource; ``all_routes`` is the app's routes list."""

from __future__ import annotations

from starlette.routing import BaseRoute

__all__ = ["all_routes"]


def all_routes() -> list[BaseRoute]:
    """Every route of the engine, in matching order."""
    from . import (
        ai_integrations,
        annotation_configs,
        annotation_queues,
        datasets,
        evaluators,
        experiments,
        organizations,
        otlp,
        projects,
        prompts,
        review,
        spaces,
        spans,
        tags,
        tasks,
        traces,
    )

    modules = [spaces, projects, datasets, experiments, otlp, spans, traces, tasks]
    modules += [evaluators, ai_integrations, annotation_configs, annotation_queues, prompts, tags]
    modules += [organizations, review]
    return [route for module in modules for route in module.routes]
