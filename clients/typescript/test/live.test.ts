// Tests of WorkflowClient against a live workflowd over gRPC-web (fetch on
// loopback). Run through scripts/with-test-daemon.sh, which exports
// WORKFLOWD_ADDR, WORKFLOWD_TEST_SOURCE_DIR and WORKFLOWD_TEST_OUTPUT_DIR.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";

import {
  ExecutionState,
  ManifestKind,
  NodeStatus,
  OutputStream,
  WorkflowError,
  type LogEvent,
  type WorkflowClient,
} from "../src/index.js";
import { addr, client, collect, live, rejection, unique } from "./helpers.js";

if (addr === "") {
  // npm test runs these: without a daemon they must fail, not pass as
  // skipped. `npm run test:unit` runs the tests that need none.
  test("the live tests need WORKFLOWD_ADDR", () => {
    assert.fail(
      "WORKFLOWD_ADDR is not set: run the live tests under scripts/with-test-daemon.sh " +
        "(npm run test:unit runs the unit tests alone)",
    );
  });
}

/** What every hello log has: gap-free sequences from 1, the greeting, finished SUCCEEDED last. */
function checkHelloLog(events: LogEvent[], greeting: string): void {
  assert.ok(events.length > 0, "no log events");
  events.forEach((ev, i) => assert.equal(ev.sequence, BigInt(i + 1), `event ${i} has sequence ${ev.sequence}`));
  const last = events.at(-1)?.payload;
  assert.equal(last?.case, "finished", `last event is ${last?.case}`);
  assert.equal(last.value.state, ExecutionState.SUCCEEDED);
  assert.equal(events.filter((ev) => ev.payload.case === "finished").length, 1, "one finished event");
  assert.ok(
    events.some(
      (ev) =>
        ev.payload.case === "output" &&
        ev.payload.value.stream === OutputStream.STDOUT &&
        ev.payload.value.text === greeting,
    ),
    `greeting ${JSON.stringify(greeting)} not in the log`,
  );
  assert.ok(events.some((ev) => ev.payload.case === "phaseStarted"), "no phase_started event");
}

/** Cancels an execution with SIGKILL and waits for its end; one already ended is fine. */
async function stopForce(c: WorkflowClient, id: string): Promise<void> {
  try {
    await c.cancel(id, { force: true });
  } catch (err) {
    if (!(err instanceof WorkflowError && err.codeName === "FAILED_PRECONDITION")) {
      throw err;
    }
  }
  await c.wait(id, { timeoutMs: 60_000 });
}

/** Follows the log of a running execution until an event of this case arrives. */
async function until(events: AsyncIterator<LogEvent>, eventCase: LogEvent["payload"]["case"]): Promise<LogEvent> {
  for (;;) {
    const next = await events.next();
    assert.ok(!next.done, `the stream ended before a ${eventCase} event`);
    if (next.value.payload.case === eventCase) {
      return next.value;
    }
  }
}

describe("workflows", live, () => {
  test("listWorkflows finds the bundled examples, ordered by id", async () => {
    const { workflows } = await client().listWorkflows();
    const ids = workflows.map((w) => w.id);
    for (const want of ["hello", "research_pipeline", "sleeper", "chatty", "ignore_sigterm", "vm_pipeline"]) {
      assert.ok(ids.includes(want), `${want} missing from ${ids.join(",")}`);
    }
    assert.deepEqual(ids, [...ids].sort());
  });

  test("getWorkflow returns the declared fields", async () => {
    const hello = await client().getWorkflow("hello");
    assert.equal(hello.fields.length, 1);
    const field = hello.fields[0];
    assert.equal(field?.name, "name");
    assert.equal(field?.defaultValue, "world");
    assert.equal(field?.type?.kind.case, "text");
  });

  test("getWorkflow of an unknown id is a NOT_FOUND WorkflowError", async () => {
    const err = await rejection(() => client().getWorkflow("no_such_workflow"));
    assert.ok(err instanceof WorkflowError);
    assert.ok(err instanceof Error);
    assert.equal(err.codeName, "NOT_FOUND");
    assert.match(err.rawMessage, /no_such_workflow/);
    assert.deepEqual(err.fieldViolations, []);
  });

  test("validateInputs reports every violation at its field", async () => {
    const bad = { depth: 9, format: "pdf" }; // topic is missing as well
    const err = await rejection(() => client().validateInputs("research_pipeline", bad));
    assert.equal(err.codeName, "INVALID_ARGUMENT");
    for (const field of ["inputs.topic", "inputs.depth", "inputs.format"]) {
      assert.ok((err.violations[field] ?? "") !== "", `no violation at ${field}: ${JSON.stringify(err.violations)}`);
    }
    // Execute validates the same way.
    const execErr = await rejection(() => client().execute("research_pipeline", bad));
    assert.equal(execErr.codeName, "INVALID_ARGUMENT");
    assert.deepEqual(Object.keys(execErr.violations).sort(), Object.keys(err.violations).sort());
  });

  test("validateInputs resolves defaults and the argv", async () => {
    const resp = await client().validateInputs("hello");
    assert.equal(resp.resolvedInputs["name"], "world");
    assert.match(resp.argv[0] ?? "", /hello\.sh$/);
    assert.ok(resp.argv.includes("--name"));
  });
});

