#!/usr/bin/env bash
# buf lint (STANDARD, see buf.yaml) and buf breaking for proto/.
#
# buf breaking compares the proto/ of the work tree with the previous
# version that has a proto/ directory: HEAD when the work tree changed
# proto/, else HEAD~1 (so a CI checkout compares the submitted commit with
# its parent). Set BUF_BREAKING_AGAINST to a buf input (e.g.
# '.git#branch=main,subdir=proto') to choose another baseline. Skipped, with a
# message, when there is no earlier version of proto/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"
cd "$REPO_ROOT"
ensure_buf

log "buf lint"
"$BUF" lint

against="${BUF_BREAKING_AGAINST:-}"
if [ -z "$against" ]; then
  has_proto() { git rev-parse --verify --quiet "$1:proto" >/dev/null 2>&1; }
  if ! git rev-parse --verify --quiet HEAD >/dev/null 2>&1; then
    ref=""
  elif [ -n "$(git status --porcelain -- proto)" ]; then
    ref=HEAD
  else
    ref=HEAD~1
  fi
  if [ -n "$ref" ] && has_proto "$ref"; then
    against=".git#ref=$(git rev-parse "$ref"),subdir=proto"
  fi
fi
if [ -z "$against" ]; then
  log "buf breaking: skipped, no previous commit contains proto/"
  exit 0
fi
log "buf breaking against $against"
"$BUF" breaking proto --against "$against"
