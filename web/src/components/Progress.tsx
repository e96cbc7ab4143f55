import { percentText } from "../format";

/**
 * A native progress bar with its percentage as text beside it; an
 * indeterminate bar would suggest activity we do not know about, so an
 * unknown fraction shows "—" only.
 */
export function Progress({ fraction, label }: { fraction: number | undefined; label: string }) {
  return (
    <span className="progress-cell">
      {fraction !== undefined && <progress max={1} value={fraction} aria-label={label} />}
      <span className="muted">{percentText(fraction)}</span>
    </span>
  );
}
