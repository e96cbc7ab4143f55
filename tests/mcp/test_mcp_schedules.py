"""workflow-mcp's schedule tools end to end: the official Python MCP
client over stdio, the real workflow-mcp binary, a real workflowd.
"""

from __future__ import annotations

import uuid

import pytest

from conftest import ERAS, FINAL_STATES, Daemon, call, call_error, wait_for_state

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("era", ERAS)
async def test_a_schedule_is_created_triggered_listed_and_deleted(daemon: Daemon, session_factory, era: str):
    schedule_id = "mcp-" + uuid.uuid4().hex[:8]
    async with session_factory(daemon.addr, era) as s:
        # Yearly, so nothing but the trigger runs it during the test.
        created = (
            await call(s.client, "create_schedule", {
                "schedule_id": schedule_id,
                "cron": ["0 3 1 1 *"],
                "time_zone": "Europe/Paris",
                "execute": {"workflow_id": "hello", "inputs": {"name": "schedule"}, "timeout_seconds": 60},
                "labels": {"suite": "mcp"},
                "overlap_policy": "BUFFER_ONE",
                "description": "new year's greeting",
            })
        ).structured_content
        assert created["schedule_id"] == schedule_id
        assert created["cron"] == ["0 3 1 1 *"] and created["time_zone"] == "Europe/Paris"
        assert created["execute"] == {"workflow_id": "hello", "inputs": {"name": "schedule"}, "timeout_seconds": 60}
        assert created["labels"] == {"suite": "mcp"}
        assert created["overlap_policy"] == "BUFFER_ONE" and created["catch_up_policy"] == "START_ONE"
        assert created["paused"] is False and len(created["next_fire_times"]) == 5
        # 03:00 in Paris on 1 January is 02:00 UTC.
        assert created["next_fire_times"][0].endswith("-01-01T02:00:00.000Z"), created

        message = await call_error(s.client, "create_schedule", {
            "schedule_id": schedule_id, "cron": ["@daily"], "execute": {"workflow_id": "hello"},
        })
        assert "already exists" in message and schedule_id in message

        got = (await call(s.client, "get_schedule", {"schedule_id": schedule_id, "next_fire_times": 3})).structured_content
        assert len(got["next_fire_times"]) == 3 and "recent_runs" not in got
        assert got["description"] == "new year's greeting"

        paused = (
            await call(s.client, "pause_schedule", {"schedule_id": schedule_id, "paused": True, "note": "holidays"})
        ).structured_content
        assert paused["paused"] is True and paused["note"] == "holidays"
        assert paused["next_fire_times"] == []

        # Triggered while paused: it runs now.
        triggered = (await call(s.client, "trigger_schedule", {"schedule_id": schedule_id})).structured_content
        assert triggered["started"] is True, triggered
        run = triggered["run"]
        assert run["outcome"] == "STARTED" and run["triggered"] is True
        [execution_id] = run["execution_ids"]
        final = await wait_for_state(s.client, execution_id, FINAL_STATES)
        assert final["state"] == "SUCCEEDED"
        assert final["labels"] == {"suite": "mcp", "schedule": schedule_id}

        listing = (await call(s.client, "list_executions", {"schedule_id": schedule_id})).structured_content
        assert [e["execution_id"] for e in listing["executions"]] == [execution_id]

        # A retried trigger (same request_id) returns the first one's run.
        retry = {"schedule_id": schedule_id, "request_id": str(uuid.uuid4())}
        first = (await call(s.client, "trigger_schedule", retry)).structured_content
        again = (await call(s.client, "trigger_schedule", retry)).structured_content
        assert first["run"] == again["run"] and first["started"] is True
        await wait_for_state(s.client, first["run"]["execution_ids"][0], FINAL_STATES)

        got = (await call(s.client, "get_schedule", {"schedule_id": schedule_id})).structured_content
        assert got["paused"] is True and got["note"] == "holidays"
        assert [r["execution_ids"] for r in got["recent_runs"]] == [first["run"]["execution_ids"], [execution_id]]
        schedules = (await call(s.client, "list_schedules")).structured_content["schedules"]
        assert schedule_id in [x["schedule_id"] for x in schedules]
        page = (await call(s.client, "list_schedules", {"page_size": 1})).structured_content
        assert len(page["schedules"]) == 1

        deleted = (await call(s.client, "delete_schedule", {"schedule_id": schedule_id})).structured_content
        assert deleted == {"schedule_id": schedule_id, "deleted": True}
        message = await call_error(s.client, "get_schedule", {"schedule_id": schedule_id})
        assert "unknown schedule" in message and "list_schedules" in message
        schedules = (await call(s.client, "list_schedules")).structured_content["schedules"]
        assert schedule_id not in [x["schedule_id"] for x in schedules]
        # Its execution stays.
        await call(s.client, "get_workflow_status", {"execution_id": execution_id})


async def test_bad_schedules_are_tool_errors_naming_the_argument(daemon: Daemon, session_factory):
    async with session_factory(daemon.addr) as s:
        message = await call_error(s.client, "create_schedule", {
            "schedule_id": "bad-cron", "cron": ["not a cron"], "execute": {"workflow_id": "hello"},
        })
        assert message.startswith("invalid input: cron[0]: "), message
        message = await call_error(s.client, "create_schedule", {
            "schedule_id": "bad-inputs", "cron": ["@daily"],
            "execute": {"workflow_id": "research_pipeline", "inputs": {"depth": 9}},
        })
        assert "execute.inputs.depth" in message and "execute.inputs.topic" in message, message
        message = await call_error(s.client, "create_schedule", {
            "schedule_id": "no-action", "cron": ["@daily"],
        })
        assert message.startswith("invalid input: execute: give one of"), message
        message = await call_error(s.client, "create_schedule", {
            "schedule_id": "Bad Id", "cron": ["@daily"], "execute": {"workflow_id": "hello"},
        })
        assert "schedule_id" in message, message
        message = await call_error(s.client, "trigger_schedule", {"schedule_id": "no-such-schedule"})
        assert "unknown schedule" in message
        schedules = (await call(s.client, "list_schedules")).structured_content["schedules"]
        assert not {"bad-cron", "bad-inputs", "no-action"} & {x["schedule_id"] for x in schedules}
