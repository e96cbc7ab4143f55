//! Workflow programs the tests run: the bundled examples, small sh
//! programs written into a test's workflow directory, a copy of the daemon
//! binary, and starting the gate program that holds an execution until
//! the test opens its gate. (The in-process tests have their own gate
//! program in src/engine/testing.rs: a library cannot use this crate's
//! test helpers.)

use super::*;
use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

/// The directory of the example workflows shipped with the crate.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/workflows")
}

/// Path of an example workflow program, canonicalized.
pub fn example(file_name: &str) -> PathBuf {
    examples_dir()
        .join(file_name)
        .canonicalize()
        .expect("example exists")
}
/// Copies an executable to `to` with `cp`, so that this process never
/// holds the copy open for writing. Tests run in parallel threads: a
/// `std::fs::copy` here would leave the write descriptor in any child
/// another thread forks meanwhile, and running the copy at that moment
/// fails with ETXTBSY ("text file busy").
pub fn copy_executable(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("--")
        .arg(from)
        .arg(to)
        .status()
        .expect("run cp");
    assert!(
        status.success(),
        "cp {} {}: {status}",
        from.display(),
        to.display()
    );
}

/// Writes an executable file (mode 755) and returns its path.
pub fn write_program(dir: &Path, file_name: &str, script: &str) -> PathBuf {
    let path = dir.join(file_name);
    fs::write(&path, script).expect("write program");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod program");
    path
}

/// A POSIX sh workflow program: prints `metadata` (one JSON object) for
/// `--workflow-metadata`, otherwise runs `body` with the program's arguments.
pub fn workflow_script(metadata: &str, body: &str) -> String {
    format!(
        "#!/bin/sh\nif [ \"$1\" = \"--workflow-metadata\" ]; then\ncat <<'JSON'\n{metadata}\nJSON\nexit 0\nfi\n{body}\n"
    )
}

/// A program that waits until the file given with `--gate` exists, then prints
/// `released` and succeeds: a running execution the test ends when it wants.
pub fn gate_program(id: &str) -> String {
    workflow_script(
        &format!(
            r#"{{"id":"{id}","name":"Gate","description":"Waits for a file.","fields":[{{"name":"gate","label":"Gate","description":"File to wait for","cli_arg":"--gate","required":true,"default":null,"field_type":{{"type":"text"}}}}]}}"#
        ),
        r#"gate="$2"
echo waiting
while [ ! -e "$gate" ]; do sleep 0.02; done
echo released"#,
    )
}

impl Daemon {
    /// Starts the `gate` workflow (a [`gate_program`] installed as `gate`)
    /// and waits until it runs; returns it and the file that releases it.
    pub async fn start_gate(&self) -> (pb::Execution, PathBuf) {
        let gate = self.file("gate");
        let exec = self
            .execute("gate", &[("gate", text(gate.to_str().unwrap()))])
            .await;
        self.wait_started(&exec.id).await;
        (exec, gate)
    }
}

/// The `flaky` workflow: fails until it has run `succeed_on` times
/// (counted in the file given with `--counter`), then succeeds; exits
/// `exit_code` when failing. Prints `attempt N` each run.
pub fn flaky_program(exit_code: i32, succeed_on: u32) -> String {
    workflow_script(
        r#"{"id":"flaky","name":"Flaky","description":"Fails, then succeeds.","fields":[{"name":"counter","label":"Counter","description":"Run count file","cli_arg":"--counter","required":true,"default":null,"field_type":{"type":"text"}}]}"#,
        &format!(
            r#"counter="$2"
n=$(cat "$counter" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$counter"
echo "attempt $n"
[ "$n" -ge {succeed_on} ] || exit {exit_code}"#
        ),
    )
}

/// Like the `ignore_sigterm` example: it and its grandchild ignore SIGTERM
/// (the grandchild from before it is forked), so a SIGTERM to the whole
/// process group stops nothing: only SIGKILL ends it. Prints `running with
/// grandchild PID`.
pub fn stubborn_program() -> String {
    workflow_script(
        r#"{"id":"stubborn","name":"Stubborn","description":"Ignores SIGTERM, grandchild too.","fields":[]}"#,
        r#"trap '' TERM
sleep 3600 &
grandchild=$!
trap 'echo "got SIGTERM, ignoring it"' TERM
echo '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"stubborn","total_phases":1}' >&2
echo "running with grandchild $grandchild"
while kill -0 "$grandchild" 2>/dev/null; do wait "$grandchild"; done"#,
    )
}

/// A `vm_pipeline` stand-in: reads the pipeline document, converts
/// load.source_path to convert.output_format with `qemu-img convert` (into
/// convert.output_path or OUTPUT_DIR/<name>.<format>), writes
/// `<name>.report.json` in its working directory and announces it. While a
/// file `OUTPUT_DIR/hold-<name>` exists it waits first (tests use that to
/// keep a run going).
pub fn fixture_pipeline() -> String {
    workflow_script(
        r#"{"id":"vm_pipeline","name":"VM pipeline (test fixture)","description":"Converts one VM's disk with qemu-img.","fields":[{"name":"manifest","label":"Manifest","description":"Pipeline document","cli_arg":"--manifest","required":true,"default":null,"field_type":{"type":"file_path","pattern":"*.json"}},{"name":"output_dir","label":"Output","description":"Output directory","cli_arg":"--output-dir","required":false,"default":"","field_type":{"type":"text"}}]}"#,
        r#"while [ $# -gt 0 ]; do
  case "$1" in
    --manifest) manifest="$2"; shift 2 ;;
    --output-dir) out="$2"; shift 2 ;;
    *) shift ;;
  esac
