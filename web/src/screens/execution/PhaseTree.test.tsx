import { NodeStatus, type Agent, type Phase, type Task } from "@workflow-manager/workflowd-client";
import { cleanup, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { PhaseTree } from "./PhaseTree";

afterEach(cleanup);

const agent = (name: string, extra: Partial<Agent> = {}): Agent => ({
  $typeName: "workflow.v1.Agent",
  name,
  description: "",
  status: NodeStatus.RUNNING,
  messages: [],
  result: "",
  error: "",
  ...extra,
});

const task = (taskId: string, extra: Partial<Task> = {}): Task => ({
  $typeName: "workflow.v1.Task",
  taskId,
  description: "",
  status: NodeStatus.RUNNING,
  messages: [],
  result: "",
  error: "",
  percent: -1,
  agents: [],
  ...extra,
});

const phase = (index: number, name: string, extra: Partial<Phase> = {}): Phase => ({
  $typeName: "workflow.v1.Phase",
  index,
  name,
  totalPhases: 3,
  status: NodeStatus.RUNNING,
  error: "",
  tasks: [],
  ...extra,
});

describe("PhaseTree", () => {
  it("renders phases, tasks and agents with status, progress, messages, results and errors", () => {
    render(
      <PhaseTree
        phases={[
          phase(0, "load", { status: NodeStatus.COMPLETED, tasks: [task("t0", { status: NodeStatus.COMPLETED, result: "loaded 3 disks" })] }),
          phase(1, "convert", {
            tasks: [
              task("disk-1", {
                description: "Converting disk 1",
                percent: 42,
                messages: ["10%", "42% done"],
                agents: [agent("qemu-img", { messages: ["writing"] }), agent("checker", { status: NodeStatus.FAILED, error: "checksum mismatch" })],
              }),
            ],
          }),
          phase(2, "validate", { status: NodeStatus.FAILED, error: "boot test failed" }),
        ]}
      />,
    );

    expect(screen.getByText("Phase 1/3: load")).toBeTruthy();
    expect(screen.getByText("Phase 2/3: convert")).toBeTruthy();
    expect(screen.getByText("Result:").parentElement?.textContent).toContain("loaded 3 disks");

    const bar = screen.getByRole("progressbar", { name: "Task disk-1 progress" });
    expect(bar.getAttribute("value")).toBe("42");
    expect(screen.getByText("Messages (2):").textContent).toContain("42% done");
    expect(screen.getByText("Agent qemu-img")).toBeTruthy();
    expect(screen.getByText("Error: checksum mismatch")).toBeTruthy();
    expect(screen.getByText("Error: boot test failed")).toBeTruthy();

    // Finished phases start collapsed, running ones open.
    const load = screen.getByText("Phase 1/3: load").closest("details");
    const convert = screen.getByText("Phase 2/3: convert").closest("details");
    expect(load?.open).toBe(false);
    expect(convert?.open).toBe(true);
    expect(within(convert as HTMLElement).getAllByText("running").length).toBeGreaterThan(0);
  });

  it("says when there is nothing yet", () => {
    render(<PhaseTree phases={[]} />);
    expect(screen.getByText(/no phases yet/)).toBeTruthy();
  });
});
