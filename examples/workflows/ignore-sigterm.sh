#!/usr/bin/env bash
# A workflow that ignores SIGTERM and leaves a grandchild behind: only the
# daemon's SIGKILL to the whole process group after the grace period stops it.
if [[ "${1:-}" == "--workflow-metadata" ]]; then
  cat <<'JSON'
{"id":"ignore_sigterm","name":"Ignores SIGTERM","description":"Traps SIGTERM and keeps running with a grandchild; stops only on SIGKILL.",
 "fields":[{"name":"seconds","label":"Seconds","description":"How long to run","cli_arg":"--seconds","required":false,"default":"3600","field_type":{"type":"number","min":1}}]}
JSON
  exit 0
fi
# No input names a file: a caller-chosen path here would let any caller
# overwrite any file the daemon's user may write. The grandchild's pid is
# in the output line below.
seconds=3600
while [[ $# -gt 0 ]]; do
  case "$1" in --seconds) seconds="$2"; shift 2 ;; *) shift ;; esac
done
# The grandchild ignores SIGTERM as well, so the group SIGTERM of a cancel
# leaves both running. Ignored before the fork, it is ignored from the
# grandchild's first instant (an ignored signal survives fork and exec); set
# inside the child, a SIGTERM arriving before the child ran would kill it.
trap '' TERM
sleep "$seconds" &
grandchild=$!
trap 'echo "got SIGTERM, ignoring it"' TERM
echo '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"stubborn","total_phases":1}' >&2
echo "running with grandchild $grandchild"
# `wait` returns early when a trapped signal arrives; keep waiting.
while kill -0 "$grandchild" 2>/dev/null; do wait "$grandchild"; done
