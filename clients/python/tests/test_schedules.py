"""Schedule calls of the blocking and asyncio clients against a live daemon.

The daemon is shared with the other test suites: every test uses schedule
ids of its own and deletes what it creates.
"""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid

import grpc
import pytest

from workflow_client import (
    AsyncWorkflowClient,
    WorkflowClient,
    WorkflowError,
    schedule_execute_action,
    schedule_manifest_action,
    workflow_pb2 as pb,
)

#: 6 fields (a leading seconds field): due every second, so a test sees the
#: schedule fire without waiting long.
EVERY_SECOND = "*/1 * * * * *"
#: Due once a year: only a trigger starts a run within a test.
YEARLY = "0 0 1 1 *"


@pytest.fixture
def schedule_id(addr):
    """A schedule id no other test uses; deleted after the test if it exists."""
    sid = f"py-test-{uuid.uuid4().hex[:16]}"
    yield sid
    with WorkflowClient(addr, timeout=10) as client:
        try:
            client.delete_schedule(sid)
        except WorkflowError as err:
            assert err.code == grpc.StatusCode.NOT_FOUND, err


def hello_schedule(sid, cron, run):
    """A schedule that executes hello with one input and one label; a trigger
    while a cron-started hello still runs starts all the same (ALLOW_ALL)."""
    return pb.Schedule(
        id=sid,
        spec=pb.ScheduleSpec(cron=[cron]),
        action=schedule_execute_action("hello", {"name": "schedule"}, labels={"py-test-run": run}),
        overlap_policy=pb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
        description="python test",
    )


def wait_for_run(client, sid, matches, seconds=15):
    """The first recent run of the schedule that ``matches``, polled for at
    most ``seconds`` (a schedule due every second takes one)."""
    deadline = time.monotonic() + seconds
    while True:
        runs = client.get_schedule(sid, recent_runs=100).recent_runs
        for run in runs:
            if matches(run):
                return run
        assert time.monotonic() < deadline, f"no matching run of {sid} within {seconds} s: {runs}"
        time.sleep(0.2)


def test_schedule_lifecycle(client, schedule_id, unique):
    created = client.create_schedule(hello_schedule(schedule_id, EVERY_SECOND, unique))
    assert created.id == schedule_id
    assert list(created.spec.cron) == [EVERY_SECOND]
    assert created.action.execute.workflow_id == "hello"
    assert not created.paused and created.HasField("create_time")
    assert len(created.next_fire_times) >= 1

    got = client.get_schedule(schedule_id, next_fire_times=3)
    times = [t.ToDatetime() for t in got.next_fire_times]
    assert len(times) == 3
    assert [b - a for a, b in zip(times, times[1:])] == [datetime.timedelta(seconds=1)] * 2
    assert got.overlap_policy == pb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL
    assert got.description == "python test"
    assert got.action.execute.inputs["name"].string_value == "schedule"

    listed = client.list_schedules()
    ids = [s.id for s in listed]
    assert ids == sorted(ids)
    mine = listed[ids.index(schedule_id)]
    assert len(mine.next_fire_times) == 1 and list(mine.recent_runs) == []

    fired = wait_for_run(
        client, schedule_id, lambda r: not r.triggered and r.outcome == pb.SCHEDULE_RUN_OUTCOME_STARTED
    )
    assert len(fired.execution_ids) == 1
    assert fired.HasField("scheduled_time") and fired.HasField("action_time")

    paused = client.pause_schedule(schedule_id, "paused by the python test")
    assert paused.paused and paused.note == "paused by the python test"
    assert list(paused.next_fire_times) == []
    again = client.get_schedule(schedule_id)
    assert again.paused and again.note == "paused by the python test"
    unpaused = client.unpause_schedule(schedule_id, note="unpaused by the python test")
    assert not unpaused.paused and unpaused.note == "unpaused by the python test"
    assert len(unpaused.next_fire_times) >= 1

    # Once a year from now on: nothing but the trigger below starts a run.
    update = hello_schedule("", YEARLY, unique)  # the request names the schedule
    update.description = "updated"
    updated = client.update_schedule(schedule_id, update)
    assert list(updated.spec.cron) == [YEARLY] and updated.description == "updated"
    assert updated.note == "unpaused by the python test" and not updated.paused
    new_year = datetime.datetime(datetime.datetime.now(datetime.timezone.utc).year + 1, 1, 1)
    assert updated.next_fire_times[0].ToDatetime() == new_year  # UTC, the default time zone

    run = client.trigger_schedule(schedule_id)
    assert run.outcome == pb.SCHEDULE_RUN_OUTCOME_STARTED and run.triggered
    assert len(run.execution_ids) == 1
    done = client.wait(run.execution_ids[0], timeout=60)
    assert done.state == pb.EXECUTION_STATE_SUCCEEDED
    assert done.workflow_id == "hello" and done.inputs["name"] == "schedule"
    assert done.schedule_id == schedule_id and done.HasField("scheduled_time")
    assert done.labels["schedule"] == schedule_id and done.labels["py-test-run"] == unique

    page = client.list_executions(schedule_id=schedule_id, page_size=1000)
    assert {e.schedule_id for e in page.executions} == {schedule_id}
    assert {run.execution_ids[0], fired.execution_ids[0]} <= {e.id for e in page.executions}

    runs = client.get_schedule(schedule_id, recent_runs=1000).recent_runs
    assert runs[0].triggered and list(runs[0].execution_ids) == list(run.execution_ids)

    client.delete_schedule(schedule_id)
    for call in (lambda: client.get_schedule(schedule_id), lambda: client.delete_schedule(schedule_id)):
        with pytest.raises(WorkflowError) as info:
            call()
        assert info.value.code == grpc.StatusCode.NOT_FOUND
    assert client.get_execution(run.execution_ids[0]).id == run.execution_ids[0]


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda s: s.spec.cron.__setitem__(0, "every tuesday-ish"), "schedule.spec.cron[0]"),
        (
            lambda s: setattr(s.action.execute, "workflow_id", "no_such_workflow"),
            "schedule.action.execute.workflow_id",
        ),
    ],
    ids=["bad cron", "unknown workflow"],
)
def test_invalid_schedule_names_the_field(client, schedule_id, edit, field):
    schedule = hello_schedule(schedule_id, EVERY_SECOND, "invalid")
    edit(schedule)
    with pytest.raises(WorkflowError) as info:
        client.create_schedule(schedule)
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    violations = dict(info.value.field_violations)
    assert field in violations, info.value.field_violations
    assert violations[field]
    with pytest.raises(WorkflowError) as info:
        client.get_schedule(schedule_id)
    assert info.value.code == grpc.StatusCode.NOT_FOUND


