// One JSON line of figures per benchmark, on stdout (grep '"bench"'), and
// appended to the file BENCH_OUT names, when set, for scripts.
import { appendFileSync } from "node:fs";

export function report(bench: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ bench, ...figures });
  console.log(line);
  const out = process.env["BENCH_OUT"];
  if (out) appendFileSync(out, `${line}\n`);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
