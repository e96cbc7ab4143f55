"""TLS and client certificates: tls_ca, tls_cert, tls_key and their variables.

The checks of the settings themselves need no daemon. The live tests start
their own workflowd with TLS (a private CA made with openssl, a server
certificate for 127.0.0.1, a client certificate for CN ``py-client`` mapped
to the operator role) from ``$WORKFLOWD_BIN`` (scripts/test-clients.sh sets
it to the daemon it tests); they skip when it is unset.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator, NamedTuple

import grpc
import pytest

from workflow_client import (
    TLS_CA_ENV,
    TLS_CERT_ENV,
    TLS_KEY_ENV,
    AsyncWorkflowClient,
    WorkflowClient,
    WorkflowError,
    workflow_pb2 as pb,
)
from workflow_client._tls import resolve_channel

CLIENT_CN = "py-client"


@pytest.fixture(autouse=True)
def no_tls_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without the variables of the machine it runs on."""
    for name in (TLS_CA_ENV, TLS_CERT_ENV, TLS_KEY_ENV):
        monkeypatch.delenv(name, raising=False)


# --- the settings, without a daemon -------------------------------------------


def test_tls_addresses_map_to_grpc_targets(tmp_path, monkeypatch):
    assert resolve_channel("127.0.0.1:1", None, None, None, None) == ("127.0.0.1:1", None)
    assert resolve_channel(" http://h:1/ ", None, None, None, None) == ("h:1", None)
    assert resolve_channel("unix:/run/w.sock", None, None, None, None) == ("unix:/run/w.sock", None)
    target, credentials = resolve_channel("https://h:1", None, None, None, None)
    assert target == "h:1" and isinstance(credentials, grpc.ChannelCredentials)

    # Any TLS file makes host:port TLS, from the argument or the variable.
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked until the handshake")
    target, credentials = resolve_channel("h:1", None, str(ca), None, None)
    assert target == "h:1" and credentials is not None
    monkeypatch.setenv(TLS_CA_ENV, str(ca))
    assert resolve_channel("h:1", None, None, None, None).credentials is not None
    # "" means none even when the variable is set, as token="" does.
    assert resolve_channel("h:1", None, "", None, None) == ("h:1", None)


def test_tls_files_need_an_address_that_can_use_them(monkeypatch):
    monkeypatch.setenv(TLS_CA_ENV, "/nowhere/ca.pem")
    for addr in ("http://h:1", "unix:/run/w.sock"):
        with pytest.raises(ValueError, match=rf"{TLS_CA_ENV} is set but the daemon address .* is not https://"):
            WorkflowClient(addr)
    with pytest.raises(ValueError, match=rf"^{TLS_CA_ENV}: cannot read /nowhere/ca.pem: "):
        WorkflowClient("h:1")


def test_tls_certificate_and_key_go_together(tmp_path, monkeypatch):
    pem = tmp_path / "c.pem"
    pem.write_text("x")
    with pytest.raises(ValueError, match=r"^tls_cert is set but tls_key \(WORKFLOW_TLS_KEY\) is not"):
        WorkflowClient("https://h:1", tls_cert=str(pem))
    monkeypatch.setenv(TLS_KEY_ENV, str(pem))
    with pytest.raises(ValueError, match=r"^WORKFLOW_TLS_KEY is set but tls_cert \(WORKFLOW_TLS_CERT\) is not"):
        WorkflowClient("https://h:1")
    with pytest.raises(ValueError, match=r"tls_key: cannot read .*missing.key"):
        WorkflowClient("https://h:1", tls_cert=str(pem), tls_key=str(tmp_path / "missing.key"))


def test_tls_arguments_are_for_the_channel_the_client_opens():
    credentials = grpc.ssl_channel_credentials()
    with pytest.raises(ValueError, match="either credentials or tls_ca"):
        WorkflowClient("h:1", credentials=credentials, tls_ca="/ca.pem")
    with grpc.insecure_channel("h:1") as channel:
        with pytest.raises(ValueError, match="not to yours"):
            WorkflowClient(channel=channel, tls_ca="/ca.pem")


# --- against a workflowd serving TLS -------------------------------------------


