// The daemons on the history (GetStatus `daemons`): with PostgreSQL the
// one writing and those standing by, each with its last report. Shown
// when there is more than this daemon to see, or a drain to notice.
import { DaemonRole, type GetStatusResponse } from "@workflow-manager/workflowd-client";

import { formatRelative, shortId, timestampMs } from "../../format";
import { useNow } from "../../hooks/useNow";

const ROLE_TEXT: Record<DaemonRole, string> = {
  [DaemonRole.UNSPECIFIED]: "unknown",
  [DaemonRole.WRITER]: "Writing",
  [DaemonRole.STANDBY]: "Standing by",
};

export function DaemonList({ status }: { status: GetStatusResponse }) {
  const now = useNow();
  const daemons = status.daemons;
  if (daemons.length < 2 && !daemons.some((d) => d.draining)) {
    return null;
  }
  return (
    <section aria-label="Daemons" className="stack">
      <h2>Daemons</h2>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Daemon</th>
            <th scope="col">Role</th>
            <th scope="col">Host</th>
            <th scope="col">Running</th>
            <th scope="col">Last report</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {daemons.map((d, index) => (
            <tr key={d.id}>
              <td className="mono" title={d.id}>
                {shortId(d.id)}
                {index === 0 ? " (this one)" : ""}
              </td>
              <td>{ROLE_TEXT[d.role] ?? ROLE_TEXT[DaemonRole.UNSPECIFIED]}</td>
              <td>
                {d.host} (pid {d.pid})
              </td>
              <td>
                {d.running} / {d.slots}
              </td>
              <td>{formatRelative(timestampMs(d.lastHeartbeat), now)}</td>
              <td className={d.alive ? undefined : "stat-bad"}>
                {!d.alive ? "Not heard from" : d.draining ? "Draining" : "OK"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
