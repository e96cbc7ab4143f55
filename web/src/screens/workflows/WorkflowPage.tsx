// /workflows/:workflowId — a workflow's description and its Run form
// (?rerun=<executionId> starts from that execution's inputs). Inputs are
// checked by the daemon (ValidateInputs) before anything runs, and every
// violation is shown at its field.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import type { Execution, Field, Workflow } from "@workflow-manager/workflowd-client";

import { useClient, type DashboardClient } from "../../components/clientContext";
import { errorText } from "../../components/ErrorBanner";
import { phaseNumber } from "../../format";
import { newRequestId } from "../../requestId";
import { controlId, descriptionId, errorId, fieldControl, phaseNamesOf, type FieldControl } from "./fieldControl";
import {
  encodeInputs,
  formatLabels,
  initialValues,
  parseLabels,
  parseTimeoutSeconds,
  type FormValue,
} from "./inputEncoding";
import { placeViolations, violationsOf, type InputProblem } from "./violations";
import "./workflows.css";

export type WorkflowPageClient = Pick<DashboardClient, "getWorkflow" | "getExecution" | "validateInputs" | "execute" | "listExecutions">;

// Tagged with what was asked for, so an answer for another URL reads as
// "still loading" without resetting state in the effect.
type Loaded = { request: string } & (
  | { status: "loading" }
  | { status: "error"; message: string }
  | { status: "ready"; workflow: Workflow; rerun: Execution | null }
);

export function WorkflowPage() {
  const client: WorkflowPageClient = useClient();
  const { workflowId = "" } = useParams();
  const [searchParams] = useSearchParams();
  const rerunId = searchParams.get("rerun");
  const request = `${workflowId}?rerun=${rerunId ?? ""}`;
  const [answer, setLoaded] = useState<Loaded>({ request: "", status: "loading" });
  const loaded: Loaded = answer.request === request ? answer : { request, status: "loading" };

  useEffect(() => {
    const abort = new AbortController();
    const signal = abort.signal;
    Promise.all([
      client.getWorkflow(workflowId, { signal }),
      rerunId ? client.getExecution(rerunId, { signal }) : Promise.resolve(null),
    ]).then(
      ([workflow, rerun]) => {
        if (!signal.aborted) setLoaded({ request, status: "ready", workflow, rerun });
      },
      (err: unknown) => {
        if (!signal.aborted) setLoaded({ request, status: "error", message: errorText(err) });
      },
    );
    return () => abort.abort();
  }, [client, workflowId, rerunId, request]);

  // The workflow's metadata has no phase names; the latest run's tree does.
  // Best effort, after the form is up: without it the boxes say "Phase N".
  const [latestNames, setLatestNames] = useState<{ workflowId: string; names: ReadonlyMap<number, string> }>({
    workflowId: "",
    names: NO_NAMES,
  });
  const wantsNames = loaded.status === "ready" && loaded.rerun === null && usesPhases(loaded.workflow);
  useEffect(() => {
    if (!wantsNames) return;
    const abort = new AbortController();
    const signal = abort.signal;
    client
      .listExecutions({ workflowId, pageSize: 1 }, { signal })
      .then((page) => {
        const latest = page.executions[0];
        return latest ? client.getExecution(latest.id, { signal }) : null;
      })
      .then(
        (latest) => {
          if (latest && !signal.aborted) setLatestNames({ workflowId, names: phaseNamesOf(latest.phases) });
        },
        () => undefined,
      );
    return () => abort.abort();
  }, [client, workflowId, wantsNames]);

  if (loaded.status === "loading") {
    return (
      <div className="stack workflow-page">
        <h1>Workflow {workflowId}</h1>
        <p className="muted" role="status">
          Loading…
        </p>
      </div>
    );
  }
  if (loaded.status === "error") {
    return (
      <div className="stack workflow-page">
        <h1>Workflow {workflowId}</h1>
        <div className="error-banner" role="alert">
          {loaded.message}
        </div>
        <p>
          <Link to="/workflows">All workflows</Link>
        </p>
      </div>
    );
  }
  const { workflow, rerun } = loaded;
  const names = rerun !== null ? phaseNamesOf(rerun.phases) : (latestNames.workflowId === workflow.id ? latestNames.names : NO_NAMES);
  return (
    <div className="stack workflow-page">
      <h1>{workflow.name || workflow.id}</h1>
      <p className="muted">
        <code>{workflow.id}</code> · <Link to="/workflows">All workflows</Link>
      </p>
      {workflow.description && <p className="workflow-description">{workflow.description}</p>}
      {rerun && (
        <p className="muted">
          Prefilled from execution <Link to={`/executions/${rerun.id}`}>{rerun.id}</Link>.
        </p>
      )}
      <RunForm key={`${workflow.id}/${rerun?.id ?? ""}`} client={client} workflow={workflow} rerun={rerun} phaseNames={names} />
    </div>
  );
}

