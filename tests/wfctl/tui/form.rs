//! The run form (screens/form.rs): the daemon's violation at its field,
//! then a run that opens in a tab.

use workflow_manager::pb::ExecutionState;

use super::{cursor_to, short};
use crate::daemon::namespaces::team_dirs;
use crate::helper::*;

/// A workflow with a required text field and a bounded number field.
fn greet_program() -> String {
    workflow_script(
        r#"{"id":"greet","name":"Greet","description":"Greets someone.","fields":[{"name":"name","label":"Name","description":"Who to greet","cli_arg":"--name","required":true,"default":null,"field_type":{"type":"text"}},{"name":"times","label":"Times","description":"How often","cli_arg":"--times","required":false,"default":"2","field_type":{"type":"number","min":1,"max":3}}]}"#,
        r#"name="" times=""
while [ $# -gt 0 ]; do
  case "$1" in --name) name="$2"; shift 2 ;; --times) times="$2"; shift 2 ;; *) shift ;; esac
done
echo '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"greet","total_phases":1}' >&2
echo "hello, $name ($times times)"
echo '__WF_EVENT__:{"type":"phase_completed","phase":0,"name":"greet"}' >&2"#,
    )
}

#[tokio::test]
async fn run_form_shows_the_daemons_violation_at_its_field_then_runs() {
    let daemon = Daemon::builder()
        .program("greet.sh", greet_program())
        .start()
        .await;
    let tui = Tui::start(&daemon.addr).await;
    tui.send_keys(&["l"]).await;
    tui.wait_for("Greet  (2 fields)").await;
    cursor_to(&tui, "greet ").await;
    tui.send_keys(&["Enter"]).await;
    // A field per input.
    let screen = tui.wait_for("Name").await;
    let screen = if screen.contains("Times") {
        screen
    } else {
        tui.wait_for("Times").await
    };
    assert!(screen.contains("Who to greet"), "{screen}");

    // The required field left empty: the daemon's violation at its field,
    // and nothing run.
    tui.send_keys(&["C-s"]).await;
    let screen = tui.wait_for("is required").await;
    let lines: Vec<&str> = screen.lines().collect();
    let field = lines
        .iter()
        .position(|l| l.contains("Name"))
        .expect("the Name field");
    let violation = lines
        .iter()
        .position(|l| l.contains("is required"))
        .expect("the violation");
    assert!(
        (field..=field + 2).contains(&violation),
        "the violation at the Name field:\n{screen}"
    );
    assert!(
        daemon
            .list_executions(Default::default())
            .await
            .executions
            .is_empty(),
        "an invalid form starts nothing"
    );

    // A value, Ctrl-S: the execution opens in a tab and succeeds.
    tui.type_text("otters").await;
    tui.wait_for("otters").await;
    tui.send_keys(&["C-s"]).await;
    let screen = tui.wait_for("greet  SUCCEEDED").await;
    let screen = if screen.contains("hello, otters") {
        screen
    } else {
        tui.wait_for("hello, otters").await
    };
    assert!(screen.contains("✓ Phase 1/1 greet"), "{screen}");
    let executions = daemon.list_executions(Default::default()).await.executions;
    assert_eq!(executions.len(), 1, "{executions:?}");
    let run = &executions[0];
    assert!(screen.contains(short(&run.id)), "its tab:\n{screen}");
    assert_eq!(run.state(), ExecutionState::Succeeded, "{run:?}");
    assert_eq!(
        run.inputs.get("name").map(String::as_str),
        Some("otters"),
        "{run:?}"
    );
}

/// `wfctl tui --namespace team-a`: the status line names it and the run
/// form starts there (`alpha` is only team-a's, so `default` would refuse).
#[tokio::test]
async fn run_form_starts_in_the_namespace_of_the_command_line() {
    let dirs = tempfile::tempdir().unwrap();
    let daemon = Daemon::builder()
        .config_file("namespaces.toml", &team_dirs(dirs.path(), ""))
        .start()
        .await;
    let tui = Tui::start_with(
        &daemon.addr,
        TuiOptions {
            args: vec!["--namespace".into(), "team-a".into()],
            ..TuiOptions::default()
        },
    )
    .await;
    tui.wait_for("namespace team-a").await;
    tui.send_keys(&["l"]).await;
    tui.wait_for("alpha").await;
    cursor_to(&tui, "alpha").await;
    tui.send_keys(&["Enter"]).await;
    tui.wait_for("Ctrl-S: Run").await;
    tui.send_keys(&["C-s"]).await;
    tui.wait_for("alpha  SUCCEEDED").await;
    let executions = daemon.list_executions(Default::default()).await.executions;
    assert_eq!(executions.len(), 1, "{executions:?}");
    assert_eq!(executions[0].workflow_id, "alpha", "{executions:?}");
    assert_eq!(executions[0].namespace, "team-a", "{executions:?}");
}
