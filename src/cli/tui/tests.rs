//! Rendering tests of every screen: the app drawn on ratatui's TestBackend
//! at 80x24 (the smallest size it supports) and at 120x40, compared with
//! the snapshots under `snapshots/` (insta; `cargo insta review`, or
//! `INSTA_UPDATE=always`, to accept a change after reading it).

use std::time::{Duration, SystemTime};

use ratatui::{backend::TestBackend, Terminal};

use super::{
    app::App,
    messages::{JobTab, Update},
    theme::Theme,
};
use crate::pb;

/// The fixed "now" of every snapshot: 2026-01-02 03:04:05 UTC.
pub(super) fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_323_045)
}

/// A timestamp `secs_ago` seconds before [`now`].
pub(super) fn ago(secs_ago: i64) -> Option<prost_types::Timestamp> {
    let now = now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    Some(prost_types::Timestamp {
        seconds: now - secs_ago,
        nanos: 0,
    })
}

/// The app drawn at `width` x `height`, as text.
pub(super) fn render(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| app.draw(frame, now())).unwrap();
    terminal.backend().to_string()
}

/// An app connected to a daemon at a fixed address, without colours.
pub(super) fn app() -> App {
    let mut app = App::new("127.0.0.1:50051".into(), Theme::new(false));
    app.on_update(Update::Connected);
    app
}

/// A status with a drop folder, as a daemon with work going reports it.
pub(super) fn status() -> pb::GetStatusResponse {
    pb::GetStatusResponse {
        version: "0.1.0".into(),
        uptime_seconds: 3725,
        max_workers: 4,
        running: 2,
        queued: 1,
        max_queue: 1000,
        succeeded_today: 17,
        failed_today: 2,
        total_executions: 120,
        drop_folders: vec![pb::DropFolder {
            path: "/var/lib/workflowd/manifests".into(),
            mode: pb::DropFolderMode::Manifest as i32,
            files_waiting: 3,
            files_processing: 1,
            processed_today: 9,
            failed_today: 1,
            watching: true,
        }],
        ..Default::default()
    }
}

/// An execution of `workflow` in `state`, started `secs_ago`.
pub(super) fn execution(
    id: &str,
    workflow: &str,
    state: pb::ExecutionState,
    secs_ago: i64,
) -> pb::Execution {
    pb::Execution {
        id: id.into(),
        workflow_id: workflow.into(),
        state: state as i32,
        start_time: ago(secs_ago),
        ..Default::default()
    }
}

/// Two running executions, one with a phase, progress and an ETA.
pub(super) fn running() -> Vec<pb::Execution> {
    let mut convert = execution(
        "0190a5c2-7d3e-7a41-9e1b-5f2c8d4e6a01",
        "vm_pipeline",
        pb::ExecutionState::Running,
        95,
    );
    convert.labels.insert("vm".into(), "web-01".into());
    convert.current_phase = "convert".into();
    convert.estimate = Some(pb::Estimate {
        progress: Some(0.6),
        remaining: Some(prost_types::Duration {
            seconds: 63,
            nanos: 0,
        }),
        ..Default::default()
    });
    let plain = execution(
        "0190a5c2-7d3e-7a41-9e1b-5f2c8d4e6a02",
        "research",
        pb::ExecutionState::Running,
        12,
    );
    vec![convert, plain]
}