done
field() { sed -n "s/^ *\"$1\": *\"\([^\"]*\)\".*/\1/p" "$manifest" | head -n 1; }
ev() { echo "__WF_EVENT__:$1" >&2; }
name=$(field name); src=$(field source_path); fmt=$(field output_format); dst=$(field output_path)
while [ -e "$out/hold-$name" ]; do sleep 0.05; done
[ -n "$dst" ] || dst="$out/$name.$fmt"
case "$dst" in /*) ;; *) dst="$out/$dst" ;; esac
compress=""
if grep -q '"compress": true' "$manifest" && [ "$fmt" = qcow2 ]; then compress="-c"; fi
ev '{"type":"phase_started","phase":0,"name":"convert","total_phases":1}'
mkdir -p "$(dirname "$dst")"
if ! qemu-img convert $compress -O "$fmt" "$src" "$dst"; then
  ev '{"type":"phase_failed","phase":0,"name":"convert","error":"qemu-img convert failed"}'
  exit 1
fi
printf '{"pipeline":{"success":true},"artifacts":[{"type":"disk","path":"%s","format":"%s"}]}\n' "$dst" "$fmt" > "$name.report.json"
ev "{\"type\":\"state_file_created\",\"phase\":0,\"file_path\":\"$name.report.json\",\"description\":\"pipeline report\"}"
ev '{"type":"phase_completed","phase":0,"name":"convert"}'"#,
    )
}

/// How many lines the `tally` workflow prints.
const TALLY_LINES: usize = 5;

/// The `tally` workflow: appends its execution id to the file given with
/// `--tally` (one short O_APPEND write, so concurrent runs never mix
/// lines), then prints [`tally_lines`]: a run counted in a file that
/// outlives the daemons, to tell whether any program ran twice.
pub fn tally_program() -> String {
    workflow_script(
        r#"{"id":"tally","name":"Tally","description":"Counts its runs.","fields":[{"name":"tally","label":"Tally","description":"File of run ids","cli_arg":"--tally","required":true,"default":null,"field_type":{"type":"text"}}]}"#,
        &format!(
            r#"echo "$WORKFLOW_EXECUTION_ID" >> "$2"
for i in $(seq 1 {TALLY_LINES}); do echo "line $i"; done
sleep 0.01"#
        ),
    )
}

/// What a `tally` run prints: `line 1` .. `line 5`.
pub fn tally_lines() -> Vec<String> {
    (1..=TALLY_LINES).map(|i| format!("line {i}")).collect()
}

/// The ids in a tally file, with how often each ran.
pub fn tally(path: &Path) -> std::collections::HashMap<String, usize> {
    let mut runs = std::collections::HashMap::new();
    for id in fs::read_to_string(path).unwrap_or_default().lines() {
        *runs.entry(id.to_string()).or_insert(0) += 1;
    }
    runs
}

/// Waits until at least `count` runs are in a tally file.
pub async fn wait_for_runs(path: &Path, count: usize) {
    eventually(&format!("{count} runs in the tally"), DEADLINE, || async {
        (tally(path).values().sum::<usize>() >= count).then_some(())
    })
    .await;
}
