#!/usr/bin/env bash
# Tests of the API contract and the clients, against a live workflowd whose
# address is in WORKFLOWD_ADDR (the top-level test runner starts the daemon;
# by hand: scripts/with-test-daemon.sh scripts/test-clients.sh).
#
#   1. installs what a fresh machine lacks: qemu-utils (apt-get; the Go and
#      TypeScript live tests create source disks with qemu-img), buf (npm,
#      into .tools/), the Go generators and grpcurl (go install, pinned: the
#      current release, and 1.8.7 for reflection v1alpha, into .tools/), the
#      Python client in editable mode with pytest, jsonschema and
#      grpcio-tools (pip), and clients/typescript's locked dependencies (npm
#      ci, protoc-gen-es too; its prepare script builds dist/);
#   2. buf lint, buf breaking, and the generated-code drift check;
#   3. go vet and go test in clients/go, pytest on clients/python/tests and
#      tests/grpcurl, eslint, tsc --noEmit and the Node tests (gRPC-web) in
#      clients/typescript;
#   4. each client's auth tests (Go `-run Auth`, pytest `-k auth`, npm run
#      test:auth) against a second daemon, started with --auth tokens
#      (WORKFLOWD_TEST_AUTH=tokens scripts/with-test-daemon.sh), through
#      `scripts/test-clients.sh --auth-only`, which runs those alone;
#   5. the OpenAPI checks (scripts/test-openapi.sh).
#
# The Go and Python TLS tests start daemons of their own, with TLS and
# client certificates, from WORKFLOWD_BIN: exported here as the binary
# scripts/with-test-daemon.sh runs (target/release/workflowd unless set).
#
# SKIP_INSTALL=1 skips step 1's pip/npm/go installs when they are known done
# (qemu-img is still installed when missing: the tests cannot run without it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"
cd "$REPO_ROOT"

if [ -z "${WORKFLOWD_ADDR:-}" ]; then
  die "WORKFLOWD_ADDR is not set: start workflowd first (scripts/with-test-daemon.sh $0)"
fi
export WORKFLOWD_BIN="${WORKFLOWD_BIN:-$REPO_ROOT/target/release/workflowd}"
[ -x "$WORKFLOWD_BIN" ] || die "$WORKFLOWD_BIN not found; build it with: cargo build --release --bin workflowd"

# Step 4 alone: a call without a token is UNAUTHENTICATED, the admin token
# works, a viewer token made with CreateToken reads but may not run.
if [ "${1:-}" = --auth-only ]; then
  if [ -z "${WORKFLOWD_TEST_ADMIN_TOKEN:-}" ]; then
    die "WORKFLOWD_TEST_ADMIN_TOKEN is not set: WORKFLOWD_TEST_AUTH=tokens scripts/with-test-daemon.sh $0 --auth-only"
  fi
  log "auth tests (Go, Python, TypeScript) against $WORKFLOWD_ADDR with --auth tokens"
  (cd clients/go && go test -count=1 -run Auth ./...)
  "$PYTHON" -m pytest -q -p no:cacheprovider -k auth clients/python/tests
  (cd clients/typescript && npm run --silent test:auth)
  exit 0
fi

# Debian's qemu-utils, as scripts/test-all.sh installs it.
if ! command -v qemu-img >/dev/null 2>&1; then
  log "installing qemu-utils (qemu-img)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends qemu-utils >&2
fi

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  log "installing tools"
  ensure_buf
  ensure_codegen_go_tools
  ensure_grpcurl
  ensure_grpcio_tools
  "$PYTHON" -m pip install --quiet --disable-pip-version-check \
    -e "clients/python[test]" "grpcio-tools==$GRPCIO_TOOLS_VERSION" >&2
  log "npm ci (clients/typescript)"
  (cd clients/typescript && npm ci --no-audit --no-fund >&2)
fi

"$REPO_ROOT/scripts/buf-check.sh"
"$REPO_ROOT/scripts/check-generated.sh"

log "go vet + go test (clients/go) against $WORKFLOWD_ADDR"
(
  cd clients/go
  go vet ./...
  go test -count=1 ./...
)

log "pytest (clients/python/tests, tests/grpcurl) against $WORKFLOWD_ADDR"
"$PYTHON" -m pytest -q -p no:cacheprovider clients/python/tests tests/grpcurl

log "eslint, tsc --noEmit and node --test (clients/typescript) against $WORKFLOWD_ADDR over gRPC-web"
(
  cd clients/typescript
  npm run --silent lint
  npm run --silent typecheck
  npm test
)

# Its own daemon and log (the outer one may be in $WORKFLOWD_TEST_LOG).
env -u WORKFLOWD_TEST_LOG WORKFLOWD_TEST_AUTH=tokens \
  "$REPO_ROOT/scripts/with-test-daemon.sh" "$REPO_ROOT/scripts/test-clients.sh" --auth-only

# Last: schemathesis starts (and fails to find) fuzzed executions, which the
# tests above must not see.
"$REPO_ROOT/scripts/test-openapi.sh"
