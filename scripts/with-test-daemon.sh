#!/usr/bin/env bash
# Runs a command with a fresh workflowd serving on a free loopback port:
#
#   scripts/with-test-daemon.sh scripts/test-clients.sh
#
# Starts target/release/workflowd (or $WORKFLOWD_BIN) with --listen
# 127.0.0.1:0 and a temporary --data-dir, waits for its one stdout line
# `listening on 127.0.0.1:PORT`, exports WORKFLOWD_ADDR, runs the command,
# with WORKFLOWD_TEST_SOURCE_DIR (a source root: manifests may read disks
# from it) and WORKFLOWD_TEST_OUTPUT_DIR (the daemon's output directory)
# exported too,
# then stops the daemon (SIGTERM, SIGKILL after 10 s) and removes the data
# dir. The daemon's stderr log is kept in $WORKFLOWD_TEST_LOG (default: in the
# data dir, printed when the command fails). Exits with the command's status.
#
# WORKFLOWD_TEST_AUTH=tokens starts it with --auth tokens instead and exports
# WORKFLOWD_TEST_ADMIN_TOKEN, the admin token the daemon writes to its data
# dir on first start (scripts/test-clients.sh runs the clients' auth tests
# so).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${WORKFLOWD_BIN:-$REPO_ROOT/target/release/workflowd}"
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
[ -x "$BIN" ] || { echo "error: $BIN not found; build it with: cargo build --release --bin workflowd" >&2; exit 1; }
auth_args=()
case "${WORKFLOWD_TEST_AUTH:-}" in
  "") ;;
  tokens) auth_args=(--auth tokens) ;;
  *) echo "error: WORKFLOWD_TEST_AUTH=$WORKFLOWD_TEST_AUTH: only 'tokens' (or unset)" >&2; exit 2 ;;
esac

data_dir="$(mktemp -d "${TMPDIR:-/tmp}/workflowd-test.XXXXXX")"
log_file="${WORKFLOWD_TEST_LOG:-$data_dir/workflowd.log}"
fifo="$data_dir/stdout"
mkfifo "$fifo"
# Outside the data directory, which the daemon keeps private (0700).
io_dir="$(mktemp -d "${TMPDIR:-/tmp}/workflowd-test-io.XXXXXX")"
export WORKFLOWD_TEST_SOURCE_DIR="$io_dir/sources" WORKFLOWD_TEST_OUTPUT_DIR="$io_dir/output"
mkdir -p "$WORKFLOWD_TEST_SOURCE_DIR"
"$BIN" --listen 127.0.0.1:0 --data-dir "$data_dir" \
  --source-root "$WORKFLOWD_TEST_SOURCE_DIR" --output-dir "$WORKFLOWD_TEST_OUTPUT_DIR" \
  "${auth_args[@]}" >"$fifo" 2>"$log_file" &
daemon_pid=$!

stop_daemon() {
  if kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$daemon_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  wait "$daemon_pid" 2>/dev/null || true
}
cleanup() {
  exec 3<&- 2>/dev/null || true
  stop_daemon
  rm -rf "$data_dir" "$io_dir"
}
trap cleanup EXIT

exec 3<"$fifo"
line=""
if ! IFS= read -r -t 60 line <&3; then
  echo "error: workflowd printed no 'listening on' line within 60 s; its log:" >&2
  cat "$log_file" >&2
  exit 1
fi
case "$line" in
  "listening on "*) WORKFLOWD_ADDR="${line#listening on }" ;;
  *) echo "error: unexpected first stdout line from workflowd: $line" >&2; cat "$log_file" >&2; exit 1 ;;
esac
export WORKFLOWD_ADDR
if [ ${#auth_args[@]} -gt 0 ]; then
  # Written before the daemon listens (0600, ours: we started it).
  WORKFLOWD_TEST_ADMIN_TOKEN="$(tr -d '[:space:]' <"$data_dir/admin.token")"
  export WORKFLOWD_TEST_ADMIN_TOKEN
else
  # The auth tests run when it is set: never against this daemon.
  unset WORKFLOWD_TEST_ADMIN_TOKEN
fi
# Keep draining stdout so the daemon never blocks on a full pipe.
cat <&3 >/dev/null &
echo "==> workflowd (pid $daemon_pid) listening on $WORKFLOWD_ADDR, data in $data_dir" >&2

status=0
"$@" || status=$?
if [ "$status" -ne 0 ] && [ -z "${WORKFLOWD_TEST_LOG:-}" ]; then
  echo "==> command failed ($status); last lines of the daemon log:" >&2
  tail -n 50 "$log_file" >&2 || true
fi
exit "$status"
