// Cancel (SIGTERM, then SIGKILL after a grace period) and Force kill, each
// confirmed in a modal dialog because neither can be undone.
import type { Execution } from "@workflow-manager/workflowd-client";
import { useId, useLayoutEffect, useRef, useState } from "react";

import { useClient } from "../../components/clientContext";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorBanner } from "../../components/ErrorBanner";

type Pending = "cancel" | "kill" | undefined;

export interface CancelControlsProps {
  execution: Execution;
  onDone: (e: Execution | undefined) => void;
  /**
   * Called as the controls unmount (the run ended), before their elements
   * leave the page, with the element focused then: the page can move focus
   * that would otherwise fall to <body>.
   */
  onRemoved?: (focused: Element | null) => void;
}

export function CancelControls({ execution, onDone, onRemoved }: CancelControlsProps) {
  const client = useClient();
  const graceId = useId();
  const [open, setOpen] = useState<Pending>(undefined);
  // Empty means the daemon's configured default, so it is not overridden.
  const [graceSeconds, setGraceSeconds] = useState("");
  // Text a number field cannot parse reaches React as "", like an empty field.
  const [graceBadInput, setGraceBadInput] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [note, setNote] = useState("");

  const onRemovedRef = useRef(onRemoved);
  useLayoutEffect(() => {
    onRemovedRef.current = onRemoved;
  });
  // A layout cleanup runs before React removes this component's elements.
  useLayoutEffect(() => () => onRemovedRef.current?.(document.activeElement), []);

  const graceEmpty = graceSeconds.trim() === "";
  const grace = Number(graceSeconds);
  const graceValid = !graceBadInput && (graceEmpty || (Number.isFinite(grace) && grace >= 0));

  const send = async (force: boolean) => {
    if (!force && !graceValid) {
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const resp = await client.cancel(
        execution.id,
        force ? { force: true } : graceEmpty ? {} : { gracePeriodMs: Math.round(grace * 1000) },
      );
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
            placeholder="daemon default"
            value={graceSeconds}
            aria-invalid={!graceValid}
            aria-describedby={graceValid ? `${graceId}-hint` : `${graceId}-error`}
            onChange={(e) => {
              setGraceSeconds(e.target.value);
              setGraceBadInput(e.target.validity.badInput);
            }}
            // Letters typed into an empty number field leave its value ""
            // unchanged, so React fires no change: the raw input event tells.
            onInput={(e) => setGraceBadInput(e.currentTarget.validity.badInput)}
          />
          {graceValid ? (
            <span id={`${graceId}-hint`} className="muted">
              Empty: the daemon&apos;s configured default.
            </span>
          ) : (
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
