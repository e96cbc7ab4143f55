// Where the dashboard goes after a manifest was submitted.
import type { SubmitManifestResponse } from "@workflow-manager/workflowd-client";

/** The batch page for a batch, else the single VM's execution page. */
export function submittedPath(resp: Pick<SubmitManifestResponse, "batchId" | "vms">): string {
  if (resp.batchId !== "") return `/batches/${encodeURIComponent(resp.batchId)}`;
  const id = resp.vms[0]?.execution?.id;
  return id ? `/executions/${encodeURIComponent(id)}` : "/history";
}

/** A request id for one submission of one text, so a retried click does not start the VMs twice. */
export function newRequestId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}
