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
# json_string TEXT: TEXT as a JSON string literal, quotes included. Inputs
# are pasted into events only through this: a raw `"` or line break in a
# topic would otherwise end the string or the event line, and let the input
# write events of its own. awk (POSIX, on every host) escapes `\`, `"` and
# every control character; bytes of other characters pass as they are
# (LC_ALL=C: byte by byte), so UTF-8 text stays UTF-8.
json_string() {
  printf '%s\n' "$1" | LC_ALL=C awk '
    BEGIN {
      for (i = 1; i < 32; i++) esc[sprintf("%c", i)] = sprintf("\\u%04x", i)
      esc["\\"] = "\\\\"; esc["\""] = "\\\""
      esc["\t"] = "\\t"; esc["\r"] = "\\r"; esc["\b"] = "\\b"; esc["\f"] = "\\f"
      out = "\""
    }
    {
      if (NR > 1) out = out "\\n"
      n = length($0)
      for (i = 1; i <= n; i++) {
        c = substr($0, i, 1)
        out = out ((c in esc) ? esc[c] : c)
      }
    }
    END { printf "%s\"", out }'
}
names=(plan research write)
IFS=, read -ra selected <<<"$phases"
for p in "${selected[@]}"; do
  name="${names[$p]}"
  ev "{\"type\":\"phase_started\",\"phase\":$p,\"name\":\"$name\",\"total_phases\":3}"
  ev "{\"type\":\"task_started\",\"phase\":$p,\"task_id\":\"$name-1\",\"description\":$(json_string "$name $topic"),\"total_tasks\":1}"
  looking_at=$(json_string "looking at $topic")
  for ((a = 1; a <= depth; a++)); do
    ev "{\"type\":\"agent_started\",\"task_id\":\"$name-1\",\"agent_name\":\"agent-$a\",\"description\":\"worker $a\"}"
    ev "{\"type\":\"agent_message\",\"task_id\":\"$name-1\",\"agent_name\":\"agent-$a\",\"message\":$looking_at}"
    ev "{\"type\":\"agent_completed\",\"task_id\":\"$name-1\",\"agent_name\":\"agent-$a\",\"result\":\"ok\"}"
  done
  ev "{\"type\":\"task_progress\",\"task_id\":\"$name-1\",\"message\":\"100% done\"}"
  ev "{\"type\":\"task_completed\",\"task_id\":\"$name-1\",\"result\":\"$name finished\"}"
  if [[ "$p" == 0 ]]; then
    echo "{\"topic\":$(json_string "$topic"),\"format\":$(json_string "$format")}" > plan.state.json
    ev "{\"type\":\"state_file_created\",\"phase\":0,\"file_path\":$(json_string "$PWD/plan.state.json"),\"description\":\"research plan\"}"
  fi
  echo "phase $name done"
  ev "{\"type\":\"phase_completed\",\"phase\":$p,\"name\":\"$name\"}"
done
