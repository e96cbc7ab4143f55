#!/usr/bin/env bash
# A workflow with phases, tasks, agents and a state file: the shape of a real
# multi-agent pipeline, written with nothing but bash so it runs anywhere.
set -euo pipefail
if [[ "${1:-}" == "--workflow-metadata" ]]; then
  cat <<'JSON'
{"id":"research_pipeline","name":"Research pipeline","schema_version":"1.1.0",
 "description":"Plans, researches and writes up a topic in three phases; writes a state file.",
 "fields":[
  {"name":"topic","label":"Topic","description":"What to research","cli_arg":"--topic","required":true,"default":null,"field_type":{"type":"text"}},
  {"name":"depth","label":"Depth","description":"Agents per task","cli_arg":"--depth","required":false,"default":"2","required_for_phases":[1],"field_type":{"type":"number","min":1,"max":5}},
  {"name":"format","label":"Format","description":"Report format","cli_arg":"--format","required":false,"default":"markdown","field_type":{"type":"select","options":["markdown","json"]}},
  {"name":"phases","label":"Phases","description":"Which phases to run","cli_arg":"--phases","required":false,"default":"0,1,2","field_type":{"type":"phase_selector","total_phases":3}},
  {"name":"resume","label":"Resume from","description":"State file of an earlier run","cli_arg":"--resume","required":false,"default":null,"field_type":{"type":"state_file","pattern":"*.state.json","phase":0}}
 ]}
JSON
  exit 0
fi
topic="" depth=2 format=markdown phases="0,1,2"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --topic) topic="$2"; shift 2 ;;
    --depth) depth="$2"; shift 2 ;;
    --format) format="$2"; shift 2 ;;
    --phases) phases="$2"; shift 2 ;;
    --resume) shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
ev() { printf '__WF_EVENT__:%s\n' "$1" >&2; }
names=(plan research write)
IFS=, read -ra selected <<<"$phases"
for p in "${selected[@]}"; do
  name="${names[$p]}"
  ev "{\"type\":\"phase_started\",\"phase\":$p,\"name\":\"$name\",\"total_phases\":3}"
  ev "{\"type\":\"task_started\",\"phase\":$p,\"task_id\":\"$name-1\",\"description\":\"$name $topic\",\"total_tasks\":1}"
  for ((a = 1; a <= depth; a++)); do
    ev "{\"type\":\"agent_started\",\"task_id\":\"$name-1\",\"agent_name\":\"agent-$a\",\"description\":\"worker $a\"}"
    ev "{\"type\":\"agent_message\",\"task_id\":\"$name-1\",\"agent_name\":\"agent-$a\",\"message\":\"looking at $topic\"}"
    ev "{\"type\":\"agent_completed\",\"task_id\":\"$name-1\",\"agent_name\":\"agent-$a\",\"result\":\"ok\"}"
  done
  ev "{\"type\":\"task_progress\",\"task_id\":\"$name-1\",\"message\":\"100% done\"}"
  ev "{\"type\":\"task_completed\",\"task_id\":\"$name-1\",\"result\":\"$name finished\"}"
  if [[ "$p" == 0 ]]; then
    echo "{\"topic\":\"$topic\",\"format\":\"$format\"}" > plan.state.json
    ev "{\"type\":\"state_file_created\",\"phase\":0,\"file_path\":\"$PWD/plan.state.json\",\"description\":\"research plan\"}"
  fi
  echo "phase $name done"
  ev "{\"type\":\"phase_completed\",\"phase\":$p,\"name\":\"$name\"}"
done
