#!/usr/bin/env bash
# Checks the HTTP/JSON routes against their OpenAPI document, on the live
# workflowd at WORKFLOWD_ADDR (run last by scripts/test-clients.sh; by hand:
# scripts/with-test-daemon.sh scripts/test-openapi.sh):
#
#   1. GET /openapi.json serves clients/openapi/workflow.openapi.json as is;
#   2. openapi-spec-validator (pinned) finds it a valid OpenAPI 3.1 document;
#   3. schemathesis (pinned) fuzzes every operation of the served document
#      and fails on any 5xx (not_a_server_error), any status or content type
#      the document does not list (status_code_conformance,
#      content_type_conformance), and any response body or SSE event the
#      document's schema refuses (response_schema_conformance), among the
#      other checks listed below. Two runs: every operation with generated
#      ids, then the operations on one workflow or execution with real ids
#      (the bundled workflow hello and an execution of it), so that real
#      replies, log streams included, are checked too. Bounded: a fixed
#      number of examples per operation and a fixed seed, so a run is
#      repeatable and takes well under a minute on two cores;
#   4. the lines of an application/x-ndjson log stream, which schemathesis
#      has no reader for, each against the stream's item schema.
#
# /metrics is in the document; when the daemon under test does not serve it
# yet (404), it is left out of the run with a note rather than reported as a
# failure of the document.
#
# SKIP_INSTALL=1 skips installing the pinned tools when they are known done.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"
cd "$REPO_ROOT"

if [ -z "${WORKFLOWD_ADDR:-}" ]; then
  die "WORKFLOWD_ADDR is not set: start workflowd first (scripts/with-test-daemon.sh $0)"
fi
if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  ensure_openapi_tools
fi

base="http://$WORKFLOWD_ADDR"
published="clients/openapi/workflow.openapi.json"
work="$(mktemp -d "${TMPDIR:-/tmp}/test-openapi.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# HTTP status of GET $1, the body saved to $2.
http_get() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
        status, body = response.status, response.read()
except urllib.error.HTTPError as error:
    status, body = error.code, error.read()
open(sys.argv[2], "wb").write(body)
print(status)
EOF
}

log "GET /openapi.json serves $published"
status="$(http_get "$base/openapi.json" "$work/served.json")"
[ "$status" = 200 ] || die "GET /openapi.json answered $status"
cmp -s "$work/served.json" "$published" ||
  die "the daemon serves another document than $published (rebuild workflowd)"

log "openapi-spec-validator $OPENAPI_SPEC_VALIDATOR_VERSION: $published"
"$PYTHON" -m openapi_spec_validator --schema 3.1 "$published"

# Beyond the four checks asked of every response, the ones that hold for
# this API: no undocumented response header, 405 for an undocumented method
# with an Allow header that lists the documented ones, and a refused request
# without a required header. Left out, and why:
# - positive_data_acceptance: the RPCs check more than the types the proto
#   declares (ids are UUIDs, page_size >= 0, workflow_id is required), so
#   schema-valid requests get 400 by design;
# - negative_data_rejection: the reader takes more than the mapping writes
#   (proto names, null for a default, numbers as strings), as protojson does;
# - use_after_free, ensure_resource_availability: stateful (the document
#   has no links); ignored_auth, object_level_authorization: no auth.
checks="${OPENAPI_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,unsupported_method,allow_header_conformance,missing_required_header}"

# run_schemathesis [ARGS...]: one bounded, repeatable run, in $work: it
# keeps its crash files in .schemathesis/ of the current directory. One
# worker: with two, CPython 3.11 sometimes fails compiling schemathesis'
# generated code in both threads at once ("AST constructor recursion depth
# mismatch"), an error of the tool, not of the daemon.
run_schemathesis() {
  (cd "$work" && "$PYTHON" -m schemathesis.cli "${config[@]}" run "$base/openapi.json" \
    --url "$base" \
    --checks "$checks" \
    --mode all \
    --phases examples,coverage,fuzzing \
    --max-examples "${OPENAPI_MAX_EXAMPLES:-60}" \
    --seed "${OPENAPI_SEED:-20261206}" \
    --generation-database none \
    --workers 1 \
    --request-timeout 20 \
    --no-color \
    "$@")
}

# Run 1: every operation with generated ids (which name nothing: 400/404).
# --mode all: valid and invalid requests; invalid ones must get a
# documented 4xx with a Status body, like every other answer.
log "schemathesis $SCHEMATHESIS_VERSION against $base: every operation"
config=()
run_schemathesis

# Run 2: the operations on one workflow or execution, with real ids, so
# their 200 answers (an Execution with its tree, a log stream as SSE) are
# checked against the document too.
log "starting an execution of the bundled workflow hello"
execution_id="$("$PYTHON" - "$base" <<'EOF'
import json, sys, urllib.request
base = sys.argv[1]
request = urllib.request.Request(
    base + "/v1/executions",
    data=json.dumps({"workflowId": "hello", "inputs": {"name": "openapi"}}).encode(),
    headers={"Content-Type": "application/json"},
)
execution = json.load(urllib.request.urlopen(request, timeout=10))["execution"]
with urllib.request.urlopen(f"{base}/v1/executions/{execution['id']}:wait", timeout=60) as waited:
    assert json.load(waited)["execution"]["state"] == "EXECUTION_STATE_SUCCEEDED"
print(execution["id"])
EOF
)"
cat >"$work/ids.toml" <<EOF
[parameters]
"path.execution_id" = "$execution_id"
"path.workflow_id" = "hello"
EOF
log "schemathesis $SCHEMATHESIS_VERSION against $base: workflow hello and execution $execution_id"
config=(--config-file "$work/ids.toml")
run_schemathesis --include-path-regex '[{](execution|workflow)_id[}]'

# schemathesis has no reader for application/x-ndjson: the execution's log
# as NDJSON, each line checked against the stream's item schema (the one
# the SSE events' data carry).
log "StreamLogs as NDJSON, every line against the document"
"$PYTHON" - "$base" "$execution_id" "$published" <<'EOF'
import json, sys, urllib.request
import jsonschema

base, execution_id, published = sys.argv[1:]
document = json.load(open(published))
responses = document["paths"]["/v1/executions/{execution_id}/logs"]["get"]["responses"]
assert "application/x-ndjson" in responses["200"]["content"]
event = responses["200"]["content"]["text/event-stream"]["schema"]
message = next(s for s in event["oneOf"] if s["properties"]["event"]["const"] == "message")
item = dict(message["properties"]["data"]["contentSchema"], components=document["components"])
validator = jsonschema.Draft202012Validator(
    item, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
request = urllib.request.Request(
    f"{base}/v1/executions/{execution_id}/logs", headers={"Accept": "application/x-ndjson"}
)
with urllib.request.urlopen(request, timeout=30) as response:
    assert response.status == 200, response.status
    assert response.headers["Content-Type"] == "application/x-ndjson", response.headers["Content-Type"]
    lines = response.read().decode().splitlines()
assert lines, "no line"
for line in lines:
    validator.validate(json.loads(line))
assert "finished" in json.loads(lines[-1])["event"], lines[-1]
print(f"{len(lines)} lines match workflow.v1.StreamLogsResponse")
EOF
