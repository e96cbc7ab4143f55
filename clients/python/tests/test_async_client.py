"""The asyncio AsyncWorkflowClient against a live daemon."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from workflow_client import AsyncWorkflowClient, WorkflowError, workflow_pb2 as pb


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=90))


def test_async_execute_stream_and_wait(addr):
    async def scenario():
        async with AsyncWorkflowClient(addr, timeout=30) as client:
            assert "hello" in [w.id for w in await client.list_workflows()]
            execution = await client.execute("hello", {"name": "asyncio"})
            events = [e async for e in client.stream_logs(execution.id)]
            assert [e.sequence for e in events] == list(range(1, len(events) + 1))
            assert events[-1].finished.state == pb.EXECUTION_STATE_SUCCEEDED
            assert any(e.output.text == "hello, asyncio" for e in events if e.HasField("output"))
            done = await client.wait(execution.id)
            assert done.state == pb.EXECUTION_STATE_SUCCEEDED
            fetched = await client.get_execution(execution.id)
            assert fetched.id == execution.id and fetched.exit_code == 0

    run(scenario())


def test_async_concurrent_executions(addr, unique):
    async def scenario():
        async with AsyncWorkflowClient(addr, timeout=30) as client:
            results = await asyncio.gather(
                *(client.execute_and_wait("hello", {"name": f"n{i}"}, labels={"py-async": unique}) for i in range(4))
            )
            assert all(r.state == pb.EXECUTION_STATE_SUCCEEDED for r in results)
            page = await client.list_executions(labels={"py-async": unique})
            assert sorted(e.id for e in page.executions) == sorted(r.id for r in results)

    run(scenario())


def test_async_errors_carry_code_and_violations(addr):
    async def scenario():
        async with AsyncWorkflowClient(addr, timeout=30) as client:
            with pytest.raises(WorkflowError) as info:
                await client.validate_inputs("research_pipeline", {"depth": 0})
            assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
            assert {"inputs.topic", "inputs.depth"} <= {f for f, _ in info.value.field_violations}
            with pytest.raises(WorkflowError) as info:
                await client.get_workflow("no_such_workflow")
            assert info.value.code == grpc.StatusCode.NOT_FOUND
            with pytest.raises(WorkflowError) as info:
                async for _ in client.stream_logs("00000000-0000-4000-8000-000000000000"):
                    pass
            assert info.value.code == grpc.StatusCode.NOT_FOUND

    run(scenario())


def test_async_cancel_and_status(addr):
    async def scenario():
        async with AsyncWorkflowClient(addr, timeout=30) as client:
            execution = await client.execute("sleeper", {"seconds": 60})
            await client.cancel(execution.id, force=True)
            done = await client.wait(execution.id)
            assert done.state == pb.EXECUTION_STATE_CANCELLED
            st = await client.status()
            assert st.max_workers >= 1 and st.version

    run(scenario())
