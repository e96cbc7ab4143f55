#!/usr/bin/env bash
# Rebuilds the dashboard (web/ → a temporary directory) and fails when the
# result differs from the checked-in web/dist, which the daemon embeds: the
# binary must always serve what web/src says. Like scripts/check-generated.sh,
# it also fails on uncommitted changes to web/dist (CHECK_GENERATED_GIT=0
# skips that, for a work tree not committed yet on purpose).
#
# Why a checked-in build: `cargo build` then needs no Node.js and no
# network, and what ships is reviewable; docs/dashboard.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"
cd "$REPO_ROOT"

[ "${SKIP_INSTALL:-0}" = 1 ] || ensure_web_deps

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
log "vite build (web/ → a temporary directory)"
(cd web && npx vite build --logLevel warn --outDir "$out" --emptyOutDir)

status=0
if ! diff -r -u "$out" web/dist; then
  echo "error: web/dist is out of date with web/ (see the diff above); run: cd web && npm run build" >&2
  status=1
fi
check_committed "cd web && npm run build" web/dist || status=1
[ "$status" -eq 0 ] && log "web/dist is up to date"
exit "$status"
