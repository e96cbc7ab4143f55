import { WorkflowError } from "@workflow-manager/workflowd-client";

/** Why a call failed, in words: the daemon's message with its code name. */
export function errorText(err: unknown): string {
  if (err instanceof WorkflowError) {
    return `${err.codeName}: ${err.rawMessage}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A failed call, announced to screen readers. */
export function ErrorBanner({ error, title }: { error: unknown; title?: string }) {
  return (
    <div className="error-banner" role="alert">
      {title !== undefined && <strong>{title}: </strong>}
      {errorText(error)}
    </div>
  );
}
