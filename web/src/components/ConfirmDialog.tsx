// A modal confirmation on the native <dialog>: showModal() gives the focus
// trap, inert background and Escape handling; focus returns to the opener.
import { useEffect, useId, useRef, type ReactNode } from "react";

export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  /** Label of the confirming button, e.g. "Force kill". */
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
  children?: ReactNode;
}

export function ConfirmDialog({ open, title, confirmLabel, danger, busy, onConfirm, onClose, children }: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const opener = useRef<Element | null>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) {
      return;
    }
    if (open && !dialog.open) {
      opener.current = document.activeElement;
      // jsdom has no showModal; the attribute keeps tests meaningful there.
      if (typeof dialog.showModal === "function") {
        dialog.showModal();
      } else {
        dialog.setAttribute("open", "");
      }
    } else if (!open && dialog.open) {
      if (typeof dialog.close === "function") {
        dialog.close();
      } else {
        dialog.removeAttribute("open");
      }
      if (opener.current instanceof HTMLElement) {
        opener.current.focus();
      }
    }
  }, [open]);

  return (
    <dialog
      ref={ref}
      className="dialog card"
      aria-labelledby={titleId}
      onCancel={(e) => {
        // Escape: React state owns openness, so close through onClose.
        e.preventDefault();
        onClose();
      }}
    >
      <form
        method="dialog"
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          onConfirm();
        }}
      >
        <h2 id={titleId}>{title}</h2>
        {children}
        <div className="row dialog-actions">
          <button type="button" className="button" onClick={onClose} autoFocus>
            Keep running
          </button>
          <button type="submit" className={danger ? "button danger" : "button primary"} disabled={busy}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
