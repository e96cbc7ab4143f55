#!/usr/bin/env bash
# Runs every fuzz target (fuzz/, docs/fuzzing.md) for a bounded time:
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 20)
#
# Installs the nightly toolchain and cargo-fuzz when missing, builds all the
# targets once into fuzz/target, then for each target replays the inputs of
# its past crashes (fuzz/regressions/<target>/) and fuzzes it from its seeds
# (fuzz/corpus/<target>/, only read: what a run finds goes to a temporary
# corpus that is thrown away). One fuzzer process at a time, in-process
# (libFuzzer's default; -jobs would fork a child per job). Every target runs
# even after a crash; the exit status is non-zero if any crashed, and each
# crash names the input libFuzzer wrote (fuzz/artifacts/<target>/).
#
# No sanitizer: the parsers are safe Rust, and AddressSanitizer doubles the
# cold build and halves the executions per second. `cargo +nightly fuzz run
# TARGET` (docs/fuzzing.md) builds with it, for the long runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

seconds="${1:-20}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]"
targets=(manifest_json manifest_yaml event_line metadata config)
# Well above what a parser needs; an input that makes one grow past it is a bug.
rss_limit_mb=2048
# One input running this long is a hang, reported as a crash.
timeout_secs=10

if ! rustup toolchain list | grep -q '^nightly-'; then
  log "installing the nightly toolchain (cargo-fuzz needs it)"
  rustup toolchain install nightly --profile minimal >&2
fi
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --locked --version "$CARGO_FUZZ_VERSION" cargo-fuzz >&2
fi

cd "$REPO_ROOT/fuzz"
export CARGO_TARGET_DIR="$REPO_ROOT/fuzz/target"
# The daemon's own dependency versions (fuzz/Cargo.toml says why).
cp "$REPO_ROOT/Cargo.lock" Cargo.lock
triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
log "building the fuzz targets (cargo +nightly fuzz build --sanitizer none)"
cargo +nightly fuzz build --sanitizer none --codegen-units 16 >&2

work="$(mktemp -d)"
# The config target writes a file per input under $TMPDIR: on tmpfs when
# there is one (ten times the inputs a second of a busy disk), and removed
# at the end as $work is.
scratch_root=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch_root=/dev/shm
scratch="$(mktemp -d "$scratch_root/workflowd-fuzz.XXXXXX")"
trap 'rm -rf "$work" "$scratch"' EXIT
export TMPDIR="$scratch"

failed=()
for target in "${targets[@]}"; do
  bin="$CARGO_TARGET_DIR/$triple/release/$target"
  artifacts="$REPO_ROOT/fuzz/artifacts/$target/"
  mkdir -p "$artifacts" "$work/corpus/$target"
  common=(-rss_limit_mb="$rss_limit_mb" -timeout="$timeout_secs" -artifact_prefix="$artifacts")

  shopt -s nullglob
  regressions=("$REPO_ROOT/fuzz/regressions/$target"/*)
  shopt -u nullglob
  if [ ${#regressions[@]} -gt 0 ]; then
    log "$target: replaying ${#regressions[@]} regression input(s)"
    if ! "$bin" "${common[@]}" "${regressions[@]}" >"$work/$target.replay.log" 2>&1; then
      tail -n 40 "$work/$target.replay.log" >&2
      log "$target: a regression input crashes again (see fuzz/regressions/$target/)"
      failed+=("$target")
      continue
    fi
  fi

  log "$target: fuzzing for $seconds s"
  if "$bin" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    "$work/corpus/$target" "corpus/$target" >"$work/$target.log" 2>&1; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log")"
    corpus="$(find "$work/corpus/$target" -type f | wc -l)"
    log "$target: ${runs:-?} inputs run, $corpus new in the corpus, no crash"
  else
    tail -n 60 "$work/$target.log" >&2
    artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/$target.log" | tail -n 1)"
    log "$target: CRASH; input: ${artifact:-(none written; see the output above)}"
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  die "fuzzing found crashes in: ${failed[*]} (docs/fuzzing.md: from a crash to a regression test)"
fi
log "fuzzing: no crash in ${#targets[@]} targets"
