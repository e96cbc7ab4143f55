// Request ids for the calls that start work (Execute, SubmitManifest): one
// per filled-in form, so a double click or a retry after a lost answer gets
// the same execution back instead of starting a second one.

/** A fresh request id (a UUID where the browser has one). */
export function newRequestId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}
