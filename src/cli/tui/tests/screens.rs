//! The dashboard, job monitor, workflow list, run form, execution tab and
//! key map, drawn.

use super::*;

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
fn the_dashboard_counts_the_daemons_on_the_history_and_says_it_drains() {
    let daemon = |role: pb::DaemonRole, alive: bool, draining: bool| pb::DaemonStatus {
        id: "0193aaaa-0000-7000-8000-000000000001".into(),
        host: "conv-1".into(),
        role: role as i32,
        alive,
        draining,
        ..Default::default()
    };
    let mut app = app();
    app.on_update(Update::Status(Box::new(status())));
    let alone = render(&mut app, 120, 40);
    assert!(
        !alone.contains("daemons:") && !alone.contains("DRAINING"),
        "{alone}"
    );
    app.on_update(Update::Status(Box::new(pb::GetStatusResponse {
        daemons: vec![
            daemon(pb::DaemonRole::Writer, true, true),
            daemon(pb::DaemonRole::Standby, true, false),
            daemon(pb::DaemonRole::Standby, false, false),
        ],
        ..status()
    })));
    let shown = render(&mut app, 120, 40);
    assert!(
        shown.contains("daemons: 3 (2 standing by, 1 not heard from)  DRAINING"),
        "{shown}"
    );
}

#[test]
fn the_banner_says_when_the_daemon_is_away() {
    let mut app = app();
    app.on_update(Update::Status(Box::new(status())));
    app.on_update(Update::Disconnected(
        "Connection refused (os error 111)".into(),
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
    use crate::cli::tui::keys::Action;
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
    use crate::cli::tui::keys::Action;
    use crate::cli::tui::messages::Request;
    let mut app = app_with_form();
    app.on_action(Action::Open);
    assert_eq!(app.view, crate::cli::tui::app::View::Form);
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
        matches!(
            requests.as_slice(),
            [Request::Follow { .. }, Request::Watch(_)]
        ),
        "{requests:?}"
    );
    assert!(app.form.is_none());
}

#[test]
fn the_job_monitor_switches_tabs_and_opens_the_row_under_the_cursor() {
    use crate::cli::tui::keys::Action;
    use crate::cli::tui::messages::Request;
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
    use crate::cli::tui::keys::Action;
    use crate::cli::tui::messages::Request;
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
    use crate::cli::tui::keys::Action;
    let mut app = app();
    app.on_action(Action::Help);
    insta::assert_snapshot!("help_80x24", render(&mut app, 80, 24));
    // Any key closes it without acting.
    app.on_action(Action::Jobs);
    assert!(!app.help);
    assert_eq!(app.view, crate::cli::tui::app::View::Dashboard);
}

#[test]
fn a_refusal_without_field_violations_leaves_the_form_ready_to_send_again() {
    use crate::cli::tui::keys::Action;
    use crate::cli::tui::messages::Request;
    let mut app = app_with_form();
    app.on_action(Action::Open);
    app.on_action(Action::Type('x'));
    assert!(matches!(
        app.on_action(Action::Submit).as_slice(),
        [Request::Run { .. }]
    ));
    app.on_update(Update::Violations {
        workflow_id: "research_pipeline".into(),
        violations: Vec::new(),
        message: "ResourceExhausted: the queue is full (1000)".into(),
    });
    let screen = render(&mut app, 80, 24);
    assert!(
        screen.contains("✗ ResourceExhausted: the queue is full"),
        "{screen}"
    );
    assert!(!screen.contains("Running..."), "{screen}");
    assert!(matches!(
        app.on_action(Action::Submit).as_slice(),
        [Request::Run { .. }]
    ));
}

#[test]
fn the_form_keeps_every_key_until_esc_and_a_late_start_leaves_another_form_alone() {
    use crate::cli::tui::app::View;
    use crate::cli::tui::keys::Action;
    let mut app = app_with_form();
    app.on_action(Action::Open);
    // On the select field (Navigate mode) q and w neither quit nor leave.
    app.on_action(Action::Down);
    app.on_action(Action::Down);
    for action in [Action::Quit, Action::Dashboard, Action::ExecutionTab(1)] {
        app.on_action(action);
        assert!(!app.quit);
        assert_eq!(app.view, View::Form);
    }
    // A start of some other workflow (an earlier form's, answered late)
    // opens its tab behind the form, which keeps what was typed.
    let other = execution(
        "0190a5c2-0000-7000-8000-00000000beef",
        "hello",
        pb::ExecutionState::Queued,
        0,
    );
    app.on_update(Update::Started(Box::new(other)));
    assert_eq!(app.view, View::Form);
    assert!(app.form.is_some());
    assert_eq!(app.tabs.len(), 1);
    app.on_action(Action::Back);
    assert_eq!(app.view, View::Workflows);
    // Ctrl-C quits from anywhere.
    app.on_action(Action::Open);
    app.on_action(Action::Interrupt);
    assert!(app.quit);
}

#[test]
fn program_text_keeps_its_tabs_as_spaces_and_shows_escapes() {
    assert_eq!(
        crate::cli::tui::widgets::safe("name\tvalue\u{1b}[2J"),
        "name    value\\x1b[2J"
    );
}
