"""``arize-skills``: the command line.

    arize-skills status                      which backend is configured, and a round trip through it
    arize-skills mcp [--transport stdio|http] [--host H] [--port N] [--token-env VAR] [--home DIR]
                     [--files-root DIR] [--allow-env VAR ...]
                                             serve the MCP tools (stdio by default; HTTP on loopback, reading
                                             files only under --files-root, sending only key-like variables)
    arize-skills quickstart [--home DIR]     the whole evaluation loop on bundled traces, through the MCP tools
    arize-skills engine serve [--host H] [--port N] [--home DIR]
                                             run the local AX-compatible engine on loopback
    arize-skills skills install --agent claude|cursor|codex [--project DIR | --global]
                                             copy the skills where the agent reads them; print its MCP config
    arize-skills doctor [--home DIR] [--project DIR] [--json]
                                             check backend, engine, providers and installed skills (exit 1: fix)

Logs go to stderr; stdout carries only the command's output.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import anyio

from . import __version__
from .errors import ArizeSkillsError
from .foundation.endpoints import OTLP_GRPC_PORT
from .settings import Settings, default_home

__all__ = ["main"]

logger = logging.getLogger("arize_skills")


def _add_server_arguments(parser: argparse.ArgumentParser, *, port: int, home: str, http_only: bool) -> None:
    """``--host``, ``--port``, ``--home`` and ``--token-env``, as every serving command takes them."""
    http = "HTTP " if http_only else ""
    parser.add_argument("--host", default="127.0.0.1", help=f"{http}address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=port, help=f"{http}port (default {port}; 0 picks a free one)")
    parser.add_argument("--home", type=Path, help=f"{home} (default $ARIZE_SKILLS_HOME or ~/.arize-skills)")
    parser.add_argument(
        "--token-env",
        metavar="VAR",
        help=f"{'HTTP only: ' if http_only else ''}name of an environment variable holding a bearer token every "
        "request must carry (required when --host is not a loopback address)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arize-skills", description="LLM evaluation work from your coding agent.")
    parser.add_argument("--version", action="version", version=f"arize-skills {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (to stderr)")
    commands = parser.add_subparsers(dest="command", required=True)

    status = commands.add_parser("status", help="show the configured backend and check it answers")
    status.add_argument("--home", type=Path, help="engine state directory (default ~/.arize-skills)")
    status.add_argument("--json", action="store_true", help="print JSON")

    mcp = commands.add_parser("mcp", help="serve the MCP tools to a coding agent (stdio, or HTTP on loopback)")
    mcp.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default stdio")
    _add_server_arguments(mcp, port=8766, home="embedded engine state", http_only=True)
    mcp.add_argument(
        "--files-root",
        type=Path,
        metavar="DIR",
        help="HTTP only: the only folder tools read files from (default: the folder the server starts in)",
    )
    mcp.add_argument(
        "--allow-env",
        action="append",
        metavar="VAR",
        help="HTTP only: an environment variable tools may send as a key although its name does not end in "
        "_KEY or _TOKEN (repeat for more)",
    )

    quickstart = commands.add_parser(
        "quickstart", help="run the whole evaluation loop on bundled agent traces through the MCP tools"
    )
    quickstart.add_argument(
        "--home", type=Path, help="engine state directory (default ~/.arize-skills/quickstart); re-runs add a new run"
    )

    engine = commands.add_parser("engine", help="the local AX-compatible engine")
    engine_commands = engine.add_subparsers(dest="engine_command", required=True)
    serve = engine_commands.add_parser("serve", help="serve the engine over HTTP (loopback by default)")
    _add_server_arguments(serve, port=8765, home="state directory", http_only=False)
    serve.add_argument(
        "--otlp-grpc-port",
        type=int,
        default=OTLP_GRPC_PORT,
        metavar="PORT",
        help=f"also receive OTLP traces over gRPC on this port of --host (default {OTLP_GRPC_PORT}; 0 turns it off)",
    )
    skills = commands.add_parser("skills", help="the agent skills shipped with arize-skills")
    skills_commands = skills.add_subparsers(dest="skills_command", required=True)
    install = skills_commands.add_parser("install", help="copy the skills where an agent reads them")
    install.add_argument("--agent", choices=("claude", "cursor", "codex"), required=True)
    scope = install.add_mutually_exclusive_group()
    scope.add_argument("--project", type=Path, help="project folder (default: the current directory)")
    scope.add_argument("--global", dest="global_", action="store_true", help="install for your user, not a project")

    doctor = commands.add_parser("doctor", help="check the setup and say what to fix (exit 1 when something is)")
    doctor.add_argument(
        "--home", type=Path, help="engine state directory (default $ARIZE_SKILLS_HOME or ~/.arize-skills)"
    )
    doctor.add_argument("--project", type=Path, help="project whose installed skills to check (default: cwd)")
    doctor.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _skills_install(args: argparse.Namespace) -> int:
    from .agents import agent_skills_dir, install_skills, mcp_snippet

    project = None if args.global_ else (args.project or Path.cwd()).expanduser().resolve()
    if project is not None and not project.is_dir():
        print(f"error: --project {project} is not a directory", file=sys.stderr)
        return 2
    target = agent_skills_dir(args.agent, project=project)
    try:
        names = install_skills(target)
    except (FileNotFoundError, OSError) as exc:
        print(f"error: cannot install the skills into {target}: {exc}", file=sys.stderr)
        return 1
    print(f"Installed {len(names)} skills for {args.agent} in {target}: {', '.join(names)}")
    print()
    print(f"Connect the MCP server to {args.agent}. " + mcp_snippet(args.agent, project=project))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .doctor import run_doctor

    project = args.project.expanduser().resolve() if args.project else None
    checks = anyio.run(lambda: run_doctor(home=args.home, project=project))
    ok = all(check.ok for check in checks)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [asdict(check) for check in checks]}, indent=2))
    else:
        for check in checks:
            print(f"[{'ok' if check.ok else 'FAIL'}] {check.area}: {check.name}: {check.detail}")
            if check.fix:
                print(f"       fix: {check.fix}")
        print("all good" if ok else "some checks failed: see the fixes above")
    return 0 if ok else 1


def _is_loopback(host: str) -> bool:
    # The engine's rule: a name such as 127.example.com is not loopback, whatever it starts with.
    from .engine.api.guard import is_loopback

    return is_loopback(host)


def _bearer_token(args: argparse.Namespace, what: str) -> str | None | Literal[False]:
    """The token named by ``--token-env`` (``None`` if not asked for); ``False`` after printing why it cannot serve."""
    token = None
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            print(f"error: environment variable {args.token_env} is not set", file=sys.stderr)
            return False
    if not _is_loopback(args.host) and token is None:
        print(
            f"error: binding {args.host} exposes {what} beyond this machine; "
            "pass --token-env VAR naming a variable that holds a bearer token",
            file=sys.stderr,
        )
        return False
    return token


def _can_listen(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now (checked before anything starts, for a clear error)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers bind: a port left in TIME_WAIT by the engine just stopped is free, a listening one is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .engine import RunnerHolder, RunnerLock, create_served_app

    token = _bearer_token(args, "the engine")
    if token is False:
        return 2
    # Only the engine's home matters here: an ax profile or AX variables must not stop a local engine from serving.
    home = args.home.expanduser() if args.home else default_home()
    # IPPROTO_TCP (not the default 0) makes asyncio set TCP_NODELAY on accepted connections; without it Nagle and
    # delayed ACKs add ~40 ms to every response.
    sock = socket.socket(
        socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
        # Listening before the line below is printed makes that line a readiness signal: connections made from
        # then on wait in the backlog until uvicorn accepts them instead of being refused.
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    if args.otlp_grpc_port and not _can_listen(args.host, args.otlp_grpc_port):
        sock.close()
        print(
            f"error: cannot listen for OTLP/gRPC on {args.host}:{args.otlp_grpc_port} (in use?); pass "
            "--otlp-grpc-port PORT, or 0 to serve without it",
            file=sys.stderr,
        )
        return 1
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown_host}:{port}"
    # Two engines executing one home's runs would judge every record twice: one home, one runner.
    try:
        lock = RunnerLock.acquire(home, url=url)
    except OSError as exc:
        sock.close()
        print(f"error: cannot use {home} as the engine's home: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if isinstance(lock, RunnerHolder):
        sock.close()
        print(
            f"error: another arize-skills process already runs the tasks of {home} ({lock.describe()}); "
            f"use that one{f' (ARIZE_SKILLS_ENGINE_URL={lock.url})' if lock.url else ''}, stop it, "
            "or pass --home DIR for a separate state directory",
            file=sys.stderr,
        )
        return 1
    print(f"arize-skills engine on {url} (state in {home})", file=sys.stderr, flush=True)
    otlp_grpc = (args.host, args.otlp_grpc_port) if args.otlp_grpc_port else None
    app = create_served_app(
        home,
        token=token,
        runner_lock=lock,
        otlp_grpc=otlp_grpc,
        on_listening=lambda address: print(f"OTLP/gRPC traces on {address}", file=sys.stderr, flush=True),
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    # uvicorn returns without raising when the engine fails to start (say its home is not writable).
    return 0 if server.started else 1


def _mcp(args: argparse.Namespace) -> int:
    from .mcp_server.serve import serve_http, serve_stdio

    if args.transport == "stdio":
        # On stdio the agent already has the user's shell: files and variables stay as free as there.
        for flag, given in (
            ("--token-env", args.token_env),
            ("--files-root", args.files_root),
            ("--allow-env", args.allow_env),
        ):
            if given:
                print(f"error: {flag} applies to --transport http only", file=sys.stderr)
                return 2
        serve_stdio(Settings.resolve(home=args.home))
        return 0
    token = _bearer_token(args, "the MCP server")
    if token is False:
        return 2
    files_root = (args.files_root.expanduser() if args.files_root else Path.cwd()).resolve()
    if not files_root.is_dir():
        print(f"error: --files-root {files_root} is not a folder; name an existing folder", file=sys.stderr)
        return 2
    allow_env = frozenset(name.strip() for name in args.allow_env or ())
    for name in sorted(allow_env):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            print(
                # Never quoted back: it may be a key pasted by mistake.
                "error: --allow-env takes the NAME of an environment variable (letters, digits and underscores), "
                "never its value; the value given is not shown",
                file=sys.stderr,
            )
            return 2
    return serve_http(
        Settings.resolve(home=args.home),
        host=args.host,
        port=args.port,
        token=token,
        files_root=files_root,
        allow_env=allow_env,
    )


async def _status(args: argparse.Namespace) -> dict[str, Any]:
    from .client import AsyncArizeClient
    from .engine import Engine

    settings = Settings.resolve(home=args.home)
    report: dict[str, Any] = dict(settings.describe())

    async def probe(client: AsyncArizeClient) -> None:
        spaces = await client.spaces.list(limit=10)
        report["spaces"] = [s.name for s in spaces.items]
        space = settings.space or (spaces.items[0].id if spaces.items else None)
        projects = await client.projects.list(space=space, limit=10) if space else None
        report["projects"] = [p.name for p in projects.items] if projects else []
        report["ok"] = True

    if settings.backend == "embedded":
        async with Engine.open(settings.home) as engine, AsyncArizeClient(transport=engine.transport()) as client:
            await probe(client)
    else:
        async with AsyncArizeClient.from_settings(settings) as client:
            await probe(client)
    return report


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``arize-skills`` command."""
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "mcp":
            sys.exit(_mcp(args))
        if args.command == "engine" and args.engine_command == "serve":
            sys.exit(_serve(args))
        if args.command == "quickstart":
            from .quickstart import run_quickstart

            home = args.home.expanduser() if args.home else Path.home() / ".arize-skills" / "quickstart"
            sys.exit(anyio.run(run_quickstart, home))
        if args.command == "skills" and args.skills_command == "install":
            sys.exit(_skills_install(args))
        if args.command == "doctor":
            sys.exit(_doctor(args))
        if args.command == "status":
            report = anyio.run(_status, args)
            if args.json:
                print(json.dumps(report, indent=2))
            else:
                for key, value in report.items():
                    print(f"{key}: {value}")
            sys.exit(0)
    except ArizeSkillsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
