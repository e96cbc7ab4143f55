// Asks for an API token when the daemon wants one. A daemon run with
// `--auth tokens` answers UNAUTHENTICATED to a call without a valid token;
// the page learns it from its status poll (every screen's calls would fail
// alike), and until a token is accepted the screens give way to a form. The
// token is kept for the tab (apiToken.ts) and the page's client sends it on
// every call.
import { useState, type FormEvent, type ReactNode } from "react";

import { forgetToken, saveToken, useStoredToken } from "../apiToken";
import { useDaemonStatus } from "../hooks/daemonStatus";
import { errorText, isUnauthenticated } from "./ErrorBanner";

/** The children, or the token form while the daemon refuses the page's calls. */
export function TokenGate({ children }: { children: ReactNode }) {
  const { error, refresh } = useDaemonStatus();
  if (!isUnauthenticated(error)) {
    return children;
  }
  return <TokenForm error={error} onSaved={refresh} />;
}

function TokenForm({ error, onSaved }: { error: unknown; onSaved: () => void }) {
  const stored = useStoredToken();
  const [draft, setDraft] = useState("");
  // The refusal on screen when a token was saved: until an answer replaces
  // it, the new token is being checked, and that refusal is not its own.
  const [savedOver, setSavedOver] = useState<unknown>(undefined);
  const checking = savedOver !== undefined && savedOver === error;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (draft.trim() === "") {
      return;
    }
    saveToken(draft);
    setDraft("");
    setSavedOver(error);
    onSaved();
  };
  return (
    <section className="card stack token-gate" aria-labelledby="token-gate-title">
      <h1 id="token-gate-title">API token needed</h1>
      <p>
        This daemon needs an API token: make one with <code>wfctl token create --role viewer</code> (
        <code>--role operator</code> to run workflows too) and paste it here.
      </p>
      {stored !== undefined && !checking && (
        <div className="error-banner" role="alert">
          The daemon refused the token: {errorText(error)}
        </div>
      )}
      <form className="stack" onSubmit={submit}>
        <div className="field">
          <label htmlFor="api-token">API token</label>
          <input
            id="api-token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder="wft_…"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
        </div>
        <p className="muted">Kept for this tab only (sessionStorage): closing the tab or “Forget token” removes it.</p>
        <div className="row">
          <button type="submit" className="button primary" disabled={draft.trim() === "" || checking}>
            {checking ? "Checking…" : "Use token"}
          </button>
        </div>
      </form>
    </section>
  );
}

/** The header's “Forget token”, while the tab has a token. */
export function ForgetTokenButton() {
  const stored = useStoredToken();
  const { refresh } = useDaemonStatus();
  if (stored === undefined) {
    return null;
  }
  return (
    <button
      type="button"
      className="button"
      onClick={() => {
        forgetToken();
        refresh();
      }}
    >
      Forget token
    </button>
  );
}