describe("executions", live, () => {
  test("execute, stream the log to its end, resume from a sequence, wait", async () => {
    const c = client();
    const greeting = `hello, ts-${unique().slice(0, 8)}`;
    const exec = await c.execute("hello", { name: greeting.slice("hello, ".length) });
    assert.ok([ExecutionState.QUEUED, ExecutionState.RUNNING].includes(exec.state), `state ${exec.state}`);

    const followed = await collect(c.streamLogs(exec.id, { follow: true }));
    checkHelloLog(followed, greeting);

    // The history alone: the same events.
    const history = await collect(c.streamLogs(exec.id));
    checkHelloLog(history, greeting);
    assert.equal(history.length, followed.length);

    // Resuming from a sequence number sends the tail only.
    const from = 3;
    const tail = await collect(c.streamLogs(exec.id, { fromSequence: from, follow: true }));
    assert.deepEqual(
      tail.map((ev) => ev.sequence),
      followed.slice(from - 1).map((ev) => ev.sequence),
    );

    // Leaving the loop early ends the call quietly.
    let seen = 0;
    for await (const ev of c.streamLogs(exec.id)) {
      seen++;
      assert.equal(ev.sequence, 1n);
      break;
    }
    assert.equal(seen, 1);

    const done = await c.wait(exec.id);
    assert.equal(done.id, exec.id);
    assert.equal(done.state, ExecutionState.SUCCEEDED);
    assert.equal(done.exitCode, 0);
    assert.equal(done.phases[0]?.status, NodeStatus.COMPLETED);
    assert.ok(done.endTime !== undefined && done.startTime !== undefined);
    assert.deepEqual(await c.getExecution(exec.id), done);
  });

  test("wait returns a FAILED execution as a result", async () => {
    const c = client();
    const exec = await c.execute("sleeper", { seconds: 0, exit_code: 3 });
    const done = await c.wait(exec.id);
    assert.equal(done.state, ExecutionState.FAILED);
    assert.equal(done.exitCode, 3);
  });

  test("cancel stops a running execution", async () => {
    const c = client();
    const exec = await c.execute("sleeper", { seconds: 600 });
    const abort = new AbortController();
    try {
      const events = c.streamLogs(exec.id, { follow: true, signal: abort.signal });
      // Running for sure: the program's own line is in the log.
      await until(events, "output");
      const resp = await c.cancel(exec.id, { gracePeriodMs: 5000 });
      assert.equal(resp.execution?.id, exec.id);
      const requested = await until(events, "cancelRequested");
      assert.equal(requested.payload.case === "cancelRequested" && requested.payload.value.reason, "client");
      const finished = await until(events, "finished");
      assert.equal(finished.payload.case === "finished" && finished.payload.value.state, ExecutionState.CANCELLED);
      assert.equal((await events.next()).done, true, "events after finished");

      const done = await c.wait(exec.id);
      assert.equal(done.state, ExecutionState.CANCELLED);
      const again = await rejection(() => c.cancel(exec.id));
      assert.equal(again.codeName, "FAILED_PRECONDITION");
    } finally {
      // Whatever failed above: close the followed stream and free the
      // worker (FAILED_PRECONDITION: it has already ended).
      abort.abort();
      await stopForce(c, exec.id);
    }
  });

  test("aborting the signal ends a followed stream with CANCELLED", async () => {
    const c = client();
    const exec = await c.execute("sleeper", { seconds: 600 });
    try {
      const abort = new AbortController();
      const err = await rejection(async () => {
        for await (const ev of c.streamLogs(exec.id, { follow: true, signal: abort.signal })) {
          if (ev.payload.case === "output") {
            abort.abort();
          }
        }
      });
      assert.equal(err.codeName, "CANCELLED");
      // Aborting the stream does not cancel the execution.
      assert.ok([ExecutionState.QUEUED, ExecutionState.RUNNING].includes((await c.getExecution(exec.id)).state));
    } finally {
      await stopForce(c, exec.id);
    }
  });

  test("listExecutions pages through executions filtered by label", async () => {
    const c = client();
    const run = unique();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const exec = await c.execute("hello", { name: `page${i}` }, { labels: { "ts-test-run": run } });
      ids.push((await c.wait(exec.id)).id);
    }
    const filter = { workflowId: "hello", labels: { "ts-test-run": run }, pageSize: 2 };
    const first = await c.listExecutions(filter);
    assert.equal(first.executions.length, 2);
    assert.notEqual(first.nextPageToken, "");
    const second = await c.listExecutions({ ...filter, pageToken: first.nextPageToken });
    assert.equal(second.executions.length, 1);
    assert.equal(second.nextPageToken, "");
    const paged = [...first.executions, ...second.executions].map((e) => e.id);
    // Newest first.
    assert.deepEqual(paged, [...ids].reverse());

    const all: string[] = [];
    for await (const exec of c.allExecutions(filter)) {
      all.push(exec.id);
    }
    assert.deepEqual(all, paged);

    const none = await c.listExecutions({ labels: { "ts-test-run": run }, states: [ExecutionState.FAILED] });
    assert.deepEqual(none.executions, []);
  });

  test("unknown execution ids are NOT_FOUND", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    assert.equal((await rejection(() => client().getExecution(missing))).codeName, "NOT_FOUND");
    assert.equal((await rejection(() => client().wait(missing))).codeName, "NOT_FOUND");
    assert.equal((await rejection(() => collect(client().streamLogs(missing)))).codeName, "NOT_FOUND");
  });

  test("status reports the pool, the bundled workflows and the history", async () => {
    const c = client();
    // An execution of this test's own, so the history is not empty
    // whichever tests ran before.
    const done = await c.wait((await c.execute("hello", { name: "status" })).id);
    assert.equal(done.state, ExecutionState.SUCCEEDED);
    const st = await c.status();
    assert.notEqual(st.version, "");
    assert.ok(st.maxWorkers > 0);
    assert.ok(st.startTime !== undefined);
    assert.ok(st.workflowsDiscovered >= 5, `workflowsDiscovered ${st.workflowsDiscovered}`);
    assert.ok(st.totalExecutions >= 1n, `totalExecutions ${st.totalExecutions} after one finished`);
  });
});

