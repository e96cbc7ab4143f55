"""The blocking WorkflowClient against a live daemon."""

from __future__ import annotations

import json

import grpc
import jsonschema
import pytest

from workflow_client import WorkflowError, is_terminal, workflow_pb2 as pb

BUNDLED = {"hello", "research_pipeline", "sleeper", "chatty", "ignore_sigterm"}
MISSING_EXECUTION = "00000000-0000-4000-8000-000000000000"


def test_list_workflows_has_the_bundled_examples_in_id_order(client):
    ids = [w.id for w in client.list_workflows()]
    assert BUNDLED <= set(ids)
    assert ids == sorted(ids)
    assert isinstance(client.discovery_errors(), list)


def test_list_workflows_pages_follow_next_page_token(client):
    ids, token = [], ""
    while True:
        page = client.stub.ListWorkflows(pb.ListWorkflowsRequest(page_size=2, page_token=token), timeout=30)
        assert len(page.workflows) <= 2
        ids.extend(w.id for w in page.workflows)
        token = page.next_page_token
        if not token:
            break
    assert ids == [w.id for w in client.list_workflows()]


def test_get_workflow_describes_field_types(client):
    wf = client.get_workflow("research_pipeline")
    fields = {f.name: f for f in wf.fields}
    assert fields["topic"].required and fields["topic"].type.WhichOneof("kind") == "text"
    depth = fields["depth"].type.number
    assert fields["depth"].type.WhichOneof("kind") == "number"
    assert (depth.min, depth.max) == (1, 5)
    assert list(fields["format"].type.select.options) == ["markdown", "json"]
    assert fields["phases"].type.phase_selector.total_phases == 3
    assert fields["resume"].type.WhichOneof("kind") == "state_file"
    assert wf.program_path.endswith(".sh")


def test_input_json_schema_is_a_valid_draft_2020_12_schema(client):
    wf = client.get_workflow("research_pipeline")
    schema = json.loads(wf.input_json_schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"topic": "rust", "depth": 3, "format": "json"})
    assert not validator.is_valid({"topic": "rust", "depth": 9})
    assert not validator.is_valid({"depth": 3})  # topic is required


def test_validate_inputs_applies_defaults(client):
    resp = client.validate_inputs("hello")
    assert dict(resp.resolved_inputs) == {"name": "world"}
    assert resp.argv[0].endswith("hello.sh")
    assert "--name" in resp.argv


def test_invalid_inputs_raise_with_every_field_violation(client):
    with pytest.raises(WorkflowError) as info:
        client.validate_inputs("research_pipeline", {"depth": 9, "format": "pdf"})
    err = info.value
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    fields = {field for field, _ in err.field_violations}
    assert {"inputs.topic", "inputs.depth", "inputs.format"} <= fields
    assert all(description for _, description in err.field_violations)
    assert err.status is not None and err.status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "inputs.depth" in str(err)

    with pytest.raises(WorkflowError) as info:
        client.execute("research_pipeline", {"depth": "deep"})
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "inputs.depth" in {field for field, _ in info.value.field_violations}


def test_unknown_ids_are_not_found(client):
    for call in (
        lambda: client.get_workflow("no_such_workflow"),
        lambda: client.execute("no_such_workflow"),
        lambda: client.get_execution(MISSING_EXECUTION),
        lambda: client.wait(MISSING_EXECUTION),
        lambda: client.cancel(MISSING_EXECUTION),
    ):
        with pytest.raises(WorkflowError) as info:
            call()
        assert info.value.code == grpc.StatusCode.NOT_FOUND
        assert info.value.field_violations == []


def test_execute_returns_at_once_and_wait_follows_to_success(client):
    execution = client.execute("hello", {"name": "python"})
    assert execution.state in (pb.EXECUTION_STATE_QUEUED, pb.EXECUTION_STATE_RUNNING)
    assert execution.workflow_id == "hello"
    done = client.wait(execution.id, timeout=60)
    assert done.id == execution.id
    assert done.state == pb.EXECUTION_STATE_SUCCEEDED and is_terminal(done.state)
    assert done.HasField("exit_code") and done.exit_code == 0
    assert done.inputs["name"] == "python"
    assert [(p.name, p.status) for p in done.phases] == [("greet", pb.NODE_STATUS_COMPLETED)]
    assert done.log_counts.total > 0


