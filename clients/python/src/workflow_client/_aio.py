"""The asyncio client (grpc.aio)."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Optional, Sequence, Union

import grpc
import grpc.aio

from ._errors import WorkflowError
from ._requests import (
    Seconds,
    cancel_request,
    execute_request,
    input_values,
    list_executions_request,
    manifest_content,
    manifest_format,
)
from ._tls import resolve_channel
from ._token import aio_token_interceptors, resolve_token
from .gen.workflow.v1 import workflow_pb2 as pb
from .gen.workflow.v1 import workflow_pb2_grpc as pb_grpc

__all__ = ["AsyncWorkflowClient"]


class AsyncWorkflowClient:
    """asyncio client of workflowd's workflow.v1.WorkflowService.

    The same methods as :class:`WorkflowClient`, as coroutines;
    :meth:`stream_logs` is an async iterator. Create it inside a running
    event loop and close it with ``await client.close()`` or ``async with``.
    ``target``, ``token`` (default ``$WORKFLOW_TOKEN``) and ``tls_ca``,
    ``tls_cert``, ``tls_key`` (default ``$WORKFLOW_TLS_CA``,
    ``$WORKFLOW_TLS_CERT``, ``$WORKFLOW_TLS_KEY``) as for
    :class:`WorkflowClient`; a ``channel`` you pass carries what you built
    it with (:func:`aio_token_interceptors`).
    """

    def __init__(
        self,
        target: Optional[str] = None,
        *,
        channel: Optional[grpc.aio.Channel] = None,
        credentials: Optional[grpc.ChannelCredentials] = None,
        options: Optional[Sequence[tuple[str, Any]]] = None,
        timeout: Optional[float] = None,
        token: Optional[str] = None,
        tls_ca: Optional[str] = None,
        tls_cert: Optional[str] = None,
        tls_key: Optional[str] = None,
    ) -> None:
        if channel is None:
            if target is None:
                raise ValueError("either target or channel is required")
            bearer = resolve_token(token)
            interceptors = None if bearer is None else aio_token_interceptors(bearer)
            target, credentials = resolve_channel(target, credentials, tls_ca, tls_cert, tls_key)
            if credentials is None:
                channel = grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
            else:
                channel = grpc.aio.secure_channel(
                    target, credentials, options=options, interceptors=interceptors
                )
            self._owns_channel = True
        else:
            if any(v is not None for v in (tls_ca, tls_cert, tls_key)):
                raise ValueError("tls_ca, tls_cert and tls_key apply to the channel the client opens, not to yours")
            if token is not None:
                raise ValueError(
                    "token applies to the channel the client opens: build yours with "
                    "interceptors=workflow_client.aio_token_interceptors(token)"
                )
            self._owns_channel = False
        self._channel = channel
        self._timeout = timeout
        #: The generated stub, for anything this wrapper does not cover.
        self.stub = pb_grpc.WorkflowServiceStub(channel)

    async def close(self) -> None:
        """Closes the channel if this client opened it."""
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> "AsyncWorkflowClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _call(self, method: Any, request: Any, timeout: Optional[float]) -> Any:
        try:
            return await method(request, timeout=self._timeout if timeout is None else timeout)
        except grpc.RpcError as error:
            raise WorkflowError.from_rpc_error(error) from None

    async def list_workflows(self, *, timeout: Optional[float] = None) -> list[pb.Workflow]:
        """Every discovered workflow, ordered by id (all pages)."""
        workflows: list[pb.Workflow] = []
        token = ""
        while True:
            response = await self._call(
                self.stub.ListWorkflows, pb.ListWorkflowsRequest(page_token=token), timeout
            )
            workflows.extend(response.workflows)
            token = response.next_page_token
            if not token:
                return workflows

    async def discovery_errors(self, *, timeout: Optional[float] = None) -> list[pb.DiscoveryError]:
        """The programs that failed discovery, with the reason."""
        request = pb.ListWorkflowsRequest(page_size=1)
        return list((await self._call(self.stub.ListWorkflows, request, timeout)).discovery_errors)

    async def get_workflow(self, workflow_id: str, *, timeout: Optional[float] = None) -> pb.Workflow:
        """One workflow by id; NOT_FOUND when unknown."""
        request = pb.GetWorkflowRequest(workflow_id=workflow_id)
        return (await self._call(self.stub.GetWorkflow, request, timeout)).workflow

    async def validate_inputs(
        self,
        workflow_id: str,
        inputs: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Optional[float] = None,
    ) -> pb.ValidateInputsResponse:
        """Checks inputs without running the workflow (see WorkflowClient)."""
        request = pb.ValidateInputsRequest(workflow_id=workflow_id, inputs=input_values(inputs))
        return await self._call(self.stub.ValidateInputs, request, timeout)

    async def execute(
        self,
        workflow_id: str,
        inputs: Optional[Mapping[str, Any]] = None,
        *,
        request_id: Optional[str] = None,
        run_timeout: Optional[Seconds] = None,
        labels: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> pb.Execution:
        """Starts an execution and returns it at once (QUEUED or RUNNING)."""
        request = execute_request(workflow_id, inputs, request_id, run_timeout, labels)
        return (await self._call(self.stub.Execute, request, timeout)).execution

    async def execute_and_wait(
        self,
        workflow_id: str,
        inputs: Optional[Mapping[str, Any]] = None,
        *,
        request_id: Optional[str] = None,
        run_timeout: Optional[Seconds] = None,
        labels: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> pb.Execution:
        """:meth:`execute`, then :meth:`wait`; returns the finished execution."""
        execution = await self.execute(
            workflow_id, inputs, request_id=request_id, run_timeout=run_timeout, labels=labels
        )
        return await self.wait(execution.id, timeout=timeout)

    async def stream_logs(
        self,
        execution_id: str,
        *,
        from_sequence: int = 0,
        follow: bool = True,
        timeout: Optional[float] = None,
    ) -> AsyncIterator[pb.LogEvent]:
        """Yields the execution's log events in sequence order (see
        WorkflowClient.stream_logs). Closing the iterator cancels the stream."""
        request = pb.StreamLogsRequest(
            execution_id=execution_id, from_sequence=from_sequence, follow=follow
        )
        call = self.stub.StreamLogs(request, timeout=timeout)
        try:
            async for response in call:
                yield response.event
        except grpc.RpcError as error:
            raise WorkflowError.from_rpc_error(error) from None
        finally:
            call.cancel()

    async def wait(self, execution_id: str, *, timeout: Optional[float] = None) -> pb.Execution:
        """Waits until the execution has ended (WaitExecution); returns it.
        ``timeout`` bounds the wait and never cancels the execution."""
        request = pb.WaitExecutionRequest(execution_id=execution_id)
        try:
            return (await self.stub.WaitExecution(request, timeout=timeout)).execution
        except grpc.RpcError as error:
            raise WorkflowError.from_rpc_error(error) from None

    async def get_execution(self, execution_id: str, *, timeout: Optional[float] = None) -> pb.Execution:
        """One execution with its phase tree and artifacts."""
        request = pb.GetExecutionRequest(execution_id=execution_id)
        return (await self._call(self.stub.GetExecution, request, timeout)).execution

    async def list_executions(
        self,
        *,
        workflow_id: Optional[str] = None,
        states: Optional[Iterable["pb.ExecutionState"]] = None,
        labels: Optional[Mapping[str, str]] = None,
        created_after: Optional[datetime.datetime] = None,
        created_before: Optional[datetime.datetime] = None,
        page_size: int = 0,
        page_token: str = "",
        schedule_id: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> pb.ListExecutionsResponse:
        """One page of executions, newest first (see
        WorkflowClient.list_executions)."""
        request = list_executions_request(
            workflow_id,
            states,
            labels,
            created_after,
            created_before,
            page_size,
            page_token,
            schedule_id,
        )
        return await self._call(self.stub.ListExecutions, request, timeout)

    async def cancel(
        self,
        execution_id: str,
        *,
        force: bool = False,
        grace_period: Optional[Seconds] = None,
        request_id: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> pb.CancelResponse:
        """Cancels an execution (see WorkflowClient.cancel)."""
        request = cancel_request(execution_id, force, grace_period, request_id)
        return await self._call(self.stub.Cancel, request, timeout)

    async def status(self, *, timeout: Optional[float] = None) -> pb.GetStatusResponse:
        """The daemon's version, uptime, worker pool and history counts."""
        return await self._call(self.stub.GetStatus, pb.GetStatusRequest(), timeout)

    async def validate_manifest(
        self,
        content: Union[bytes, str],
        *,
        file_name: str = "",
        format: "Optional[pb.ManifestFormat]" = None,
        timeout: Optional[float] = None,
    ) -> pb.ValidateManifestResponse:
        """Checks a hyper2kvm pipeline manifest (JSON or YAML, single or
        batch) without running it: ``valid`` and every problem, each with
        its path in the document (e.g. ``vms[1].pipeline.convert.output_format``)."""
        request = pb.ValidateManifestRequest(
            content=manifest_content(content),
            format=manifest_format(file_name, format),
            file_name=file_name,
        )
        return await self._call(self.stub.ValidateManifest, request, timeout)

    async def submit_manifest(
        self,
        content: Union[bytes, str],
        *,
        file_name: str = "",
        format: "Optional[pb.ManifestFormat]" = None,
        request_id: Optional[str] = None,
        labels: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> pb.SubmitManifestResponse:
        """Runs a manifest: one execution per VM (``vms``), with a
        ``batch_id`` for batches. The same ``request_id`` returns the first
        submission's executions. An invalid manifest raises
        :class:`WorkflowError` with INVALID_ARGUMENT and the problems as field
        violations."""
        request = pb.SubmitManifestRequest(
            content=manifest_content(content),
            format=manifest_format(file_name, format),
            file_name=file_name,
            request_id=request_id or "",
            labels=dict(labels or {}),
        )
        return await self._call(self.stub.SubmitManifest, request, timeout)

    async def create_schedule(
        self, schedule: pb.Schedule, *, timeout: Optional[float] = None
    ) -> pb.Schedule:
        """Stores a new schedule and returns it as stored (see
        WorkflowClient.create_schedule)."""
        request = pb.CreateScheduleRequest(schedule=schedule)
        return (await self._call(self.stub.CreateSchedule, request, timeout)).schedule

    async def get_schedule(
        self,
        schedule_id: str,
        *,
        next_fire_times: int = 0,
        recent_runs: int = 0,
        timeout: Optional[float] = None,
    ) -> pb.Schedule:
        """One schedule with its next fire times and recent runs (see
        WorkflowClient.get_schedule)."""
        request = pb.GetScheduleRequest(
            schedule_id=schedule_id, next_fire_times=next_fire_times, recent_runs=recent_runs
        )
        return (await self._call(self.stub.GetSchedule, request, timeout)).schedule

    async def list_schedules(self, *, timeout: Optional[float] = None) -> list[pb.Schedule]:
        """Every schedule, ordered by id, each with its next fire time."""
        response = await self._call(self.stub.ListSchedules, pb.ListSchedulesRequest(), timeout)
        return list(response.schedules)

    async def update_schedule(
        self, schedule_id: str, schedule: pb.Schedule, *, timeout: Optional[float] = None
    ) -> pb.Schedule:
        """Replaces a schedule's spec, action, policies and description (see
        WorkflowClient.update_schedule)."""
        request = pb.UpdateScheduleRequest(schedule_id=schedule_id, schedule=schedule)
        return (await self._call(self.stub.UpdateSchedule, request, timeout)).schedule

    async def delete_schedule(self, schedule_id: str, *, timeout: Optional[float] = None) -> None:
        """Deletes a schedule and the records of its runs (its executions stay)."""
        request = pb.DeleteScheduleRequest(schedule_id=schedule_id)
        await self._call(self.stub.DeleteSchedule, request, timeout)

    async def pause_schedule(
        self, schedule_id: str, note: str = "", *, timeout: Optional[float] = None
    ) -> pb.Schedule:
        """Pauses a schedule, with a note saying why; returns it as stored."""
        request = pb.PauseScheduleRequest(schedule_id=schedule_id, paused=True, note=note)
        return (await self._call(self.stub.PauseSchedule, request, timeout)).schedule

    async def unpause_schedule(
        self, schedule_id: str, note: str = "", *, timeout: Optional[float] = None
    ) -> pb.Schedule:
        """Unpauses a schedule, with a note saying why; returns it as stored."""
        request = pb.PauseScheduleRequest(schedule_id=schedule_id, paused=False, note=note)
        return (await self._call(self.stub.PauseSchedule, request, timeout)).schedule

    async def trigger_schedule(
        self, schedule_id: str, *, timeout: Optional[float] = None
    ) -> pb.ScheduleRun:
        """Runs a schedule's action now and returns what became of that run
        (see WorkflowClient.trigger_schedule)."""
        request = pb.TriggerScheduleRequest(schedule_id=schedule_id)
        return (await self._call(self.stub.TriggerSchedule, request, timeout)).run
