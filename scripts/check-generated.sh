#!/usr/bin/env bash
# Regenerates the client code and fails when it differs from what is in the
# tree: the checked-in generated code must always match proto/ and the
# pinned generator versions (scripts/lib/tools.sh).
#
# Two checks: (1) the regenerated files equal the files that were in the work
# tree before (works before anything is committed), and (2) once the repo has
# commits, `git diff --exit-code` and no untracked files in the generated
# directories (so a CI checkout proves that what was committed is current).
# CHECK_GENERATED_GIT=0 skips (2), for a work tree whose changes are not yet
# committed on purpose.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"
cd "$REPO_ROOT"

GEN_DIRS=(clients/go/gen clients/python/src/workflow_client/gen clients/typescript/src/gen)

before="$(mktemp -d)"
trap 'rm -rf "$before"' EXIT
for d in "${GEN_DIRS[@]}"; do
  mkdir -p "$before/$d"
  if [ -d "$d" ]; then cp -a "$d/." "$before/$d/"; fi
done

"$REPO_ROOT/scripts/gen-clients.sh"

status=0
for d in "${GEN_DIRS[@]}"; do
  if ! diff -r -u -x __pycache__ "$before/$d" "$d"; then
    printf 'error: %s is out of date with proto/ (see the diff above); run scripts/gen-clients.sh\n' "$d" >&2
    status=1
  fi
done

check_committed scripts/gen-clients.sh "${GEN_DIRS[@]}" || status=1

[ "$status" -eq 0 ] && log "generated code is up to date"
exit "$status"
