import { act, cleanup, render } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { ClientContext } from "../components/clientContext";
import { fakeClient, status } from "../components/testFixtures";
import { DaemonStatusProvider, STATUS_INTERVAL_MS, useDaemonRecoveries, useDaemonStatus } from "./daemonStatus";

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("DaemonStatusProvider", () => {
  it("re-renders the live views only when the daemon recovers, not on every poll", async () => {
    vi.useFakeTimers();
    let calls = 0;
    let down = false;
    const client = fakeClient({
      status: () => {
        calls++;
        return down ? Promise.reject(new Error("unreachable")) : Promise.resolve(status({ running: calls }));
      },
    });
    const renders = { recoveries: 0, status: 0 };
    let lastRecoveries = -1;
    function LiveView() {
      lastRecoveries = useDaemonRecoveries();
      renders.recoveries++;
      return null;
    }
    function Header() {
      useDaemonStatus();
      renders.status++;
      return null;
    }
    render(
      <ClientContext.Provider value={client}>
        <DaemonStatusProvider>
          <LiveView />
          <Header />
        </DaemonStatusProvider>
      </ClientContext.Provider>,
    );
    for (let i = 0; i < 3; i++) {
      await act(() => vi.advanceTimersByTimeAsync(STATUS_INTERVAL_MS));
    }
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(renders.status).toBeGreaterThan(3);
    expect(renders.recoveries).toBe(1);

    down = true;
    await act(() => vi.advanceTimersByTimeAsync(STATUS_INTERVAL_MS));
    down = false;
    await act(() => vi.advanceTimersByTimeAsync(STATUS_INTERVAL_MS));
    expect(lastRecoveries).toBe(1);
    expect(renders.recoveries).toBe(2);
  });
});
