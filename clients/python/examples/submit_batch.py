#!/usr/bin/env python3
"""Submits a hyper2kvm batch manifest to workflowd and follows every VM to
the end, printing each VM's phases and progress as they happen.

    python examples/submit_batch.py batch.yaml [--addr 127.0.0.1:50051]

Exits 0 when every VM succeeded, 1 when any did not, 2 when the manifest is
invalid (each problem is printed with its path).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from workflow_client import AsyncWorkflowClient, WorkflowError, workflow_pb2 as pb


async def follow(client: AsyncWorkflowClient, name: str, execution_id: str) -> pb.Execution:
    """Prints one VM's progress until its execution ends; returns it."""
    async for event in client.stream_logs(execution_id):
        kind = event.WhichOneof("payload")
        if kind == "phase_started":
            print(f"[{name}] phase {event.phase_started.name} started", flush=True)
        elif kind == "phase_failed":
            print(f"[{name}] phase {event.phase_failed.name} failed: {event.phase_failed.error}", flush=True)
        elif kind == "task_progress" and event.task_progress.message.endswith("0%"):
            print(f"[{name}] {event.task_progress.message}", flush=True)
    return await client.get_execution(execution_id)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--addr", default=os.environ.get("WORKFLOWD_ADDR", "127.0.0.1:50051"))
    args = parser.parse_args()

    async with AsyncWorkflowClient(args.addr, timeout=30) as client:
        try:
            submitted = await client.submit_manifest(
                args.manifest.read_bytes(), file_name=args.manifest.name
            )
        except WorkflowError as error:
            print(f"manifest rejected: {error.message}", file=sys.stderr)
            for field, description in error.field_violations:
                print(f"  {field}: {description}", file=sys.stderr)
            return 2
        print(f"batch {submitted.batch_id or '(single VM)'}: {len(submitted.vms)} VM(s)", flush=True)
        results = await asyncio.gather(
            *(follow(client, vm.name, vm.execution.id) for vm in submitted.vms)
        )
    failed = 0
    for vm, execution in zip(submitted.vms, results):
        state = pb.ExecutionState.Name(execution.state).removeprefix("EXECUTION_STATE_")
        print(f"{vm.name}: {state} {execution.error}".rstrip())
        failed += execution.state != pb.EXECUTION_STATE_SUCCEEDED
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
