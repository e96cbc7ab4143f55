"""The client's exception type and its construction from gRPC errors."""

from __future__ import annotations

from typing import Optional

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = ["WorkflowError"]


class WorkflowError(Exception):
    """A call to workflowd failed.

    Attributes:
        code: the gRPC status code (``grpc.StatusCode.NOT_FOUND``, ...).
        message: the daemon's error message.
        field_violations: for ``INVALID_ARGUMENT``, every invalid input as a
            ``(field, description)`` pair, e.g. ``("inputs.depth", "must be at
            most 5")``, from the google.rpc.BadRequest status detail.
        status: the rich ``google.rpc.Status`` when the daemon sent one.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        field_violations: Optional[list[tuple[str, str]]] = None,
        status: Optional[status_pb2.Status] = None,
    ) -> None:
        self.code = code
        self.message = message
        self.field_violations: list[tuple[str, str]] = list(field_violations or [])
        self.status = status
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.code.name}: {self.message}"
        for field, description in self.field_violations:
            text += f"\n  {field}: {description}"
        return text

    def __repr__(self) -> str:
        return (
            f"WorkflowError(code={self.code!r}, message={self.message!r}, "
            f"field_violations={self.field_violations!r})"
        )

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "WorkflowError":
        """Builds the error from a failed call (blocking or asyncio).

        The ``grpc-status-details-bin`` trailer, when present, is decoded as a
        google.rpc.Status and its BadRequest details become
        ``field_violations``.
        """
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        message = error.details() if hasattr(error, "details") else str(error)
        status: Optional[status_pb2.Status] = None
        try:
            status = rpc_status.from_call(error)  # type: ignore[arg-type]
        except (ValueError, AttributeError, TypeError):
            # No trailer, or one whose code disagrees with the call's: keep
            # the plain code and message.
            status = None
        violations: list[tuple[str, str]] = []
        if status is not None:
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad_request = error_details_pb2.BadRequest()
                    detail.Unpack(bad_request)
                    violations.extend(
                        (v.field, v.description) for v in bad_request.field_violations
                    )
        return cls(code or grpc.StatusCode.UNKNOWN, message or "", violations, status)
