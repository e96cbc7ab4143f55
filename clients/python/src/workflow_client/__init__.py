"""Python client for workflowd's gRPC API (workflow.v1.WorkflowService).

::

    from workflow_client import WorkflowClient, WorkflowError, workflow_pb2

    with WorkflowClient("127.0.0.1:50051") as client:
        execution = client.execute_and_wait("hello", {"name": "python"})
        print(execution.state == workflow_pb2.EXECUTION_STATE_SUCCEEDED)

:class:`AsyncWorkflowClient` offers the same calls for asyncio. Both send
the API token of a daemon run with ``--auth tokens``: ``token=``, by default
``$WORKFLOW_TOKEN``; an ``https://`` address, or ``tls_ca``/``tls_cert``/``tls_key``
(by default ``$WORKFLOW_TLS_CA``, ``$WORKFLOW_TLS_CERT``, ``$WORKFLOW_TLS_KEY``),
opens a TLS channel.
:func:`schedule_execute_action` and :func:`schedule_manifest_action` build the
action of a schedule (:meth:`WorkflowClient.create_schedule`). The generated
messages are re-exported as :mod:`workflow_client.workflow_pb2`.
"""

from ._aio import AsyncWorkflowClient
from ._errors import WorkflowError
from ._requests import (
    TERMINAL_STATES,
    is_terminal,
    schedule_execute_action,
    schedule_manifest_action,
)
from ._sync import WorkflowClient
from ._tls import TLS_CA_ENV, TLS_CERT_ENV, TLS_KEY_ENV
from ._token import TOKEN_ENV, aio_token_interceptors, token_interceptor
from .gen.workflow.v1 import workflow_pb2, workflow_pb2_grpc

__all__ = [
    "AsyncWorkflowClient",
    "TERMINAL_STATES",
    "TLS_CA_ENV",
    "TLS_CERT_ENV",
    "TLS_KEY_ENV",
    "TOKEN_ENV",
    "WorkflowClient",
    "WorkflowError",
    "aio_token_interceptors",
    "is_terminal",
    "schedule_execute_action",
    "schedule_manifest_action",
    "token_interceptor",
    "workflow_pb2",
    "workflow_pb2_grpc",
]
