// /manifests/new?step=source|pipeline|output|review — HyperSDK's four-step
// Manifest Builder. The draft lives in sessionStorage and the step in the
// URL, so a reload keeps both. Every change is validated by the daemon
// (debounced) and each problem shown at the control that writes its key.
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import YAML from "yaml";
import { ManifestFormat, type ValidateManifestResponse } from "@workflow-manager/workflowd-client";

import { useClient, type DashboardClient } from "../../components/clientContext";
import { errorText } from "../../components/ErrorBanner";
import { newRequestId } from "../../requestId";
import { violationsOf } from "../workflows/violations";
import { focusControl } from "./controls";
import { draftToManifest, manifestFileName, vmDisplayName, type ManifestDraft } from "./draft";
import { clearDraft, loadDraft, saveDraft } from "./draftStorage";
import { OutputStep } from "./OutputStep";
import { PipelineStep } from "./PipelineStep";
import { placeProblems, type ControlRef } from "./problemPaths";
import { ReviewStep } from "./ReviewStep";
import { SourceStep } from "./SourceStep";
import { nextStep, parseStep, previousStep, STEP_TITLES, STEPS, type Step } from "./steps";
import { submittedPath } from "./submitTarget";
import { UploadManifest } from "./UploadManifest";
import "./manifest.css";

export type ManifestClient = Pick<DashboardClient, "validateManifest" | "submitManifest">;

export const VALIDATE_DEBOUNCE_MS = 300;

type Validation =
  | { json: string; result: Pick<ValidateManifestResponse, "valid" | "problems" | "vms"> }
  | { json: string; error: string };

interface Props {
  debounceMs?: number;
}

