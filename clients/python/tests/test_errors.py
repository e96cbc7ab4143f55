"""WorkflowError construction, without a daemon."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from workflow_client import WorkflowError


class FakeCallError(grpc.RpcError):
    """What a failed blocking call raises: an RpcError that is also a Call."""

    def __init__(self, code, details, trailers=()):
        self._code, self._details, self._trailers = code, details, tuple(trailers)

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailers


def _status_trailer(code, message, violations):
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations
            ]
        )
    )
    status = status_pb2.Status(code=code, message=message, details=[detail])
    return ("grpc-status-details-bin", status.SerializeToString())


def test_field_violations_come_from_the_status_details_trailer():
    violations = [("inputs.topic", "is required"), ("inputs.depth", "must be at most 5")]
    error = FakeCallError(
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid inputs",
        [_status_trailer(code_pb2.INVALID_ARGUMENT, "invalid inputs", violations)],
    )
    err = WorkflowError.from_rpc_error(error)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.message == "invalid inputs"
    assert err.field_violations == violations
    assert "inputs.depth: must be at most 5" in str(err)


def test_plain_errors_have_no_violations():
    err = WorkflowError.from_rpc_error(FakeCallError(grpc.StatusCode.NOT_FOUND, "no such workflow"))
    assert err.code == grpc.StatusCode.NOT_FOUND
    assert err.field_violations == [] and err.status is None
    assert str(err) == "NOT_FOUND: no such workflow"


def test_a_mismatched_trailer_is_ignored():
    trailer = _status_trailer(code_pb2.INTERNAL, "other", [("inputs.x", "bad")])
    err = WorkflowError.from_rpc_error(FakeCallError(grpc.StatusCode.INVALID_ARGUMENT, "bad", [trailer]))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.field_violations == []
