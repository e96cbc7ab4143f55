"""API tokens: every call carries the client's token.

The live tests need a daemon run with ``--auth tokens`` and its admin token
(``WORKFLOWD_TEST_AUTH=tokens scripts/with-test-daemon.sh``, as
scripts/test-clients.sh runs ``pytest -k auth``); they skip otherwise.
"""

from __future__ import annotations

import asyncio
import os

import grpc
import pytest

from workflow_client import (
    TOKEN_ENV,
    AsyncWorkflowClient,
    WorkflowClient,
    WorkflowError,
    workflow_pb2 as pb,
)

UNKNOWN_EXECUTION = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def admin_token(addr: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The admin token of the live daemon; the tests start with no $WORKFLOW_TOKEN."""
    token = os.environ.get("WORKFLOWD_TEST_ADMIN_TOKEN")
    if not token:
        pytest.skip("needs a workflowd with --auth tokens: WORKFLOWD_TEST_AUTH=tokens scripts/with-test-daemon.sh")
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    return token


def code_of(call) -> grpc.StatusCode:
    """The status code ``call()`` fails with."""
    with pytest.raises((WorkflowError, grpc.RpcError)) as info:
        call()
    error = info.value
    return error.code if isinstance(error, WorkflowError) else error.code()


def test_auth_sync_client_sends_the_token(addr, admin_token, monkeypatch):
    with WorkflowClient(addr, timeout=30) as anonymous:
        assert code_of(anonymous.status) == grpc.StatusCode.UNAUTHENTICATED
        assert code_of(lambda: list(anonymous.stream_logs(UNKNOWN_EXECUTION))) == grpc.StatusCode.UNAUTHENTICATED

    with WorkflowClient(addr, timeout=30, token=admin_token) as admin:
        assert admin.status().version
        made = admin.stub.CreateToken(pb.CreateTokenRequest(name="python client test", role=pb.ROLE_VIEWER))
        assert made.secret.startswith("wft_")

        with WorkflowClient(addr, timeout=30, token=made.secret) as viewer:
            assert viewer.status().version
            # The stream carries the token too: past authentication, to the lookup.
            assert code_of(lambda: list(viewer.stream_logs(UNKNOWN_EXECUTION))) == grpc.StatusCode.NOT_FOUND
            assert code_of(lambda: viewer.execute("hello", {"name": "viewer"})) == grpc.StatusCode.PERMISSION_DENIED
            escalate = pb.CreateTokenRequest(name="escalation", role=pb.ROLE_ADMIN)
            assert code_of(lambda: viewer.stub.CreateToken(escalate)) == grpc.StatusCode.PERMISSION_DENIED

            # $WORKFLOW_TOKEN is the default; token="" sends none even then.
            monkeypatch.setenv(TOKEN_ENV, made.secret + "\n")
            with WorkflowClient(addr, timeout=30) as from_env:
                assert from_env.status().version
            with WorkflowClient(addr, timeout=30, token="") as none:
                assert code_of(none.status) == grpc.StatusCode.UNAUTHENTICATED

            admin.stub.RevokeToken(pb.RevokeTokenRequest(token_id=made.token.id))
            assert code_of(viewer.status) == grpc.StatusCode.UNAUTHENTICATED


def test_auth_async_client_sends_the_token(addr, admin_token):
    async def scenario():
        async with AsyncWorkflowClient(addr, timeout=30) as anonymous:
            with pytest.raises(WorkflowError) as info:
                await anonymous.status()
            assert info.value.code == grpc.StatusCode.UNAUTHENTICATED

        async with AsyncWorkflowClient(addr, timeout=30, token=admin_token) as admin:
            made = await admin.stub.CreateToken(pb.CreateTokenRequest(name="asyncio test", role=pb.ROLE_VIEWER))
        async with AsyncWorkflowClient(addr, timeout=30, token=made.secret) as viewer:
            assert (await viewer.status()).version
            with pytest.raises(WorkflowError) as info:
                async for _ in viewer.stream_logs(UNKNOWN_EXECUTION):
                    pass
            assert info.value.code == grpc.StatusCode.NOT_FOUND
            with pytest.raises(WorkflowError) as info:
                await viewer.execute("hello", {"name": "viewer"})
            assert info.value.code == grpc.StatusCode.PERMISSION_DENIED

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


def test_auth_token_is_for_the_clients_own_channel():
    channel = grpc.insecure_channel("127.0.0.1:1")
    try:
        with pytest.raises(ValueError, match="token_interceptor"):
            WorkflowClient(channel=channel, token="wft_x")
    finally:
        channel.close()


def test_auth_token_must_be_a_header_value(monkeypatch):
    with pytest.raises(ValueError, match="^token: "):
        WorkflowClient("127.0.0.1:1", token="wft_a b")
    monkeypatch.setenv(TOKEN_ENV, "wft_\x01")
    with pytest.raises(ValueError, match=f"^{TOKEN_ENV}: "):
        WorkflowClient("127.0.0.1:1")
