"""Manifest calls of the Python client, and the batch example script, against
a live daemon running the real vm_pipeline workflow with real qemu-img."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from workflow_client import WorkflowError, workflow_pb2 as pb

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "submit_batch.py"


def raw_disk(path: Path) -> Path:
    """A small raw disk image with data in it."""
    with open(path, "wb") as disk:
        disk.truncate(4 << 20)
        disk.seek(1 << 20)
        disk.write(b"workflow-manager test data" * 1000)
    return path


def test_validate_manifest_reports_every_problem_with_its_path(client):
    manifest = {
        "version": "1.0",
        "batch": True,
        "vms": [
            {"name": "ok", "pipeline": {"load": {"source_type": "raw", "source_path": "/x.raw"}}},
            {"name": "bad", "pipeline": {"load": {"source_type": "floppy", "source_path": "/y"},
                                         "convert": {"output_format": "iso"}}},
        ],
    }
    result = client.validate_manifest(json.dumps(manifest), file_name="batch.json")
    assert not result.valid
    paths = {problem.path for problem in result.problems}
    assert "vms[1].pipeline.load.source_type" in paths
    assert "vms[1].pipeline.convert.output_format" in paths


def test_submit_invalid_manifest_raises_with_field_violations(client):
    with pytest.raises(WorkflowError) as raised:
        client.submit_manifest('{"version": "1.0", "pipeline": {}}', file_name="bad.json")
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    fields = [field for field, _ in raised.value.field_violations]
    assert any(field.startswith("pipeline.load") for field in fields), fields


def test_example_script_follows_every_vm_of_a_batch(addr, tmp_path, unique):
    # The daemon reads disks only from its source roots and writes only into
    # its output directory: scripts/with-test-daemon.sh sets both.
    sources = Path(os.environ["WORKFLOWD_TEST_SOURCE_DIR"])
    outputs = Path(os.environ["WORKFLOWD_TEST_OUTPUT_DIR"])
    vms = []
    for name in ("alpha", "beta"):
        source = raw_disk(sources / f"{name}-{unique}.raw")
        vms.append({
            "name": f"{name}-{unique[:6]}",
            "pipeline": {
                "load": {"source_type": "raw", "source_path": str(source)},
                "convert": {"output_format": "qcow2", "compress": True,
                            "output_path": f"{name}-{unique}.qcow2"},
            },
        })
    manifest = tmp_path / "batch.yaml"
    manifest.write_text(json.dumps({"version": "1.0", "batch": True, "vms": vms}))
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), str(manifest), "--addr", addr],
        capture_output=True, text=True, timeout=120, env={**os.environ},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for vm in vms:
        assert f"{vm['name']}: SUCCEEDED" in done.stdout
    for name in ("alpha", "beta"):
        info = subprocess.run(["qemu-img", "info", "--output=json", str(outputs / f"{name}-{unique}.qcow2")],
                              capture_output=True, text=True, check=True)
        assert json.loads(info.stdout)["format"] == "qcow2"
