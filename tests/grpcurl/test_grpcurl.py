"""workflowd through the real grpcurl binary (plaintext, server reflection).

Every test runs twice: with the current grpcurl, which asks the daemon's
reflection v1 service, and with grpcurl 1.8.7, the last release that speaks
only reflection v1alpha (as every grpcurl before 1.8.8 does).

Needs a live daemon at WORKFLOWD_ADDR (skipped when unset), the current
grpcurl on PATH, in $(go env GOPATH)/bin, or at $GRPCURL, and the v1alpha one
at $GRPCURL_V1ALPHA; scripts/test-clients.sh installs both pinned versions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICE = "workflow.v1.WorkflowService"


def _find_grpcurl() -> str | None:
    if os.environ.get("GRPCURL"):
        return os.environ["GRPCURL"]
    found = shutil.which("grpcurl")
    if found:
        return found
    try:
        gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    candidate = Path(gopath) / "bin" / "grpcurl"
    return str(candidate) if candidate.exists() else None


def _find_v1alpha_grpcurl() -> str | None:
    path = os.environ.get("GRPCURL_V1ALPHA")
    return path if path and Path(path).exists() else None


@dataclass
class Grpcurl:
    """One grpcurl binary against the daemon; calling it runs grpcurl."""

    binary: str
    addr: str
    # The reflection service this grpcurl talks to; it lists only that one.
    reflection_service: str

    def __call__(self, *args: str, flags: tuple[str, ...] = (), data: str | None = None, check: bool = True,
                 timeout: float = 60) -> subprocess.CompletedProcess:
        # grpcurl [flags] ADDRESS (list|describe [SYMBOL] | METHOD)
        cmd = [self.binary, "-plaintext", *flags]
        if data is not None:
            cmd += ["-d", data]
        cmd += [self.addr, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            pytest.fail(f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc


@pytest.fixture(scope="module", params=["reflection-v1", "reflection-v1alpha"])
def grpcurl(request) -> Grpcurl:
    addr = os.environ.get("WORKFLOWD_ADDR")
    if not addr:
        pytest.skip("WORKFLOWD_ADDR is not set; these tests need a running workflowd")
    if request.param == "reflection-v1":
        binary = _find_grpcurl()
        if binary is None:
            pytest.fail("grpcurl not found (run scripts/test-clients.sh, or set GRPCURL)")
        return Grpcurl(binary, addr, "grpc.reflection.v1.ServerReflection")
    binary = _find_v1alpha_grpcurl()
    if binary is None:
        pytest.fail("grpcurl 1.8.7 not found at $GRPCURL_V1ALPHA (run scripts/test-clients.sh, which installs it)")
    return Grpcurl(binary, addr, "grpc.reflection.v1alpha.ServerReflection")


def _json_stream(text: str) -> list[dict]:
    """grpcurl prints one JSON document per response message, back to back."""
    decoder, out, pos = json.JSONDecoder(), [], 0
    text = text.strip()
    while pos < len(text):
        obj, end = decoder.raw_decode(text, pos)
        out.append(obj)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def test_list_shows_the_service_health_and_reflection(grpcurl):
    services = grpcurl("list").stdout.split()
    assert SERVICE in services
    assert "grpc.health.v1.Health" in services
    # Each reflection service lists itself, so this names the one that answered.
    assert [s for s in services if s.startswith("grpc.reflection.")] == [grpcurl.reflection_service]


def test_list_service_shows_every_method(grpcurl):
    methods = set(grpcurl("list", SERVICE).stdout.split())
    expected = {
        "ListWorkflows", "GetWorkflow", "ValidateInputs", "Execute", "GetExecution",
        "ListExecutions", "StreamLogs", "Cancel", "GetStatus", "WaitExecution",
    }
    assert {f"{SERVICE}.{m}" for m in expected} <= methods


def test_describe_service_and_messages(grpcurl):
    out = grpcurl("describe", SERVICE).stdout
    assert f"{SERVICE} is a service" in out
    # Each RPC carries its HTTP route (google.api.http) as an option, which
    # reflection serves too.
    assert "rpc StreamLogs ( .workflow.v1.StreamLogsRequest ) returns ( stream .workflow.v1.StreamLogsResponse ) {" in out
    assert "rpc Execute ( .workflow.v1.ExecuteRequest ) returns ( .workflow.v1.ExecuteResponse ) {" in out
    assert '"/v1/executions/{execution_id}/logs"' in out
    assert "option (.google.api.http)" in out
    message = grpcurl("describe", "workflow.v1.LogEvent").stdout
    assert "oneof payload" in message and ".workflow.v1.Finished finished = 27;" in message


def test_health_check_serving(grpcurl):
    out = json.loads(grpcurl("grpc.health.v1.Health/Check", data="{}").stdout)
    assert out == {"status": "SERVING"}
    named = json.loads(grpcurl("grpc.health.v1.Health/Check", data=json.dumps({"service": SERVICE})).stdout)
    assert named == {"status": "SERVING"}


def test_list_workflows_json(grpcurl):
    out = json.loads(grpcurl(f"{SERVICE}/ListWorkflows", data="{}").stdout)
    ids = [w["id"] for w in out["workflows"]]
    assert {"hello", "research_pipeline", "sleeper", "chatty", "ignore_sigterm"} <= set(ids)
    hello = next(w for w in out["workflows"] if w["id"] == "hello")
    assert hello["fields"][0]["name"] == "name"
    assert hello["fields"][0]["defaultValue"] == "world"
    assert "text" in hello["fields"][0]["type"]


def test_list_workflows_with_the_proto_source_instead_of_reflection(grpcurl):
    out = grpcurl(
        f"{SERVICE}/ListWorkflows",
        flags=("-import-path", str(REPO / "proto"), "-proto", "workflow/v1/workflow.proto"),
        data='{"page_size": 2}',
    ).stdout
    page = json.loads(out)
    assert len(page["workflows"]) == 2
    assert page["nextPageToken"]


def test_execute_then_stream_logs_to_finished(grpcurl):
    started = json.loads(
        grpcurl(f"{SERVICE}/Execute", data=json.dumps({"workflow_id": "hello", "inputs": {"name": "grpcurl"}})).stdout
    )
    execution = started["execution"]
    assert started["started"] is True
    assert execution["state"] in ("EXECUTION_STATE_QUEUED", "EXECUTION_STATE_RUNNING")

    proc = grpcurl(
        f"{SERVICE}/StreamLogs", data=json.dumps({"execution_id": execution["id"], "follow": True})
    )
    events = [m["event"] for m in _json_stream(proc.stdout)]
    assert [int(e["sequence"]) for e in events] == list(range(1, len(events) + 1))  # uint64 is a JSON string
    assert "finished" in events[-1]
    assert events[-1]["finished"]["state"] == "EXECUTION_STATE_SUCCEEDED"
    assert any(e.get("output", {}).get("text") == "hello, grpcurl" for e in events)
    assert any("phaseStarted" in e for e in events)

    got = json.loads(grpcurl(f"{SERVICE}/GetExecution", data=json.dumps({"execution_id": execution["id"]})).stdout)
    assert got["execution"]["state"] == "EXECUTION_STATE_SUCCEEDED"
    assert got["execution"]["phases"][0]["name"] == "greet"


def test_execute_then_wait_execution_returns_the_ended_execution(grpcurl):
    started = json.loads(
        grpcurl(f"{SERVICE}/Execute", data=json.dumps({"workflow_id": "hello", "inputs": {"name": "waiter"}})).stdout
    )
    execution_id = started["execution"]["id"]
    ended = json.loads(grpcurl(f"{SERVICE}/WaitExecution", data=json.dumps({"execution_id": execution_id})).stdout)
    assert ended["execution"]["id"] == execution_id
    assert ended["execution"]["state"] == "EXECUTION_STATE_SUCCEEDED"
    assert "endTime" in ended["execution"]


def test_invalid_inputs_fail_with_invalid_argument(grpcurl):
    proc = grpcurl(
        f"{SERVICE}/Execute", data=json.dumps({"workflow_id": "research_pipeline", "inputs": {"depth": 9}}), check=False
    )
    assert proc.returncode == 64 + 3  # grpcurl exits 64 + the status code
    assert "InvalidArgument" in proc.stderr


def test_unknown_workflow_is_not_found(grpcurl):
    proc = grpcurl(f"{SERVICE}/GetWorkflow", data='{"workflow_id": "no_such_workflow"}', check=False)
    assert proc.returncode == 64 + 5
    assert "NotFound" in proc.stderr
