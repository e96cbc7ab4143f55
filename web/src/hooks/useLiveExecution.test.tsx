import { ExecutionState } from "@workflow-manager/workflowd-client";
import { cleanup, renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it } from "vitest";

import { ClientContext } from "../components/clientContext";
import { execution, fakeClient, untilAborted } from "../components/testFixtures";
import { useLiveExecution } from "./useLiveExecution";

afterEach(cleanup);

describe("useLiveExecution", () => {
  it("polls when asked to, until the execution ends", async () => {
    let gets = 0;
    const client = fakeClient({
      getExecution: () => {
        gets++;
        return Promise.resolve(execution("e1", { state: gets >= 3 ? ExecutionState.SUCCEEDED : ExecutionState.RUNNING }));
      },
      wait: (_id, o) => untilAborted(o?.signal),
    });
    const wrapper = ({ children }: { children: ReactNode }) => <ClientContext.Provider value={client}>{children}</ClientContext.Provider>;
    const { result } = renderHook(() => useLiveExecution("e1", 0, 20), { wrapper });
    await waitFor(() => expect(result.current.execution?.state).toBe(ExecutionState.SUCCEEDED));
    const atEnd = gets;
    await new Promise((r) => setTimeout(r, 120));
    expect(gets).toBe(atEnd);
  });

  it("does not poll otherwise", async () => {
    let gets = 0;
    const client = fakeClient({
      getExecution: () => {
        gets++;
        return Promise.resolve(execution("e1"));
      },
      wait: (_id, o) => untilAborted(o?.signal),
    });
    const wrapper = ({ children }: { children: ReactNode }) => <ClientContext.Provider value={client}>{children}</ClientContext.Provider>;
    renderHook(() => useLiveExecution("e1", 0), { wrapper });
    await new Promise((r) => setTimeout(r, 120));
    expect(gets).toBe(1);
  });
});
