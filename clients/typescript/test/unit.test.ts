// Tests of the parts that need no daemon: addresses, error conversion, the
// headers a call sends.
import assert from "node:assert/strict";
import { test } from "node:test";

import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

import { BadRequestSchema } from "../src/gen/google/rpc/error_details_pb.js";
import {
  WorkflowClient,
  WorkflowError,
  baseUrl,
  codeName,
  isFetchNetworkError,
  isTerminal,
  tokenInterceptor,
  ExecutionState,
} from "../src/index.js";
import { rejection } from "./helpers.js";

test("baseUrl accepts host:port and http(s) URLs", () => {
  assert.equal(baseUrl("127.0.0.1:50051"), "http://127.0.0.1:50051");
  assert.equal(baseUrl(" localhost:1 "), "http://localhost:1");
  assert.equal(baseUrl("http://127.0.0.1:50051/"), "http://127.0.0.1:50051");
  assert.equal(baseUrl("https://wf.example:443"), "https://wf.example:443");
  assert.throws(() => baseUrl(""), TypeError);
  assert.throws(() => baseUrl("unix:/run/workflowd.sock"), TypeError);
  assert.throws(() => baseUrl("dns:///x:1"), TypeError);
});

test("codeName spells gRPC names", () => {
  assert.equal(codeName(Code.Canceled), "CANCELLED");
  assert.equal(codeName(Code.InvalidArgument), "INVALID_ARGUMENT");
  assert.equal(codeName(Code.Unauthenticated), "UNAUTHENTICATED");
  assert.equal(codeName(99), "UNKNOWN");
});

test("WorkflowError.from decodes BadRequest field violations", () => {
  const detail = create(BadRequestSchema, {
    fieldViolations: [
      { field: "inputs.depth", description: "must be at most 5" },
      { field: "inputs.depth", description: "must be a number" },
      { field: "inputs.topic", description: "is required" },
    ],
  });
  // As the gRPC-web transport receives it: the type name and the encoded message.
  const incoming = { type: "google.rpc.BadRequest", value: toBinary(BadRequestSchema, detail) };
  const connectErr = new ConnectError("bad inputs", Code.InvalidArgument);
  connectErr.details.push(incoming);
  const err = WorkflowError.from(connectErr);
  assert.equal(err.code, Code.InvalidArgument);
  assert.equal(err.codeName, "INVALID_ARGUMENT");
  assert.equal(err.rawMessage, "bad inputs");
  assert.equal(err.fieldViolations.length, 3);
  assert.deepEqual(err.violations, {
    "inputs.depth": "must be at most 5; must be a number",
    "inputs.topic": "is required",
  });
  assert.match(err.message, /^INVALID_ARGUMENT: bad inputs\n {2}inputs\.depth: must be at most 5/);
  assert.equal(WorkflowError.from(err), err);
  assert.equal(WorkflowError.from(new Error("boom")).codeName, "UNKNOWN");
});

test("isTerminal", () => {
  assert.equal(isTerminal(ExecutionState.RUNNING), false);
  assert.equal(isTerminal(ExecutionState.QUEUED), false);
  assert.equal(isTerminal(ExecutionState.CANCELLED), true);
  assert.equal(isTerminal(ExecutionState.SUCCEEDED), true);
});

test("an unreachable daemon is UNAVAILABLE", async () => {
  // Port 1 on loopback: nothing listens there, the connection is refused.
  const err = await rejection(() => new WorkflowClient("127.0.0.1:1").status());
  assert.equal(err.codeName, "UNAVAILABLE");
  const streamErr = await rejection(async () => {
    for await (const ev of new WorkflowClient("http://127.0.0.1:1").streamLogs("x")) {
      assert.fail(`event ${ev.sequence} from nowhere`);
    }
  });
  assert.equal(streamErr.codeName, "UNAVAILABLE");
});

test("only fetch's network TypeErrors become UNAVAILABLE", () => {
  for (const message of ["fetch failed", "Failed to fetch", "NetworkError when attempting to fetch resource.", "Load failed", "terminated"]) {
    const network = new TypeError(message, { cause: new Error("connect ECONNREFUSED 127.0.0.1:1") });
    assert.equal(isFetchNetworkError(network), true, message);
    assert.equal(WorkflowError.from(network).codeName, "UNAVAILABLE", message);
    // As the transport hands it over: a ConnectError whose cause is fetch's error.
    const wrapped = new ConnectError(message, Code.Unknown, undefined, undefined, network);
    assert.equal(WorkflowError.from(wrapped).codeName, "UNAVAILABLE", message);
  }
  // A bug is not a network failure, even as a TypeError.
  const bug = new TypeError("Cannot read properties of undefined (reading 'id')");
  assert.equal(isFetchNetworkError(bug), false);
  const err = WorkflowError.from(bug);
  assert.equal(err.codeName, "UNKNOWN");
  assert.equal(err.cause, bug);
  assert.equal(WorkflowError.from(new ConnectError(bug.message, Code.Unknown, undefined, undefined, bug)).codeName, "UNKNOWN");
  assert.equal(isFetchNetworkError(new Error("fetch failed")), false);
});

test("timeoutMs: 0 means no deadline, overriding the client's default", async () => {
  // A fetch that records the grpc-timeout header and fails the call.
  const sent: (string | null)[] = [];
  const fetch: typeof globalThis.fetch = (_input, init) => {
    sent.push(new Headers(init?.headers).get("grpc-timeout"));
    return Promise.resolve(new Response(null, { status: 200, headers: { "grpc-status": "14", "grpc-message": "fake" } }));
  };
  const withDefault = new WorkflowClient("127.0.0.1:1", { fetch, timeoutMs: 30_000 });
  await rejection(() => withDefault.status());
  await rejection(() => withDefault.status({ timeoutMs: 0 }));
  await rejection(() => withDefault.status({ timeoutMs: 1_500 }));
  const noDefault = new WorkflowClient("127.0.0.1:1", { fetch, timeoutMs: 0 });
  await rejection(() => noDefault.status());
  assert.deepEqual(sent, ["30000m", null, "1500m", null]);
});

test("the token option sends authorization: Bearer, asked again at each call", async () => {
  const sent: (string | null)[] = [];
  const fetch: typeof globalThis.fetch = (_input, init) => {
    sent.push(new Headers(init?.headers).get("authorization"));
    return Promise.resolve(new Response(null, { status: 200, headers: { "grpc-status": "16", "grpc-message": "fake" } }));
  };
  await rejection(() => new WorkflowClient("127.0.0.1:1", { fetch, token: " wft_a_b\n" }).status());
  let current: string | undefined;
  const client = new WorkflowClient("127.0.0.1:1", { fetch, token: () => current });
  await rejection(() => client.status());
  current = "wft_c_d";
  const err = await rejection(() => client.status());
  current = "";
  await rejection(() => client.status());
  await rejection(() => new WorkflowClient("127.0.0.1:1", { fetch }).status());
  assert.deepEqual(sent, ["Bearer wft_a_b", null, "Bearer wft_c_d", null, null]);
  assert.equal(err.codeName, "UNAUTHENTICATED");
  // A ready transport takes the interceptor itself.
  assert.throws(() => new WorkflowClient("", { transport: createGrpcWebTransport({ baseUrl: "http://x" }), token: "t" }), TypeError);
  assert.equal(typeof tokenInterceptor("t"), "function");
});
