#!/bin/sh
# Prints numbered lines at a steady rate: --rate lines a second for --seconds
# seconds, on stdout, with a stderr line and an event every 10th line. Every
# line carries its number ("line 17 stdout"), so a reader can check the log it
# got is contiguous.
if [ "$1" = "--workflow-metadata" ]; then
  cat <<'JSON'
{"id":"paced","name":"Paced","description":"Prints numbered lines at a set rate for a set time (stdout, stderr and events).",
 "fields":[
  {"name":"rate","label":"Lines per second","description":"Lines printed each second","cli_arg":"--rate","required":false,"default":"100","field_type":{"type":"number","min":1,"max":100000}},
  {"name":"seconds","label":"Seconds","description":"How long to print","cli_arg":"--seconds","required":false,"default":"5","field_type":{"type":"number","min":0,"max":3600}}
 ]}
JSON
  exit 0
fi
rate=100
seconds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
printf '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"print","total_phases":1}\n' >&2
printf '__WF_EVENT__:{"type":"task_started","phase":0,"task_id":"print","description":"print numbered lines","total_tasks":1}\n' >&2
# Paced by the clock (GNU date's nanoseconds), not by counting sleeps: each
# 20 ms slice prints what is owed by then, so the rate holds however long a
# `sleep` really takes.
LC_ALL=C awk -v rate="$rate" -v seconds="$seconds" '
  function now_ms(   cmd, t) {
    cmd = "date +%s%N"; cmd | getline t; close(cmd)
    return t / 1000000
  }
  BEGIN {
    total = rate * seconds
    start = now_ms()
    n = 0
    while (n < total) {
      due = int((now_ms() - start) * rate / 1000) + 1
      if (due > total) due = total
      while (n < due) {
        n++
        if (n % 10 == 0) {
          printf "line %d stderr\n", n > "/dev/stderr"
          printf "__WF_EVENT__:{\"type\":\"task_progress\",\"task_id\":\"print\",\"message\":\"%d%%\"}\n", int(n * 100 / total) > "/dev/stderr"
        } else {
          printf "line %d stdout\n", n
        }
      }
      fflush("/dev/stdout"); fflush("/dev/stderr")
      if (n < total) system("sleep 0.02")
    }
  }'
printf '__WF_EVENT__:{"type":"task_completed","task_id":"print","result":"printed"}\n' >&2
printf '__WF_EVENT__:{"type":"phase_completed","phase":0,"name":"print"}\n' >&2