class Pki(NamedTuple):
    """A private CA, the daemon's certificate and a client's."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def daemon_bin() -> str:
    path = os.environ.get("WORKFLOWD_BIN")
    if not path:
        pytest.skip("WORKFLOWD_BIN is not set; the TLS tests start their own workflowd from it")
    if not os.access(path, os.X_OK):
        pytest.fail(f"WORKFLOWD_BIN={path} is not an executable workflowd")
    if shutil.which("openssl") is None:
        pytest.fail("the TLS tests make their certificates with openssl, which is not installed")
    return path


@pytest.fixture(scope="module")
def pki(daemon_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test CA", cwd=d)

    def issue(name: str, cn: str, extensions: str) -> None:
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
        (d / f"{name}.ext").write_text(extensions)
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext", cwd=d,
        )

    issue("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    issue("client", CLIENT_CN, "extendedKeyUsage=clientAuth\n")
    return Pki(d / "ca.crt", d / "server.crt", d / "server.key", d / "client.crt", d / "client.key")


def _start_daemon(daemon_bin: str, pki: Pki, root: Path, *extra: str) -> Iterator[str]:
    """Runs workflowd with TLS on a free loopback port; yields its address.

    The daemon prints ``listening on 127.0.0.1:PORT`` once its port is
    bound: that line, awaited with a deadline, is the readiness signal.
    """
    data = root / "data"
    log = (root / "workflowd.log").open("wb")
    process = subprocess.Popen(
        [
            daemon_bin, "--listen", "127.0.0.1:0", "--data-dir", str(data),
            "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key), *extra,
        ],
        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
    )
    lines: list[bytes] = []
    first_line = threading.Event()

    def drain() -> None:
        # Read on until EOF so the daemon never blocks on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            first_line.set()
        first_line.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        if not first_line.wait(60) or not lines:
            pytest.fail(f"workflowd printed no 'listening on' line within 60 s: {(root / 'workflowd.log').read_text()}")
        line = lines[0].decode().strip()
        if not line.startswith("listening on "):
            pytest.fail(f"unexpected first line from workflowd: {line!r}")
        yield line.removeprefix("listening on ")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def tls_addr(daemon_bin: str, pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a workflowd serving TLS, with no client certificates."""
    yield from _start_daemon(daemon_bin, pki, tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def mtls_addr(daemon_bin: str, pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a workflowd requiring client certificates; CN py-client is an operator."""
    root = tmp_path_factory.mktemp("mtls")
    config = root / "workflowd.toml"
    config.write_text(f'[tls_clients."{CLIENT_CN}"]\nrole = "operator"\n')
    yield from _start_daemon(daemon_bin, pki, root, "--tls-client-ca", str(pki.ca), "--config", str(config))


def _code(call) -> grpc.StatusCode:
    with pytest.raises(WorkflowError) as info:
        call()
    return info.value.code


def _run_hello(client: WorkflowClient) -> pb.Execution:
    """Execute of the bundled hello workflow (an operator's call), once
    discovery has found it: the daemon listens before its probes end."""
    deadline = time.monotonic() + 30
    while not any(w.id == "hello" for w in client.list_workflows()):
        if time.monotonic() > deadline:
            pytest.fail("the bundled hello workflow was not discovered within 30 s")
        time.sleep(0.1)
    return client.execute_and_wait("hello", {"name": "tls"}, timeout=60)


def test_tls_https_address_with_the_ca(tls_addr, pki, monkeypatch):
    with WorkflowClient(f"https://{tls_addr}", tls_ca=str(pki.ca), timeout=30) as client:
        assert client.status().version
    # The variable is the default, and makes host:port TLS too.
    monkeypatch.setenv(TLS_CA_ENV, str(pki.ca))
    with WorkflowClient(tls_addr, timeout=30) as client:
        assert client.status().version
    # The private CA is not among the platform's roots: no trust, no call.
    with WorkflowClient(f"https://{tls_addr}", tls_ca="", timeout=30) as client:
        assert _code(client.status) == grpc.StatusCode.UNAVAILABLE
    # Plaintext to a TLS port fails too.
    with WorkflowClient(tls_addr, tls_ca="", timeout=30) as client:
        assert _code(client.status) == grpc.StatusCode.UNAVAILABLE


def test_tls_client_certificate_is_the_callers_identity(mtls_addr, pki, monkeypatch):
    addr = f"https://{mtls_addr}"
    with WorkflowClient(addr, tls_ca=str(pki.ca), tls_cert=str(pki.client_cert), tls_key=str(pki.client_key)) as client:
        assert _run_hello(client).state == pb.EXECUTION_STATE_SUCCEEDED

    # Without a client certificate the daemon ends the handshake.
    with WorkflowClient(addr, tls_ca=str(pki.ca), timeout=30) as client:
        assert _code(client.status) == grpc.StatusCode.UNAVAILABLE

    # All three from the variables.
    monkeypatch.setenv(TLS_CA_ENV, str(pki.ca))
    monkeypatch.setenv(TLS_CERT_ENV, str(pki.client_cert))
    monkeypatch.setenv(TLS_KEY_ENV, str(pki.client_key))
    with WorkflowClient(mtls_addr, timeout=30) as client:
        assert client.execute("hello", {"name": "tls env"}).id


def test_tls_async_client(mtls_addr, pki):
    async def scenario() -> None:
        files = {"tls_ca": str(pki.ca), "tls_cert": str(pki.client_cert), "tls_key": str(pki.client_key)}
        async with AsyncWorkflowClient(f"https://{mtls_addr}", timeout=30, **files) as client:
            assert (await client.status()).version
        async with AsyncWorkflowClient(f"https://{mtls_addr}", timeout=30, tls_ca=str(pki.ca)) as client:
            with pytest.raises(WorkflowError) as info:
                await client.status()
            assert info.value.code == grpc.StatusCode.UNAVAILABLE

    asyncio.run(scenario())