export function ManifestBuilderPage({ debounceMs = VALIDATE_DEBOUNCE_MS }: Props) {
  const client: ManifestClient = useClient();
  const [searchParams, setSearchParams] = useSearchParams();
  const step = parseStep(searchParams.get("step"));
  const navigate = useNavigate();
  const [draft, setDraft] = useState<ManifestDraft>(() => loadDraft());
  const [validation, setValidation] = useState<Validation | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [banner, setBanner] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  // After a step change: "heading" (the new step's heading) or a control's id.
  const focusAfterStep = useRef<string | null>(null);

  useEffect(() => saveDraft(draft), [draft]);

  const manifest = useMemo(() => draftToManifest(draft), [draft]);
  const json = useMemo(() => JSON.stringify(manifest, null, 2), [manifest]);
  const yamlText = useMemo(() => YAML.stringify(manifest), [manifest]);
  const requestId = useMemo(() => (json === "" ? "" : newRequestId()), [json]);
  const validationFileName = manifestFileName(draft, null);

  useEffect(() => {
    const abort = new AbortController();
    const timer = setTimeout(() => {
      client
        .validateManifest(json, { fileName: validationFileName, format: ManifestFormat.JSON, signal: abort.signal })
        .then(
          (result) => {
            if (!abort.signal.aborted) setValidation({ json, result });
          },
          (err: unknown) => {
            if (!abort.signal.aborted) setValidation({ json, error: errorText(err) });
          },
        );
    }, debounceMs);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [client, json, validationFileName, debounceMs]);

  // The latest answer is shown even while a newer one is awaited (no
  // flicker); only Submit insists on an answer for exactly this text.
  const result = validation !== null && "result" in validation ? validation.result : null;
  const current = validation !== null && validation.json === json;
  const canSubmit = current && result !== null && result.valid && !submitting;
  const placed = useMemo(
    () => placeProblems(result?.problems ?? [], draft.batch, draft.vms.map((vm) => vmDisplayName(vm))),
    [result, draft.batch, draft.vms],
  );

  useEffect(() => {
    const target = focusAfterStep.current;
    focusAfterStep.current = null;
    if (target === "heading") headingRef.current?.focus();
    else if (target !== null) focusControl(target);
  }, [step]);

  const goTo = (to: Step, focus = "heading") => {
    focusAfterStep.current = focus;
    setSearchParams({ step: to });
    if (to === step) {
      // No step change follows, so the effect below will not run.
      focusAfterStep.current = null;
      if (focus === "heading") headingRef.current?.focus();
      else focusControl(focus);
    }
  };

  const update = (change: (d: ManifestDraft) => ManifestDraft) => setDraft((d) => change(d));

  const submit = async () => {
    if (!canSubmit) return;
    setSubmitting(true);
    setBanner(null);
    try {
      const resp = await client.submitManifest(json, {
        fileName: manifestFileName(draft, new Date()),
        format: ManifestFormat.JSON,
        requestId,
      });
      clearDraft();
      void navigate(submittedPath(resp));
    } catch (err) {
      const violations = violationsOf(err);
      if (violations !== null) {
        // The daemon's own check at submit time (its policy may have changed
        // since the last validation): shown like the live problems.
        setValidation({
          json,
          result: {
            valid: false,
            vms: [],
            problems: violations.map((v) => ({
              $typeName: "workflow.v1.ManifestProblem",
              path: v.field === "content" ? "" : v.field,
              message: v.description,
            })),
          },
        });
      } else {
        setBanner(errorText(err));
      }
    } finally {
      setSubmitting(false);
    }
  };

  const problemCount = result?.problems.length ?? 0;
  let statusText: string;
  if (validation === null) statusText = "Checking the manifest…";
  else if ("error" in validation) statusText = `Could not check the manifest: ${validation.error}`;
  else if (result?.valid) statusText = current ? "The manifest is valid." : "Checking the manifest…";
  else statusText = problemCount === 1 ? "1 problem in the manifest." : `${problemCount} problems in the manifest.`;

  const back = previousStep(step);
  const next = nextStep(step);
  const props = { draft, update, errors: placed.byControl };

  return (
    <div className="stack manifest-builder">
      <h1>Manifest builder</h1>
      <nav aria-label="Manifest builder steps">
        <ol className="steps">
          {STEPS.map((s, i) => {
            const count = placed.byStep[s];
            return (
              <li key={s}>
                <Link
                  to={{ search: `?step=${s}` }}
                  aria-current={s === step ? "step" : undefined}
                  aria-describedby={count > 0 ? `step-${s}-problems` : undefined}
                  onClick={() => {
                    focusAfterStep.current = s === step ? null : "heading";
                  }}
                >
                  <span className="step-number" aria-hidden="true">
                    {i + 1}
                  </span>
                  {STEP_TITLES[s]}
                </Link>
                {count > 0 && (
                  <span id={`step-${s}-problems`} className="badge state-failed">
                    {count === 1 ? "1 problem" : `${count} problems`}
                  </span>
                )}
              </li>
            );
          })}
        </ol>
      </nav>

      {banner !== null && (
        <div className="error-banner" role="alert">
          {banner}
        </div>
      )}

      <section className="card stack builder-step" aria-labelledby="builder-step-heading">
        <h2 id="builder-step-heading" ref={headingRef} tabIndex={-1}>
          {STEP_TITLES[step]}
        </h2>
        <p className={result !== null && !result.valid ? "validation-status" : "muted"} role="status">
          {statusText}
        </p>
        {step === "source" && <SourceStep {...props} />}
        {step === "pipeline" && <PipelineStep {...props} />}
        {step === "output" && <OutputStep {...props} />}
        {step === "review" && (
          <ReviewStep
            json={json}
            yaml={yamlText}
            baseName={manifestFileName(draft, new Date()).replace(/\.json$/, "")}
            normalized={result?.valid && current ? result.vms : []}
          />
        )}
        {step === "review" ? (
          placed.all.length > 0 && (
            <ProblemList
              title="Problems"
              items={placed.all}
              onGo={(c) => goTo(c.step, c.id)}
            />
          )
        ) : (
          placed.unplaced.length > 0 && (
            <ProblemList
              title="Other problems"
              items={placed.unplaced.map((text) => ({ text, control: null }))}
              onGo={() => undefined}
            />
          )
        )}
        <div className="row step-buttons">
          {back !== null && (
            <button type="button" className="button" onClick={() => goTo(back)}>
              Back
            </button>
          )}
          {next !== null && (
            <button type="button" className="button primary" onClick={() => goTo(next)}>
              Next
            </button>
          )}
          {step === "review" && (
            <>
              <button
                type="button"
                className="button primary"
                disabled={!canSubmit}
                aria-describedby={canSubmit ? undefined : "submit-blocked"}
                onClick={() => void submit()}
              >
                Submit
              </button>
              {!canSubmit && !submitting && (
                <span id="submit-blocked" className="muted">
                  Submit is available once the manifest is valid.
                </span>
              )}
            </>
          )}
        </div>
      </section>

      <UploadManifest client={client} onSubmitted={(path) => void navigate(path)} />
    </div>
  );
}

function ProblemList({
  title,
  items,
  onGo,
}: {
  title: string;
  items: readonly { text: string; control: ControlRef | null }[];
  onGo: (control: ControlRef) => void;
}) {
  return (
    <div className="error-summary" aria-labelledby="builder-problems-heading">
      <h3 id="builder-problems-heading">{title}</h3>
      <ul>
        {items.map((item, i) => (
          <li key={i}>
            {item.control === null ? (
              item.text
            ) : (
              <a
                href={`?step=${item.control.step}#${item.control.id}`}
                onClick={(e) => {
                  e.preventDefault();
                  if (item.control) onGo(item.control);
                }}
              >
                {item.text}
              </a>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
