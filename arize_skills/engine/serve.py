"""Serving the engine over HTTP: the app ``arize-skills engine serve`` runs, which opens the engine in its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .engine import Engine
from .runner.lock import RunnerLock

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["create_served_app"]


def create_served_app(
    home: Path | str | None,
    *,
    token: str | None = None,
    run_tasks: bool = True,
    runner_lock: RunnerLock | None = None,
    otlp_grpc: tuple[str, int] | None = None,
    on_listening: Callable[[str], None] | None = None,
) -> Starlette:
    """An ASGI app that opens the engine in ``home`` in its lifespan (for ``arize-skills engine serve``).

    The engine's task runner serves in the lifespan too (``run_tasks=False`` leaves triggered runs PENDING);
    ``runner_lock`` is the home's runner lock the caller took (see ``Engine.open``). Without a token only
    loopback Host headers are answered; with one, any (see ``guard``). ``otlp_grpc``: also receive OTLP over gRPC
    on ``(host, port)`` while the app runs; ``on_listening`` is told each such service's address once it listens.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with Engine.open(home, token=token, runner=run_tasks, runner_lock=runner_lock) as engine:
            app.state.engine = engine
            engine.serve_app(app)
            receiver = None
            if otlp_grpc is not None:
                from .otlp_grpc import OtlpGrpcServer

                host, port = otlp_grpc
                receiver = OtlpGrpcServer(engine, host, port, token=token)
                bound = await receiver.start()
                if on_listening is not None:
                    on_listening(f"{f'[{host}]' if ':' in host else host}:{bound}")
            try:
                yield
            finally:
                if receiver is not None:
                    await receiver.stop()

    from .api.app import build_app

    return build_app(any_host=token is not None, lifespan=lifespan)
