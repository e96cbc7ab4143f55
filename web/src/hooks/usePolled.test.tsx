import { act, cleanup, render, screen } from "@testing-library/react";
import { useState } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { usePolled } from "./usePolled";

afterEach(cleanup);

let visibility: DocumentVisibilityState = "visible";
beforeEach(() => {
  visibility = "visible";
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => visibility });
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function setVisibility(v: DocumentVisibilityState) {
  visibility = v;
  document.dispatchEvent(new Event("visibilitychange"));
}

function Probe({ load, live = true }: { load: () => Promise<number>; live?: boolean }) {
  const p = usePolled(load, { intervalMs: 2000, key: "k", live });
  return (
    <output aria-label="probe">
      {String(p.data)}/{p.failures}/{p.recoveries}
    </output>
  );
}

const text = () => screen.getByLabelText("probe").textContent;

describe("usePolled", () => {
  it("calls at once, then every interval after each answer", async () => {
    let n = 0;
    const load = vi.fn(() => Promise.resolve(++n));
    render(<Probe load={load} />);
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(text()).toBe("1/0/0");
    await act(() => vi.advanceTimersByTimeAsync(1999));
    expect(load).toHaveBeenCalledTimes(1);
    await act(() => vi.advanceTimersByTimeAsync(1));
    expect(text()).toBe("2/0/0");
  });

  it("pauses while the tab is hidden and refreshes when it shows", async () => {
    const load = vi.fn(() => Promise.resolve(1));
    render(<Probe load={load} />);
    await act(() => vi.advanceTimersByTimeAsync(0));
    act(() => setVisibility("hidden"));
    await act(() => vi.advanceTimersByTimeAsync(60_000));
    expect(load).toHaveBeenCalledTimes(1);
    act(() => setVisibility("visible"));
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(load).toHaveBeenCalledTimes(2);
  });

  it("keeps the last answer through failures and counts the recovery", async () => {
    let fail = false;
    const load = vi.fn(() => (fail ? Promise.reject(new Error("down")) : Promise.resolve(7)));
    render(<Probe load={load} />);
    await act(() => vi.advanceTimersByTimeAsync(0));
    fail = true;
    await act(() => vi.advanceTimersByTimeAsync(4000));
    expect(text()).toBe("7/2/0");
    fail = false;
    await act(() => vi.advanceTimersByTimeAsync(2000));
    expect(text()).toBe("7/0/1");
  });

  it("loads once when not live", async () => {
    const load = vi.fn(() => Promise.resolve(1));
    render(<Probe load={load} live={false} />);
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(load).toHaveBeenCalledTimes(1);
  });

  it("stops without another call once an answer says to, and resumes when live again", async () => {
    let n = 0;
    const load = vi.fn(() => Promise.resolve(++n));
    // Live until the third answer, like a list that stops once nothing is pending.
    function Until3({ resume }: { resume: boolean }) {
      const [pending, setPending] = useState(true);
      const p = usePolled(
        async () => {
          const v = await load();
          setPending(v < 3);
          return v;
        },
        { intervalMs: 2000, key: "k", live: resume || pending },
      );
      return <output aria-label="probe">{String(p.data)}</output>;
    }
    const { rerender } = render(<Until3 resume={false} />);
    for (let t = 0; t < 20; t++) await act(() => vi.advanceTimersByTimeAsync(500));
    expect(load).toHaveBeenCalledTimes(3);
    expect(text()).toBe("3");
    rerender(<Until3 resume />);
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(load).toHaveBeenCalledTimes(4);
  });

  it("stops at the answer continueWhile rejects, with no call after it, even when the tab shows again", async () => {
    let n = 0;
    const load = vi.fn(() => Promise.resolve(++n));
    function Until2() {
      const p = usePolled(load, { intervalMs: 2000, key: "k", continueWhile: (v) => v < 2 });
      return <output aria-label="probe">{String(p.data)}</output>;
    }
    render(<Until2 />);
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(load).toHaveBeenCalledTimes(2);
    setVisibility("hidden");
    setVisibility("visible");
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(load).toHaveBeenCalledTimes(2);
    expect(text()).toBe("2");
  });
});
