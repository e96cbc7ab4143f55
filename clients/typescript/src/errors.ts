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
   * (fetch rejects with a TypeError: connection refused, DNS, CORS) becomes
   * UNAVAILABLE, as gRPC reports an unreachable server; anything else UNKNOWN.
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
    if (code === Code.Unknown && connectErr.cause instanceof TypeError) {
      code = Code.Unavailable;
    }
    return new WorkflowError(code, connectErr.rawMessage, violations, { cause: err });
  }
}

export { Code };
