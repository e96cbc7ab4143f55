// The Phase -> Task -> Agent tree GetExecution builds from the program's
// events, as nested <details> so each level collapses with the keyboard.
import { NodeStatus, type Agent, type Phase, type Task } from "@workflow-manager/workflowd-client";

import { phaseNumber } from "../../format";

const STATUS: Record<NodeStatus, { text: string; className: string }> = {
  [NodeStatus.UNSPECIFIED]: { text: "pending", className: "badge" },
  [NodeStatus.RUNNING]: { text: "running", className: "badge state-running" },
  [NodeStatus.COMPLETED]: { text: "completed", className: "badge state-succeeded" },
  [NodeStatus.FAILED]: { text: "failed", className: "badge state-failed" },
};

function NodeBadge({ status }: { status: NodeStatus }) {
  const s = STATUS[status] ?? STATUS[NodeStatus.UNSPECIFIED];
  return <span className={s.className}>{s.text}</span>;
}

function Messages({ messages }: { messages: readonly string[] }) {
  if (messages.length === 0) {
    return null;
  }
  return (
    <details className="tree-messages">
      <summary>
        Messages ({messages.length}): <span className="muted">{messages[messages.length - 1]}</span>
      </summary>
      <ol className="tree-message-list">
        {messages.map((m, i) => (
          <li key={i}>{m}</li>
        ))}
      </ol>
    </details>
  );
}

function Outcome({ result, error }: { result: string; error: string }) {
  return (
    <>
      {result !== "" && (
        <p className="tree-result">
          <span className="muted">Result:</span> {result}
        </p>
      )}
      {error !== "" && <p className="tree-error">Error: {error}</p>}
    </>
  );
}

function AgentNode({ agent }: { agent: Agent }) {
  return (
    <li className="tree-agent">
      <div className="row">
        <span className="tree-name">Agent {agent.name}</span>
        <NodeBadge status={agent.status} />
        {agent.description !== "" && <span className="muted">{agent.description}</span>}
      </div>
      <Messages messages={agent.messages} />
      <Outcome result={agent.result} error={agent.error} />
    </li>
  );
}

function TaskNode({ task }: { task: Task }) {
  return (
    <li>
      <details open={task.status !== NodeStatus.COMPLETED}>
        <summary>
          <span className="tree-name">Task {task.taskId}</span> <NodeBadge status={task.status} />{" "}
          {task.description !== "" && <span className="muted">{task.description}</span>}{" "}
          {task.percent >= 0 && (
            <span className="progress-cell">
              <progress max={100} value={task.percent} aria-label={`Task ${task.taskId} progress`} />
              <span className="muted">{task.percent} %</span>
            </span>
          )}
        </summary>
        <div className="tree-body">
          <Messages messages={task.messages} />
          <Outcome result={task.result} error={task.error} />
          {task.agents.length > 0 && (
            <ul className="tree-list">
              {task.agents.map((a) => (
                <AgentNode key={a.name} agent={a} />
              ))}
            </ul>
          )}
        </div>
      </details>
    </li>
  );
}

function PhaseNode({ phase }: { phase: Phase }) {
  const total = phase.totalPhases > 0 ? `/${phase.totalPhases}` : "";
  return (
    <li>
      <details open={phase.status !== NodeStatus.COMPLETED}>
        <summary>
          <span className="tree-name">
            Phase {phaseNumber(phase.index)}
            {total}: {phase.name}
          </span>{" "}
          <NodeBadge status={phase.status} /> <span className="muted">{phase.tasks.length === 1 ? "1 task" : `${phase.tasks.length} tasks`}</span>
        </summary>
        <div className="tree-body">
          {phase.error !== "" && <p className="tree-error">Error: {phase.error}</p>}
          {phase.tasks.length > 0 && (
            <ul className="tree-list">
              {phase.tasks.map((t) => (
                <TaskNode key={t.taskId} task={t} />
              ))}
            </ul>
          )}
        </div>
      </details>
    </li>
  );
}

export function PhaseTree({ phases }: { phases: readonly Phase[] }) {
  if (phases.length === 0) {
    return <p className="muted">The program has reported no phases yet.</p>;
  }
  return (
    <ul className="tree-list tree-root">
      {phases.map((p) => (
        <PhaseNode key={`${p.index}-${p.name}`} phase={p} />
      ))}
    </ul>
  );
}