#[test]
fn the_dashboard_shows_status_queue_and_active_jobs() {
    let mut app = app();
    app.on_update(Update::Status(Box::new(status())));
    app.on_update(Update::Jobs {
        tab: JobTab::Active,
        executions: running(),
        more: false,
    });
    insta::assert_snapshot!("dashboard_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("dashboard_120x40", render(&mut app, 120, 40));
}

#[test]
fn the_banner_says_when_the_daemon_is_away() {
    let mut app = app();
    app.on_update(Update::Status(Box::new(status())));
    app.on_update(Update::Disconnected(
        "cannot reach the workflow daemon at 127.0.0.1:50051: Connection refused".into(),
    ));
    insta::assert_snapshot!("dashboard_disconnected_80x24", render(&mut app, 80, 24));
}

/// The research pipeline's declared fields: one of each kind the form
/// draws.
pub(super) fn research_workflow() -> pb::Workflow {
    use pb::field_type::{Kind, Number, PhaseSelector, Select, StateFile, Text};
    let field =
        |name: &str, label: &str, required: bool, default: Option<&str>, kind: Kind| pb::Field {
            name: name.into(),
            label: label.into(),
            description: format!("the {name}"),
            cli_arg: format!("--{name}"),
            required,
            default_value: default.map(str::to_string),
            required_for_phases: Vec::new(),
            r#type: Some(pb::FieldType { kind: Some(kind) }),
        };
    pb::Workflow {
        id: "research_pipeline".into(),
        name: "Research pipeline".into(),
        description: "Plans, researches and writes up a topic.".into(),
        fields: vec![
            field("topic", "Topic", true, None, Kind::Text(Text {})),
            field(
                "depth",
                "Depth",
                false,
                Some("2"),
                Kind::Number(Number {
                    min: Some(1),
                    max: Some(5),
                }),
            ),
            field(
                "format",
                "Format",
                false,
                Some("markdown"),
                Kind::Select(Select {
                    options: vec!["markdown".into(), "json".into()],
                }),
            ),
            field(
                "phases",
                "Phases",
                false,
                Some("0,1,2"),
                Kind::PhaseSelector(PhaseSelector { total_phases: 3 }),
            ),
            field(
                "resume",
                "Resume from",
                false,
                None,
                Kind::StateFile(StateFile {
                    pattern: "*.state.json".into(),
                    phase: None,
                }),
            ),
        ],
        ..Default::default()
    }
}

/// The app with the workflow list loaded and the research form open.
fn app_with_form() -> App {
    use super::keys::Action;
    let mut app = app();
    app.on_update(Update::Workflows(Box::new(pb::ListWorkflowsResponse {
        workflows: vec![research_workflow()],
        discovery_errors: vec![pb::DiscoveryError {
            program_path: "/srv/workflows/broken.sh".into(),
            message: "exit status 2".into(),
            discover_time: None,
        }],
        ..Default::default()
    })));
    app.on_action(Action::Workflows);
    app
}

#[test]
fn the_workflow_list_shows_workflows_and_discovery_errors() {
    let mut app = app_with_form();
    insta::assert_snapshot!("workflows_80x24", render(&mut app, 80, 24));
}

#[test]
fn the_form_shows_violations_at_their_fields_and_sends_typed_inputs() {
    use super::keys::Action;
    use super::messages::Request;
    let mut app = app_with_form();
    app.on_action(Action::Open);
    assert_eq!(app.view, super::app::View::Form);
    // Ctrl-S with the required topic empty: the daemon's answer comes back
    // as violations and shows under the field.
    let requests = app.on_action(Action::Submit);
    let [Request::Run {
        workflow_id,
        inputs,
    }] = requests.as_slice()
    else {
        panic!("{requests:?}");
    };
    assert_eq!(workflow_id, "research_pipeline");
    assert!(!inputs.contains_key("topic"), "{inputs:?}");
    app.on_update(Update::Violations {
        workflow_id: "research_pipeline".into(),
        violations: vec![("inputs.topic".into(), "is required".into())],
        message: "invalid inputs".into(),
    });
    insta::assert_snapshot!("form_violation_80x24", render(&mut app, 80, 24));

    // Letters are text in a text field (q does not quit), the choice and
    // the phases change with arrows and Space.
    for c in "quic".chars() {
        app.on_action(Action::Type(c));
    }
    app.on_action(Action::DeleteBack);
    app.on_action(Action::Down);
    app.on_action(Action::Type('4'));
    app.on_action(Action::Down);
    app.on_action(Action::Right);
    app.on_action(Action::Down);
    app.on_action(Action::Right);
    app.on_action(Action::Toggle);
    assert!(!app.quit);
    insta::assert_snapshot!("form_filled_80x24", render(&mut app, 80, 24));
    let requests = app.on_action(Action::Submit);
    let [Request::Run { inputs, .. }] = requests.as_slice() else {
        panic!("{requests:?}");
    };
    let json = |name: &str| crate::proto_value::to_json(&inputs[name]);
    assert_eq!(json("topic"), serde_json::json!("qui"));
    assert_eq!(json("depth"), serde_json::json!(24.0));
    assert_eq!(json("format"), serde_json::json!("json"));
    assert_eq!(json("phases"), serde_json::json!([0.0, 2.0]));
    assert!(!inputs.contains_key("resume"));

    // Started: the form closes and the execution's tab opens.
    let mut started = execution(
        "0190a5c2-0000-7000-8000-00000000abcd",
        "research_pipeline",
        pb::ExecutionState::Queued,
        0,
    );
    started.start_time = None;
    let (_, requests) = app.on_update(Update::Started(Box::new(started)));
    assert!(
        matches!(requests.as_slice(), [Request::Follow { .. }]),
        "{requests:?}"
    );
    assert!(app.form.is_none());
}

#[test]
fn the_job_monitor_switches_tabs_and_opens_the_row_under_the_cursor() {
    use super::keys::Action;
    use super::messages::Request;
    let mut app = app();
    let requests = app.on_action(Action::Jobs);
    assert_eq!(requests, [Request::Watch(vec![JobTab::Active])]);
    app.on_update(Update::Jobs {
        tab: JobTab::Active,
        executions: running(),
        more: false,
    });
    insta::assert_snapshot!("jobs_active_80x24", render(&mut app, 80, 24));
    let requests = app.on_action(Action::NextTab);
    assert_eq!(requests, [Request::Watch(vec![JobTab::Pending])]);
    app.on_action(Action::NextTab);
    app.on_action(Action::NextTab);
    let mut failed = execution(
        "0190a5c2-7d3e-7a41-9e1b-5f2c8d4e6a09",
        "sleeper",
        pb::ExecutionState::Failed,
        300,
    );
    failed.end_time = ago(240);
    failed.error = "exit code 3".into();
    app.on_update(Update::Jobs {
        tab: JobTab::Failed,
        executions: vec![failed],
        more: true,
    });
    insta::assert_snapshot!("jobs_failed_80x24", render(&mut app, 80, 24));
    let requests = app.on_action(Action::Open);
    assert!(
        matches!(requests.as_slice(), [Request::Follow { execution_id, .. }, Request::Watch(_)] if execution_id.ends_with("6a09")),
        "{requests:?}"
    );
}

/// Log events of a run: a phase with a task and an agent, output lines.
fn events() -> Vec<pb::LogEvent> {
    use pb::log_event::Payload;
    let payloads = vec![
        Payload::PhaseStarted(pb::PhaseStarted {
            phase: 0,
            name: "convert".into(),
            total_phases: 2,
        }),
        Payload::TaskStarted(pb::TaskStarted {
            phase: 0,
            task_id: "t1".into(),
            description: "qemu-img convert".into(),
            total_tasks: Some(1),
        }),
        Payload::AgentStarted(pb::AgentStarted {
            task_id: "t1".into(),
            agent_name: "worker-1".into(),
            description: String::new(),
        }),
        Payload::TaskProgress(pb::TaskProgress {
            task_id: "t1".into(),
            message: "40% copied".into(),
        }),
        Payload::Output(pb::OutputLine {
            stream: pb::OutputStream::Stdout as i32,
            text: "converting web-01.vmdk\u{1b}[2J".into(),
            ..Default::default()
        }),
        Payload::Output(pb::OutputLine {
            stream: pb::OutputStream::Stderr as i32,
            text: "warning: sparse".into(),
            ..Default::default()
        }),
    ];
    payloads
        .into_iter()
        .enumerate()
        .map(|(i, payload)| pb::LogEvent {
            sequence: i as u64 + 1,
            payload: Some(payload),
            ..Default::default()
        })
        .collect()
}

#[test]
fn an_execution_tab_shows_the_live_tree_and_the_log_and_asks_before_killing() {
    use super::keys::Action;
    use super::messages::Request;
    let mut app = app();
    app.on_update(Update::Jobs {
        tab: JobTab::Active,
        executions: running(),
        more: false,
    });
    let requests = app.on_action(Action::Open);
    let Some(Request::Follow { tab, .. }) = requests.first().cloned() else {
        panic!("{requests:?}");
    };
    app.on_update(Update::Execution {
        tab,
        execution: Box::new(running()[0].clone()),
    });
    app.on_update(Update::Events {
        tab,
        events: events(),
    });
    // A repeated event (a resumed stream) is not applied twice.
    app.on_update(Update::Events {
        tab,
        events: events()[4..].to_vec(),
    });
    insta::assert_snapshot!("execution_running_80x24", render(&mut app, 80, 24));

    assert!(app.on_action(Action::ForceKill).is_empty());
    insta::assert_snapshot!("execution_kill_confirm_80x24", render(&mut app, 80, 24));
    // Any other key, q included, is not an answer.
    assert!(app.on_action(Action::Quit).is_empty());
    assert!(!app.quit);
    assert!(app.on_action(Action::ForceKill).is_empty());
    let requests = app.on_action(Action::Yes);
    assert_eq!(
        requests,
        [Request::Cancel {
            execution_id: running()[0].id.clone(),
            force: true
        }]
    );

    // Search: the match is highlighted and named.
    app.on_action(Action::Search);
    for c in "sparse".chars() {
        app.on_action(Action::Type(c));
    }
    app.on_action(Action::Open);
    insta::assert_snapshot!("execution_search_120x40", render(&mut app, 120, 40));
}

#[test]
fn the_key_map_overlay_fits_the_smallest_screen() {
    use super::keys::Action;
    let mut app = app();
    app.on_action(Action::Help);
    insta::assert_snapshot!("help_80x24", render(&mut app, 80, 24));
    // Any key closes it without acting.
    app.on_action(Action::Jobs);
    assert!(!app.help);
    assert_eq!(app.view, super::app::View::Dashboard);
}

/// The manifest builder shown, after these actions; the requests they led
/// to.
fn manifest_keys(app: &mut App, actions: &[super::keys::Action]) -> Vec<super::messages::Request> {
    actions
        .iter()
        .flat_map(|action| app.on_action(action.clone()))
        .collect()
}

/// Types `text` into the field under the cursor.
fn manifest_type(app: &mut App, text: &str) -> Vec<super::messages::Request> {
    let actions: Vec<_> = text.chars().map(super::keys::Action::Type).collect();
    manifest_keys(app, &actions)
}

/// The generation of the last CheckManifest among `requests`.
fn last_check(requests: &[super::messages::Request]) -> u64 {
    requests
        .iter()
        .rev()
        .find_map(|r| match r {
            super::messages::Request::CheckManifest { generation, .. } => Some(*generation),
            _ => None,
        })
        .expect("a CheckManifest")
}

/// ValidateManifest's answer with these `(path, message)` problems.
fn manifest_answer(problems: &[(&str, &str)]) -> Box<pb::ValidateManifestResponse> {
    Box::new(pb::ValidateManifestResponse {
        valid: problems.is_empty(),
        problems: problems
            .iter()
            .map(|(path, message)| pb::ManifestProblem {
                path: path.to_string(),
                message: message.to_string(),
            })
            .collect(),
        vms: if problems.is_empty() {
            vec![pb::ManifestVm {
                name: "web-01".into(),
                ..Default::default()
            }]
        } else {
            Vec::new()
        },
        ..Default::default()
    })
}

/// The builder with a source path typed on Source, the daemon's answer for
/// it given, and the last generation asked.
fn manifest_with_source(answer: Result<Box<pb::ValidateManifestResponse>, String>) -> (App, u64) {
    use super::keys::Action;
    let mut app = app();
    let mut requests = manifest_keys(&mut app, &[Action::Manifest]);
    requests.extend(manifest_keys(&mut app, &[const { Action::Down }; 7]));
    requests.extend(manifest_type(&mut app, "/srv/disks/web-01.raw"));
    let generation = last_check(&requests);
    app.on_update(Update::ManifestChecked {
        generation,
        result: answer,
    });
    (app, generation)
}

#[test]
fn manifest_source_step_lists_the_types_and_the_path() {
    let (mut app, _) = manifest_with_source(Ok(manifest_answer(&[])));
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("[Source]"), "{screen}");
    assert!(
        screen.contains("from the path's extension (raw)"),
        "{screen}"
    );
    insta::assert_snapshot!("manifest_source_80x24", screen);
}

