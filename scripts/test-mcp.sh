#!/usr/bin/env bash
# End-to-end tests of workflow-mcp (the MCP server over stdio) with the
# official Python MCP client against a real workflowd: installs the pinned
# Python dependencies into the current python, builds both binaries in
# release mode (unless WORKFLOWD_BIN and WORKFLOW_MCP_BIN point at binaries
# already built), then runs pytest tests/mcp. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
"$PYTHON" -m pip install --quiet --disable-pip-version-check -r tests/mcp/requirements.txt

if [[ -z "${WORKFLOWD_BIN:-}" || -z "${WORKFLOW_MCP_BIN:-}" ]]; then
  cargo build --release --bin workflowd --bin workflow-mcp
fi

exec "$PYTHON" -m pytest -q -p no:cacheprovider tests/mcp "$@"