def test_create_schedule_twice_is_already_exists(client, schedule_id):
    client.create_schedule(hello_schedule(schedule_id, YEARLY, "twice"))
    with pytest.raises(WorkflowError) as info:
        client.create_schedule(hello_schedule(schedule_id, YEARLY, "twice"))
    assert info.value.code == grpc.StatusCode.ALREADY_EXISTS


def test_unknown_schedules_are_not_found(client):
    missing = "py-test-no-such-schedule"
    for call in (
        lambda: client.get_schedule(missing),
        lambda: client.pause_schedule(missing),
        lambda: client.unpause_schedule(missing),
        lambda: client.trigger_schedule(missing),
        lambda: client.update_schedule(missing, hello_schedule(missing, YEARLY, "missing")),
    ):
        with pytest.raises(WorkflowError) as info:
            call()
        assert info.value.code == grpc.StatusCode.NOT_FOUND


def test_async_schedule_calls(addr, schedule_id, unique):
    async def scenario():
        async with AsyncWorkflowClient(addr, timeout=30) as client:
            created = await client.create_schedule(hello_schedule(schedule_id, YEARLY, unique))
            assert created.id == schedule_id and len(created.next_fire_times) >= 1
            got = await client.get_schedule(schedule_id, next_fire_times=2)
            assert len(got.next_fire_times) == 2
            assert schedule_id in [s.id for s in await client.list_schedules()]
            paused = await client.pause_schedule(schedule_id, "async pause")
            assert paused.paused and paused.note == "async pause"
            unpaused = await client.unpause_schedule(schedule_id, "async unpause")
            assert not unpaused.paused and unpaused.note == "async unpause"
            update = hello_schedule(schedule_id, YEARLY, unique)
            update.description = "async update"
            assert (await client.update_schedule(schedule_id, update)).description == "async update"
            run = await client.trigger_schedule(schedule_id)
            assert run.outcome == pb.SCHEDULE_RUN_OUTCOME_STARTED and len(run.execution_ids) == 1
            done = await client.wait(run.execution_ids[0], timeout=60)
            assert done.state == pb.EXECUTION_STATE_SUCCEEDED and done.schedule_id == schedule_id
            page = await client.list_executions(schedule_id=schedule_id)
            assert [e.id for e in page.executions] == list(run.execution_ids)
            await client.delete_schedule(schedule_id)
            with pytest.raises(WorkflowError) as info:
                await client.get_schedule(schedule_id)
            assert info.value.code == grpc.StatusCode.NOT_FOUND

    asyncio.run(asyncio.wait_for(scenario(), timeout=90))


def test_schedule_manifest_action_takes_one_source():
    action = schedule_manifest_action(template_path="/srv/manifests/nightly.yaml", output_dir="/srv/out")
    assert action.manifest.template_path == "/srv/manifests/nightly.yaml"
    assert action.manifest.output_dir == "/srv/out"
    assert action.manifest.format == pb.MANIFEST_FORMAT_DETECT
    assert schedule_manifest_action(content="version: '1.0'").manifest.content == b"version: '1.0'"
    for kwargs in ({}, {"template_path": "/a.yaml", "content": b"{}"}):
        with pytest.raises(ValueError):
            schedule_manifest_action(**kwargs)
