// /workflows — every discovered workflow with a link to its Run form, the
// programs that failed discovery, and a note while programs are still being
// probed. ListWorkflows has no stream, so the page polls only while a probe
// is pending (every 2 s, paused while the tab is hidden).
import { Link } from "react-router";

import { useClient, type DashboardClient } from "../../components/clientContext";
import { errorText } from "../../components/ErrorBanner";
import { usePolled } from "../../hooks/usePolled";
import "./workflows.css";

export type WorkflowsPageClient = Pick<DashboardClient, "listWorkflows">;

export const PROBE_POLL_MS = 2000;

export function WorkflowsPage({ pollMs = PROBE_POLL_MS }: { pollMs?: number }) {
  const client: WorkflowsPageClient = useClient();
  // Polled until no program is being probed; a failure keeps it polling on
  // the same clock, so the page recovers when the daemon comes back.
  const polled = usePolled((signal) => client.listWorkflows({ signal }), {
    intervalMs: pollMs,
    key: "workflows",
    continueWhile: (list) => list.programsProbing.length > 0,
  });
  const list = polled.data ?? null;
  const error = polled.error !== undefined ? errorText(polled.error) : null;

  return (
    <div className="stack workflows-page">
      <h1>Workflows</h1>
      {error !== null && (
        <div className="error-banner" role="alert">
          {error}
        </div>
      )}
      {list === null && error === null && (
        <p className="muted" role="status">
          Loading…
        </p>
      )}
      {list !== null && list.programsProbing.length > 0 && (
        <p className="muted" role="status">
          Still asking {list.programsProbing.length === 1 ? "1 program" : `${list.programsProbing.length} programs`} for
          their metadata: {list.programsProbing.join(", ")}. The list updates when they answer.
        </p>
      )}
      {list !== null && (
        <section aria-labelledby="workflow-list-heading" className="stack">
          <h2 id="workflow-list-heading" className="visually-hidden">
            Discovered workflows
          </h2>
          {list.workflows.length === 0 ? (
            <p className="muted">No workflows discovered.</p>
          ) : (
            <ul className="workflow-list">
              {list.workflows.map((w) => (
                <li key={w.id} className="card stack">
                  <h3>{w.name || w.id}</h3>
                  <p className="workflow-meta muted">
                    <code>{w.id}</code>
                    <span>
                      {w.fields.length === 1 ? "1 field" : `${w.fields.length} fields`}
                    </span>
                  </p>
                  {w.description && <p>{w.description}</p>}
                  <p>
                    <Link className="button primary" to={`/workflows/${encodeURIComponent(w.id)}`}>
                      Run {w.name || w.id}
                    </Link>
                  </p>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      {list !== null && (
        <section aria-labelledby="discovery-errors-heading" className="stack discovery-errors">
          <h2 id="discovery-errors-heading">Discovery errors</h2>
          {list.discoveryErrors.length === 0 ? (
            <p className="muted">Every program in the workflow directories was discovered.</p>
          ) : (
            <ul>
              {list.discoveryErrors.map((e) => (
                <li key={e.programPath}>
                  <code>{e.programPath}</code>: {e.message}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </div>
  );
}
