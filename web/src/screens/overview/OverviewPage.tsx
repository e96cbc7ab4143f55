// The Overview: daemon status cards, the daemons on the history, drop
// folders, active batches and the
// executions by tab (?tab=active|pending|completed|failed).
import { DropFolderMode, ExecutionState, type BatchSummary, type GetStatusResponse } from "@workflow-manager/workflowd-client";
import { Link, useSearchParams } from "react-router";

import { ErrorBanner } from "../../components/ErrorBanner";
import { ExecutionTable } from "../../components/ExecutionTable";
import { Progress } from "../../components/Progress";
import { Tabs } from "../../components/Tabs";
import { NONE, estimateText, formatDateTime, formatDuration, progressFraction, timestampMs } from "../../format";
import { useDaemonStatus } from "../../hooks/daemonStatus";
import { useExecutionList } from "../../hooks/useExecutionList";
import { DaemonList } from "./DaemonList";

export type OverviewTab = "active" | "pending" | "completed" | "failed";

export const OVERVIEW_TABS: readonly { key: OverviewTab; label: string; states: readonly ExecutionState[] }[] = [
  { key: "active", label: "Active", states: [ExecutionState.RUNNING] },
  { key: "pending", label: "Pending", states: [ExecutionState.QUEUED] },
  { key: "completed", label: "Completed", states: [ExecutionState.SUCCEEDED] },
  {
    key: "failed",
    label: "Failed",
    states: [ExecutionState.FAILED, ExecutionState.CANCELLED, ExecutionState.TIMED_OUT, ExecutionState.INTERRUPTED],
  },
];

export const TAB_PAGE_SIZE = 50;

export function parseTab(value: string | null): OverviewTab {
  return OVERVIEW_TABS.find((t) => t.key === value)?.key ?? "active";
}

function Stat({ label, value, bad }: { label: string; value: string; bad?: boolean }) {
  return (
    <div className="card stat">
      <span className="stat-label">{label}</span>
      <span className={bad ? "stat-value stat-bad" : "stat-value"}>{value}</span>
    </div>
  );
}

function StatusCards({ status }: { status: GetStatusResponse }) {
  const failure = status.historyWriteFailure;
  return (
    <section aria-label="Status" className="stack">
      <h2>Status</h2>
      <div className="cards">
        <Stat label="Queue" value={`${status.queued} / ${status.maxQueue}`} />
        <Stat label="Running" value={`${status.running} / ${status.maxWorkers}`} />
        <Stat label="Processed today" value={status.succeededToday.toLocaleString()} />
        <Stat label="Failed today" value={status.failedToday.toLocaleString()} bad={status.failedToday > 0n} />
        <Stat label="Uptime" value={formatDuration(Number(status.uptimeSeconds) * 1000)} />
        <Stat label="History" value={failure ? "Cannot write" : "OK"} bad={failure !== undefined} />
      </div>
      {failure && (
        <p className="error-banner" role="alert">
          History cannot be written: {failure.error} since {formatDateTime(timestampMs(failure.since))}
        </p>
      )}
    </section>
  );
}

const MODE_TEXT: Record<DropFolderMode, string> = {
  [DropFolderMode.UNSPECIFIED]: "unknown",
  [DropFolderMode.MANIFEST]: "manifests",
  [DropFolderMode.DISK]: "disk images and job configs",
};

function DropFolders({ status }: { status: GetStatusResponse }) {
  if (status.dropFolders.length === 0) {
    return null;
  }
  return (
    <section aria-label="Drop folders" className="stack">
      <h2>Drop folders</h2>
      <div className="grid-2">
        {status.dropFolders.map((f) => (
          <article key={f.path} className="card stack" aria-label={`Drop folder ${f.path}`}>
            <h3 className="mono">{f.path}</h3>
            <dl className="facts">
              <div>
                <dt>Mode</dt>
                <dd>{MODE_TEXT[f.mode] ?? NONE}</dd>
              </div>
              <div>
                <dt>Watching</dt>
                <dd className={f.watching ? undefined : "stat-bad"}>{f.watching ? "Yes" : "No (see the daemon's log)"}</dd>
              </div>
              <div>
                <dt>To be processed</dt>
                <dd>{f.filesWaiting}</dd>
              </div>
              <div>
                <dt>Processing</dt>
                <dd>{f.filesProcessing}</dd>
              </div>
              <div>
                <dt>Processed today</dt>
                <dd>{f.processedToday.toString()}</dd>
              </div>
              <div>
                <dt>Failed today</dt>
                <dd>{f.failedToday.toString()}</dd>
              </div>
            </dl>
          </article>
        ))}
      </div>
    </section>
  );
}

