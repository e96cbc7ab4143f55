// A fresh workflowd for one test file, started as scripts/with-test-daemon.sh
// starts it: a free loopback port, temporary data, source and output
// directories, and its one stdout line `listening on 127.0.0.1:PORT` as the
// signal that it serves. Its stderr log is kept in a file so a failing test
// can print it.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const REPO_ROOT = resolve(WEB_DIR, "..");
/** The fixture programs of the browser tests (phased, paced). */
export const E2E_WORKFLOWS = join(WEB_DIR, "e2e", "workflows");

/** The daemon under test: WORKFLOWD_BIN, else the release build (what CI embeds the checked-in dist in). */
export function daemonBinary(): string {
  return process.env["WORKFLOWD_BIN"] ?? join(REPO_ROOT, "target", "release", "workflowd");
}

export interface DaemonOptions {
  maxConcurrentJobs?: number;
  maxQueue?: number;
  /** Extra flags, e.g. ["--default-grace-period", "1"]. */
  extraArgs?: string[];
}

export interface Daemon {
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  dataDir: string;
  /** A --source-root: manifests may read disks from here. */
  sourceRoot: string;
  /** The --output-dir the VM pipeline writes converted disks to. */
  outputDir: string;
  logFile: string;
  /** The daemon's stderr so far. */
  log(): Promise<string>;
  /** SIGTERM, SIGKILL after 10 s, then the temporary directories removed. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export async function startDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const bin = daemonBinary();
  if (!existsSync(bin)) {
    throw new Error(`${bin} not found: build it (cargo build --release --bin workflowd) or set WORKFLOWD_BIN`);
  }
  const root = await mkdtemp(join(tmpdir(), "workflowd-e2e-"));
  // The data directory is the daemon's own (it makes it 0700); sources and
  // outputs live beside it, as with-test-daemon.sh keeps them.
  const dataDir = join(root, "data");
  const sourceRoot = join(root, "sources");
  const outputDir = join(root, "output");
  const logFile = join(root, "workflowd.log");
  await mkdir(sourceRoot, { recursive: true });

  const args = [
    "--listen", "127.0.0.1:0",
    "--data-dir", dataDir,
    // --workflow-dir replaces the defaults, so the bundled directory is
    // named too: the daemon installs vm_pipeline and the examples of
    // examples/workflows there (research_pipeline, ignore_sigterm, hello...;
    // naming examples/workflows as well would discover each twice).
    "--workflow-dir", join(dataDir, "bundled-workflows"),
    "--workflow-dir", E2E_WORKFLOWS,
    "--source-root", sourceRoot,
    "--output-dir", outputDir,
  ];
  if (options.maxConcurrentJobs !== undefined) args.push("--max-concurrent-jobs", String(options.maxConcurrentJobs));
  if (options.maxQueue !== undefined) args.push("--max-queue", String(options.maxQueue));
  args.push(...(options.extraArgs ?? []));

  const log = createWriteStream(logFile);
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stderr.pipe(log);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));

  let baseUrl: string;
  try {
    baseUrl = await listeningAddress(child);
  } catch (err) {
    child.kill("SIGKILL");
    await exited;
    const text = await readFile(logFile, "utf8").catch(() => "");
    await rm(root, { recursive: true, force: true });
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- workflowd log ---\n${text}`, { cause: err });
  }

  let stopped: Promise<void> | undefined;
  return {
    baseUrl,
    dataDir,
    sourceRoot,
    outputDir,
    logFile,
    log: () => readFile(logFile, "utf8"),
    stop: () => (stopped ??= stop(child, exited, async () => {
      log.end();
      await rm(root, { recursive: true, force: true });
    })),
  };
}

/** Reads the one `listening on` line; the rest of stdout is drained so the daemon never blocks. */
function listeningAddress(child: ChildProcess): Promise<string> {
  return new Promise((done, fail) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error(`workflowd printed no 'listening on' line within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    let first = true;
    lines.on("line", (line) => {
      if (!first) return;
      first = false;
      clearTimeout(timer);
      const match = /^listening on (\S+)$/.exec(line);
      if (match?.[1]) {
        done(`http://${match[1]}`);
      } else {
        fail(new Error(`unexpected first stdout line from workflowd: ${line}`));
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`workflowd exited before listening (code ${code}, signal ${signal})`));
    });
  });
}

async function stop(child: ChildProcess, exited: Promise<void>, cleanup: () => Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  await cleanup();
}
