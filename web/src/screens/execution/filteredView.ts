// Which buffered lines pass the stream checkboxes and the search text, as
// absolute positions into a LogBuffer. Updated incrementally: each flush
// scans only the lines appended since the previous one, so filtering stays
// cheap while 5,000 lines a second arrive.
import { KIND_EVENT, KIND_STDERR, KIND_STDOUT, type LineKind, type LogBuffer } from "./logBuffer";

export interface LineFilter {
  stdout: boolean;
  stderr: boolean;
  events: boolean;
  /** Case-insensitive substring of the text or kind column; "" for all. */
  query: string;
}

export const SHOW_ALL: LineFilter = { stdout: true, stderr: true, events: true, query: "" };

export function filtersNothing(f: LineFilter): boolean {
  return f.stdout && f.stderr && f.events && f.query.trim() === "";
}

function kindShown(f: LineFilter, kind: LineKind | undefined): boolean {
  switch (kind) {
    case KIND_STDOUT:
      return f.stdout;
    case KIND_STDERR:
      return f.stderr;
    case KIND_EVENT:
      return f.events;
    default:
      return false;
  }
}

export class FilteredView {
  private positions: number[] = [];
  private offset = 0;
  private scannedTo: number;
  private readonly needle: string;
  private readonly all: boolean;

  constructor(
    private readonly buffer: LogBuffer,
    private readonly filter: LineFilter,
  ) {
    this.needle = filter.query.trim().toLowerCase();
    this.all = filtersNothing(filter);
    this.scannedTo = buffer.startPos;
  }

  /** Catches up with lines appended and dropped since the last call. */
  update(): void {
    if (this.all) {
      return;
    }
    const b = this.buffer;
    // Dropped lines leave the front of the view.
    while (this.offset < this.positions.length && (this.positions[this.offset] ?? 0) < b.startPos) {
      this.offset++;
    }
    if (this.offset > 4096 && this.offset > this.positions.length / 2) {
      this.positions = this.positions.slice(this.offset);
      this.offset = 0;
    }
    for (let pos = Math.max(this.scannedTo, b.startPos); pos < b.endPos; pos++) {
      if (!kindShown(this.filter, b.kindAt(pos))) {
        continue;
      }
      if (this.needle !== "") {
        const text = b.textAt(pos) ?? "";
        const label = b.labelAt(pos) ?? "";
        if (!text.toLowerCase().includes(this.needle) && !label.toLowerCase().includes(this.needle)) {
          continue;
        }
      }
      this.positions.push(pos);
    }
    this.scannedTo = b.endPos;
  }

  /** Number of rows shown. */
  get count(): number {
    return this.all ? this.buffer.length : this.positions.length - this.offset;
  }

  /** The buffer position of a row. */
  positionAt(row: number): number {
    return this.all ? this.buffer.startPos + row : (this.positions[this.offset + row] ?? -1);
  }

  /** The row of the first shown line at or after a buffer position; undefined when none. */
  rowAtOrAfter(pos: number): number | undefined {
    if (this.all) {
      const row = pos - this.buffer.startPos;
      return row >= 0 && row < this.buffer.length ? row : undefined;
    }
    let lo = this.offset;
    let hi = this.positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.positions[mid] ?? 0) < pos) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo < this.positions.length ? lo - this.offset : undefined;
  }
}
