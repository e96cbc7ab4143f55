// The daemon's JSON API (docs/http.md) from Node, for what a test prepares or
// checks behind the page's back: starting executions, waiting for them,
// reading the status. Only the fields the tests read are typed; answers are
// the proto3 JSON mapping (64-bit integers as strings, enums by name).
export interface ExecutionJson {
  id: string;
  workflowId: string;
  state: string;
  batchId?: string;
  labels?: Record<string, string>;
  currentPhase?: string;
  exitCode?: number;
  signal?: number;
  error?: string;
}

export interface StatusJson {
  running?: number;
  queued?: number;
  succeededToday?: string;
  failedToday?: string;
  totalExecutions?: string;
}

export interface SubmitManifestJson {
  batchId?: string;
  started?: boolean;
  vms: { name: string; manifestPath?: string; execution?: ExecutionJson }[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}: ${body}`);
  }
}

export class Api {
  constructor(readonly baseUrl: string) {}

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new ApiError(response.status, text, `${method} ${path}`);
    }
    return (text === "" ? {} : JSON.parse(text)) as T;
  }

  execute(workflowId: string, inputs: Record<string, unknown> = {}, labels: Record<string, string> = {}): Promise<ExecutionJson> {
    return this.call<{ execution: ExecutionJson }>("POST", "/v1/executions", { workflowId, inputs, labels }).then((r) => r.execution);
  }

  getExecution(id: string): Promise<ExecutionJson> {
    return this.call<{ execution: ExecutionJson }>("GET", `/v1/executions/${encodeURIComponent(id)}`).then((r) => r.execution);
  }

  /** Blocks until the execution has ended; the answer is its final record. */
  wait(id: string): Promise<ExecutionJson> {
    return this.call<{ execution: ExecutionJson }>("GET", `/v1/executions/${encodeURIComponent(id)}:wait`).then((r) => r.execution);
  }

  cancel(id: string, body: { force?: boolean; gracePeriod?: string } = {}): Promise<unknown> {
    return this.call("POST", `/v1/executions/${encodeURIComponent(id)}:cancel`, body);
  }

  status(): Promise<StatusJson> {
    return this.call<StatusJson>("GET", "/v1/status");
  }

  listExecutions(query: Record<string, string> = {}): Promise<{ executions?: ExecutionJson[]; nextPageToken?: string }> {
    const q = new URLSearchParams(query).toString();
    return this.call("GET", `/v1/executions${q ? `?${q}` : ""}`);
  }

  submitManifest(content: string, fileName: string, requestId?: string): Promise<SubmitManifestJson> {
    return this.call<SubmitManifestJson>("POST", "/v1/manifests:submit", {
      content: Buffer.from(content, "utf8").toString("base64"),
      fileName,
      ...(requestId ? { requestId } : {}),
    });
  }

  /** Polls GetExecution until the state is one of `states` (the state is what the test waits on, not time). */
  async waitForState(id: string, states: readonly string[], timeoutMs = 30_000): Promise<ExecutionJson> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = await this.getExecution(id);
      if (states.includes(e.state)) return e;
      if (Date.now() > deadline) throw new Error(`execution ${id} still ${e.state} after ${timeoutMs} ms, waiting for ${states.join("|")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
