#!/usr/bin/env bash
# The dashboard's tests (web/):
#   1. installs what a fresh machine lacks: Debian's chromium (apt-get),
#      clients/typescript built, web/'s locked npm packages;
#   2. eslint, tsc --noEmit (page code, and the Node-side tests and
#      benchmarks) and the unit/component tests (Vitest, jsdom);
#   3. the drift check: web/dist is what web/src builds to
#      (scripts/check-web-build.sh);
#   4. the end-to-end tests: real workflowd daemons (the release binary,
#      which embeds web/dist, or $WORKFLOWD_BIN) with real workflow programs
#      and qemu-img, driven through Debian's Chromium by playwright-core.
# SKIP_INSTALL=1 skips the npm installs when they are known done.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"
cd "$REPO_ROOT"

ensure_chromium
[ "${SKIP_INSTALL:-0}" = 1 ] || ensure_web_deps

cd web
log "eslint, tsc --noEmit (web)"
npm run --silent lint
npm run --silent typecheck

log "unit and component tests (web, Vitest)"
npx vitest run

SKIP_INSTALL=1 "$REPO_ROOT/scripts/check-web-build.sh"

log "end-to-end tests (web/e2e: workflowd + Chromium)"
export WORKFLOWD_BIN="${WORKFLOWD_BIN:-$REPO_ROOT/target/release/workflowd}"
[ -x "$WORKFLOWD_BIN" ] || die "$WORKFLOWD_BIN not found; build it with: cargo build --release --bin workflowd"
npx vitest run --config vitest.e2e.config.ts
