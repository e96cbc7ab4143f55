"""The API token: where the clients take it from, and the interceptors that
send it as ``authorization: Bearer <token>`` on every call."""

from __future__ import annotations

import collections
import os
from typing import Any, Optional

import grpc
import grpc.aio

__all__ = ["TOKEN_ENV", "aio_token_interceptors", "resolve_token", "token_interceptor"]

#: The environment variable every workflowd client (wfctl, workflow-mcp, the
#: Go, Python and TypeScript clients) reads the API token from.
TOKEN_ENV = "WORKFLOW_TOKEN"


def resolve_token(token: Optional[str]) -> Optional[str]:
    """The token to send: ``token``, else ``$WORKFLOW_TOKEN``; None for none.

    Surrounding blanks (a file's newline) are dropped and an empty string
    means none, so ``token=""`` sends none even when the variable is set.
    Raises ValueError, naming where it came from, for a token that cannot be
    sent as a header.
    """
    source = "token"
    if token is None:
        token, source = os.environ.get(TOKEN_ENV, ""), TOKEN_ENV
    token = token.strip()
    if not token:
        return None
    if not all("!" <= c <= "~" for c in token):
        raise ValueError(f"{source}: an API token is printable ASCII (wft_<id>_<secret>)")
    return token


class _CallDetails(
    collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    ),
    grpc.ClientCallDetails,
):
    """grpc.ClientCallDetails is an interface: the details passed on."""


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds the token to the metadata of every call of a blocking channel."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, details: grpc.ClientCallDetails) -> _CallDetails:
        return _CallDetails(
            details.method,
            details.timeout,
            [*(details.metadata or ()), self._header],
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


def token_interceptor(token: str) -> Any:
    """An interceptor sending ``token`` on every call of a blocking channel:
    ``grpc.intercept_channel(channel, token_interceptor(token))``."""
    return _BearerToken(token)


def _aio_details(details: grpc.aio.ClientCallDetails, header: str) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    metadata.add("authorization", header)
    return details._replace(metadata=metadata)


# grpc.aio files each interceptor under the first call kind it implements,
# so each kind has its own class.


class _AioUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(_aio_details(details, self._header), request)


class _AioUnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(_aio_details(details, self._header), request)


class _AioStreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(_aio_details(details, self._header), requests)


class _AioStreamStream(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(_aio_details(details, self._header), requests)


def aio_token_interceptors(token: str) -> list[grpc.aio.ClientInterceptor]:
    """Interceptors sending ``token`` on every call of an asyncio channel:
    ``grpc.aio.insecure_channel(target, interceptors=aio_token_interceptors(token))``."""
    header = f"Bearer {token}"
    return [_AioUnaryUnary(header), _AioUnaryStream(header), _AioStreamUnary(header), _AioStreamStream(header)]
