#!/usr/bin/env bash
# Every test of the project, on a fresh machine. Installs what is missing
# (qemu-utils, qemu-system-x86, util-linux, curl, tmux, postgresql, Rust components, Go
# tools, Python packages, buf, grpcurl; Debian's kernel, busybox and virtme-ng
# for the cgroup v2 VM in step 2; chromium and the npm packages in step 5),
# then runs:
#   1. cargo fmt --check, cargo clippy -D warnings (also of the daemon
#      alone), and the house rules clippy does not know (scripts/check-*.py);
#   2. cargo test: unit tests and the one integration-test binary (real
#      daemon processes, real SQLite files, gRPC on loopback), then the
#      daemon's tests again with the history in a real PostgreSQL, and the
#      resource-limit tests with cgroup v2 in a VM (scripts/test-cgroup-v2.sh);
#   3. the client tests (buf lint/breaking, generated-code drift, Go, Python,
#      grpcurl) against a live daemon started for them;
#   4. the MCP bridge tests with the official Python MCP client;
#   5. the web dashboard: lint, types, unit tests, the build drift check and
#      the browser tests (Chromium; scripts/test-web.sh);
#   6. every fuzz target for a bounded time, after replaying its past
#      crashes (scripts/fuzz.sh; cargo-fuzz and the nightly toolchain);
#   7. the README's first command as a new user runs it (scripts/test-first-run.sh).
# Benchmarks are not run here: see bench/ and README.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"
cd "$REPO_ROOT"

# Debian packages: qemu-utils and qemu-system-x86 (the VM pipeline tests
# use the real qemu-img, and boot a disk with qemu-system-x86_64) and
# util-linux (the disk-full tests give the daemon a tmpfs with unshare;
# run as root, the drop-folder test takes the daemon's right to read any
# file away with setpriv).
missing=()
command -v qemu-img >/dev/null 2>&1 || missing+=(qemu-utils)
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
{ command -v unshare && command -v setpriv; } >/dev/null 2>&1 || missing+=(util-linux)
# curl: the first-run script fetches the dashboard from the daemon.
command -v curl >/dev/null 2>&1 || missing+=(curl)
# tmux: the `wfctl tui` tests drive the real binary in a tmux session.
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
# systemd: the shipped units are checked with systemd-analyze verify.
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
# openssl: the Python client's TLS tests make their certificates with it.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# postgresql: the store's tests run against a real PostgreSQL server too
# (src/store/db/test_server.rs starts one from these binaries).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# A CI run builds everything once, from nothing: incremental caches would
# only take disk (gigabytes over the debug, release and fuzz builds).
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
log "disk free where the build goes: $(df -h --output=avail . | tail -n 1 | tr -d ' ')"

log "Rust toolchain components"
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy >&2
fi

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy --all-targets -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

log "house rules: no import cycle between sibling modules, long files say why"
python3 scripts/check-module-cycles.py src
python3 scripts/check-long-files.py src tests bench

log "the daemon builds without the clients (--no-default-features)"
cargo clippy --no-default-features --bin workflowd --quiet -- -D warnings

log "cargo build --release (binaries used by the client and MCP tests)"
cargo build --release --bins --quiet

log "cargo test"
cargo test --quiet

# The same binary again, its daemons keeping their history in PostgreSQL
# (a fresh database each on a server the tests start; docs/postgres.md).
log "the daemon's tests with the history in PostgreSQL"
WORKFLOW_TEST_DATABASE=postgres cargo test --quiet --test tests -- daemon::

# cgroup v2, which this machine's kernel cannot give: the limit tests in a
# VM (Debian's kernel, emulated), with the binary built above.
log "the resource-limit tests with cgroup v2, in a VM (scripts/test-cgroup-v2.sh)"
scripts/test-cgroup-v2.sh

log "client tests against a live daemon"
scripts/with-test-daemon.sh scripts/test-clients.sh

log "MCP bridge tests"
scripts/test-mcp.sh

log "web dashboard tests"
scripts/test-web.sh

log "fuzzing: each target for a bounded time (scripts/fuzz.sh)"
scripts/fuzz.sh

log "the README's first command on an empty HOME"
scripts/test-first-run.sh

log "all tests passed"