describe("manifests", live, () => {
  test("validateManifest reports problems with their paths", async () => {
    const manifest = JSON.stringify({
      version: "1.0",
      batch: true,
      vms: [
        { name: "ok", pipeline: { load: { source_type: "raw", source_path: "/x.raw" } } },
        {
          name: "bad",
          pipeline: { load: { source_type: "floppy", source_path: "/y" }, convert: { output_format: "iso" } },
        },
      ],
    });
    const resp = await client().validateManifest(new TextEncoder().encode(manifest), { fileName: "batch.json" });
    assert.equal(resp.valid, false);
    assert.equal(resp.kind, ManifestKind.BATCH);
    const paths = resp.problems.map((p) => p.path);
    assert.ok(paths.includes("vms[1].pipeline.load.source_type"), paths.join(","));
    assert.ok(paths.includes("vms[1].pipeline.convert.output_format"), paths.join(","));
  });

  test("submitManifest of a bad manifest carries field violations", async () => {
    const err = await rejection(() =>
      client().submitManifest('{"version": "1.0", "pipeline": {}}', { fileName: "bad.json" }),
    );
    assert.equal(err.codeName, "INVALID_ARGUMENT");
    assert.ok(
      Object.keys(err.violations).some((f) => f.startsWith("pipeline.load")),
      JSON.stringify(err.violations),
    );
  });

  test("submitManifest converts a real VMDK disk", async () => {
    const sources = process.env.WORKFLOWD_TEST_SOURCE_DIR;
    const outputs = process.env.WORKFLOWD_TEST_OUTPUT_DIR;
    assert.ok(sources && outputs, "WORKFLOWD_TEST_SOURCE_DIR and WORKFLOWD_TEST_OUTPUT_DIR must be set");
    const id = unique();
    const disk = join(sources, `ts-${id}.vmdk`);
    execFileSync("qemu-img", ["create", "-q", "-f", "vmdk", disk, "16M"]);
    const output = `ts-${id}.qcow2`;
    const manifest = [
      'version: "1.0"',
      "pipeline:",
      "  load:",
      "    source_type: vmdk",
      `    source_path: ${JSON.stringify(disk)}`,
      "  convert:",
      "    output_format: qcow2",
      `    output_path: ${JSON.stringify(output)}`,
      "",
    ].join("\n");
    const c = client();
    const check = await c.validateManifest(manifest, { fileName: "vm.yaml" });
    assert.deepEqual(check.problems, []);
    assert.equal(check.valid, true);

    const resp = await c.submitManifest(manifest, { fileName: `ts-${id}.yaml`, requestId: `ts-${id}` });
    assert.equal(resp.started, true);
    assert.equal(resp.kind, ManifestKind.SINGLE);
    assert.equal(resp.vms.length, 1);
    const execId = resp.vms[0]?.execution?.id ?? "";
    assert.notEqual(execId, "");
    const done = await c.wait(execId, { timeoutMs: 120_000 });
    assert.equal(done.state, ExecutionState.SUCCEEDED, done.error);
    assert.equal(done.workflowId, "vm_pipeline");
    const converted = join(outputs, output);
    assert.ok(existsSync(converted), `${converted} missing`);
    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", converted], { encoding: "utf8" })) as {
      format: string;
    };
    assert.equal(info.format, "qcow2");

    // The same request id returns the first submission.
    const again = await c.submitManifest(manifest, { fileName: `ts-${id}.yaml`, requestId: `ts-${id}` });
    assert.equal(again.started, false);
    assert.equal(again.vms[0]?.execution?.id, execId);
  });
});
