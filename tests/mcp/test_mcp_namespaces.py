"""workflow-mcp's `namespace` argument end to end (docs/security.md,
"Namespaces"): against a daemon with two namespaces, the tools that start
work (execute_workflow, each run_<id>, submit_manifest, create_schedule)
start it in the namespace they are given, and list_executions filters by
it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import Daemon, call, call_error

pytestmark = pytest.mark.anyio


@pytest.fixture
def teams_daemon(workflowd_bin: Path, tmp_path: Path) -> Iterator[tuple[Daemon, Path]]:
    """A daemon with namespaces team-a and team-b (each with an empty
    workflow directory: the bundled workflows belong to both), and a source
    root holding a raw disk for manifests."""
    config = tmp_path / "namespaces.toml"
    lines = []
    for team in ("team-a", "team-b"):
        directory = tmp_path / team
        directory.mkdir()
        lines += [f"[namespaces.{team}]", f"workflow_dirs = [{json.dumps(str(directory))}]"]
    config.write_text("\n".join(lines) + "\n")
    disks = tmp_path / "disks"
    disks.mkdir()
    disk = disks / "web.raw"
    disk.write_bytes(b"disk web.raw written by the test".ljust(1 << 20, b"\0"))
    d = Daemon(workflowd_bin, tmp_path, extra_args=["--config", str(config), "--source-root", str(disks)])
    yield d, disk
    d.stop()


async def status(client, execution_id: str) -> dict:
    return (await call(client, "get_workflow_status", {"execution_id": execution_id})).structured_content


async def test_work_starts_in_the_namespace_it_is_given(teams_daemon: tuple[Daemon, Path], session_factory):
    daemon, disk = teams_daemon
    async with session_factory(daemon.addr) as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
        for name in ("execute_workflow", "submit_manifest", "create_schedule", "list_executions"):
            assert "string" in tools[name].input_schema["properties"]["namespace"]["type"], name

        # execute_workflow: in team-b when asked, in `default` when not.
        executed = (
            await call(s.client, "execute_workflow", {"workflow_id": "hello", "inputs": {}, "namespace": "team-b"})
        ).structured_content
        assert (await status(s.client, executed["execution_id"]))["namespace"] == "team-b"
        plain = (await call(s.client, "execute_workflow", {"workflow_id": "hello", "inputs": {}})).structured_content
        assert (await status(s.client, plain["execution_id"]))["namespace"] == "default"
        message = await call_error(s.client, "execute_workflow", {"workflow_id": "hello", "namespace": "nope"})
        assert "namespace" in message, message

        # submit_manifest: its execution in team-a.
        submitted = (
            await call(s.client, "submit_manifest", {
                "content": json.dumps({"version": "1.0", "pipeline": {
                    "load": {"source_type": "raw", "source_path": str(disk)},
                    "convert": {"output_format": "qcow2"}}}),
                "file_name": "web.json",
                "namespace": "team-a",
            })
        ).structured_content
        [vm] = submitted["vms"]
        assert (await status(s.client, vm["execution_id"]))["namespace"] == "team-a"

        # list_executions filtered by namespace.
        listed = (await call(s.client, "list_executions", {"namespace": "team-a"})).structured_content
        assert [e["execution_id"] for e in listed["executions"]] == [vm["execution_id"]]
        listed = (await call(s.client, "list_executions", {"namespace": "team-b"})).structured_content
        assert [e["execution_id"] for e in listed["executions"]] == [executed["execution_id"]]

        # create_schedule: the schedule and what it starts in team-b.
        schedule_id = "ns-" + uuid.uuid4().hex[:8]
        created = (
            await call(s.client, "create_schedule", {
                "schedule_id": schedule_id,
                "cron": ["0 3 1 1 *"],
                "execute": {"workflow_id": "hello"},
                "namespace": "team-b",
            })
        ).structured_content
        assert created["namespace"] == "team-b", created
        triggered = (await call(s.client, "trigger_schedule", {"schedule_id": schedule_id})).structured_content
        [started] = triggered["run"]["execution_ids"]
        assert (await status(s.client, started))["namespace"] == "team-b"
        await call(s.client, "delete_schedule", {"schedule_id": schedule_id})


async def test_run_tools_start_in_the_namespace_they_are_given(teams_daemon: tuple[Daemon, Path], session_factory):
    """A run_<id> tool takes `namespace` as execute_workflow does: the run
    starts there, without it in the token's only namespace else `default`,
    and a namespace the daemon does not have is refused naming the
    argument. It is the tool's argument, never one of the workflow's
    inputs."""
    daemon, _ = teams_daemon
    async with session_factory(daemon.addr) as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
        schema = tools["run_hello"].input_schema
        assert schema["properties"]["namespace"]["type"] == "string"
        assert "namespace" not in schema.get("required", [])
        assert Draft202012Validator(schema).is_valid({"name": "x", "namespace": "team-b"})

        in_b = (
            await call(s.client, "run_hello", {"name": "in-b", "namespace": "team-b", "wait_seconds": 30},
                       read_timeout_seconds=60)
        ).structured_content
        assert in_b["state"] == "SUCCEEDED", in_b
        assert in_b["status"]["namespace"] == "team-b"
        assert in_b["status"]["inputs"] == {"name": "in-b"}
        plain = (await call(s.client, "run_hello", {"name": "plain"})).structured_content
        assert (await status(s.client, plain["execution_id"]))["namespace"] == "default"

        # Refused as execute_workflow refuses it, and nothing started.
        message = await call_error(s.client, "run_hello", {"name": "x", "namespace": "nope"})
        assert "namespace: must be a configured namespace" in message, message
        assert message == await call_error(s.client, "execute_workflow", {"workflow_id": "hello", "namespace": "nope"})
        message = await call_error(s.client, "run_hello", {"name": "x", "namespace": 7})
        assert "namespace: must be a string" in message, message
        listed = (await call(s.client, "list_executions", {})).structured_content
        assert sorted(e["execution_id"] for e in listed["executions"]) == sorted(
            [in_b["execution_id"], plain["execution_id"]]
        )
