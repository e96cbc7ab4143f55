// The in-memory log of the execution page. Tens of thousands of lines arrive
// per minute, so lines are kept column-wise in plain arrays (no object per
// line) and capped: beyond `cap` lines the oldest are dropped and counted,
// and can be loaded again from the daemon by jumping to their sequence.

/** What a line is, for the stream filter. */
export const KIND_STDOUT = 0;
export const KIND_STDERR = 1;
export const KIND_EVENT = 2;
export type LineKind = typeof KIND_STDOUT | typeof KIND_STDERR | typeof KIND_EVENT;

/** One log line as stored and shown. */
export interface LogLine {
  seq: number;
  timeMs: number;
  kind: LineKind;
  /** The stream or event name shown in the kind column. */
  label: string;
  text: string;
}

export const DEFAULT_CAP = 200_000;

export class LogBuffer {
  private seqs: number[] = [];
  private times: number[] = [];
  private kinds: LineKind[] = [];
  private labels: string[] = [];
  private texts: string[] = [];
  /** Array index of the first kept line: dropping moves it, compaction resets it. */
  private head = 0;
  /** Lines dropped from the front since the buffer was created. */
  private droppedCount = 0;
  private last: number;

  /**
   * @param cap most lines kept in memory
   * @param firstSeq the sequence the buffer starts at (1 for the whole log)
   * @param keepOldest a window loaded for a jump: when full it refuses new
   *   lines instead of dropping old ones, so the jump target stays loaded
   */
  constructor(
    readonly cap: number = DEFAULT_CAP,
    readonly firstSeq: number = 1,
    readonly keepOldest: boolean = false,
  ) {
    this.last = firstSeq - 1;
  }

  /** A keepOldest window that has reached its cap and takes no more lines. */
  get full(): boolean {
    return this.keepOldest && this.length >= this.cap;
  }

  /** Lines in memory. */
  get length(): number {
    return this.seqs.length - this.head;
  }

  /**
   * Absolute position of the first kept line; positions never change, so
   * filtered views survive dropping.
   */
  get startPos(): number {
    return this.droppedCount;
  }

  /** One past the absolute position of the last line. */
  get endPos(): number {
    return this.droppedCount + this.length;
  }

  /** Lines dropped to stay under the cap. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** The last sequence appended (firstSeq - 1 when empty). */
  get lastSeq(): number {
    return this.last;
  }

  /** Where a resumed stream must start: right after the last line. */
  get nextSeq(): number {
    return this.last + 1;
  }

  /** The sequence of the oldest line in memory (nextSeq when empty). */
  get oldestSeq(): number {
    return this.length > 0 ? (this.seqs[this.head] ?? this.nextSeq) : this.nextSeq;
  }

  /**
   * Appends a line; false (and nothing stored) for a sequence already seen,
   * which is how a replay after a reconnect is de-duplicated.
   */
  append(line: LogLine): boolean {
    if (line.seq <= this.last || this.full) {
      return false;
    }
    this.seqs.push(line.seq);
    this.times.push(line.timeMs);
    this.kinds.push(line.kind);
    this.labels.push(line.label);
    this.texts.push(line.text);
    this.last = line.seq;
    if (this.length > this.cap) {
      this.head++;
      this.droppedCount++;
      this.compactIfWorthIt();
    }
    return true;
  }

  // Splicing on every drop would copy the arrays per line; compacting when a
  // quarter of the cap is dead keeps dropping amortised O(1).
  private compactIfWorthIt(): void {
    if (this.head < Math.max(1024, this.cap / 4)) {
      return;
    }
    const h = this.head;
    this.seqs = this.seqs.slice(h);
    this.times = this.times.slice(h);
    this.kinds = this.kinds.slice(h);
    this.labels = this.labels.slice(h);
    this.texts = this.texts.slice(h);
    this.head = 0;
  }

  private index(pos: number): number | undefined {
    if (pos < this.startPos || pos >= this.endPos) {
      return undefined;
    }
    return this.head + (pos - this.droppedCount);
  }

  /** The line at an absolute position; undefined when not in memory. */
  at(pos: number): LogLine | undefined {
    const i = this.index(pos);
    if (i === undefined) {
      return undefined;
    }
    return {
      seq: this.seqs[i] ?? 0,
      timeMs: this.times[i] ?? 0,
      kind: this.kinds[i] ?? KIND_EVENT,
      label: this.labels[i] ?? "",
      text: this.texts[i] ?? "",
    };
  }

  /** Kind and text at a position, without building a line: the filter's hot path. */
  kindAt(pos: number): LineKind | undefined {
    const i = this.index(pos);
    return i === undefined ? undefined : this.kinds[i];
  }

  textAt(pos: number): string | undefined {
    const i = this.index(pos);
    return i === undefined ? undefined : this.texts[i];
  }

  labelAt(pos: number): string | undefined {
    const i = this.index(pos);
    return i === undefined ? undefined : this.labels[i];
  }

  /**
   * The absolute position of the first line with sequence >= seq (sequences
   * are increasing, so a binary search); undefined when none is in memory.
   */
  positionOfSeq(seq: number): number | undefined {
    let lo = this.head;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.seqs[mid] ?? 0) < seq) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo >= this.seqs.length) {
      return undefined;
    }
    return this.droppedCount + (lo - this.head);
  }
}