#[test]
fn manifest_pipeline_step_toggles_the_stages() {
    use super::keys::Action;
    let (mut app, _) = manifest_with_source(Ok(manifest_answer(&[])));
    manifest_keys(
        &mut app,
        &[Action::Open, Action::Down, Action::Down, Action::Right],
    );
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("‹bypath-only›"), "{screen}");
    insta::assert_snapshot!("manifest_pipeline_80x24", screen);
}

#[test]
fn manifest_output_step_says_only_qcow2_compresses() {
    use super::keys::Action;
    let (mut app, _) = manifest_with_source(Ok(manifest_answer(&[])));
    manifest_keys(
        &mut app,
        &[Action::Open, Action::Open, Action::Right, Action::Down],
    );
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("only qcow2 compresses"), "{screen}");
    insta::assert_snapshot!("manifest_output_80x24", screen);
}

#[test]
fn manifest_review_shows_the_json_and_the_daemons_verdict() {
    use super::keys::Action;
    let (mut app, generation) = manifest_with_source(Ok(manifest_answer(&[])));
    let requests = manifest_keys(&mut app, &[Action::Open, Action::Open, Action::Open]);
    assert!(requests.is_empty(), "walking the steps changes nothing");
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("✓ valid"), "{screen}");
    insta::assert_snapshot!("manifest_review_80x24", screen);
    insta::assert_snapshot!("manifest_review_120x40", render(&mut app, 120, 40));

    // PgDn scrolls the manifest; an answer for an older draft is ignored.
    manifest_keys(&mut app, &[Action::PageDown]);
    app.on_update(Update::ManifestChecked {
        generation: generation - 1,
        result: Ok(manifest_answer(&[("pipeline", "stale")])),
    });
    let scrolled = render(&mut app, 80, 24);
    assert!(!scrolled.contains("stale"), "{scrolled}");
    assert!(scrolled.contains("\"validate\": {"), "{scrolled}");
    insta::assert_snapshot!("manifest_review_scrolled_80x24", scrolled);
}

