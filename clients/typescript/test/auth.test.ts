// API tokens against a live workflowd run with --auth tokens, over gRPC-web:
// `WORKFLOWD_TEST_AUTH=tokens scripts/with-test-daemon.sh` exports its
// address and admin token, as scripts/test-clients.sh runs `npm run
// test:auth`. Skipped against a daemon without tokens (npm test's).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Role, WorkflowClient, WorkflowError } from "../src/index.js";
import { addr, collect, rejection } from "./helpers.js";

const adminToken = process.env.WORKFLOWD_TEST_ADMIN_TOKEN ?? "";
const UNKNOWN_EXECUTION = "00000000-0000-4000-8000-000000000000";

const withTokens =
  addr === "" || adminToken === ""
    ? { skip: "needs a workflowd with --auth tokens: WORKFLOWD_TEST_AUTH=tokens scripts/with-test-daemon.sh" }
    : {};

function clientWith(token?: string | (() => string | undefined)): WorkflowClient {
  return new WorkflowClient(addr, { timeoutMs: 30_000, ...(token !== undefined ? { token } : {}) });
}

/** client.api's calls reject with a ConnectError: as WorkflowError, for rejection(). */
async function raw<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw WorkflowError.from(err);
  }
}

describe("API tokens", withTokens, () => {
  test("a call without a token is UNAUTHENTICATED", async () => {
    const anonymous = clientWith();
    assert.equal((await rejection(() => anonymous.status())).codeName, "UNAUTHENTICATED");
    const stream = await rejection(() => collect(anonymous.streamLogs(UNKNOWN_EXECUTION)));
    assert.equal(stream.codeName, "UNAUTHENTICATED");
    // Well formed, so the daemon looks it up (a malformed one is refused earlier).
    const unknown = await rejection(() => clientWith("wft_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").status());
    assert.equal(unknown.codeName, "UNAUTHENTICATED");
    assert.match(unknown.rawMessage, /unknown API token 0123456789abcdef/);
  });

  test("the admin token works; a viewer reads but may not run or make tokens", async () => {
    const admin = clientWith(adminToken);
    assert.ok((await admin.status()).version);
    const made = await raw(admin.api.createToken({ name: "typescript client test", role: Role.VIEWER }));
    assert.match(made.secret, /^wft_/);

    const viewer = clientWith(made.secret);
    assert.ok((await viewer.status()).version);
    // The stream carries the token too: past authentication, to the lookup.
    const stream = await rejection(() => collect(viewer.streamLogs(UNKNOWN_EXECUTION)));
    assert.equal(stream.codeName, "NOT_FOUND");
    const execute = await rejection(() => viewer.execute("hello", { name: "viewer" }));
    assert.equal(execute.codeName, "PERMISSION_DENIED");
    const escalate = await rejection(() => raw(viewer.api.createToken({ name: "escalation", role: Role.ADMIN })));
    assert.equal(escalate.codeName, "PERMISSION_DENIED");

    await raw(admin.api.revokeToken({ tokenId: made.token?.id ?? "" }));
    assert.equal((await rejection(() => viewer.status())).codeName, "UNAUTHENTICATED");
  });

  test("a token function is asked at each call: set, then forgotten", async () => {
    let current: string | undefined;
    const page = clientWith(() => current);
    assert.equal((await rejection(() => page.status())).codeName, "UNAUTHENTICATED");
    current = adminToken;
    assert.ok((await page.status()).version);
    current = undefined;
    assert.equal((await rejection(() => page.status())).codeName, "UNAUTHENTICATED");
  });
});
