"""The blocking client."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Optional, Sequence, Union

import grpc

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
from ._token import resolve_token, token_interceptor
from .gen.workflow.v1 import workflow_pb2 as pb
from .gen.workflow.v1 import workflow_pb2_grpc as pb_grpc

__all__ = ["WorkflowClient"]


class WorkflowClient:
    """Blocking client of workflowd's workflow.v1.WorkflowService.

    ``target`` is an address in any ``WORKFLOWD_ADDR`` form:
    ``host:port``, ``http://host:port`` and ``unix:/path`` open a plaintext
    channel, ``https://host:port`` a TLS one; ``channel`` reuses yours.
    Every failed call raises :class:`WorkflowError`. Use it as a context
    manager or call :meth:`close`.

    ``tls_ca`` is the CA certificate (PEM file) to trust instead of the
    platform's roots, ``tls_cert`` and ``tls_key`` the client certificate
    and its key for a daemon that requires one (``tls_client_ca``); by
    default ``$WORKFLOW_TLS_CA``, ``$WORKFLOW_TLS_CERT`` and
    ``$WORKFLOW_TLS_KEY``, and ``""`` means none even when the variable is
    set. Any of them makes a ``host:port`` target TLS; with an ``http://``
    or ``unix:`` one they raise ValueError, as a certificate without its key
    does. ``credentials`` (your own grpc.ChannelCredentials) replace them.

    ``token`` is the API token of a daemon run with ``--auth tokens``, sent
    as ``authorization: Bearer <token>`` on every call of the channel it
    opens (``client.stub`` included); by default ``$WORKFLOW_TOKEN``, and
    ``token=""`` sends none. A ``channel`` you pass carries what you built
    it with (:func:`token_interceptor`).

    ``timeout`` is the default deadline in seconds of the unary calls (None:
    no deadline); streaming calls and :meth:`wait` take their own.
    """

    def __init__(
        self,
        target: Optional[str] = None,
        *,
        channel: Optional[grpc.Channel] = None,
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
            target, credentials = resolve_channel(target, credentials, tls_ca, tls_cert, tls_key)
            if credentials is None:
                channel = grpc.insecure_channel(target, options=options)
            else:
                channel = grpc.secure_channel(target, credentials, options=options)
            if bearer is not None:
                channel = grpc.intercept_channel(channel, token_interceptor(bearer))
            self._owns_channel = True
        else:
            if any(v is not None for v in (tls_ca, tls_cert, tls_key)):
                raise ValueError("tls_ca, tls_cert and tls_key apply to the channel the client opens, not to yours")
            if token is not None:
                raise ValueError(
                    "token applies to the channel the client opens: build yours with "
                    "grpc.intercept_channel(channel, workflow_client.token_interceptor(token))"
                )
            self._owns_channel = False
        self._channel = channel
        self._timeout = timeout
        #: The generated stub, for anything this wrapper does not cover.
        self.stub = pb_grpc.WorkflowServiceStub(channel)

    def close(self) -> None:
        """Closes the channel if this client opened it."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> "WorkflowClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: Any, request: Any, timeout: Optional[float]) -> Any:
        try:
            return method(request, timeout=self._timeout if timeout is None else timeout)
        except grpc.RpcError as error:
            raise WorkflowError.from_rpc_error(error) from None

    def list_workflows(self, *, timeout: Optional[float] = None) -> list[pb.Workflow]:
        """Every discovered workflow, ordered by id (all pages)."""
        workflows: list[pb.Workflow] = []
        token = ""
        while True:
            response = self._call(
                self.stub.ListWorkflows, pb.ListWorkflowsRequest(page_token=token), timeout
            )
            workflows.extend(response.workflows)
            token = response.next_page_token
            if not token:
                return workflows

    def discovery_errors(self, *, timeout: Optional[float] = None) -> list[pb.DiscoveryError]:
        """The programs that failed discovery, with the reason."""
        response = self._call(self.stub.ListWorkflows, pb.ListWorkflowsRequest(page_size=1), timeout)
        return list(response.discovery_errors)

    def get_workflow(self, workflow_id: str, *, timeout: Optional[float] = None) -> pb.Workflow:
        """One workflow by id; NOT_FOUND when unknown."""
        request = pb.GetWorkflowRequest(workflow_id=workflow_id)
        return self._call(self.stub.GetWorkflow, request, timeout).workflow

    def validate_inputs(
        self,
        workflow_id: str,
        inputs: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Optional[float] = None,
    ) -> pb.ValidateInputsResponse:
        """Checks inputs without running the workflow. Raises WorkflowError
        (INVALID_ARGUMENT, with ``field_violations``) when any is invalid."""
        request = pb.ValidateInputsRequest(workflow_id=workflow_id, inputs=input_values(inputs))
        return self._call(self.stub.ValidateInputs, request, timeout)

    def execute(
        self,
        workflow_id: str,
        inputs: Optional[Mapping[str, Any]] = None,
        *,
        request_id: Optional[str] = None,
        run_timeout: Optional[Seconds] = None,
        labels: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> pb.Execution:
        """Starts an execution and returns it at once (QUEUED or RUNNING).

        ``request_id`` makes retries idempotent; ``run_timeout`` is the
        execution's wall-clock limit; ``timeout`` is this call's deadline.
        """
        request = execute_request(workflow_id, inputs, request_id, run_timeout, labels)
        return self._call(self.stub.Execute, request, timeout).execution

    def execute_and_wait(
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
        execution = self.execute(
            workflow_id, inputs, request_id=request_id, run_timeout=run_timeout, labels=labels
        )
        return self.wait(execution.id, timeout=timeout)

    def stream_logs(
        self,
        execution_id: str,
        *,
        from_sequence: int = 0,
        follow: bool = True,
        timeout: Optional[float] = None,
    ) -> Iterator[pb.LogEvent]:
        """Yields the execution's log events in sequence order: the history
        from ``from_sequence``, then (with ``follow``) live events until the
        ``finished`` event. Closing the iterator cancels the stream."""
        request = pb.StreamLogsRequest(
            execution_id=execution_id, from_sequence=from_sequence, follow=follow
        )
        call = self.stub.StreamLogs(request, timeout=timeout)
        try:
            for response in call:
                yield response.event
        except grpc.RpcError as error:
            raise WorkflowError.from_rpc_error(error) from None
        finally:
            call.cancel()

    def wait(self, execution_id: str, *, timeout: Optional[float] = None) -> pb.Execution:
        """Waits until the execution has ended (WaitExecution) and returns it
        then. A FAILED or CANCELLED execution is returned, not raised;
        ``timeout`` bounds the wait (DEADLINE_EXCEEDED) and never cancels
        the execution. Without it the wait has no bound."""
        request = pb.WaitExecutionRequest(execution_id=execution_id)
        try:
            return self.stub.WaitExecution(request, timeout=timeout).execution
        except grpc.RpcError as error:
            raise WorkflowError.from_rpc_error(error) from None

    def get_execution(self, execution_id: str, *, timeout: Optional[float] = None) -> pb.Execution:
        """One execution with its phase tree and artifacts."""
        request = pb.GetExecutionRequest(execution_id=execution_id)
        return self._call(self.stub.GetExecution, request, timeout).execution

    def list_executions(
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
        """One page of executions, newest first; pass ``next_page_token`` of
        the response as ``page_token`` (same filters) for the next page.
        ``schedule_id`` keeps the executions that schedule started."""
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
        return self._call(self.stub.ListExecutions, request, timeout)

    def cancel(
        self,
        execution_id: str,
        *,
        force: bool = False,
        grace_period: Optional[Seconds] = None,
        request_id: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> pb.CancelResponse:
        """Cancels an execution: SIGTERM, then SIGKILL after ``grace_period``
        seconds (daemon default when None), or SIGKILL at once with
        ``force``. FAILED_PRECONDITION once the execution has finished."""
        request = cancel_request(execution_id, force, grace_period, request_id)
        return self._call(self.stub.Cancel, request, timeout)

    def status(self, *, timeout: Optional[float] = None) -> pb.GetStatusResponse:
        """The daemon's version, uptime, worker pool and history counts."""
        return self._call(self.stub.GetStatus, pb.GetStatusRequest(), timeout)

    def validate_manifest(
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
        return self._call(self.stub.ValidateManifest, request, timeout)

    def submit_manifest(
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
        return self._call(self.stub.SubmitManifest, request, timeout)

    def create_schedule(
        self, schedule: pb.Schedule, *, timeout: Optional[float] = None
    ) -> pb.Schedule:
        """Stores a new schedule (``schedule.id`` is required; output-only
        fields are ignored) and returns it as stored, with its next fire
        times. Build its action with :func:`schedule_execute_action` or
        :func:`schedule_manifest_action`. A bad id, cron expression, time
        zone, jitter, workflow, input or manifest raises
        :class:`WorkflowError` INVALID_ARGUMENT with the field in
        ``field_violations`` (e.g. ``schedule.spec.cron[0]``); a taken id
        raises ALREADY_EXISTS. Nothing is stored on error."""
        request = pb.CreateScheduleRequest(schedule=schedule)
        return self._call(self.stub.CreateSchedule, request, timeout).schedule

    def get_schedule(
        self,
        schedule_id: str,
        *,
        next_fire_times: int = 0,
        recent_runs: int = 0,
        timeout: Optional[float] = None,
    ) -> pb.Schedule:
        """One schedule with its next ``next_fire_times`` fire times and its
        latest ``recent_runs`` runs, newest first (0: the daemon's defaults,
        5 and 10). NOT_FOUND when unknown."""
        request = pb.GetScheduleRequest(
            schedule_id=schedule_id, next_fire_times=next_fire_times, recent_runs=recent_runs
        )
        return self._call(self.stub.GetSchedule, request, timeout).schedule

    def list_schedules(self, *, timeout: Optional[float] = None) -> list[pb.Schedule]:
        """Every schedule, ordered by id, each with its next fire time and
        without its runs."""
        response = self._call(self.stub.ListSchedules, pb.ListSchedulesRequest(), timeout)
        return list(response.schedules)

    def update_schedule(
        self, schedule_id: str, schedule: pb.Schedule, *, timeout: Optional[float] = None
    ) -> pb.Schedule:
        """Replaces the spec, action, policies and description of schedule
        ``schedule_id`` with those of ``schedule``, checked as
        :meth:`create_schedule` checks them (``schedule.id`` may be empty;
        if set it must be ``schedule_id``). ``paused``, ``note`` and the
        runs are kept; it next falls due after now. Returns it as stored;
        NOT_FOUND when unknown."""
        request = pb.UpdateScheduleRequest(schedule_id=schedule_id, schedule=schedule)
        return self._call(self.stub.UpdateSchedule, request, timeout).schedule

    def delete_schedule(self, schedule_id: str, *, timeout: Optional[float] = None) -> None:
        """Deletes a schedule and the records of its runs (the executions it
        started stay). NOT_FOUND when unknown."""
        request = pb.DeleteScheduleRequest(schedule_id=schedule_id)
        self._call(self.stub.DeleteSchedule, request, timeout)

    def pause_schedule(
        self, schedule_id: str, note: str = "", *, timeout: Optional[float] = None
    ) -> pb.Schedule:
        """Pauses a schedule, with a ``note`` saying why, and returns it as
        stored. A paused schedule starts nothing; the times it falls due
        while paused are neither recorded nor caught up."""
        request = pb.PauseScheduleRequest(schedule_id=schedule_id, paused=True, note=note)
        return self._call(self.stub.PauseSchedule, request, timeout).schedule

    def unpause_schedule(
        self, schedule_id: str, note: str = "", *, timeout: Optional[float] = None
    ) -> pb.Schedule:
        """Undoes :meth:`pause_schedule`, with a ``note`` saying why, and
        returns the schedule as stored."""
        request = pb.PauseScheduleRequest(schedule_id=schedule_id, paused=False, note=note)
        return self._call(self.stub.PauseSchedule, request, timeout).schedule

    def trigger_schedule(
        self, schedule_id: str, *, timeout: Optional[float] = None
    ) -> pb.ScheduleRun:
        """Runs a schedule's action now, paused or not, and returns what
        became of that run. Its overlap policy applies: while the previous
        run still goes the outcome may be SKIPPED or BUFFERED rather than
        STARTED, which is not raised."""
        request = pb.TriggerScheduleRequest(schedule_id=schedule_id)
        return self._call(self.stub.TriggerSchedule, request, timeout).run
