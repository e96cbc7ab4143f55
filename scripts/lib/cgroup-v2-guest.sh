#!/usr/bin/env bash
# Runs in the VM of scripts/test-cgroup-v2.sh, as root in the root of the
# unified hierarchy: the limit tests, each daemon in a group of its own
# under /sys/fs/cgroup/delegated, as systemd's Delegate= would start it
# (tests/helper/delegated_cgroup.rs), so each must move into a leaf to
# hand the controllers to its runs' groups; then one test with a daemon
# in the root group, where no move is needed.
set -euo pipefail
binary="$1"
cgroup=/sys/fs/cgroup
grep -qw memory "$cgroup/cgroup.controllers" || { echo "no cgroup v2 memory controller here" >&2; exit 1; }
echo "+memory +pids" > "$cgroup/cgroup.subtree_control"
mkdir -p "$cgroup/delegated"
echo "+memory +pids" > "$cgroup/delegated/cgroup.subtree_control"

# The watch's tests (cgroups = false) and the rest that need no group ran
# on the host already.
WORKFLOW_TEST_CGROUP=v2 WORKFLOW_TEST_CGROUP_DELEGATE="$cgroup/delegated" \
  "$binary" --test-threads 2 daemon::limits:: --skip group_watch --skip refused --skip output_past
WORKFLOW_TEST_CGROUP=v2 \
  "$binary" --exact daemon::limits::a_memory_hog_is_killed_by_the_kernel_in_its_control_group
