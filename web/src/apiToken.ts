// The API token the page sends to a daemon run with `--auth tokens`. Kept in
// sessionStorage: it lasts as long as the tab and no longer (closing the
// tab forgets it; localStorage would keep it for every later visit). The
// page's client asks for it at each call (api.ts), so saving or forgetting
// it takes effect at the next call.
import { useSyncExternalStore } from "react";

const KEY = "workflowd.apiToken";
const listeners = new Set<() => void>();

/** The stored token; undefined when there is none (or no storage at all). */
export function readToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    // Storage refused (a sandboxed frame): the page works without a token.
    return undefined;
  }
}

/** Stores `token` (blanks around it dropped) for this tab. */
export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
  listeners.forEach((notify) => notify());
}

/** Removes the stored token. */
export function forgetToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } finally {
    listeners.forEach((notify) => notify());
  }
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The stored token, re-rendering when it is saved or forgotten. */
export function useStoredToken(): string | undefined {
  return useSyncExternalStore(subscribe, readToken);
}
