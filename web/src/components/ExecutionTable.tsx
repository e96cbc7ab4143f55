// A table of executions (Overview tabs, batch page): name, workflow, stage,
// progress, elapsed and ETA, each row linking to its execution page.
import { isTerminal, type Execution } from "@workflow-manager/workflowd-client";
import { Link } from "react-router";

import { NONE, elapsedMs, shortId, estimateText, formatDuration, formatRelative, progressFraction, timestampMs } from "../format";
import { useNow } from "../hooks/useNow";
import { Progress } from "./Progress";
import { StateBadge } from "./StateBadge";

/** What names an execution for people: the VM for pipeline runs, else its id's head. */
export function executionName(e: Execution): string {
  return e.labels["vm"] ?? `${e.workflowName || e.workflowId} ${shortId(e.id)}`;
}

export function ExecutionTable({ executions, caption, showWorkflow = true }: { executions: readonly Execution[]; caption: string; showWorkflow?: boolean }) {
  const now = useNow(1000);
  return (
    <div className="table-scroll">
      <table className="table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            {showWorkflow && <th scope="col">Workflow</th>}
            <th scope="col">State</th>
            <th scope="col">Stage</th>
            <th scope="col">Progress</th>
            <th scope="col">Elapsed</th>
            <th scope="col">ETA</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {executions.map((e) => {
            const active = !isTerminal(e.state);
            const name = executionName(e);
            return (
              <tr key={e.id}>
                <td>
                  <Link to={`/executions/${encodeURIComponent(e.id)}`}>{name}</Link>
                </td>
                {showWorkflow && <td>{e.workflowName || e.workflowId}</td>}
                <td>
                  <StateBadge state={e.state} />
                </td>
                <td>{e.currentPhase || NONE}</td>
                <td>
                  <Progress fraction={progressFraction(e.estimate)} label={`Progress of ${name}`} />
                </td>
                <td className="nowrap">{formatDuration(elapsedMs(e, now))}</td>
                <td className="nowrap">{active ? estimateText(e.estimate) : NONE}</td>
                <td className="nowrap">{formatRelative(timestampMs(e.createTime), now)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