def _check_hello_log(events, greeting):
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    kinds = [e.WhichOneof("payload") for e in events]
    assert "phase_started" in kinds and "phase_completed" in kinds
    assert kinds[-1] == "finished"
    assert events[-1].finished.state == pb.EXECUTION_STATE_SUCCEEDED
    lines = [e.output.text for e in events if e.HasField("output") and e.output.stream == pb.OUTPUT_STREAM_STDOUT]
    assert greeting in lines


def test_stream_logs_live_then_history_then_tail(client):
    execution = client.execute("hello", {"name": "stream"})
    live = list(client.stream_logs(execution.id, timeout=60))
    _check_hello_log(live, "hello, stream")
    history = list(client.stream_logs(execution.id, follow=False))
    assert [e.SerializeToString() for e in history] == [e.SerializeToString() for e in live]
    tail = list(client.stream_logs(execution.id, from_sequence=3, follow=False))
    assert [e.sequence for e in tail] == list(range(3, len(live) + 1))


def test_stream_logs_can_be_closed_early(client):
    execution = client.execute("chatty", {"lines": 2000})
    stream = client.stream_logs(execution.id)
    first = next(stream)
    assert first.sequence == 1
    stream.close()
    assert client.wait(execution.id, timeout=60).state == pb.EXECUTION_STATE_SUCCEEDED


def test_failed_run_reports_exit_code(client):
    done = client.execute_and_wait("sleeper", {"seconds": 0, "exit_code": 3}, timeout=60)
    assert done.state == pb.EXECUTION_STATE_FAILED
    assert done.exit_code == 3
    assert [p.status for p in done.phases] == [pb.NODE_STATUS_FAILED]


def test_cancel_stops_a_running_sleeper(client):
    execution = client.execute("sleeper", {"seconds": 60})
    resp = client.cancel(execution.id, grace_period=5)
    assert resp.execution.id == execution.id
    done = client.wait(execution.id, timeout=60)
    assert done.state == pb.EXECUTION_STATE_CANCELLED
    with pytest.raises(WorkflowError) as info:
        client.cancel(execution.id)
    assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION


def test_run_timeout_ends_timed_out(client):
    done = client.execute_and_wait("sleeper", {"seconds": 60}, run_timeout=0.5, timeout=60)
    assert done.state == pb.EXECUTION_STATE_TIMED_OUT
    assert done.timeout.ToMilliseconds() == 500


def test_request_id_makes_execute_idempotent(client, unique):
    request = pb.ExecuteRequest(workflow_id="hello", request_id=f"py-{unique}")
    first = client.stub.Execute(request, timeout=30)
    second = client.stub.Execute(request, timeout=30)
    assert first.started and not second.started
    assert first.execution.id == second.execution.id
    again = client.execute("hello", request_id=f"py-{unique}")
    assert again.id == first.execution.id
    client.wait(first.execution.id, timeout=60)


def test_list_executions_filters_by_label_workflow_and_state(client, unique):
    done = client.execute_and_wait("hello", labels={"py-test-run": unique}, timeout=60)
    page = client.list_executions(labels={"py-test-run": unique})
    assert [e.id for e in page.executions] == [done.id]
    assert page.next_page_token == ""
    page = client.list_executions(
        workflow_id="hello", states=[pb.EXECUTION_STATE_SUCCEEDED], labels={"py-test-run": unique}
    )
    assert [e.id for e in page.executions] == [done.id]
    page = client.list_executions(states=[pb.EXECUTION_STATE_FAILED], labels={"py-test-run": unique})
    assert list(page.executions) == []


def test_list_executions_pages_newest_first(client, unique):
    ids = [client.execute_and_wait("hello", labels={"py-page": unique}, timeout=60).id for _ in range(3)]
    seen, token = [], ""
    while True:
        page = client.list_executions(labels={"py-page": unique}, page_size=2, page_token=token)
        assert len(page.executions) <= 2
        seen.extend(e.id for e in page.executions)
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(ids))


def test_status_reports_pool_and_history(client):
    st = client.status()
    assert st.version
    assert st.max_workers >= 1
    assert st.workflows_discovered >= len(BUNDLED)
    assert st.total_executions >= 0
    assert st.HasField("start_time")
