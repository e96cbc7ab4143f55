import type { StreamLogsOptions } from "@workflow-manager/workflowd-client";
import { act, cleanup, renderHook } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { ClientContext } from "../components/clientContext";
import { fakeClient, fakeLogStream, outputEvent, type StreamTally } from "../components/testFixtures";
import { STALL_AFTER_END_MS, useLiveLog } from "./useLiveLog";

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("useLiveLog", () => {
  it("keeps reopening a log that stalls after its execution ended, and leaves no stream open", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    const streams: StreamLogsOptions[] = [];
    const tally: StreamTally = { open: 0 };
    // A proxy holding dead connections open: no `finished`, no error.
    const client = fakeClient({
      streamLogs: (_id, o = {}) => {
        streams.push(o);
        return fakeLogStream([outputEvent(1, "one")], o, undefined, tally);
      },
    });
    const wrapper = ({ children }: { children: ReactNode }) => <ClientContext.Provider value={client}>{children}</ClientContext.Provider>;
    const { unmount } = renderHook(() => useLiveLog("e1", undefined, true), { wrapper });
    const wait = async (ms: number) => {
      for (let t = 0; t < ms; t += 250) await act(() => vi.advanceTimersByTimeAsync(250));
    };
    await wait(100);
    expect(streams).toHaveLength(1);
    await wait(STALL_AFTER_END_MS * 3 + 1000);
    // Once per stall period (each reopen after its backoff), not just once.
    expect(streams.length).toBeGreaterThanOrEqual(3);
    expect(streams.at(-1)).toMatchObject({ fromSequence: 2 });
    unmount();
    await wait(100);
    expect(tally.open).toBe(0);
  });
});
