// "Download": the whole log fetched again from sequence 1 (memory may hold
// only the newest lines) as a Blob, for saveBlob.
import type { DashboardClient } from "../../components/clientContext";
import { SLICE_MS, yieldToBrowser } from "./logFollower";
import { toLogLine, lineAsText } from "./logLine";

export interface FetchLogOptions {
  /** Stops the download (the Stop button, leaving the page). */
  signal?: AbortSignal;
  /** Lets the browser run between slices of lines; injectable for tests. */
  yieldToBrowser?: () => Promise<void>;
  now?: () => number;
}

/** The whole log as text, one line per event. */
export async function fetchLogText(
  client: Pick<DashboardClient, "streamLogs">,
  executionId: string,
  o: FetchLogOptions = {},
): Promise<Blob> {
  const pause = o.yieldToBrowser ?? yieldToBrowser;
  const now = o.now ?? (() => performance.now());
  // Joined in chunks: one string per line would double the peak memory.
  const chunks: string[] = [];
  let lines: string[] = [];
  let sliceStart = now();
  for await (const ev of client.streamLogs(executionId, { fromSequence: 1, follow: false, ...(o.signal ? { signal: o.signal } : {}) })) {
    const line = toLogLine(ev);
    lines.push(lineAsText(line, line.timeMs ? new Date(line.timeMs).toISOString() : ""));
    if (lines.length >= 10_000) {
      chunks.push(lines.join("\n") + "\n");
      lines = [];
    }
    // A stored log arrives faster than it is formatted, in microtasks that
    // never yield: without slicing, a long log freezes the page.
    if (now() - sliceStart > SLICE_MS) {
      await pause();
      sliceStart = now();
    }
    o.signal?.throwIfAborted();
  }
  if (lines.length > 0) {
    chunks.push(lines.join("\n") + "\n");
  }
  return new Blob(chunks, { type: "text/plain;charset=utf-8" });
}
