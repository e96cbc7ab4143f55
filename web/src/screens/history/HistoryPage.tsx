// History: every execution, filtered and paged on the server (50 a page),
// with every filter and the page in the URL.
import { ExecutionState, type Execution, type Workflow } from "@workflow-manager/workflowd-client";
import { useEffect, useId, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";

import { useClient } from "../../components/clientContext";
import { ErrorBanner } from "../../components/ErrorBanner";
import { StateBadge } from "../../components/StateBadge";
import { ALL_STATES, NONE, elapsedMs, formatDateTime, formatDuration, shortId, stateName, timestampMs } from "../../format";
import { useExecutionList } from "../../hooks/useExecutionList";
import { useNow } from "../../hooks/useNow";
import {
  historySearchParams,
  firstPage,
  nextPage,
  pageNumberOf,
  parseDateParam,
  parseHistoryQuery,
  previousPage,
  splitLabels,
  toListFilter,
  withFilters,
  type HistoryQuery,
} from "./historyQuery";

function useWorkflows(): Workflow[] {
  const client = useClient();
  const [workflows, setWorkflows] = useState<Workflow[]>([]);
  useEffect(() => {
    const controller = new AbortController();
    client.listWorkflows({ signal: controller.signal }).then(
      (list) => setWorkflows(list.workflows),
      () => {
        // The select falls back to "All workflows" plus the URL's value.
      },
    );
    return () => controller.abort();
  }, [client]);
  return workflows;
}

function FilterForm({ query, onApply }: { query: HistoryQuery; onApply: (q: HistoryQuery) => void }) {
  const id = useId();
  const workflows = useWorkflows();
  const [workflow, setWorkflow] = useState(query.workflow);
  const [states, setStates] = useState<ExecutionState[]>(query.states);
  const [batch, setBatch] = useState(query.batch);
  const [labels, setLabels] = useState(query.labels.join(", "));
  const [after, setAfter] = useState(query.after);
  const [before, setBefore] = useState(query.before);

  const afterBad = after !== "" && parseDateParam(after) === undefined;
  const beforeBad = before !== "" && parseDateParam(before) === undefined;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (afterBad || beforeBad) return;
    onApply(withFilters(query, { workflow, states, batch: batch.trim(), labels: splitLabels(labels), after, before }));
  };

  const workflowIds = workflows.map((w) => w.id);
  return (
    <form className="card filter-form" aria-label="Filters" onSubmit={submit}>
      <div className="field">
        <label htmlFor={`${id}-wf`}>Workflow</label>
        <select id={`${id}-wf`} value={workflow} onChange={(e) => setWorkflow(e.target.value)}>
          <option value="">All workflows</option>
          {workflows.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name || w.id}
            </option>
          ))}
          {workflow !== "" && !workflowIds.includes(workflow) && <option value={workflow}>{workflow}</option>}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-batch`}>Batch id</label>
        <input id={`${id}-batch`} value={batch} onChange={(e) => setBatch(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-labels`}>Labels (key=value, comma-separated)</label>
        <input id={`${id}-labels`} value={labels} placeholder="vm=web01" onChange={(e) => setLabels(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-after`}>Created after</label>
        <input
          id={`${id}-after`}
          type="date"
          value={after}
          aria-invalid={afterBad}
          onChange={(e) => setAfter(e.target.value)}
        />
        {afterBad && <span className="field-error">Not a date.</span>}
      </div>
      <div className="field">
        <label htmlFor={`${id}-before`}>Created before</label>
        <input
          id={`${id}-before`}
          type="date"
          value={before}
          aria-invalid={beforeBad}
          onChange={(e) => setBefore(e.target.value)}
        />
        {beforeBad && <span className="field-error">Not a date.</span>}
      </div>
      <fieldset className="row">
        <legend>States</legend>
        {ALL_STATES.map((s) => (
          <label key={s} className="inline-check">
            <input
              type="checkbox"
              checked={states.includes(s)}
              onChange={(e) => setStates((cur) => (e.target.checked ? [...cur, s] : cur.filter((x) => x !== s)))}
            />{" "}
            {stateName(s)}
          </label>
        ))}
      </fieldset>
      <div className="row filter-actions">
        <button type="submit" className="button primary">
          Apply filters
        </button>
        <Link className="button" to="/history">
          Clear filters
        </Link>
      </div>
    </form>
  );
}

function HistoryTable({ executions }: { executions: readonly Execution[] }) {
  const now = useNow(5000);
  return (
    <div className="table-scroll">
      <table className="table">
        <caption className="visually-hidden">Executions</caption>
        <thead>
          <tr>
            <th scope="col">Execution</th>
            <th scope="col">State</th>
            <th scope="col">Workflow</th>
            <th scope="col">Created</th>
            <th scope="col">Duration</th>
            <th scope="col">Batch</th>
          </tr>
        </thead>
        <tbody>
          {executions.map((e) => (
            <tr key={e.id}>
              <td className="mono">
                <Link to={`/executions/${encodeURIComponent(e.id)}`} aria-label={`Execution ${e.labels["vm"] ?? e.id}`}>
                  {e.labels["vm"] ?? shortId(e.id)}
                </Link>
              </td>
              <td>
                <StateBadge state={e.state} />
              </td>
              <td>{e.workflowName || e.workflowId}</td>
              <td className="nowrap">{formatDateTime(timestampMs(e.createTime))}</td>
              <td className="nowrap">{e.state === ExecutionState.QUEUED ? NONE : formatDuration(elapsedMs(e, now))}</td>
              <td className="mono">
                {e.batchId ? <Link to={`/batches/${encodeURIComponent(e.batchId)}`} aria-label={`Batch ${e.batchId}`}>
                    {shortId(e.batchId)}
                  </Link> : NONE}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function HistoryPage() {
  const [params, setParams] = useSearchParams();
  const query = parseHistoryQuery(params);
  const list = useExecutionList(toListFilter(query));
  const go = (q: HistoryQuery) => setParams(historySearchParams(q));
  const prev = previousPage(query);
  const next = list.data?.nextPageToken;
  const pageNumber = pageNumberOf(query);
  // The form restarts from the URL whenever the URL's filters change (back button).
  const filterKey = historySearchParams(firstPage(query)).toString();

  return (
    <div className="stack">
      <h1>History</h1>
      <FilterForm key={filterKey} query={query} onApply={go} />
      <section aria-label="Results" className="stack">
        {list.error !== undefined && <ErrorBanner error={list.error} title="Cannot list executions" />}
        {list.data === undefined ? (
          list.error === undefined && <p role="status">Loading…</p>
        ) : list.data.executions.length === 0 ? (
          <p className="muted">No executions match these filters.</p>
        ) : (
          <HistoryTable executions={list.data.executions} />
        )}
        <nav className="row pager" aria-label="Pages">
          <button type="button" className="button" disabled={!prev} onClick={() => prev && go(prev)}>
            Previous
          </button>
          {!prev && query.page !== "" && (
            // Earlier tokens were let go to keep the URL short: start over.
            <button type="button" className="button" onClick={() => go(firstPage(query))}>
              First page
            </button>
          )}
          <span className="muted">Page {pageNumber}</span>
          <button type="button" className="button" disabled={!next} onClick={() => next && go(nextPage(query, next))}>
            Next
          </button>
        </nav>
      </section>
    </div>
  );
}
