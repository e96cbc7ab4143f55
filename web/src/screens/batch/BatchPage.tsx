// One batch: its summary (progress, counts, ETA) and its executions, polled
// while any of them is still queued or running.
import { useParams } from "react-router";

import { useClient } from "../../components/clientContext";
import { ErrorBanner } from "../../components/ErrorBanner";
import { ExecutionTable } from "../../components/ExecutionTable";
import { NONE, estimateText, formatDateTime, percentText, progressFraction, timestampMs } from "../../format";
import { LIST_INTERVAL_MS } from "../../hooks/useExecutionList";
import { usePolled } from "../../hooks/usePolled";
import { batchEnded, countByState, loadBatch, type BatchCounts, type BatchData, type DashboardClientList } from "./batchData";

function Summary({ data }: { data: BatchData }) {
  const batch = data.batch;
  const counts: BatchCounts = batch ?? countByState(data.executions);
  // Without a daemon estimate, finished executions over all is still honest progress.
  const fraction =
    progressFraction(batch?.estimate) ?? (counts.total > 0 ? (counts.succeeded + counts.failed) / counts.total : undefined);
  return (
    <section aria-label="Summary" className="card stack">
      <div className="progress-wide">
        <progress max={1} value={fraction ?? 0} aria-label="Batch progress" />
      </div>
      <dl className="facts">
        <div>
          <dt>Progress</dt>
          <dd>{percentText(fraction)}</dd>
        </div>
        <div>
          <dt>Total</dt>
          <dd>{counts.total}</dd>
        </div>
        <div>
          <dt>Queued</dt>
          <dd>{counts.queued}</dd>
        </div>
        <div>
          <dt>Running</dt>
          <dd>{counts.running}</dd>
        </div>
        <div>
          <dt>Succeeded</dt>
          <dd>{counts.succeeded}</dd>
        </div>
        <div>
          <dt>Failed</dt>
          <dd>{counts.failed}</dd>
        </div>
        <div>
          <dt>ETA</dt>
          <dd>{batch?.endTime ? NONE : estimateText(batch?.estimate)}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatDateTime(timestampMs(batch?.createTime))}</dd>
        </div>
        <div>
          <dt>Ended</dt>
          <dd>{formatDateTime(timestampMs(batch?.endTime))}</dd>
        </div>
      </dl>
      {!batch && <p className="muted">Counted from the executions listed below.</p>}
    </section>
  );
}

export function BatchPage() {
  const { batchId = "" } = useParams();
  // Keyed: another batch starts with fresh state (an ended batch's "ended"
  // must not stop the next one's polling).
  return <BatchView key={batchId} batchId={batchId} />;
}

function BatchView({ batchId }: { batchId: string }) {
  const client: DashboardClientList = useClient();
  const data = usePolled((signal) => loadBatch(client, batchId, signal), {
    intervalMs: LIST_INTERVAL_MS,
    key: `batch:${batchId}`,
    // A batch that has ended never changes again: stop polling it.
    continueWhile: (loaded) => !batchEnded(loaded),
  });
  const executions = data.data?.executions ?? [];

  return (
    <div className="stack">
      <h1>Batch {batchId}</h1>
      {data.error !== undefined && <ErrorBanner error={data.error} title="Cannot load the batch" />}
      {data.data === undefined ? (
        data.error === undefined && <p role="status">Loading…</p>
      ) : (
        <>
          <Summary data={data.data} />
          {data.data.truncated && (
            <p className="note" role="note">
              Showing the newest {executions.length} executions of this batch.
            </p>
          )}
          <section aria-label="Executions" className="stack">
            <h2>Executions</h2>
            {executions.length === 0 ? (
              <p className="muted">No executions in this batch.</p>
            ) : (
              <ExecutionTable executions={executions} caption={`Executions of batch ${batchId}`} />
            )}
          </section>
        </>
      )}
    </div>
  );
}
