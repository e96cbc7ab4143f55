// The builder's labelled controls: each shows its hint and, below it, the
// validator's problem for the key it writes (`.field-error`, referenced by
// aria-describedby, with aria-invalid on the control).
import type { ReactNode } from "react";

interface Common {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  disabled?: boolean;
}

function ids(id: string, error: string | undefined, hint: ReactNode) {
  const hintId = hint ? `${id}-hint` : null;
  const errorId = error !== undefined ? `${id}-error` : null;
  const describedBy = [errorId, hintId].filter((x) => x !== null).join(" ") || undefined;
  return { hintId, errorId, describedBy };
}

function Below({ hintId, errorId, hint, error }: { hintId: string | null; errorId: string | null; hint: ReactNode; error: string | undefined }) {
  return (
    <>
      {errorId !== null && (
        <p id={errorId} className="field-error">
          {error}
        </p>
      )}
      {hintId !== null && (
        <p id={hintId} className="muted field-hint">
          {hint}
        </p>
      )}
    </>
  );
}

export function TextField({
  id,
  label,
  value,
  onChange,
  error,
  hint,
  disabled,
  inputType = "text",
  min,
  max,
}: Common & { value: string; onChange: (v: string) => void; inputType?: "text" | "number"; min?: number; max?: number }) {
  const { hintId, errorId, describedBy } = ids(id, error, hint);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type={inputType}
        value={value}
        min={min}
        max={max}
        disabled={disabled}
        spellCheck={false}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error !== undefined}
        aria-describedby={describedBy}
      />
      <Below hintId={hintId} errorId={errorId} hint={hint} error={error} />
    </div>
  );
}

export function CheckboxField({
  id,
  label,
  checked,
  onChange,
  error,
  hint,
  disabled,
  children,
}: Common & { checked: boolean; onChange: (v: boolean) => void; children?: ReactNode }) {
  const { hintId, errorId, describedBy } = ids(id, error, hint);
  return (
    <div className="field checkbox-field">
      <div className="checkbox-row">
        <input
          id={id}
          type="checkbox"
          checked={checked}
          disabled={disabled}
          onChange={(e) => onChange(e.target.checked)}
          aria-invalid={error !== undefined}
          aria-describedby={describedBy}
        />
        <label htmlFor={id}>{label}</label>
      </div>
      <Below hintId={hintId} errorId={errorId} hint={hint} error={error} />
      {children !== undefined && <div className="nested-options stack">{children}</div>}
    </div>
  );
}

export interface Choice {
  value: string;
  label: string;
}

export function SelectField({
  id,
  label,
  value,
  choices,
  onChange,
  error,
  hint,
  disabled,
}: Common & { value: string; choices: readonly Choice[]; onChange: (v: string) => void }) {
  const { hintId, errorId, describedBy } = ids(id, error, hint);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value}
        disabled={disabled}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error !== undefined}
        aria-describedby={describedBy}
      >
        {choices.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
      <Below hintId={hintId} errorId={errorId} hint={hint} error={error} />
    </div>
  );
}

/** A radio group; `id` is the fieldset's, the radios are `${id}-${value}`. */
export function RadioGroup({
  id,
  label,
  value,
  choices,
  onChange,
  error,
  hint,
}: Common & { value: string; choices: readonly Choice[]; onChange: (v: string) => void }) {
  const { hintId, errorId, describedBy } = ids(id, error, hint);
  return (
    <fieldset id={id} className="field radio-group" aria-describedby={describedBy}>
      <legend>{label}</legend>
      <div className="radio-options">
        {choices.map((c) => (
          <label key={c.value} className="radio-option" htmlFor={`${id}-${c.value}`}>
            <input
              id={`${id}-${c.value}`}
              type="radio"
              name={id}
              value={c.value}
              checked={value === c.value}
              onChange={() => onChange(c.value)}
              aria-invalid={error !== undefined}
            />{" "}
            {c.label}
          </label>
        ))}
      </div>
      <Below hintId={hintId} errorId={errorId} hint={hint} error={error} />
    </fieldset>
  );
}

/** Moves focus to a control by id; a radio group's fieldset hands it to its checked (or first) radio. */
export function focusControl(id: string): void {
  const el = document.getElementById(id);
  if (el === null) return;
  if (el instanceof HTMLFieldSetElement) {
    (el.querySelector<HTMLInputElement>("input:checked") ?? el.querySelector<HTMLInputElement>("input"))?.focus();
    return;
  }
  el.focus();
}
