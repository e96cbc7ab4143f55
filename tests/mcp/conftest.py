"""Fixtures for the workflow-mcp end-to-end tests.

Each test talks to the real `workflow-mcp` binary over stdio with the
official Python MCP client, and `workflow-mcp` talks to a real `workflowd`
on loopback. Binaries: WORKFLOWD_BIN and WORKFLOW_MCP_BIN, by default
target/release/workflowd and target/release/workflow-mcp
(scripts/test-mcp.sh builds them).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "workflows"

# Both protocol eras: the 2025-11-25 `initialize` handshake and the
# 2026-07-28 `server/discover` lifecycle.
ERAS = ["initialize", "discover"]


def _binary(env_name: str, default: str) -> Path:
    path = Path(os.environ.get(env_name) or REPO / "target" / "release" / default)
    if not path.is_file():
        pytest.fail(f"{path} not found: build it (cargo build --release) or set {env_name}")
    return path


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def workflowd_bin() -> Path:
    return _binary("WORKFLOWD_BIN", "workflowd")


@pytest.fixture(scope="session")
def mcp_bin() -> Path:
    return _binary("WORKFLOW_MCP_BIN", "workflow-mcp")


class Daemon:
    """A workflowd child process on 127.0.0.1 with its own data directory."""

    def __init__(
        self,
        binary: Path,
        home: Path,
        workflow_dirs: list[Path] | None = None,
        unix_socket: Path | None = None,
        extra_args: list[str] | None = None,
    ):
        data_dir = home / "data"
        # /d stands for the operator's disks: the manifests of the tests name
        # sources there, which the daemon reads only from a source root.
        args = [str(binary), "--listen", "127.0.0.1:0", "--data-dir", str(data_dir),
                "--source-root", "/d"]
        for directory in workflow_dirs or []:
            args += ["--workflow-dir", str(directory)]
        if unix_socket is not None:
            args += ["--unix-socket", str(unix_socket)]
        args += extra_args or []
        self.data_dir = data_dir
        self.log_path = home / "workflowd.log"
        # HOME points into the temp dir so ~/.workflow-manager/workflows of
        # whoever runs the tests is not discovered.
        env = {**os.environ, "HOME": str(home), "WORKFLOWD_LOG": "info"}
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._log, env=env, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.process.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=30).strip()
        except queue.Empty:
            self.stop()
            pytest.fail(f"workflowd did not report its address; log:\n{self.log_path.read_text()}")
        if not line.startswith("listening on "):
            self.stop()
            pytest.fail(f"unexpected first line {line!r}; log:\n{self.log_path.read_text()}")
        self.addr = "http://" + line.removeprefix("listening on ")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def daemon(workflowd_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon with the bundled example workflows, shared by the tests."""
    d = Daemon(workflowd_bin, tmp_path_factory.mktemp("workflowd"))
    yield d
    d.stop()


@pytest.fixture
def watched_daemon(workflowd_bin: Path, tmp_path: Path) -> Iterator[tuple[Daemon, Path]]:
    """A daemon watching an empty directory (for programs a test adds) and
    the repository's example workflows."""
    added = tmp_path / "added"
    added.mkdir()
    d = Daemon(workflowd_bin, tmp_path, [added, EXAMPLES])
    yield d, added
    d.stop()


@pytest.fixture
def socket_daemon(workflowd_bin: Path, tmp_path: Path) -> Iterator[tuple[Daemon, Path]]:
    """A daemon that also serves on a Unix socket, and the socket's path."""
    socket_path = tmp_path / "workflowd.sock"
    d = Daemon(workflowd_bin, tmp_path, unix_socket=socket_path)
    yield d, socket_path
    d.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Session:
    """An MCP client session plus what the server sent on its own."""

    client: ClientSession
    era: str
    notifications: list[Any] = field(default_factory=list)
    stderr_path: Path | None = None

    def notification_methods(self) -> list[str]:
        return [getattr(n, "method", "") for n in self.notifications]


@asynccontextmanager
async def open_session(
    mcp_bin: Path, addr: str, era: str, stderr_path: Path, token: str | None = None
) -> AsyncIterator[Session]:
    """Starts workflow-mcp against `addr` (with WORKFLOW_TOKEN `token` when
    given) and opens a session in `era`."""
    env = {"WORKFLOW_MCP_LOG": "info"}
    if token is not None:
        env["WORKFLOW_TOKEN"] = token
    params = StdioServerParameters(
        command=str(mcp_bin),
        args=["--addr", addr, "--poll-seconds", "1"],
        env=env,
    )
    with open(stderr_path, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            notifications: list[Any] = []

            async def on_message(message: Any) -> None:
                if not isinstance(message, Exception):
                    notifications.append(message)

            async with ClientSession(read, write, message_handler=on_message) as client:
                if era == "initialize":
                    await client.initialize()
                else:
                    await client.discover()
                yield Session(client, era, notifications, stderr_path)


@pytest.fixture
def session_factory(mcp_bin: Path, tmp_path: Path):
    """`async with session_factory(addr, era) as s:` opens a session; the
    server's stderr goes to a file in the test's temp dir."""
    counter = iter(range(1000))

    def factory(addr: str, era: str = "initialize", token: str | None = None):
        return open_session(mcp_bin, addr, era, tmp_path / f"workflow-mcp-{next(counter)}.log", token)

    return factory


# --- calling tools (shared by the test files) -------------------------------


FINAL_STATES = {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "INTERRUPTED"}


async def call(client: ClientSession, name: str, args: dict[str, Any] | None = None, **kw: Any) -> CallToolResult:
    """Calls a tool that must succeed; returns the result."""
    result = await client.call_tool(name, args or {}, **kw)
    assert not result.is_error, f"{name} failed: {result.content}"
    # Structured content, and the same JSON as a text block for older clients.
    assert isinstance(result.structured_content, dict)
    texts = [c.text for c in result.content if c.type == "text"]
    assert json.loads(texts[0]) == result.structured_content
    return result


async def call_error(client: ClientSession, name: str, args: dict[str, Any]) -> str:
    """Calls a tool that must fail as a tool result; returns its message."""
    result = await client.call_tool(name, args)
    assert result.is_error, f"{name} unexpectedly succeeded: {result.structured_content}"
    text = " ".join(c.text for c in result.content if c.type == "text")
    assert text
    return text


async def wait_for_state(client: ClientSession, execution_id: str, states: set[str], seconds: float = 30) -> dict:
    with anyio.fail_after(seconds):
        while True:
            status = (await call(client, "get_workflow_status", {"execution_id": execution_id})).structured_content
            if status["state"] in states:
                return status
            await anyio.sleep(0.2)
