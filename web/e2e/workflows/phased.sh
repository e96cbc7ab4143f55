#!/bin/sh
# Four phases of a known length (the total announced up front), each with one
# task reporting percentages, one agent and, after the first phase, a state
# file: what the execution page's tree, the Overview's stage column and the
# estimate are tested against. --fail-at N ends phase N with phase_failed and
# exit 1, for the Failed tab.
if [ "$1" = "--workflow-metadata" ]; then
  cat <<'JSON'
{"id":"phased","name":"Phased","description":"Four timed phases with tasks, progress, an agent and a state file.",
 "fields":[
  {"name":"phase_seconds","label":"Seconds per phase","description":"How long each phase sleeps","cli_arg":"--phase-seconds","required":false,"default":"1","field_type":{"type":"number","min":0,"max":600}},
  {"name":"fail_at","label":"Fail at phase","description":"Phase (0-3) that fails; empty for none","cli_arg":"--fail-at","required":false,"default":null,"field_type":{"type":"number","min":0,"max":3}}
 ]}
JSON
  exit 0
fi
seconds=1
fail_at=-1
while [ $# -gt 0 ]; do
  case "$1" in
    --phase-seconds) seconds="$2"; shift 2 ;;
    --fail-at) fail_at="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
ev() { printf '__WF_EVENT__:%s\n' "$1" >&2; }
# Each phase sleeps in quarters so the percentages arrive while it runs.
quarter=$(awk -v s="$seconds" 'BEGIN { printf "%.3f", s / 4 }')
for p in 0 1 2 3; do
  case $p in 0) name=prepare ;; 1) name=copy ;; 2) name=convert ;; *) name=verify ;; esac
  ev "{\"type\":\"phase_started\",\"phase\":$p,\"name\":\"$name\",\"total_phases\":4}"
  ev "{\"type\":\"task_started\",\"phase\":$p,\"task_id\":\"$name-task\",\"description\":\"$name the data\",\"total_tasks\":1}"
  ev "{\"type\":\"agent_started\",\"task_id\":\"$name-task\",\"agent_name\":\"worker\",\"description\":\"does the $name\"}"
  for pct in 25 50 75 100; do
    sleep "$quarter"
    ev "{\"type\":\"task_progress\",\"task_id\":\"$name-task\",\"message\":\"$pct% of $name\"}"
  done
  if [ "$p" = "$fail_at" ]; then
    ev "{\"type\":\"agent_failed\",\"task_id\":\"$name-task\",\"agent_name\":\"worker\",\"error\":\"asked to fail\"}"
    ev "{\"type\":\"task_failed\",\"task_id\":\"$name-task\",\"error\":\"asked to fail\"}"
    ev "{\"type\":\"phase_failed\",\"phase\":$p,\"name\":\"$name\",\"error\":\"asked to fail at phase $p\"}"
    echo "failing at phase $p as asked"
    exit 1
  fi
  ev "{\"type\":\"agent_message\",\"task_id\":\"$name-task\",\"agent_name\":\"worker\",\"message\":\"$name went fine\"}"
  ev "{\"type\":\"agent_completed\",\"task_id\":\"$name-task\",\"agent_name\":\"worker\",\"result\":\"ok\"}"
  ev "{\"type\":\"task_completed\",\"task_id\":\"$name-task\",\"result\":\"$name done\"}"
  if [ $p = 0 ]; then
    echo "{\"phase\":0}" > phased.state.json
    ev "{\"type\":\"state_file_created\",\"phase\":0,\"file_path\":\"$PWD/phased.state.json\",\"description\":\"phased state\"}"
  fi
  echo "phase $name done"
  ev "{\"type\":\"phase_completed\",\"phase\":$p,\"name\":\"$name\"}"
done
