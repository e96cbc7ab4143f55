// The live log: virtualised rows over the LogBuffer, stream and text
// filters, follow/pause, jump to a sequence (also ?seq=N) and download.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useDeferredValue, useEffect, useId, useMemo, useRef, useState, type FormEvent } from "react";

import { useClient } from "../../components/clientContext";
import { errorText } from "../../components/ErrorBanner";
import { formatClock } from "../../format";
import { useLiveLog, type LiveLog } from "../../hooks/useLiveLog";
import { saveBlob } from "../../components/saveFile";
import { fetchLogText } from "./downloadLog";
import { FilteredView, type LineFilter } from "./filteredView";
import { DEFAULT_CAP, KIND_EVENT, KIND_STDERR } from "./logBuffer";
import type { LogStreamStatus } from "./logFollower";

export const ROW_HEIGHT = 20;

const STATUS_TEXT: Record<LiveLog["status"], string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  ended: "Ended",
  failed: "Stream failed",
  window: "Paused at the memory limit",
};

export interface LogViewProps {
  executionId: string;
  /** Called on events that change the execution (its tree, state, artifacts). */
  onExecutionEvent: () => void;
  /** Whether the execution is known to have ended (its log then must end too). */
  executionEnded: boolean;
  /** The sequence to show (from ?seq=N); undefined for none. */
  targetSeq: number | undefined;
  /** Records a jump in the URL; undefined clears it (following again). */
  onJump: (seq: number | undefined) => void;
  /** Most lines kept in memory (tests use a small one). */
  cap?: number;
  /** Log events the execution has so far (its log_counts.total), 0 when unknown. */
  logTotal?: number;
  /** Told when the stream's status changes (e.g. to poll while it is not live). */
  onStatus?: (status: LogStreamStatus) => void;
}

/**
 * Where the live log starts: only the newest `cap` lines can be kept, so
 * replaying older ones from sequence 1 would be work thrown away.
 */
export function liveStartSeq(logTotal: number, cap: number): number {
  return Math.max(1, logTotal - cap + 1);
}

