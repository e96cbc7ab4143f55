#!/usr/bin/env bash
# A workflow that ignores SIGTERM and leaves a grandchild behind: only the
# daemon's SIGKILL to the whole process group after the grace period stops it.
if [[ "${1:-}" == "--workflow-metadata" ]]; then
  cat <<'JSON'
{"id":"ignore_sigterm","name":"Ignores SIGTERM","description":"Traps SIGTERM and keeps running with a grandchild; stops only on SIGKILL.",
 "fields":[{"name":"seconds","label":"Seconds","description":"How long to run","cli_arg":"--seconds","required":false,"default":"3600","field_type":{"type":"number","min":1}},
           {"name":"pid_file","label":"PID file","description":"Where to write the grandchild's pid","cli_arg":"--pid-file","required":false,"default":null,"field_type":{"type":"text"}}]}
JSON
  exit 0
fi
seconds=3600 pid_file=""
while [[ $# -gt 0 ]]; do
  case "$1" in --seconds) seconds="$2"; shift 2 ;; --pid-file) pid_file="$2"; shift 2 ;; *) shift ;; esac
done
trap 'echo "got SIGTERM, ignoring it"' TERM
# The grandchild ignores SIGTERM as well (an ignored signal survives exec), so
# the group SIGTERM of a cancel leaves both running.
(trap '' TERM; exec sleep "$seconds") &
grandchild=$!
if [[ -n "$pid_file" ]]; then echo "$grandchild" > "$pid_file.tmp" && mv "$pid_file.tmp" "$pid_file"; fi
echo '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"stubborn","total_phases":1}' >&2
echo "running with grandchild $grandchild"
# `wait` returns early when a trapped signal arrives; keep waiting.
while kill -0 "$grandchild" 2>/dev/null; do wait "$grandchild"; done