#[test]
fn manifest_review_lists_the_daemons_problems() {
    use super::keys::Action;
    let (mut app, _) = manifest_with_source(Ok(manifest_answer(&[
        (
            "pipeline.load.source_path",
            "/srv/disks/web-01.raw is not inside a source root (setting source_roots)",
        ),
        (
            "pipeline.convert.output_path",
            "must stay inside the output directory",
        ),
    ])));
    manifest_keys(&mut app, &[Action::Open, Action::Open, Action::Open]);
    let requests = manifest_keys(&mut app, &[Action::Submit]);
    assert!(requests.is_empty(), "refused: {requests:?}");
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("not submitted: 2 problems"), "{screen}");
    insta::assert_snapshot!("manifest_review_problems_80x24", screen);
}

#[test]
fn manifest_review_falls_back_to_the_local_check_without_the_daemon() {
    use super::keys::Action;
    let mut app = app();
    manifest_keys(&mut app, &[Action::Manifest]);
    let requests = manifest_keys(&mut app, &[Action::Submit]);
    app.on_update(Update::ManifestChecked {
        generation: last_check(&requests),
        result: Err("cannot reach the workflow daemon at 127.0.0.1:50051".into()),
    });
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("the daemon cannot check it"), "{screen}");
    assert!(screen.contains("pipeline.load.source_path"), "{screen}");
    insta::assert_snapshot!("manifest_review_unreachable_80x24", screen);
}

