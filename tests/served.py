"""``arize-skills`` commands that serve (``engine serve``, ``mcp``) run as real subprocesses, and a raw stdio host."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

COMMAND = [sys.executable, "-m", "arize_skills"]


class ServedCommand:
    """The command in a subprocess; its stderr is read line by line in a thread, with deadlines and no sleeps."""

    def __init__(self, args: list[str], env: dict[str, str], ready: re.Pattern[str]) -> None:
        self.ready = ready
        self.process = subprocess.Popen(
            [*COMMAND, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def _next_line(self, deadline: float) -> str | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no more output within the time allowed; stderr so far: {self.stderr}")
        try:
            line = self.lines.get(timeout=remaining)
        except queue.Empty:
            raise AssertionError(f"no more output within the time allowed; stderr so far: {self.stderr}") from None
        if line is not None:
            self.stderr.append(line)
        return line

    def wait_url(self, timeout: float = 60.0) -> str:
        """The URL from the ready line (the first group of ``ready``), waiting at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._next_line(deadline)
            if line is None:
                code = self.process.wait(timeout=10)
                raise AssertionError(f"the command exited with {code} before it was ready: {self.stderr}")
            found = self.ready.search(line)
            if found:
                return found.group(1)

    def stop(self, timeout: float = 60.0) -> int:
        """Send SIGTERM, wait for the exit and collect the rest of stderr.

        uvicorn shuts down gracefully on SIGTERM and then re-raises the signal, so the exit status is -SIGTERM.
        """
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while self._next_line(deadline) is not None:
            pass
        return code

    def close(self) -> None:
        """Kill the process if it still runs and release its pipe."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        if self.process.stderr is not None:
            self.process.stderr.close()


@contextmanager
def served_command(args: list[str], env: dict[str, str], ready: re.Pattern[str]) -> Iterator[ServedCommand]:
    """Run the command for the length of the block; kill it at the end if it still runs."""
    command = ServedCommand(args, env, ready)
    try:
        yield command
    finally:
        command.close()


TIMEOUT = 60.0


class StdioHost:
    """``arize-skills mcp`` on stdio as a host sees it: lines in, JSON lines out (bounded waits)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def request(self, message: dict[str, Any]) -> None:
        self.send(json.dumps(message))

    def reply(self) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no reply on stdout within {TIMEOUT} s") from None
        assert line is not None, f"the server exited with {self.process.wait(timeout=10)}"
        reply: dict[str, Any] = json.loads(line)
        return reply
