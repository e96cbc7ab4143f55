// The dashboard shell: routes (every object and filter has a URL), the
// header with navigation and the daemon connection, the API token gate, and
// the client context.
import { lazy, Suspense } from "react";
import { BrowserRouter, Link, NavLink, Route, Routes } from "react-router";

import { ClientContext, useClient, type DashboardClient } from "./components/clientContext";
import { ForgetTokenButton, TokenGate } from "./components/TokenGate";
import { DaemonStatusProvider, useDaemonStatus, type Connection } from "./hooks/daemonStatus";
import { BatchPage } from "./screens/batch";
import { ExecutionPage } from "./screens/execution";
import { HistoryPage } from "./screens/history";
import { OverviewPage } from "./screens/overview";

// The forms screens (and the YAML library the manifest builder needs) load
// on first visit, so the live screens parse less JavaScript up front.
const WorkflowsPage = lazy(() => import("./screens/workflows").then((m) => ({ default: m.WorkflowsPage })));
const WorkflowPage = lazy(() => import("./screens/workflows").then((m) => ({ default: m.WorkflowPage })));
const ManifestBuilderPage = lazy(() => import("./screens/manifest").then((m) => ({ default: m.ManifestBuilderPage })));

export const MAIN_ID = "main-content";

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: "Connecting…",
  connected: "Daemon connected",
  reconnecting: "Daemon unreachable — reconnecting…",
  unauthenticated: "API token needed",
};

function ConnectionIndicator() {
  const { connection, data } = useDaemonStatus();
  return (
    <span className={`connection connection-${connection}`} role="status" aria-label="Connection">
      <span className="connection-dot" aria-hidden="true" />
      <span>{CONNECTION_TEXT[connection]}</span>
      {connection === "connected" && data?.version ? <span className="muted connection-version"> v{data.version}</span> : null}
    </span>
  );
}

const NAV = [
  { to: "/", label: "Overview", end: true },
  { to: "/workflows", label: "Workflows", end: false },
  { to: "/history", label: "History", end: false },
  { to: "/manifests/new", label: "Manifest builder", end: false },
] as const;

export function Layout() {
  return (
    <>
      <a className="skip-link" href={`#${MAIN_ID}`}>
        Skip to content
      </a>
      <header className="app-header">
        <Link to="/" className="brand">
          workflowd
        </Link>
        <nav aria-label="Main" className="app-nav">
          <ul>
            {NAV.map((n) => (
              <li key={n.to}>
                {/* NavLink sets aria-current="page" on the active link. */}
                <NavLink to={n.to} end={n.end}>
                  {n.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <ConnectionIndicator />
        <ForgetTokenButton />
      </header>
      <main id={MAIN_ID} tabIndex={-1} className="app-main">
        <TokenGate>
          <Suspense fallback={<p role="status">Loading…</p>}>
            <Routes>
              <Route path="/" element={<OverviewPage />} />
              <Route path="/workflows" element={<WorkflowsPage />} />
              <Route path="/workflows/:workflowId" element={<WorkflowPage />} />
              <Route path="/executions/:executionId" element={<ExecutionPage />} />
              <Route path="/history" element={<HistoryPage />} />
              <Route path="/batches/:batchId" element={<BatchPage />} />
              <Route path="/manifests/new" element={<ManifestBuilderPage />} />
              <Route path="*" element={<NotFound />} />
            </Routes>
          </Suspense>
        </TokenGate>
      </main>
    </>
  );
}

export function NotFound() {
  return (
    <div className="stack">
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. <Link to="/">Go to the overview</Link>.
      </p>
    </div>
  );
}

/** The shell around a given client: App for the page, tests with a fake. */
export function Shell({ client }: { client?: DashboardClient }) {
  const fallback = useClient();
  return (
    <ClientContext.Provider value={client ?? fallback}>
      <DaemonStatusProvider>
        <Layout />
      </DaemonStatusProvider>
    </ClientContext.Provider>
  );
}

export function App() {
  return (
    <BrowserRouter>
      <Shell />
    </BrowserRouter>
  );
}
