import { Code, ConnectError } from "@connectrpc/connect";

import { BadRequestSchema } from "./gen/google/rpc/error_details_pb.js";

/** The canonical gRPC status code names, as the daemon's docs spell them. */
export type GrpcCodeName =
  | "OK"
  | "CANCELLED"
  | "UNKNOWN"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "OUT_OF_RANGE"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DATA_LOSS"
  | "UNAUTHENTICATED";

// Indexed by the numeric gRPC code (Connect's Code enum uses the same numbers).
const CODE_NAMES: readonly GrpcCodeName[] = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

/** The gRPC name of a numeric status code ("UNKNOWN" when out of range). */
export function codeName(code: number): GrpcCodeName {
  return CODE_NAMES[code] ?? "UNKNOWN";
}

// The messages of the TypeError fetch rejects with when the request got no
// response (or its body was cut off): Node's fetch (undici) says "fetch
// failed", with the reason (ECONNREFUSED, ENOTFOUND, ...) as its cause, and
// "terminated" for a connection lost while reading the body; Chromium
// "Failed to fetch", Firefox "NetworkError when attempting to fetch
// resource.", Safari "Load failed". fetch rejects with the same TypeError
// class for nothing else it could meet here, but code has TypeErrors of its
// own ("x is not a function"): only these messages mean the network.
const FETCH_NETWORK_MESSAGES: ReadonlySet<string> = new Set([
  "fetch failed",
  "terminated",
  "Failed to fetch",
  "NetworkError when attempting to fetch resource.",
  "Load failed",
]);

/**
 * Whether err is what fetch rejects with on a network failure (connection
 * refused, DNS, TLS, CORS, a connection cut mid-stream), as opposed to a
 * TypeError from a bug.
 */
export function isFetchNetworkError(err: unknown): boolean {
  return err instanceof TypeError && FETCH_NETWORK_MESSAGES.has(err.message);
}

/** One invalid value reported by the daemon (google.rpc.BadRequest). */
export interface FieldViolation {
  /**
   * Path of the invalid value: `inputs.<name>` for workflow inputs, the
   * problem's path in the document (e.g. `vms[1].pipeline.load.source_type`)
   * or `content` for manifests.
   */
  readonly field: string;
  /** What is wrong with it. */
  readonly description: string;
}

/**
 * A call to workflowd failed. Every method of WorkflowClient rejects with
 * this type (network failures and aborts included, as UNAVAILABLE /
 * CANCELLED / DEADLINE_EXCEEDED...).
 */
export class WorkflowError extends Error {
  override readonly name = "WorkflowError";
  /** The numeric gRPC status code (same numbers as Connect's `Code`). */
  readonly code: Code;
  /** The gRPC name of the code, e.g. "NOT_FOUND", "INVALID_ARGUMENT". */
  readonly codeName: GrpcCodeName;
  /** The daemon's error message, without the code prefix. */
  readonly rawMessage: string;
  /**
   * Every BadRequest field violation of the status details, in the daemon's
   * order (INVALID_ARGUMENT of validateInputs, execute, submitManifest).
   */
  readonly fieldViolations: readonly FieldViolation[];
  /**
   * The violations by field, for showing them next to form fields; several
   * descriptions of one field are joined with "; ".
   */
  readonly violations: Readonly<Record<string, string>>;

  constructor(
    code: Code,
    message: string,
    fieldViolations: readonly FieldViolation[] = [],
    options?: { cause?: unknown },
  ) {
    const name = codeName(code);
    super(
      [`${name}: ${message}`, ...fieldViolations.map((v) => `  ${v.field}: ${v.description}`)].join(
        "\n",
      ),
      options,
    );
    this.code = code;
    this.codeName = name;
    this.rawMessage = message;
    this.fieldViolations = Object.freeze([...fieldViolations]);
    const byField: Record<string, string> = {};
    for (const v of fieldViolations) {
      const seen = byField[v.field];
      byField[v.field] = seen === undefined ? v.description : `${seen}; ${v.description}`;
    }
    this.violations = Object.freeze(byField);
  }

  /**
   * Converts anything a call threw into a WorkflowError: a ConnectError keeps
   * its code and message and has its google.rpc.BadRequest details decoded;
   * an abort becomes CANCELLED; a fetch that failed at the network level
   * (see isFetchNetworkError: connection refused, DNS, CORS, a connection
   * cut mid-stream) becomes UNAVAILABLE, as gRPC reports an unreachable
   * server; anything else, other TypeErrors (bugs) included, UNKNOWN.
   */
  static from(err: unknown): WorkflowError {
    if (err instanceof WorkflowError) {
      return err;
    }
    const connectErr = ConnectError.from(err);
    const violations: FieldViolation[] = [];
    for (const badRequest of connectErr.findDetails(BadRequestSchema)) {
      for (const v of badRequest.fieldViolations) {
        violations.push({ field: v.field, description: v.description });
      }
    }
    let code = connectErr.code;
    if (code === Code.Unknown && isFetchNetworkError(connectErr.cause)) {
      code = Code.Unavailable;
    }
    return new WorkflowError(code, connectErr.rawMessage, violations, { cause: err });
  }
}

export { Code };
