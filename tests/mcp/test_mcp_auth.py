"""workflow-mcp against a daemon with API tokens on (docs/security.md): the
token comes from WORKFLOW_TOKEN; without one every tool is an error that
says so, and a viewer's token may read but not run.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Daemon, call, call_error

pytestmark = pytest.mark.anyio


@pytest.fixture
def token_daemon(workflowd_bin: Path, tmp_path: Path) -> Iterator[tuple[Daemon, str]]:
    """A daemon with tokens on, and the admin token it wrote at first start."""
    d = Daemon(workflowd_bin, tmp_path, extra_args=["--auth", "tokens"])
    admin = (d.data_dir / "admin.token").read_text().strip()
    yield d, admin
    d.stop()


def create_token(daemon: Daemon, admin: str, role: str) -> str:
    """A new token of `role`, made over the HTTP/JSON route with `admin`."""
    request = urllib.request.Request(
        daemon.addr + "/v1/tokens",
        data=json.dumps({"name": "mcp test", "role": role}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {admin}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)["secret"]


async def test_tools_need_a_token_and_a_role(token_daemon: tuple[Daemon, str], session_factory):
    daemon, admin = token_daemon
    async with session_factory(daemon.addr) as s:
        message = await call_error(s.client, "list_workflows", {})
        assert "no API token" in message and "WORKFLOW_TOKEN" in message, message
    viewer = create_token(daemon, admin, "ROLE_VIEWER")
    async with session_factory(daemon.addr, token=viewer) as s:
        listing = (await call(s.client, "list_workflows")).structured_content
        assert "hello" in {w["id"] for w in listing["workflows"]}
        message = await call_error(s.client, "execute_workflow", {"workflow_id": "hello", "inputs": {}})
        assert "Execute needs the operator role" in message, message
    async with session_factory(daemon.addr, token=admin) as s:
        result = (
            await call(s.client, "execute_workflow", {"workflow_id": "hello", "inputs": {}, "wait_seconds": 60},
                       read_timeout_seconds=90)
        ).structured_content
        assert result["state"] == "SUCCEEDED", result
