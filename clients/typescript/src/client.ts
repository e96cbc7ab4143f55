import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate, ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { createClient, type CallOptions, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

import { WorkflowError } from "./errors.js";
import {
  ExecutionState,
  ManifestFormat,
  WorkflowService,
  type CancelResponse,
  type DiscoveryError,
  type Execution,
  type GetStatusResponse,
  type ListExecutionsResponse,
  type LogEvent,
  type SubmitManifestResponse,
  type ValidateInputsResponse,
  type ValidateManifestResponse,
  type Workflow,
} from "./gen/workflow/v1/workflow_pb.js";

/** Input values by field name: strings, numbers, booleans or lists of them. */
export type Inputs = Readonly<Record<string, JsonValue>>;

/** Options of every call. */
export interface CallOpts {
  /** Aborts the call; it then rejects with a CANCELLED WorkflowError. */
  signal?: AbortSignal;
  /**
   * Deadline of the call in milliseconds (DEADLINE_EXCEEDED when reached).
   * 0 (or less) means no deadline, overriding the client's default timeoutMs
   * (Connect's CallOptions semantics); unset means the client's default.
   */
  timeoutMs?: number;
}

/** Options of the WorkflowClient constructor. */
export interface WorkflowClientOptions {
  /**
   * Default deadline in milliseconds of the unary calls other than wait();
   * none when unset or 0. wait() and streamLogs() take only their own
   * timeoutMs. A call's own timeoutMs overrides it, 0 meaning no deadline.
   */
  timeoutMs?: number;
  /** The fetch to use (default: globalThis.fetch). */
  fetch?: typeof globalThis.fetch;
  /** A ready transport; the address is then ignored. */
  transport?: Transport;
  /**
   * The API token of a daemon run with `--auth tokens` (`wft_<id>_<secret>`),
   * sent as `authorization: Bearer <token>` on every call. A function is
   * asked at each call, so a page can set, change or forget the token
   * later; undefined or "" sends none. For the transport the client makes:
   * a ready `transport` takes tokenInterceptor(token) in its interceptors.
   */
  token?: TokenSource;
}

/** An API token, or a function giving the current one (undefined: none). */
export type TokenSource = string | (() => string | undefined);

/**
 * A Connect interceptor sending the API token of `token` as
 * `authorization: Bearer <token>` on every call that has one (blanks around
 * it dropped), for the transport the client makes or your own.
 */
export function tokenInterceptor(token: TokenSource): Interceptor {
  const current = typeof token === "function" ? token : () => token;
  return (next) => (req) => {
    const value = current()?.trim();
    if (value) {
      req.header.set("authorization", `Bearer ${value}`);
    }
    return next(req);
  };
}

/** Options of execute(). */
export interface ExecuteOptions extends CallOpts {
  /** Makes the call idempotent: repeating it returns the same execution. */
  requestId?: string;
  /** The execution's wall-clock limit in milliseconds (then TIMED_OUT). */
  executionTimeoutMs?: number;
  /** Labels to filter executions by. */
  labels?: Readonly<Record<string, string>>;
}

/** Options of streamLogs(). */
export interface StreamLogsOptions {
  /** First sequence number to send; 0 or unset means from the start. */
  fromSequence?: number | bigint;
  /**
   * Keep the stream open and send live events until the execution's final
   * `finished` event; otherwise the stream ends at the end of the history.
   */
  follow?: boolean;
  /** Stops the stream; the iteration then rejects with CANCELLED. */
  signal?: AbortSignal;
  /** Deadline of the whole stream in milliseconds; none when unset or 0. */
  timeoutMs?: number;
}

/** Options of cancel(). */
export interface CancelOptions extends CallOpts {
  /** Time between SIGTERM and SIGKILL in milliseconds (daemon default 10 s). */
  gracePeriodMs?: number;
  /** SIGKILL at once. */
  force?: boolean;
  /** Client-chosen id for retries (Cancel is idempotent anyway). */
  requestId?: string;
}

/** Options of validateManifest() and submitManifest(). */
export interface ManifestOptions extends CallOpts {
  /** The manifest's file name: format detection and naming a single VM. */
  fileName?: string;
  /** The encoding; detected from fileName and content when unset. */
  format?: ManifestFormat;
}

/** Options of submitManifest(). */
export interface SubmitManifestOptions extends ManifestOptions {
  /** Makes the call idempotent: repeating it returns the first submission. */
  requestId?: string;
  /** Labels added to every execution. */
  labels?: Readonly<Record<string, string>>;
}

/** Filters and paging of listExecutions() (ListExecutionsRequest). */
export interface ListExecutionsFilter {
  /** Maximum number of executions per page (daemon default when unset). */
  pageSize?: number;
  /** Token from a previous page's nextPageToken. */
  pageToken?: string;
  /** Only executions of this workflow. */
  workflowId?: string;
  /** Only executions in one of these states. */
  states?: readonly ExecutionState[];
  /** Only executions created after this time. */
  createTimeAfter?: Date;
  /** Only executions created before this time. */
  createTimeBefore?: Date;
  /** Only executions carrying all these labels. */
  labels?: Readonly<Record<string, string>>;
  /** Only executions of this batch (SubmitManifest's batchId). */
  batchId?: string;
}

/** What listWorkflows() returns. */
export interface WorkflowList {
  /** Every discovered workflow, ordered by id (all pages). */
  workflows: Workflow[];
  /** Programs that failed discovery. */
  discoveryErrors: DiscoveryError[];
  /** Programs whose metadata probe is still running. */
  programsProbing: string[];
}

/**
 * The base URL of the daemon's gRPC-web endpoint for an address in the
 * WORKFLOWD_ADDR form `host:port`, or a URL `http://host:port` /
 * `https://host:port`. Unix sockets cannot be reached over fetch.
 */
export function baseUrl(addr: string): string {
  const a = addr.trim();
  if (a === "") {
    throw new TypeError("workflowd address is empty");
  }
  if (/^https?:\/\//i.test(a)) {
    return a.replace(/\/+$/, "");
  }
  if (a.includes("://") || a.startsWith("unix:")) {
    throw new TypeError(`workflowd address ${JSON.stringify(addr)}: only host:port or http(s)://host:port`);
  }
  return `http://${a}`;
}

/** Whether an execution in this state has ended. */
export function isTerminal(state: ExecutionState): boolean {
  switch (state) {
    case ExecutionState.SUCCEEDED:
    case ExecutionState.FAILED:
    case ExecutionState.CANCELLED:
    case ExecutionState.TIMED_OUT:
    case ExecutionState.INTERRUPTED:
      return true;
    default:
      return false;
  }
}

/** Converts plain JSON input values to the google.protobuf.Value map the API takes. */
export function toValues(inputs: Inputs | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [name, value] of Object.entries(inputs ?? {})) {
    out[name] = fromJson(ValueSchema, value);
  }
  return out;
}

