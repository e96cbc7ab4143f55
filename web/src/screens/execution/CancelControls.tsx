// Cancel (SIGTERM, then SIGKILL after a grace period) and Force kill, each
// confirmed in a modal dialog because neither can be undone.
import type { Execution } from "@workflow-manager/workflowd-client";
import { useId, useState } from "react";

import { useClient } from "../../components/clientContext";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorBanner } from "../../components/ErrorBanner";

type Pending = "cancel" | "kill" | undefined;

export function CancelControls({ execution, onDone }: { execution: Execution; onDone: (e: Execution | undefined) => void }) {
  const client = useClient();
  const graceId = useId();
  const [open, setOpen] = useState<Pending>(undefined);
  const [graceSeconds, setGraceSeconds] = useState("10");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [note, setNote] = useState("");

  const grace = Number(graceSeconds);
  const graceValid = graceSeconds.trim() !== "" && Number.isFinite(grace) && grace >= 0;

  const send = async (force: boolean) => {
    if (!force && !graceValid) {
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const resp = await client.cancel(execution.id, force ? { force: true } : { gracePeriodMs: Math.round(grace * 1000) });
      setNote(
        resp.alreadyRequested
          ? "A cancel was already in progress."
          : force
            ? "Kill requested."
            : "Cancel requested: the program got SIGTERM.",
      );
      setOpen(undefined);
      onDone(resp.execution);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button type="button" className="button" onClick={() => setOpen("cancel")}>
        Cancel
      </button>
      <button type="button" className="button danger" onClick={() => setOpen("kill")}>
        Force kill
      </button>
      {note !== "" && (
        <span role="status" className="muted">
          {note}
        </span>
      )}
      {error !== undefined && open === undefined && <ErrorBanner error={error} title="Cancel failed" />}
      <ConfirmDialog
        open={open === "cancel"}
        title="Cancel this execution?"
        confirmLabel="Confirm cancel"
        busy={busy || !graceValid}
        onConfirm={() => void send(false)}
        onClose={() => setOpen(undefined)}
      >
        <p>The program gets SIGTERM, then SIGKILL if it has not exited after the grace period.</p>
        <div className="field">
          <label htmlFor={graceId}>Grace period (seconds)</label>
          <input
            id={graceId}
            type="number"
            min={0}
            step={1}
            value={graceSeconds}
            aria-invalid={!graceValid}
            aria-describedby={graceValid ? undefined : `${graceId}-error`}
            onChange={(e) => setGraceSeconds(e.target.value)}
          />
          {!graceValid && (
            <span id={`${graceId}-error`} className="field-error">
              A number of seconds, 0 or more.
            </span>
          )}
        </div>
        {error !== undefined && <ErrorBanner error={error} title="Cancel failed" />}
      </ConfirmDialog>
      <ConfirmDialog
        open={open === "kill"}
        title="Force kill this execution?"
        confirmLabel="Confirm force kill"
        danger
        busy={busy}
        onConfirm={() => void send(true)}
        onClose={() => setOpen(undefined)}
      >
        <p>The whole process group gets SIGKILL at once: the program cannot clean up.</p>
        {error !== undefined && <ErrorBanner error={error} title="Kill failed" />}
      </ConfirmDialog>
    </>
  );
}
