#!/bin/sh
# The smallest useful workflow: one phase, one line of output. Used as the
# throughput benchmark's program, so keep it tiny.
if [ "$1" = "--workflow-metadata" ]; then
  cat <<'JSON'
{"id":"hello","name":"Hello","description":"Greets someone: one phase, one line of output.",
 "fields":[{"name":"name","label":"Name","description":"Who to greet","cli_arg":"--name",
            "required":false,"default":"world","field_type":{"type":"text"}}]}
JSON
  exit 0
fi
name=world
while [ $# -gt 0 ]; do
  case "$1" in --name) name="$2"; shift 2 ;; *) shift ;; esac
done
echo '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"greet","total_phases":1}' >&2
echo "hello, $name"
echo '__WF_EVENT__:{"type":"phase_completed","phase":0,"name":"greet"}' >&2