// The log owns its stream state so that its per-frame updates re-render only
// the log, never the page's header and tree.
export function LogView({
  executionId,
  onExecutionEvent,
  executionEnded,
  targetSeq,
  onJump,
  cap = DEFAULT_CAP,
  logTotal = 0,
  onStatus,
}: LogViewProps) {
  const client = useClient();
  // A ?seq deep link opens straight into a window at its target.
  const [start] = useState(() =>
    targetSeq !== undefined ? { seq: targetSeq, window: true } : { seq: liveStartSeq(logTotal, cap), window: false },
  );
  const log = useLiveLog(executionId, onExecutionEvent, executionEnded, cap, start);
  const { buffer, version } = log;
  const ids = useId();
  const scrollRef = useRef<HTMLDivElement>(null);
  const [filter, setFilter] = useState<LineFilter>({ stdout: true, stderr: true, events: true, query: "" });
  const [follow, setFollow] = useState(targetSeq === undefined);
  const [jumpText, setJumpText] = useState(targetSeq !== undefined ? String(targetSeq) : "");
  const [jumpNote, setJumpNote] = useState("");
  const [jumpCount, setJumpCount] = useState(0);
  const [download, setDownload] = useState<{ busy: boolean; error?: unknown }>({ busy: false });
  const downloadRef = useRef<AbortController | undefined>(undefined);
  useEffect(() => () => downloadRef.current?.abort(), []);

  const onStatusRef = useRef(onStatus);
  useEffect(() => {
    onStatusRef.current = onStatus;
  });
  useEffect(() => {
    onStatusRef.current?.(log.status);
  }, [log.status]);

  // Re-filtering 200,000 lines takes a while: typing stays responsive and
  // the list follows when React gets to it.
  const deferredFilter = useDeferredValue(filter);
  const view = useMemo(() => new FilteredView(buffer, deferredFilter), [buffer, deferredFilter]);
  // The view catches up with each flush; `version` is what says there is more.
  const { count, total } = useMemo(() => {
    view.update();
    return { count: view.count, total: buffer.length };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [view, version]);

  // No React Compiler in this build, so its memoisation warning does not apply.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 30,
  });

  // Following writes scrollTop from the known row height instead of calling
  // scrollToIndex: the virtualiser's scroll commands read the scroll height
  // back for frames afterwards, forcing a layout each time, which at
  // thousands of lines a second blocked the main thread for 100+ ms.
  useEffect(() => {
    const el = scrollRef.current;
    if (follow && el && count > 0) {
      el.scrollTop = count * ROW_HEIGHT;
    }
  }, [follow, count]);

  // A pending jump (from the URL or the form) lands once its line is here;
  // lines dropped or never loaded are streamed again from that sequence.
  const targetPos = targetSeq === undefined ? undefined : buffer.positionOfSeq(targetSeq);
  const targetRow = targetPos === undefined ? undefined : view.rowAtOrAfter(targetPos);
  // Reloaded too past the end of a full window: that window takes no more
  // lines. A window already opened at the target is not opened again; the
  // live log's first line is no window. While following, a target still in
  // the URL is on its way out (react-router updates the URL in a
  // transition, after Follow's own render): reloading it would reopen the
  // old window under a ticked Follow.
  const needsReload =
    !follow &&
    targetSeq !== undefined &&
    !(buffer.keepOldest && buffer.firstSeq === targetSeq) &&
    (targetSeq < buffer.oldestSeq || (buffer.full && targetSeq > buffer.lastSeq));
  const { restartAt } = log;
  useEffect(() => {
    if (needsReload && targetSeq !== undefined) {
      restartAt(targetSeq, true);
    }
  }, [needsReload, targetSeq, restartAt]);
  // Scrolled to once per jump (and per filter or reload): the target's row
  // moves as old lines are dropped, and the reader must not be pulled back
  // on every update.
  const landed = useRef<{ view: FilteredView; seq: number; jump: number } | undefined>(undefined);
  useEffect(() => {
    if (targetRow === undefined || targetSeq === undefined) {
      return;
    }
    const done = landed.current;
    if (done && done.view === view && done.seq === targetSeq && done.jump === jumpCount) {
      return;
    }
    landed.current = { view, seq: targetSeq, jump: jumpCount };
    virtualizer.scrollToIndex(targetRow, { align: "center" });
  }, [targetRow, targetSeq, view, virtualizer, jumpCount]);

  const jump = (e: FormEvent) => {
    e.preventDefault();
    const seq = Number.parseInt(jumpText, 10);
    if (!Number.isSafeInteger(seq) || seq < 1) {
      setJumpNote("Enter a sequence number of 1 or more.");
      return;
    }
    setJumpNote(seq > buffer.lastSeq && log.status === "ended" ? `The log ends at sequence ${buffer.lastSeq}.` : "");
    setFollow(false);
    setJumpCount((n) => n + 1);
    onJump(seq);
  };

  const startDownload = async () => {
    const controller = new AbortController();
    downloadRef.current = controller;
    setDownload({ busy: true });
    try {
      const blob = await fetchLogText(client, executionId, { signal: controller.signal });
      saveBlob(blob, `execution-${executionId}.log`);
      setDownload({ busy: false });
    } catch (error) {
      // Stopped on purpose (or the page left): nothing to report.
      setDownload(controller.signal.aborted ? { busy: false } : { busy: false, error });
    } finally {
      if (downloadRef.current === controller) {
        downloadRef.current = undefined;
      }
    }
  };

  const lastScrollTop = useRef(0);
  const notLoaded = buffer.oldestSeq - 1;
  const rows = virtualizer.getVirtualItems();

  return (
    <section aria-label="Log" className="card stack log-section">
      <div className="row log-header">
        <h2>Log</h2>
        <span role="status" className={`log-status log-status-${log.status}`}>
          {STATUS_TEXT[log.status]}
          {log.status === "reconnecting" || log.status === "failed" ? (log.error ? ` — ${errorText(log.error)}` : "") : ""}
        </span>
        <span className="muted">
          {count.toLocaleString()} {count === 1 ? "line" : "lines"}
          {count !== total ? ` of ${total.toLocaleString()}` : ""}
        </span>
      </div>

      <div className="row log-controls">
        <label className="inline-check">
          <input
            type="checkbox"
            checked={follow}
            onChange={(e) => {
              setFollow(e.target.checked);
              if (e.target.checked && targetSeq !== undefined) {
                onJump(undefined);
              }
              // A jump's window stops short of the live end: following starts over.
              if (e.target.checked && buffer.keepOldest) {
                restartAt(liveStartSeq(logTotal, cap), false);
              }
            }}
          />{" "}
          Follow
        </label>
        <fieldset className="row inline-fieldset">
          <legend className="visually-hidden">Streams</legend>
          {(["stdout", "stderr", "events"] as const).map((k) => (
            <label key={k} className="inline-check">
              <input type="checkbox" checked={filter[k]} onChange={(e) => setFilter((f) => ({ ...f, [k]: e.target.checked }))} /> {k}
            </label>
          ))}
        </fieldset>
        <div className="field inline-field">
          <label htmlFor={`${ids}-search`}>Search log</label>
          <input
            id={`${ids}-search`}
            type="search"
            value={filter.query}
            onChange={(e) => setFilter((f) => ({ ...f, query: e.target.value }))}
          />
        </div>
        <form className="row" onSubmit={jump}>
          <div className="field inline-field">
            <label htmlFor={`${ids}-seq`}>Sequence</label>
            <input
              id={`${ids}-seq`}
              type="number"
              min={1}
              inputMode="numeric"
              value={jumpText}
              onChange={(e) => setJumpText(e.target.value)}
            />
          </div>
          <button type="submit" className="button">
            Jump
          </button>
        </form>
        <button type="button" className="button" onClick={() => void startDownload()} disabled={download.busy}>
          {download.busy ? "Preparing download…" : "Download log"}
        </button>
        {download.busy && (
          <button type="button" className="button" onClick={() => downloadRef.current?.abort()}>
            Stop download
          </button>
        )}
      </div>
      {jumpNote !== "" && <p className="muted">{jumpNote}</p>}
      {download.error !== undefined && (
        <p className="error-banner" role="alert">
          Download failed: {errorText(download.error)}
        </p>
      )}
      {buffer.full && (
        <p className="note" role="note">
          Showing sequences {buffer.oldestSeq.toLocaleString()}–{buffer.lastSeq.toLocaleString()} (memory limit of{" "}
          {buffer.cap.toLocaleString()} lines). Turn on Follow to return to the live end, or download the whole log.
        </p>
      )}
      {notLoaded > 0 && (
        <p className="note" role="note">
          {buffer.dropped > 0
            ? `${notLoaded.toLocaleString()} earlier lines are no longer kept in memory (limit ${buffer.cap.toLocaleString()}).`
            : `Showing from sequence ${buffer.oldestSeq}; lines before it are not loaded.`}{" "}
          Jump to a sequence to load them from the daemon, or download the whole log.
        </p>
      )}

      <div
        ref={scrollRef}
        className="log-scroll"
        role="log"
        aria-live="off"
        aria-label="Log lines"
        tabIndex={0}
        onWheel={(e) => {
          // Scrolling up to read means the reader no longer wants to be pulled down.
          if (e.deltaY < 0 && follow) setFollow(false);
        }}
        onKeyDown={(e) => {
          // The keyboard's intent, seen before a fast log's next follow
          // scroll can undo the move (onScroll below only sees where the
          // view ended up).
          const up = e.key === "ArrowUp" || e.key === "PageUp" || e.key === "Home" || (e.key === " " && e.shiftKey);
          if (up && follow) setFollow(false);
        }}
        onPointerDown={(e) => {
          // A press on the box itself, not on a line: its scroll bar.
          if (e.target === e.currentTarget && follow) setFollow(false);
        }}
        onScroll={(e) => {
          // The same for the keyboard and the scroll bar. Following only ever
          // scrolls down (or is clamped at the bottom when a filter shortens
          // the list), so moving up and away from the bottom is the reader.
          const el = e.currentTarget;
          const top = el.scrollTop;
          const movedUp = top < lastScrollTop.current;
          lastScrollTop.current = top;
          if (follow && movedUp && el.scrollHeight - el.clientHeight - top > ROW_HEIGHT) {
            setFollow(false);
          }
        }}
      >
        <div className="log-inner" style={{ height: virtualizer.getTotalSize() }}>
          {rows.map((row) => {
            const pos = view.positionAt(row.index);
            const line = buffer.at(pos);
            if (!line) {
              return null;
            }
            const kindClass = line.kind === KIND_STDERR ? "log-stderr" : line.kind === KIND_EVENT ? "log-event" : "log-stdout";
            const target = targetSeq !== undefined && row.index === targetRow ? " log-target" : "";
            return (
              <div
                key={line.seq}
                className={`log-row ${kindClass}${target}`}
                style={{ transform: `translateY(${row.start}px)` }}
                data-seq={line.seq}
              >
                <span className="log-seq">{line.seq}</span>
                <span className="log-time">{line.timeMs ? formatClock(line.timeMs) : ""}</span>
                <span className="log-kind">{line.label}</span>
                <span className="log-text">{line.text}</span>
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
