#!/bin/sh
# Sleeps, then succeeds or fails on request: the fixture for cancel, time-out,
# queue and concurrency behaviour. It exits promptly on SIGTERM.
if [ "$1" = "--workflow-metadata" ]; then
  cat <<'JSON'
{"id":"sleeper","name":"Sleeper","description":"Sleeps for a while, then exits with the given code.",
 "fields":[{"name":"seconds","label":"Seconds","description":"How long to sleep","cli_arg":"--seconds","required":false,"default":"1","field_type":{"type":"number","min":0,"max":86400}},
           {"name":"exit_code","label":"Exit code","description":"Exit code at the end","cli_arg":"--exit-code","required":false,"default":"0","field_type":{"type":"number","min":0,"max":255}}]}
JSON
  exit 0
fi
seconds=1 code=0
while [ $# -gt 0 ]; do
  case "$1" in --seconds) seconds="$2"; shift 2 ;; --exit-code) code="$2"; shift 2 ;; *) shift ;; esac
done
# The exit code goes into an event below: digits only, so it can never end
# the event's JSON string (the daemon checks the number; this keeps the
# program safe on its own).
case "$code" in
  '' | *[!0-9]*) echo "--exit-code must be a whole number, got: $code" >&2; exit 2 ;;
esac
echo '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"sleep","total_phases":1}' >&2
echo "sleeping $seconds s"
trap 'echo "terminated"; exit 143' TERM
sleep "$seconds" &
wait $!
if [ "$code" -ne 0 ]; then
  echo "__WF_EVENT__:{\"type\":\"phase_failed\",\"phase\":0,\"name\":\"sleep\",\"error\":\"exit code $code requested\"}" >&2
  exit "$code"
fi
echo '__WF_EVENT__:{"type":"phase_completed","phase":0,"name":"sleep"}' >&2
