/**
 * Why a call failed, in words: the daemon's message with its code name.
 * Duck-typed so that a WorkflowError from another copy of the client module
 * (or a test double of the same shape) reads the same.
 */
export function errorText(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const { codeName, rawMessage, message } = err as { codeName?: unknown; rawMessage?: unknown; message?: unknown };
    if (typeof codeName === "string" && typeof rawMessage === "string") return `${codeName}: ${rawMessage}`;
    if (typeof message === "string") return message;
  }
  return String(err);
}

/** Whether a call failed for want of a valid API token (duck-typed too). */
export function isUnauthenticated(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { codeName?: unknown }).codeName === "UNAUTHENTICATED";
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
