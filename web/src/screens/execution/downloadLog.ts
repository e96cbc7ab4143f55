// "Download": the whole log fetched again from sequence 1 (memory may hold
// only the newest lines) and handed to the browser as a Blob; no server route.
import type { DashboardClient } from "../../components/clientContext";
import { toLogLine, lineAsText } from "./logLine";

/** The whole log as text, one line per event. */
export async function fetchLogText(client: Pick<DashboardClient, "streamLogs">, executionId: string, signal?: AbortSignal): Promise<Blob> {
  // Joined in chunks: one string per line would double the peak memory.
  const chunks: string[] = [];
  let lines: string[] = [];
  for await (const ev of client.streamLogs(executionId, { fromSequence: 1, follow: false, ...(signal ? { signal } : {}) })) {
    const line = toLogLine(ev);
    lines.push(lineAsText(line, line.timeMs ? new Date(line.timeMs).toISOString() : ""));
    if (lines.length >= 10_000) {
      chunks.push(lines.join("\n") + "\n");
      lines = [];
    }
  }
  if (lines.length > 0) {
    chunks.push(lines.join("\n") + "\n");
  }
  return new Blob(chunks, { type: "text/plain;charset=utf-8" });
}

/** Saves a Blob under a file name through a temporary object URL. */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started by then; revoking at once can cancel it in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