#[test]
fn manifest_submit_opens_the_executions_in_tabs() {
    use super::keys::Action;
    let (mut app, _) = manifest_with_source(Ok(manifest_answer(&[])));
    manifest_keys(&mut app, &[Action::Open, Action::Open, Action::Open]);
    let requests = manifest_keys(&mut app, &[Action::Submit]);
    assert!(
        matches!(
            requests.as_slice(),
            [super::messages::Request::SubmitManifest { .. }]
        ),
        "{requests:?}"
    );
    let (_, requests) = app.on_update(Update::ManifestSubmitted(Ok(Box::new(
        pb::SubmitManifestResponse {
            vms: vec![pb::SubmittedVm {
                name: "web-01".into(),
                execution: Some(execution(
                    "0190a5c2-7d3e-7a41-9e1b-5f2c8d4e6a09",
                    "vm_pipeline",
                    pb::ExecutionState::Queued,
                    0,
                )),
                ..Default::default()
            }],
            started: true,
            ..Default::default()
        },
    ))));
    assert!(
        matches!(requests.as_slice(), [super::messages::Request::Follow { execution_id, .. }] if execution_id.ends_with("6a09")),
        "{requests:?}"
    );
    assert_eq!(app.view, super::app::View::Execution(0));
    assert_eq!(
        app.notice,
        Some(("submitted web-01: execution 8d4e6a09".into(), false))
    );
}

#[test]
fn manifest_save_asks_for_a_file() {
    use super::keys::Action;
    let (mut app, _) = manifest_with_source(Ok(manifest_answer(&[])));
    manifest_keys(&mut app, &[Action::Save]);
    // Typing: `q` is a letter of the path, not Quit.
    manifest_keys(&mut app, &[const { Action::DeleteBack }; 200]);
    manifest_type(&mut app, "/srv/manifests/q.yaml");
    assert!(!app.quit);
    let screen = render(&mut app, 80, 24);
    assert!(
        screen.contains("Save to: /srv/manifests/q.yaml"),
        "{screen}"
    );
    insta::assert_snapshot!("manifest_save_80x24", screen);
    manifest_keys(&mut app, &[Action::Back]);
    assert!(!render(&mut app, 80, 24).contains("Save to"));
}
