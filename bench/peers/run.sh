#!/usr/bin/env bash
# The peer comparison in one command (bench/README.md, "Peers"): builds the
# Temporal dev server (go install, pinned: @latest is refused by the module
# proxy since its go.mod has a replace directive), the Go worker and
# starter in this directory, and workflowd; starts the three on loopback
# with their own data in a temporary directory; and runs the same program
# (examples/workflows/hello.sh) through each, taking turns. Not part of the
# test command. Sizes: PEERS_LATENCY_RUNS, PEERS_EXECUTIONS, PEERS_LEVELS,
# PEERS_ROUNDS.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
gobin=$(go env GOPATH)/bin
temporal=$(command -v temporal || echo "$gobin/temporal")
if [ ! -x "$temporal" ]; then
    echo "==> go install the Temporal CLI v1.5.1 (its dev server; several minutes)"
    go install github.com/temporalio/cli/cmd/temporal@v1.5.1
fi
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "==> building the peers tool and workflowd"
(cd bench/peers && go build -o "$work/peers" .)
cargo build --release --bin workflowd --quiet

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
frontend=$(free_port)
"$temporal" server start-dev --headless --log-level error \
    --ip 127.0.0.1 --port "$frontend" --ui-port "$(free_port)" \
    --metrics-port "$(free_port)" --http-port "$(free_port)" \
    --db-filename "$work/temporal.sqlite3" ${PEERS_TEMPORAL_FLAGS:-} >"$work/temporal.log" 2>&1 &
pids+=($!)
temporal_pid=$!

mkfifo "$work/listening"
WORKFLOWD_LOG=warn target/release/workflowd --listen 127.0.0.1:0 \
    --data-dir "$work/workflowd" --workflow-dir "$root/examples/workflows" \
    >"$work/listening" 2>"$work/workflowd.log" &
pids+=($!)
workflowd_pid=$!
read -r line <"$work/listening"
workflowd_address=${line#listening on }
# Keep draining the daemon's stdout so it never blocks on the fifo.
cat "$work/listening" >/dev/null &
pids+=($!)

"$work/peers" worker -temporal "127.0.0.1:$frontend" 2>"$work/worker.log" &
pids+=($!)
worker_pid=$!

echo "==> measuring (Temporal dev server on :$frontend, workflowd on $workflowd_address)"
"$work/peers" measure \
    -temporal "127.0.0.1:$frontend" -workflowd "$workflowd_address" \
    -program "$root/examples/workflows/hello.sh" \
    -latency-runs "${PEERS_LATENCY_RUNS:-100}" -executions "${PEERS_EXECUTIONS:-200}" \
    -levels "${PEERS_LEVELS:-2,8}" -rounds "${PEERS_ROUNDS:-3}" \
    -rss "temporal server=$temporal_pid,temporal worker=$worker_pid,workflowd=$workflowd_pid"
