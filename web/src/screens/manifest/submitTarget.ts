// Where the dashboard goes after a manifest was submitted.
import type { SubmitManifestResponse } from "@workflow-manager/workflowd-client";

/** The batch page for a batch, else the single VM's execution page. */
export function submittedPath(resp: Pick<SubmitManifestResponse, "batchId" | "vms">): string {
  if (resp.batchId !== "") return `/batches/${encodeURIComponent(resp.batchId)}`;
  const id = resp.vms[0]?.execution?.id;
  return id ? `/executions/${encodeURIComponent(id)}` : "/history";
}
