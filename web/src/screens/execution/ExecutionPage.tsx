// One execution: header, actions, tree, inputs, artifacts and the live log.
import { isTerminal, type Execution } from "@workflow-manager/workflowd-client";
import { useEffect, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";

import { ErrorBanner } from "../../components/ErrorBanner";
import { Progress } from "../../components/Progress";
import { StateBadge } from "../../components/StateBadge";
import {
  NONE,
  durationMs,
  elapsedMs,
  estimateText,
  formatBytes,
  formatDateTime,
  formatDuration,
  phaseNumber,
  progressFraction,
  timestampMs,
} from "../../format";
import { POLL_WITHOUT_LOG_MS, useLiveExecution } from "../../hooks/useLiveExecution";
import { useNow } from "../../hooks/useNow";
import { CancelControls } from "./CancelControls";
import type { LogStreamStatus } from "./logFollower";
import { LogView } from "./LogView";
import { PhaseTree } from "./PhaseTree";

/** Parses ?seq=N; undefined unless a positive integer. */
export function parseSeq(value: string | null): number | undefined {
  if (value === null) return undefined;
  const n = Number.parseInt(value, 10);
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

function Times({ execution }: { execution: Execution }) {
  const now = useNow(1000);
  const active = !isTerminal(execution.state);
  const fraction = progressFraction(execution.estimate);
  return (
    <dl className="facts">
      <div>
        <dt>Created</dt>
        <dd>{formatDateTime(timestampMs(execution.createTime))}</dd>
      </div>
      <div>
        <dt>Started</dt>
        <dd>{formatDateTime(timestampMs(execution.startTime))}</dd>
      </div>
      <div>
        <dt>Ended</dt>
        <dd>{formatDateTime(timestampMs(execution.endTime))}</dd>
      </div>
      <div>
        <dt>{active ? "Elapsed" : "Duration"}</dt>
        <dd>{formatDuration(elapsedMs(execution, now))}</dd>
      </div>
      {active && (
        <>
          <div>
            <dt>Stage</dt>
            <dd>{execution.currentPhase || NONE}</dd>
          </div>
          <div>
            <dt>Progress</dt>
            <dd>
              <Progress fraction={fraction} label="Execution progress" />
            </dd>
          </div>
          <div>
            <dt>Estimate</dt>
            <dd>{estimateText(execution.estimate)}</dd>
          </div>
        </>
      )}
      {execution.exitCode !== undefined && (
        <div>
          <dt>Exit code</dt>
          <dd>{execution.exitCode}</dd>
        </div>
      )}
      {execution.signal !== undefined && (
        <div>
          <dt>Signal</dt>
          <dd>{execution.signal}</dd>
        </div>
      )}
      {execution.usage !== undefined && (
        <div>
          <dt>Used</dt>
          <dd>
            {formatBytes(execution.usage.peakMemoryBytes)} peak memory,{" "}
            {((durationMs(execution.usage.cpuTime) ?? 0) / 1000).toFixed(2)} s CPU
          </dd>
        </div>
      )}
      {execution.namespace !== "" && execution.namespace !== "default" && (
        <div>
          <dt>Namespace</dt>
          <dd>{execution.namespace}</dd>
        </div>
      )}
      {execution.batchId !== "" && (
        <div>
          <dt>Batch</dt>
          <dd>
            <Link to={`/batches/${encodeURIComponent(execution.batchId)}`}>{execution.batchId}</Link>
          </dd>
        </div>
      )}
      <div>
        <dt>Execution id</dt>
        <dd className="mono">{execution.id}</dd>
      </div>
    </dl>
  );
}

function Inputs({ execution }: { execution: Execution }) {
  const inputs = Object.entries(execution.inputs).sort(([a], [b]) => a.localeCompare(b));
  const labels = Object.entries(execution.labels).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section aria-label="Inputs" className="card stack">
      <h2>Inputs</h2>
      {inputs.length === 0 ? (
        <p className="muted">No inputs.</p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {inputs.map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td className="mono wrap">{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Command line</h3>
      <pre className="argv">
        <code>{execution.argv.length > 0 ? execution.argv.join(" ") : NONE}</code>
      </pre>
      {labels.length > 0 && (
        <>
          <h3>Labels</h3>
          <ul className="row label-list">
            {labels.map(([k, v]) => (
              <li key={k} className="badge">
                {k}={v}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function Artifacts({ execution }: { execution: Execution }) {
  return (
    <section aria-label="Artifacts" className="card stack">
      <h2>Artifacts</h2>
      {execution.artifacts.length === 0 ? (
        <p className="muted">No state files reported.</p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Phase</th>
                <th scope="col">Path</th>
                <th scope="col">Description</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {execution.artifacts.map((a) => (
                <tr key={`${a.phase}-${a.path}`}>
                  <td>{phaseNumber(a.phase)}</td>
                  <td className="mono wrap">{a.path}</td>
                  <td>{a.description || NONE}</td>
                  <td>{formatDateTime(timestampMs(a.createTime))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function ExecutionPage() {
  const { executionId = "" } = useParams();
  return <ExecutionView key={executionId} executionId={executionId} />;
}

function ExecutionView({ executionId }: { executionId: string }) {
  const [params, setParams] = useSearchParams();
  // Log events are what refresh the tree and state; while the log cannot
  // deliver them (a jump's window stops streaming, a reconnect) the
  // execution is polled instead, until it ends.
  const [logStatus, setLogStatus] = useState<LogStreamStatus>("connecting");
  const logSilent = logStatus === "window" || logStatus === "reconnecting" || logStatus === "failed";
  const live = useLiveExecution(executionId, undefined, logSilent ? POLL_WITHOUT_LOG_MS : undefined);
  const targetSeq = parseSeq(params.get("seq"));
  const execution = live.execution;

  const onJump = (seq: number | undefined) => {
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (seq === undefined) {
          next.delete("seq");
        } else {
          next.set("seq", String(seq));
        }
        return next;
      },
      { replace: true },
    );
  };

  const active = execution !== undefined && !isTerminal(execution.state);
  // The Cancel dialog and buttons vanish when the run ends; focus that was
  // on them would fall to <body>, so it moves to "Run again" instead.
  const focusedAtEnd = useRef<Element | null>(null);
  const runAgainRef = useRef<HTMLAnchorElement>(null);
  useEffect(() => {
    const was = focusedAtEnd.current;
    focusedAtEnd.current = null;
    const now = document.activeElement;
    if (!active && was !== null && !was.isConnected && (now === null || now === document.body)) {
      runAgainRef.current?.focus();
    }
  }, [active]);

  if (!execution) {
    return (
      <div className="stack">
        <h1>Execution</h1>
        {live.error !== undefined ? <ErrorBanner error={live.error} title="Cannot load the execution" /> : <p role="status">Loading…</p>}
      </div>
    );
  }

  return (
    <div className="stack">
      <header className="stack page-header">
        <div className="row">
          <h1>{execution.workflowName || execution.workflowId}</h1>
          <StateBadge state={execution.state} />
        </div>
        {execution.error !== "" && (
          <p className="error-banner" role="alert">
            {execution.error}
          </p>
        )}
        {live.error !== undefined && <ErrorBanner error={live.error} title="Update failed" />}
        <Times execution={execution} />
        <div className="row" role="group" aria-label="Actions">
          {active && (
            <CancelControls
              execution={execution}
              onDone={() => live.refresh()}
              onRemoved={(focused) => {
                focusedAtEnd.current = focused;
              }}
            />
          )}
          <Link ref={runAgainRef} className="button" to={`/workflows/${encodeURIComponent(execution.workflowId)}?rerun=${encodeURIComponent(execution.id)}`}>
            Run again
          </Link>
        </div>
      </header>
      <section aria-label="Tree" className="card stack">
        <h2>Phases</h2>
        <PhaseTree phases={execution.phases} />
      </section>
      <LogView
        executionId={executionId}
        onExecutionEvent={live.refresh}
        executionEnded={!active}
        targetSeq={targetSeq}
        onJump={onJump}
        logTotal={Number(execution.logCounts?.total ?? 0n)}
        onStatus={setLogStatus}
      />
      <div className="grid-2">
        <Inputs execution={execution} />
        <Artifacts execution={execution} />
      </div>
    </div>
  );
}
