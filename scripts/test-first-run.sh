#!/usr/bin/env bash
# The README's first command as a new user runs it:
#
#   cargo run --release --bin workflowd
#
# with nothing configured (an empty HOME and data home, so the embedded
# defaults: the history under the data home, the bundled workflows and the
# VM pipeline the daemon binary carries). Only the environment says two
# things a user would pass anyway: WORKFLOWD_LISTEN (a free port instead of
# 50051, which may be taken here) and WORKFLOWD_SOURCE_ROOTS (where the
# test's disk is, since manifests read only from source roots).
#
# Checks, with the wfctl from the same checkout: vm_pipeline and the
# examples are discovered, hello runs, a manifest converts a raw disk into
# the default output directory with the real qemu-img, and the dashboard
# (embedded in the binary) is served at / with the script it loads.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"
cd "$REPO_ROOT"

work="$(mktemp -d "${TMPDIR:-/tmp}/workflowd-first-run.XXXXXX")"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/home" "$work/disks"

log "first run: cargo run --release --bin workflowd (empty HOME)"
mkfifo "$work/stdout"
# cargo and rustup find their homes through HOME unless told.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" \
  WORKFLOWD_LISTEN=127.0.0.1:0 WORKFLOWD_SOURCE_ROOTS="$work/disks" \
  cargo run --quiet --release --bin workflowd >"$work/stdout" 2>"$work/daemon.log" &
daemon_pid=$!
exec 3<"$work/stdout"
line=""
if ! IFS= read -r -t 600 line <&3 || [[ "$line" != "listening on "* ]]; then
  echo "error: the daemon did not start (first line: '$line'); its log:" >&2
  cat "$work/daemon.log" >&2
  exit 1
fi
cat <&3 >/dev/null &
export WORKFLOWD_ADDR="${line#listening on }"
wfctl() { "$REPO_ROOT/target/release/wfctl" "$@"; }
fail() {
  echo "error: $*; the daemon's log:" >&2
  cat "$work/daemon.log" >&2
  exit 1
}

listed="$(wfctl -o json workflows list)"
for id in vm_pipeline hello research_pipeline; do
  grep -q "\"$id\"" <<<"$listed" || fail "workflow $id is not discovered: $listed"
done
link="$work/home/.local/share/workflow-manager/bundled-workflows/workflow-vm-pipeline"
[ "$(readlink "$link")" = "$(readlink -f target/release/workflowd)" ] \
  || fail "the VM pipeline is not the daemon binary itself: $link -> $(readlink "$link")"

wfctl run hello --input name=first-run --wait >/dev/null || fail "hello did not succeed"

qemu-img create -q -f raw "$work/disks/first.raw" 4M
printf 'first run data' | dd of="$work/disks/first.raw" bs=1 seek=1048576 conv=notrunc status=none
cat >"$work/first.yaml" <<YAML
version: "1.0"
pipeline:
  load: {source_type: raw, source_path: $work/disks/first.raw}
  convert: {output_format: qcow2, output_path: first.qcow2}
YAML
wfctl manifest submit -file "$work/first.yaml" -wait >/dev/null 2>&1 \
  || fail "the manifest did not convert"
output="$work/home/.local/share/workflow-manager/output/first.qcow2"
qemu-img compare -q -f raw -F qcow2 "$work/disks/first.raw" "$output" \
  || fail "$output does not hold the disk"
page="$(curl -sf "http://$WORKFLOWD_ADDR/")" || fail "GET / failed"
grep -q '<div id="root">' <<<"$page" || fail "GET / is not the dashboard: $page"
script="$(grep -o 'src="/assets/[^"]*\.js"' <<<"$page" | head -1 | sed 's/^src="//; s/"$//')"
[ -n "$script" ] || fail "the dashboard loads no script: $page"
curl -sf -o /dev/null "http://$WORKFLOWD_ADDR$script" || fail "GET $script failed"
log "first run: vm_pipeline discovered, hello ran, a manifest converted, the dashboard served"