const encoder = new TextEncoder();

function manifestBytes(content: string | Uint8Array): Uint8Array {
  return typeof content === "string" ? encoder.encode(content) : content;
}

/**
 * A client of workflowd's workflow.v1.WorkflowService over gRPC-web, for
 * browsers and Node 20+ (it uses only fetch). Every method rejects with a
 * WorkflowError.
 *
 * ```ts
 * const client = new WorkflowClient(process.env.WORKFLOWD_ADDR ?? "127.0.0.1:50051", {
 *   token: process.env.WORKFLOW_TOKEN, // a daemon run with --auth tokens
 * });
 * const exec = await client.execute("hello", { name: "web" });
 * for await (const ev of client.streamLogs(exec.id, { follow: true })) console.log(ev);
 * const done = await client.wait(exec.id);
 * ```
 */
export class WorkflowClient {
  /** The generated Connect client, for calls and fields this wrapper does not cover. */
  readonly api: Client<typeof WorkflowService>;
  private readonly defaultTimeoutMs: number | undefined;

  constructor(addr: string, options: WorkflowClientOptions = {}) {
    if (options.transport && options.token !== undefined) {
      throw new TypeError("token is for the transport the client makes: add tokenInterceptor(token) to your transport's interceptors");
    }
    const transport =
      options.transport ??
      createGrpcWebTransport({
        baseUrl: baseUrl(addr),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.token !== undefined ? { interceptors: [tokenInterceptor(options.token)] } : {}),
      });
    this.api = createClient(WorkflowService, transport);
    this.defaultTimeoutMs = options.timeoutMs;
  }

  private opts(o: CallOpts | undefined, useDefault = true): CallOptions {
    // A call's 0 is passed on, not dropped: Connect's transports read
    // timeoutMs <= 0 as "no deadline", overriding their own default too.
    const timeoutMs = o?.timeoutMs ?? (useDefault ? this.defaultTimeoutMs : undefined);
    return {
      ...(o?.signal ? { signal: o.signal } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    };
  }

  /** Every discovered workflow (all pages) and the programs that failed discovery. */
  async listWorkflows(o?: CallOpts): Promise<WorkflowList> {
    const out: WorkflowList = { workflows: [], discoveryErrors: [], programsProbing: [] };
    let pageToken = "";
    try {
      do {
        const resp = await this.api.listWorkflows({ pageToken }, this.opts(o));
        out.workflows.push(...resp.workflows);
        out.discoveryErrors = resp.discoveryErrors;
        out.programsProbing = resp.programsProbing;
        pageToken = resp.nextPageToken;
      } while (pageToken !== "");
    } catch (err) {
      throw WorkflowError.from(err);
    }
    return out;
  }

  /** One workflow by id; NOT_FOUND when unknown. */
  async getWorkflow(workflowId: string, o?: CallOpts): Promise<Workflow> {
    try {
      const resp = await this.api.getWorkflow({ workflowId }, this.opts(o));
      if (!resp.workflow) {
        throw new WorkflowError(13, "GetWorkflow returned no workflow");
      }
      return resp.workflow;
    } catch (err) {
      throw WorkflowError.from(err);
    }
  }

  /**
   * Checks inputs without running the workflow: the resolved inputs and argv,
   * or INVALID_ARGUMENT with every violation (`inputs.<name>`).
   */
  async validateInputs(workflowId: string, inputs?: Inputs, o?: CallOpts): Promise<ValidateInputsResponse> {
    try {
      return await this.api.validateInputs({ workflowId, inputs: toValues(inputs) }, this.opts(o));
    } catch (err) {
      throw WorkflowError.from(err);
    }
  }

  /** Starts an execution and returns it at once (QUEUED or RUNNING). */
  async execute(workflowId: string, inputs?: Inputs, o: ExecuteOptions = {}): Promise<Execution> {
    try {
      const resp = await this.api.execute(
        {
          workflowId,
          inputs: toValues(inputs),
          requestId: o.requestId ?? "",
          labels: { ...o.labels },
          ...(o.executionTimeoutMs !== undefined ? { timeout: durationFromMs(o.executionTimeoutMs) } : {}),
        },
        this.opts(o),
      );
      if (!resp.execution) {
        throw new WorkflowError(13, "Execute returned no execution");
      }
      return resp.execution;
    } catch (err) {
      throw WorkflowError.from(err);
    }
  }

  /** One execution with its phase tree and artifacts; NOT_FOUND when unknown. */
  async getExecution(executionId: string, o?: CallOpts): Promise<Execution> {
    try {
      const resp = await this.api.getExecution({ executionId }, this.opts(o));
      if (!resp.execution) {
        throw new WorkflowError(13, "GetExecution returned no execution");
      }
      return resp.execution;
    } catch (err) {
      throw WorkflowError.from(err);
    }
  }

  /**
   * Waits until the execution has ended and returns it in its final state
   * (a FAILED execution is a result, not an error). Bounded only by
   * o.timeoutMs / o.signal; giving up never cancels the execution.
   */
  async wait(executionId: string, o?: CallOpts): Promise<Execution> {
    try {
      const resp = await this.api.waitExecution({ executionId }, this.opts(o, false));
      if (!resp.execution) {
        throw new WorkflowError(13, "WaitExecution returned no execution");
      }
      return resp.execution;
    } catch (err) {
      throw WorkflowError.from(err);
    }
  }

  /** One page of executions, newest first; pass nextPageToken back as pageToken. */
  async listExecutions(filter: ListExecutionsFilter = {}, o?: CallOpts): Promise<ListExecutionsResponse> {
    try {
      return await this.api.listExecutions(
        {
          pageSize: filter.pageSize ?? 0,
          pageToken: filter.pageToken ?? "",
          workflowId: filter.workflowId ?? "",
          states: [...(filter.states ?? [])],
          labels: { ...filter.labels },
          batchId: filter.batchId ?? "",
          ...(filter.createTimeAfter ? { createTimeAfter: timestampFromDate(filter.createTimeAfter) } : {}),
          ...(filter.createTimeBefore ? { createTimeBefore: timestampFromDate(filter.createTimeBefore) } : {}),
        },
        this.opts(o),
      );
    } catch (err) {
      throw WorkflowError.from(err);
    }
  }

  /** Every execution matching the filter, newest first, following the pages. */
  async *allExecutions(
    filter: Omit<ListExecutionsFilter, "pageToken"> = {},
    o?: CallOpts,
  ): AsyncGenerator<Execution, void, undefined> {
    let pageToken = "";
    do {
      const page = await this.listExecutions({ ...filter, pageToken }, o);
      yield* page.executions;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }

  /**
   * The log events of an execution in sequence order, as an async iterator:
   * the history from fromSequence, then (with follow) live events up to the
   * final `finished` event. Breaking out of the loop ends the call; aborting
   * o.signal makes the iteration reject with CANCELLED.
   */
  async *streamLogs(executionId: string, o: StreamLogsOptions = {}): AsyncGenerator<LogEvent, void, undefined> {
    // Our own controller, so that leaving the loop early always ends the HTTP request.
    const controller = new AbortController();
    const outer = o.signal;
    const onAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) {
      controller.abort(outer.reason);
    } else {
      outer?.addEventListener("abort", onAbort, { once: true });
    }
    try {
      const stream = this.api.streamLogs(
        { executionId, fromSequence: BigInt(o.fromSequence ?? 0), follow: o.follow ?? false },
        { signal: controller.signal, ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}) },
      );
      for await (const resp of stream) {
        if (resp.event) {
          yield resp.event;
        }
      }
    } catch (err) {
      throw WorkflowError.from(err);
    } finally {
      outer?.removeEventListener("abort", onAbort);
      controller.abort();
    }
  }

  /**
   * Cancels an execution: SIGTERM, then SIGKILL after the grace period (or at
   * once with force). FAILED_PRECONDITION once it has finished.
   */
  async cancel(executionId: string, o: CancelOptions = {}): Promise<CancelResponse> {
    try {
      return await this.api.cancel(
        {
          executionId,
          force: o.force ?? false,
          requestId: o.requestId ?? "",
          ...(o.gracePeriodMs !== undefined ? { gracePeriod: durationFromMs(o.gracePeriodMs) } : {}),
        },
        this.opts(o),
      );
    } catch (err) {
      throw WorkflowError.from(err);
    }
  }

  /**
   * Checks a hyper2kvm pipeline manifest (JSON or YAML text or bytes) without
   * running it: `valid` and every problem with its path.
   */
  async validateManifest(content: string | Uint8Array, o: ManifestOptions = {}): Promise<ValidateManifestResponse> {
    try {
      return await this.api.validateManifest(
        {
          content: manifestBytes(content),
          format: o.format ?? ManifestFormat.DETECT,
          fileName: o.fileName ?? "",
        },
        this.opts(o),
      );
    } catch (err) {
      throw WorkflowError.from(err);
    }
  }

  /**
   * Runs a manifest: one execution of `vm_pipeline` per VM. A bad manifest
   * rejects with INVALID_ARGUMENT, every problem as a field violation.
   */
  async submitManifest(content: string | Uint8Array, o: SubmitManifestOptions = {}): Promise<SubmitManifestResponse> {
    try {
      return await this.api.submitManifest(
        {
          content: manifestBytes(content),
          format: o.format ?? ManifestFormat.DETECT,
          fileName: o.fileName ?? "",
          requestId: o.requestId ?? "",
          labels: { ...o.labels },
        },
        this.opts(o),
      );
    } catch (err) {
      throw WorkflowError.from(err);
    }
  }

  /** The daemon's version, uptime, worker pool, history counts and drop folders. */
  async status(o?: CallOpts): Promise<GetStatusResponse> {
    try {
      return await this.api.getStatus({}, this.opts(o));
    } catch (err) {
      throw WorkflowError.from(err);
    }
  }
}
