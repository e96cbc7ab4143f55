"""Fixtures for the tests of the Python client against a live workflowd.

The daemon's address comes from WORKFLOWD_ADDR (scripts/test-clients.sh and
the top-level test runner set it); without it every test is skipped.
"""

from __future__ import annotations

import os
import uuid

import pytest

from workflow_client import WorkflowClient


@pytest.fixture(scope="session")
def addr() -> str:
    """host:port of the live daemon."""
    value = os.environ.get("WORKFLOWD_ADDR")
    if not value:
        pytest.skip("WORKFLOWD_ADDR is not set; these tests need a running workflowd")
    return value


@pytest.fixture
def client(addr: str):
    """A blocking client with a generous default deadline."""
    with WorkflowClient(addr, timeout=30) as c:
        yield c


@pytest.fixture
def unique() -> str:
    """A fresh token for labels and request ids."""
    return uuid.uuid4().hex
