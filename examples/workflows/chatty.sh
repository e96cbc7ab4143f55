#!/bin/sh
# Prints a lot: `lines` numbered stdout lines, or as many task_progress events
# on stderr with --events. awk buffers its output, so the program itself is
# not the bottleneck when the daemon's ingest is measured.
if [ "$1" = "--workflow-metadata" ]; then
  cat <<'JSON'
{"id":"chatty","name":"Chatty","description":"Prints many lines (stdout) or many events (stderr).",
 "fields":[{"name":"lines","label":"Lines","description":"How many lines to print","cli_arg":"--lines","required":false,"default":"1000","field_type":{"type":"number","min":0,"max":100000000}},
           {"name":"mode","label":"Mode","description":"What to print","cli_arg":"--mode","required":false,"default":"stdout","field_type":{"type":"select","options":["stdout","events"]}}]}
JSON
  exit 0
fi
lines=1000 mode=stdout
while [ $# -gt 0 ]; do
  case "$1" in --lines) lines="$2"; shift 2 ;; --mode) mode="$2"; shift 2 ;; *) shift ;; esac
done
if [ "$mode" = events ]; then
  echo '__WF_EVENT__:{"type":"task_started","phase":0,"task_id":"chat","description":"chatter","total_tasks":1}' >&2
  awk -v n="$lines" 'BEGIN { for (i = 1; i <= n; i++) printf "__WF_EVENT__:{\"type\":\"task_progress\",\"task_id\":\"chat\",\"message\":\"line %d\"}\n", i }' >&2
  echo '__WF_EVENT__:{"type":"task_completed","task_id":"chat","result":null}' >&2
else
  awk -v n="$lines" 'BEGIN { for (i = 1; i <= n; i++) printf "line %d\n", i }'
fi
