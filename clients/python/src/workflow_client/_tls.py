"""TLS as every workflowd client does it (wfctl, workflow-mcp, the Go client):
the CA to trust (``tls_ca``, else ``$WORKFLOW_TLS_CA``, else the platform's
roots) and the client certificate for a daemon that requires one
(``tls_cert`` and ``tls_key``, else ``$WORKFLOW_TLS_CERT`` and
``$WORKFLOW_TLS_KEY``); and the gRPC target an address in any
``WORKFLOWD_ADDR`` form maps to, so a form that works in one client works in
all."""

from __future__ import annotations

import os
from typing import NamedTuple, Optional

import grpc

__all__ = ["TLS_CA_ENV", "TLS_CERT_ENV", "TLS_KEY_ENV", "Channel", "resolve_channel"]

#: The variable naming the CA certificate(s) to trust (PEM).
TLS_CA_ENV = "WORKFLOW_TLS_CA"
#: The variable naming the client certificate (PEM).
TLS_CERT_ENV = "WORKFLOW_TLS_CERT"
#: The variable naming the client certificate's private key (PEM).
TLS_KEY_ENV = "WORKFLOW_TLS_KEY"


class _File(NamedTuple):
    """A TLS file and where it was named (the argument or the variable)."""

    source: str
    path: str


class Channel(NamedTuple):
    """What to open: the gRPC target, and the credentials of a secure channel
    (None: plaintext)."""

    target: str
    credentials: Optional[grpc.ChannelCredentials]


def _pick(value: Optional[str], argument: str, variable: str) -> Optional[_File]:
    # None falls back to the variable; "" means none even when it is set,
    # as token="" does.
    if value is None:
        value, argument = os.environ.get(variable, ""), variable
    return _File(argument, value) if value else None


def _read(file: _File) -> bytes:
    try:
        with open(file.path, "rb") as f:
            return f.read()
    except OSError as error:
        raise ValueError(f"{file.source}: cannot read {file.path}: {error.strerror or error}") from error


def resolve_channel(
    target: str,
    credentials: Optional[grpc.ChannelCredentials],
    tls_ca: Optional[str],
    tls_cert: Optional[str],
    tls_key: Optional[str],
) -> Channel:
    """The channel a client opens for ``target``.

    ``unix:/path`` and gRPC's own target forms are kept; ``http://host:port``
    is plain ``host:port``; ``https://host:port``, or any TLS file (argument
    or variable), means TLS to ``host:port``. TLS files with an ``http://``
    or ``unix:`` address are refused rather than ignored, and the files are
    read now, so a wrong path is told before any call. ``credentials`` you
    pass win over the variables; with TLS arguments they are an error.
    Raises ValueError naming the argument or variable at fault.
    """
    target = target.strip()
    if credentials is not None:
        if any(v is not None for v in (tls_ca, tls_cert, tls_key)):
            raise ValueError("pass either credentials or tls_ca/tls_cert/tls_key, not both")
        return Channel(_without_scheme(target), credentials)

    ca = _pick(tls_ca, "tls_ca", TLS_CA_ENV)
    cert = _pick(tls_cert, "tls_cert", TLS_CERT_ENV)
    key = _pick(tls_key, "tls_key", TLS_KEY_ENV)
    given = ca or cert or key
    https = target.lower().startswith("https://")
    if not https and given is None:
        return Channel(_without_scheme(target), None)
    if not https and (target.lower().startswith("http://") or target.startswith("unix:")):
        raise ValueError(f"{given.source} is set but the daemon address {target!r} is not https://host:port")

    if cert is not None and key is None:
        raise ValueError(f"{cert.source} is set but tls_key ({TLS_KEY_ENV}) is not: a client certificate needs both")
    if key is not None and cert is None:
        raise ValueError(f"{key.source} is set but tls_cert ({TLS_CERT_ENV}) is not: a client certificate needs both")
    # None for root_certificates means gRPC's bundled roots (or
    # $GRPC_DEFAULT_SSL_ROOTS_FILE_PATH), as for a certificate from a public CA.
    tls = grpc.ssl_channel_credentials(
        root_certificates=_read(ca) if ca else None,
        private_key=_read(key) if key else None,
        certificate_chain=_read(cert) if cert else None,
    )
    return Channel(_without_scheme(target), tls)


def _without_scheme(target: str) -> str:
    # gRPC targets name a resolver, not a URL scheme: http(s):// is host:port.
    for scheme in ("http://", "https://"):
        if target.lower().startswith(scheme):
            return target[len(scheme) :].rstrip("/")
    return target
