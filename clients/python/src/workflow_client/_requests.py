"""Request building shared by the blocking and the asyncio client."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any, Optional, Union

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from .gen.workflow.v1 import workflow_pb2 as pb

Seconds = Union[float, int, datetime.timedelta]

#: Execution states after which nothing changes any more.
TERMINAL_STATES = frozenset(
    {
        pb.EXECUTION_STATE_SUCCEEDED,
        pb.EXECUTION_STATE_FAILED,
        pb.EXECUTION_STATE_CANCELLED,
        pb.EXECUTION_STATE_TIMED_OUT,
        pb.EXECUTION_STATE_INTERRUPTED,
    }
)


def is_terminal(state: "pb.ExecutionState") -> bool:
    """Whether an execution in ``state`` has finished."""
    return state in TERMINAL_STATES


def input_values(inputs: Optional[Mapping[str, Any]]) -> dict[str, struct_pb2.Value]:
    """Converts plain Python input values (str, int, float, bool, lists) to
    the google.protobuf.Value map the API takes."""
    if not inputs:
        return {}
    as_struct = struct_pb2.Struct()
    as_struct.update(dict(inputs))
    return dict(as_struct.fields)


def duration(value: Optional[Seconds]) -> Optional[duration_pb2.Duration]:
    """Seconds (or a timedelta) as a Duration; None stays unset."""
    if value is None:
        return None
    if not isinstance(value, datetime.timedelta):
        value = datetime.timedelta(seconds=value)
    result = duration_pb2.Duration()
    result.FromTimedelta(value)
    return result


def timestamp(value: Optional[datetime.datetime]) -> Optional[timestamp_pb2.Timestamp]:
    """A datetime as a Timestamp (naive datetimes are taken as UTC)."""
    if value is None:
        return None
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(value)
    return result


def execute_request(
    workflow_id: str,
    inputs: Optional[Mapping[str, Any]],
    request_id: Optional[str],
    timeout: Optional[Seconds],
    labels: Optional[Mapping[str, str]],
) -> pb.ExecuteRequest:
    """The ExecuteRequest for :meth:`WorkflowClient.execute`."""
    return pb.ExecuteRequest(
        workflow_id=workflow_id,
        inputs=input_values(inputs),
        request_id=request_id or "",
        timeout=duration(timeout),
        labels=dict(labels or {}),
    )


def list_executions_request(
    workflow_id: Optional[str],
    states: Optional[Iterable["pb.ExecutionState"]],
    labels: Optional[Mapping[str, str]],
    created_after: Optional[datetime.datetime],
    created_before: Optional[datetime.datetime],
    page_size: int,
    page_token: str,
    schedule_id: Optional[str] = None,
) -> pb.ListExecutionsRequest:
    """The ListExecutionsRequest for :meth:`WorkflowClient.list_executions`."""
    return pb.ListExecutionsRequest(
        workflow_id=workflow_id or "",
        states=list(states or []),
        labels=dict(labels or {}),
        create_time_after=timestamp(created_after),
        create_time_before=timestamp(created_before),
        page_size=page_size,
        page_token=page_token,
        schedule_id=schedule_id or "",
    )


def cancel_request(
    execution_id: str, force: bool, grace_period: Optional[Seconds], request_id: Optional[str]
) -> pb.CancelRequest:
    """The CancelRequest for :meth:`WorkflowClient.cancel`."""
    return pb.CancelRequest(
        execution_id=execution_id,
        force=force,
        grace_period=duration(grace_period),
        request_id=request_id or "",
    )


def manifest_format(file_name: str, format: "Optional[pb.ManifestFormat]") -> "pb.ManifestFormat":
    """The format to send: the one given, else DETECT (the daemon looks at
    the file name's extension and the content)."""
    return pb.MANIFEST_FORMAT_DETECT if format is None else format


def manifest_content(content: Union[bytes, str]) -> bytes:
    """Manifest text or bytes as the bytes the API carries."""
    return content.encode("utf-8") if isinstance(content, str) else content


def schedule_execute_action(
    workflow_id: str,
    inputs: Optional[Mapping[str, Any]] = None,
    *,
    run_timeout: Optional[Seconds] = None,
    labels: Optional[Mapping[str, str]] = None,
) -> pb.ScheduleAction:
    """The action of a schedule that executes ``workflow_id`` with
    ``inputs`` (plain Python values, as :meth:`WorkflowClient.execute` takes
    them). ``run_timeout`` is each execution's wall-clock limit; ``labels``
    are added to each execution beside the ``schedule`` label the daemon
    sets."""
    return pb.ScheduleAction(
        execute=pb.ScheduleExecute(
            workflow_id=workflow_id,
            inputs=input_values(inputs),
            timeout=duration(run_timeout),
            labels=dict(labels or {}),
        )
    )


def schedule_manifest_action(
    *,
    template_path: Optional[str] = None,
    content: Optional[Union[bytes, str]] = None,
    output_dir: str = "",
    format: "Optional[pb.ManifestFormat]" = None,
    labels: Optional[Mapping[str, str]] = None,
) -> pb.ScheduleAction:
    """The action of a schedule that submits a hyper2kvm manifest: exactly
    one of ``template_path`` (a file the daemon reads again at each run: its
    path on the daemon's machine, inside one of the daemon's source roots)
    or ``content`` (the document, checked once at creation). ``output_dir``
    is where each run's VMs are written, inside the daemon's output
    directory ("" for the daemon's own)."""
    if (template_path is None) == (content is None):
        raise ValueError("exactly one of template_path and content is required")
    manifest = pb.ScheduleManifest(
        format=pb.MANIFEST_FORMAT_DETECT if format is None else format,
        output_dir=output_dir,
        labels=dict(labels or {}),
    )
    if template_path is not None:
        manifest.template_path = template_path
    elif content is not None:
        manifest.content = manifest_content(content)
    return pb.ScheduleAction(manifest=manifest)