const LABELS_ID = "run-labels";
const TIMEOUT_ID = "run-timeout";

interface RunFormProps {
  client: WorkflowPageClient;
  workflow: Workflow;
  rerun: Execution | null;
  phaseNames: ReadonlyMap<number, string>;
}

const NO_NAMES: ReadonlyMap<number, string> = new Map();

function usesPhases(workflow: Workflow): boolean {
  return workflow.fields.some((f) => f.type?.kind.case === "phaseSelector" || f.type?.kind.case === "stateFile" || f.requiredForPhases.length > 0);
}

interface Problems {
  byField: Record<string, string>;
  summary: { targetId: string | null; text: string }[];
}

const NO_PROBLEMS: Problems = { byField: {}, summary: [] };

function RunForm({ client, workflow, rerun, phaseNames }: RunFormProps) {
  const navigate = useNavigate();
  const fields = workflow.fields;
  const [values, setValues] = useState<Record<string, FormValue>>(() => initialValues(fields, rerun?.inputs));
  const [labelsText, setLabelsText] = useState(() => formatLabels(rerun?.labels ?? {}));
  const [timeoutText, setTimeoutText] = useState(() => {
    const t = rerun?.timeout;
    return t ? String(Number(t.seconds) + t.nanos / 1e9) : "";
  });
  const [problems, setProblems] = useState<Problems>(NO_PROBLEMS);
  const [banner, setBanner] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  // Set when new problems are shown; the effect below moves focus to the
  // first invalid control once it is rendered with its error.
  const focusTarget = useRef<string | null>(null);
  // One request id per filled-in form: a double submit or a retry after a
  // lost answer returns the same execution instead of starting two.
  const requestId = useRef<string>(newRequestId());

  useEffect(() => {
    if (focusTarget.current !== null) {
      document.getElementById(focusTarget.current)?.focus();
      focusTarget.current = null;
    }
  }, [problems]);

  // Text a number field cannot parse reaches React as "", like an empty
  // field: which fields hold such text, to report instead of dropping it.
  const [badInputs, setBadInputs] = useState<ReadonlySet<string>>(() => new Set());
  const setBadInput = (id: string, bad: boolean) => {
    setBadInputs((s) => {
      if (s.has(id) === bad) return s;
      const next = new Set(s);
      if (bad) next.add(id);
      else next.delete(id);
      return next;
    });
  };

  // Any change makes another request: labels and the timeout are part of it.
  const setValue = (name: string, value: FormValue) => {
    setValues((v) => ({ ...v, [name]: value }));
    requestId.current = newRequestId();
  };
  const changeLabels = (text: string) => {
    setLabelsText(text);
    requestId.current = newRequestId();
  };
  const changeTimeout = (text: string) => {
    setTimeoutText(text);
    requestId.current = newRequestId();
  };

  const showProblems = (inputProblems: InputProblem[], local: Record<string, string>) => {
    const byField: Record<string, string> = {};
    const summary: Problems["summary"] = [];
    const labelOf = new Map(fields.map((f) => [f.name, f.label || f.name]));
    for (const p of inputProblems) {
      if (p.fieldName === null) {
        summary.push({ targetId: null, text: p.message });
        continue;
      }
      const seen = byField[p.fieldName];
      byField[p.fieldName] = seen === undefined ? p.message : `${seen}; ${p.message}`;
    }
    // Summary entries in form order, so "first invalid field" is the one
    // highest on the page.
    const ordered: Problems["summary"] = [];
    for (const f of fields) {
      const msg = byField[f.name];
      if (msg !== undefined) ordered.push({ targetId: controlId(f.name), text: `${labelOf.get(f.name)}: ${msg}` });
    }
    if (local[LABELS_ID] !== undefined) ordered.push({ targetId: LABELS_ID, text: `Labels: ${local[LABELS_ID]}` });
    if (local[TIMEOUT_ID] !== undefined) ordered.push({ targetId: TIMEOUT_ID, text: `Timeout (s): ${local[TIMEOUT_ID]}` });
    const all = [...ordered, ...summary];
    const firstTarget = all.find((p) => p.targetId !== null)?.targetId ?? null;
    if (firstTarget === LABELS_ID || firstTarget === TIMEOUT_ID) {
      // The Advanced section must be open for its control to take focus.
      const details = document.getElementById(firstTarget)?.closest("details");
      if (details) details.open = true;
    }
    focusTarget.current = firstTarget ?? SUMMARY_ID;
    setProblems({ byField: { ...byField, ...local }, summary: all });
  };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (submitting) return;
    setSubmitting(true);
    setBanner(null);
    const inputs = encodeInputs(fields, values);
    const labels = parseLabels(labelsText);
    const timeout = parseTimeoutSeconds(timeoutText);
    const local: Record<string, string> = {};
    if (labels.error) local[LABELS_ID] = labels.error;
    if (timeout.error) local[TIMEOUT_ID] = timeout.error;
    if (badInputs.has(TIMEOUT_ID)) local[TIMEOUT_ID] = NOT_A_NUMBER;
    const unreadable: InputProblem[] = fields
      .filter((f) => badInputs.has(controlId(f.name)))
      .map((f) => ({ fieldName: f.name, message: NOT_A_NUMBER }));
    try {
      let serverProblems: InputProblem[] = [];
      try {
        await client.validateInputs(workflow.id, inputs);
      } catch (err) {
        const violations = violationsOf(err);
        if (violations === null) throw err;
        serverProblems = placeViolations(fields, violations);
      }
      // The daemon saw an empty value where the reader typed something: say
      // what is wrong with what they typed instead.
      serverProblems = [...unreadable, ...serverProblems.filter((p) => !unreadable.some((u) => u.fieldName === p.fieldName))];
      if (serverProblems.length > 0 || Object.keys(local).length > 0) {
        showProblems(serverProblems, local);
        return;
      }
      setProblems(NO_PROBLEMS);
      const execution = await client.execute(workflow.id, inputs, {
        requestId: requestId.current,
        labels: labels.labels,
        ...(timeout.ms !== undefined ? { executionTimeoutMs: timeout.ms } : {}),
      });
      void navigate(`/executions/${execution.id}`);
    } catch (err) {
      // Execute re-checks the inputs; a change on the daemon since
      // ValidateInputs (a file removed) comes back as violations too.
      const violations = violationsOf(err);
      if (violations !== null) {
        showProblems(placeViolations(fields, violations), local);
      } else {
        setBanner(errorText(err));
      }
    } finally {
      setSubmitting(false);
    }
  };

  const count = problems.summary.length;
  return (
    <form className="stack card run-form" noValidate aria-labelledby="run-form-heading" onSubmit={(e) => void onSubmit(e)}>
      <h2 id="run-form-heading">Inputs</h2>
      {banner !== null && (
        <div className="error-banner" role="alert">
          {banner}
        </div>
      )}
      {count > 0 && (
        <div className="error-summary" role="alert" id={SUMMARY_ID} tabIndex={-1} aria-labelledby="error-summary-heading">
          <h3 id="error-summary-heading">
            {count === 1 ? "1 problem with the inputs" : `${count} problems with the inputs`}
          </h3>
          <ul>
            {problems.summary.map((p, i) => (
              <li key={i}>
                {p.targetId === null ? (
                  p.text
                ) : (
                  <a
                    href={`#${p.targetId}`}
                    onClick={(e) => {
                      e.preventDefault();
                      document.getElementById(p.targetId ?? "")?.focus();
                    }}
                  >
                    {p.text}
                  </a>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
      {fields.length === 0 && <p className="muted">This workflow takes no inputs.</p>}
      {fields.map((field) => (
        <FieldInput
          key={field.name}
          field={field}
          control={fieldControl(field, phaseNames)}
          phaseNames={phaseNames}
          value={values[field.name] ?? ""}
          error={problems.byField[field.name]}
          onChange={(v) => setValue(field.name, v)}
          onBadInput={(bad) => setBadInput(controlId(field.name), bad)}
        />
      ))}
      <details className="run-advanced">
        <summary>Advanced</summary>
        <div className="stack">
          <div className="field">
            <label htmlFor={LABELS_ID}>Labels</label>
            <textarea
              id={LABELS_ID}
              rows={3}
              value={labelsText}
              onChange={(e) => changeLabels(e.target.value)}
              aria-invalid={problems.byField[LABELS_ID] !== undefined}
              aria-describedby={describedBy(`${LABELS_ID}-description`, problems.byField[LABELS_ID] ? `${LABELS_ID}-error` : null)}
            />
            {problems.byField[LABELS_ID] && (
              <p id={`${LABELS_ID}-error`} className="field-error">
                {problems.byField[LABELS_ID]}
              </p>
            )}
            <p id={`${LABELS_ID}-description`} className="muted field-hint">
              One key=value per line, to find the execution by in the history.
            </p>
          </div>
          <div className="field">
            <label htmlFor={TIMEOUT_ID}>Timeout (s)</label>
            <input
              id={TIMEOUT_ID}
              type="number"
              min={1}
              step="any"
              inputMode="decimal"
              value={timeoutText}
              onChange={(e) => {
                changeTimeout(e.target.value);
                setBadInput(TIMEOUT_ID, e.target.validity.badInput);
              }}
              // Letters typed into an empty number field leave its value ""
              // unchanged, so React fires no change: the raw input event tells.
              onInput={(e) => setBadInput(TIMEOUT_ID, e.currentTarget.validity.badInput)}
              aria-invalid={problems.byField[TIMEOUT_ID] !== undefined}
              aria-describedby={describedBy(`${TIMEOUT_ID}-description`, problems.byField[TIMEOUT_ID] ? `${TIMEOUT_ID}-error` : null)}
            />
            {problems.byField[TIMEOUT_ID] && (
              <p id={`${TIMEOUT_ID}-error`} className="field-error">
                {problems.byField[TIMEOUT_ID]}
              </p>
            )}
            <p id={`${TIMEOUT_ID}-description`} className="muted field-hint">
              Wall-clock limit; the run is cancelled and ends timed out when it is reached. Empty for no limit.
            </p>
          </div>
        </div>
      </details>
      <div className="row">
        <button type="submit" className="button primary" disabled={submitting} aria-busy={submitting}>
          Run
        </button>
        {submitting && (
          <span className="muted" role="status">
            Checking the inputs…
          </span>
        )}
      </div>
    </form>
  );
}

const SUMMARY_ID = "run-error-summary";
const NOT_A_NUMBER = "must be a number";

/** Programs write descriptions with or without a final full stop; the hint joins several. */
function asSentence(text: string): string {
  const t = text.trim();
  return /[.!?:]$/.test(t) ? t : `${t}.`;
}

function describedBy(...ids: (string | null)[]): string | undefined {
  const present = ids.filter((id): id is string => id !== null);
  return present.length > 0 ? present.join(" ") : undefined;
}

interface FieldInputProps {
  field: Field;
  control: FieldControl;
  phaseNames: ReadonlyMap<number, string>;
  value: FormValue;
  error: string | undefined;
  onChange: (value: FormValue) => void;
  /** Whether a number field holds text the browser cannot read as a number. */
  onBadInput: (bad: boolean) => void;
}

function FieldInput({ field, control, phaseNames, value, error, onChange, onBadInput }: FieldInputProps) {
  const id = controlId(field.name);
  const label = field.label || field.name;
  const text = typeof value === "string" ? value : "";
  const notes: string[] = [];
  if (field.description) notes.push(field.description);
  if (control.kind === "text" || control.kind === "number") {
    if (control.hint) notes.push(control.hint);
  }
  if (field.requiredForPhases.length > 0) {
    const phases = field.requiredForPhases.map((p) => (phaseNames.has(p) ? `${phaseNumber(p)} (${phaseNames.get(p)})` : String(phaseNumber(p))));
    notes.push(`Required when phase ${phases.join(" or ")} is selected.`);
  }
  if (field.defaultValue !== undefined) notes.push(`Default: ${field.defaultValue === "" ? "(empty)" : field.defaultValue}.`);
  const descId = notes.length > 0 ? descriptionId(field.name) : null;
  const errId = error !== undefined ? errorId(field.name) : null;
  const common = {
    "aria-invalid": error !== undefined,
    "aria-describedby": describedBy(errId, descId),
    "aria-required": field.required,
  };
  const requiredMark = field.required ? (
    <span className="required-mark" aria-hidden="true">
      {" "}
      *
    </span>
  ) : null;
  const below = (
    <>
      {errId !== null && (
        <p id={errId} className="field-error">
          {error}
        </p>
      )}
      {descId !== null && (
        <p id={descId} className="muted field-hint">
          {notes.map(asSentence).join(" ")}
        </p>
      )}
    </>
  );

  if (control.kind === "phases") {
    const checked = typeof value === "string" ? [] : value;
    const toggle = (index: number, on: boolean) => {
      const next = on ? [...checked, index] : checked.filter((p) => p !== index);
      onChange([...new Set(next)].sort((a, b) => a - b));
    };
    return (
      <fieldset className="field phase-field" aria-describedby={describedBy(errId, descId)}>
        <legend>
          {label}
          {requiredMark}
        </legend>
        <div className="phase-options">
          {control.phases.map((phase) => {
            const boxId = phase.index === 0 ? id : `${id}-${phase.index}`;
            return (
              <label key={phase.index} htmlFor={boxId} className="phase-option">
                <input
                  id={boxId}
                  type="checkbox"
                  checked={checked.includes(phase.index)}
                  onChange={(e) => toggle(phase.index, e.target.checked)}
                  aria-invalid={error !== undefined}
                  aria-describedby={errId ?? undefined}
                />{" "}
                {phase.label}
              </label>
            );
          })}
        </div>
        {below}
      </fieldset>
    );
  }

  return (
    <div className="field">
      <label htmlFor={id}>
        {label}
        {requiredMark}
      </label>
      {control.kind === "select" ? (
        <select id={id} value={text} onChange={(e) => onChange(e.target.value)} {...common}>
          {control.emptyOption !== null && <option value="">{control.emptyOption}</option>}
          {control.options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      ) : control.kind === "number" ? (
        <input
          id={id}
          type="number"
          inputMode="decimal"
          step="any"
          min={control.min ?? undefined}
          max={control.max ?? undefined}
          value={text}
          onChange={(e) => {
            onChange(e.target.value);
            onBadInput(e.target.validity.badInput);
          }}
          onInput={(e) => onBadInput(e.currentTarget.validity.badInput)}
          {...common}
        />
      ) : (
        <input id={id} type="text" value={text} onChange={(e) => onChange(e.target.value)} spellCheck={false} {...common} />
      )}
      {below}
    </div>
  );
}