export function BatchLine({ batch }: { batch: BatchSummary }) {
  const done = batch.succeeded + batch.failed;
  return (
    <li className="card stack">
      <div className="row">
        <Link to={`/batches/${encodeURIComponent(batch.batchId)}`} className="mono">
          Batch {batch.batchId}
        </Link>
        <span className="muted">
          {done} / {batch.total} done · {batch.running} running · {batch.queued} queued · {batch.failed} failed
        </span>
      </div>
      <div className="row">
        <Progress fraction={progressFraction(batch.estimate)} label={`Progress of batch ${batch.batchId}`} />
        <span>{estimateText(batch.estimate)}</span>
      </div>
    </li>
  );
}

function ActiveBatches({ batches }: { batches: readonly BatchSummary[] }) {
  return (
    <section aria-label="Active batches" className="stack">
      <h2>Active batches</h2>
      {batches.length === 0 ? (
        <p className="muted">No batch is running.</p>
      ) : (
        <ul className="stack plain-list">
          {batches.map((b) => (
            <BatchLine key={b.batchId} batch={b} />
          ))}
        </ul>
      )}
    </section>
  );
}

function ExecutionsTab({ tab }: { tab: (typeof OVERVIEW_TABS)[number] }) {
  const list = useExecutionList({ states: tab.states, pageSize: TAB_PAGE_SIZE });
  const executions = list.data?.executions ?? [];
  return (
    <div role="tabpanel" id="overview-panel" aria-labelledby={`overview-tab-${tab.key}`} className="stack">
      {list.error !== undefined && <ErrorBanner error={list.error} title="Cannot list executions" />}
      {list.loading && list.data === undefined ? (
        <p role="status">Loading…</p>
      ) : executions.length === 0 ? (
        <p className="muted">No {tab.label.toLowerCase()} executions.</p>
      ) : (
        <>
          <ExecutionTable executions={executions} caption={`${tab.label} executions`} />
          {list.data?.nextPageToken ? (
            <p className="muted">
              Showing the newest {executions.length}. <Link to={historyLink(tab.states)}>See all in History</Link>
            </p>
          ) : null}
        </>
      )}
    </div>
  );
}

function historyLink(states: readonly ExecutionState[]): string {
  const p = new URLSearchParams();
  for (const s of states) p.append("state", ExecutionState[s]);
  return `/history?${p.toString()}`;
}

export function OverviewPage() {
  const [params, setParams] = useSearchParams();
  const status = useDaemonStatus();
  const tabKey = parseTab(params.get("tab"));
  const tab = OVERVIEW_TABS.find((t) => t.key === tabKey) ?? OVERVIEW_TABS[0]!;

  return (
    <div className="stack">
      <h1>Overview</h1>
      {status.error !== undefined && <ErrorBanner error={status.error} title="Cannot reach the daemon" />}
      {status.data ? (
        <>
          <StatusCards status={status.data} />
          <DaemonList status={status.data} />
          <DropFolders status={status.data} />
          <ActiveBatches batches={status.data.activeBatches} />
        </>
      ) : (
        status.error === undefined && <p role="status">Loading status…</p>
      )}
      <section aria-label="Executions" className="stack">
        <h2>Executions</h2>
        <Tabs
          label="Executions by state"
          idPrefix="overview"
          tabs={OVERVIEW_TABS}
          selected={tab.key}
          onSelect={(key) => setParams({ tab: key }, { replace: true })}
        />
        <ExecutionsTab key={tab.key} tab={tab} />
      </section>
    </div>
  );
}
