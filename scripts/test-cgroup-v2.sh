#!/usr/bin/env bash
# The resource-limit tests (tests/daemon/limits.rs) with cgroup v2, which
# this machine's kernel cannot give: its controllers are all bound to v1
# hierarchies. So a VM: Debian's kernel, booted by virtme-ng on this
# machine's own files (read-only, with writable overlays such as /tmp),
# runs the integration-test binary built on the host with the unified
# hierarchy mounted and every controller in it.
#
# Emulated (TCG), not KVM: this machine's /dev/kvm cannot run a stock
# kernel (QEMU stops on an MSR it refuses), and the tests take about two
# minutes either way.
#
# Usage: scripts/test-cgroup-v2.sh [TEST_BINARY]; without one, builds the
# integration tests and finds theirs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"
cd "$REPO_ROOT"

kernel() { compgen -G '/boot/vmlinuz-*' | sort -V | tail -n 1; }
missing=()
[ -n "$(kernel)" ] || missing+=(linux-image-amd64)
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
command -v busybox >/dev/null 2>&1 || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if [ "$("$PYTHON" -m pip show virtme-ng 2>/dev/null | sed -n 's/^Version: //p')" != "$VIRTME_NG_VERSION" ]; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "virtme-ng==$VIRTME_NG_VERSION" >&2
fi

binary="${1:-}"
if [ -z "$binary" ]; then
  binary="$(cargo test --quiet --test tests --no-run --message-format=json \
    | "$PYTHON" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "tests" and m.get("executable"):
        print(m["executable"])')"
fi
[ -x "$binary" ] || die "no test binary at '$binary'"

log "booting $(kernel) (emulated) for the limit tests with cgroup v2"
# The guest's exit status is the script's; virtme-ng returns it.
vng --run "$(kernel)" --disable-kvm --cpus 2 --memory 2G \
  --exec "scripts/lib/cgroup-v2-guest.sh $binary"
