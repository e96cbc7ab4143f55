//! The manifest builder's four steps, drawn, and what it sends.

use super::*;
use crate::cli::tui::screens::manifest::tests::manifest_answer;

/// The manifest builder shown, after these actions; the requests they led
/// to.
fn manifest_keys(
    app: &mut App,
    actions: &[crate::cli::tui::keys::Action],
) -> Vec<crate::cli::tui::messages::Request> {
    actions
        .iter()
        .flat_map(|action| app.on_action(action.clone()))
        .collect()
}

/// Types `text` into the field under the cursor.
fn manifest_type(app: &mut App, text: &str) -> Vec<crate::cli::tui::messages::Request> {
    let actions: Vec<_> = text
        .chars()
        .map(crate::cli::tui::keys::Action::Type)
        .collect();
    manifest_keys(app, &actions)
}

/// The generation of the last CheckManifest among `requests`.
fn last_check(requests: &[crate::cli::tui::messages::Request]) -> u64 {
    requests
        .iter()
        .rev()
        .find_map(|r| match r {
            crate::cli::tui::messages::Request::CheckManifest { generation, .. } => {
                Some(*generation)
            }
            _ => None,
        })
        .expect("a CheckManifest")
}

/// The builder with a source path typed on Source, the daemon's answer for
/// it given, and the last generation asked.
fn manifest_with_source(answer: Result<Box<pb::ValidateManifestResponse>, String>) -> (App, u64) {
    use crate::cli::tui::keys::Action;
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
    use crate::cli::tui::keys::Action;
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
    use crate::cli::tui::keys::Action;
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
    use crate::cli::tui::keys::Action;
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
    use crate::cli::tui::keys::Action;
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
    use crate::cli::tui::keys::Action;
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
    use crate::cli::tui::keys::Action;
    let (mut app, _) = manifest_with_source(Ok(manifest_answer(&[])));
    manifest_keys(&mut app, &[Action::Open, Action::Open, Action::Open]);
    let requests = manifest_keys(&mut app, &[Action::Submit]);
    assert!(
        matches!(
            requests.as_slice(),
            [crate::cli::tui::messages::Request::SubmitManifest { .. }]
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
        matches!(requests.as_slice(), [crate::cli::tui::messages::Request::Follow { execution_id, .. }, crate::cli::tui::messages::Request::Watch(_)] if execution_id.ends_with("6a09")),
        "{requests:?}"
    );
    assert_eq!(app.view, crate::cli::tui::app::View::Execution(0));
    assert_eq!(
        app.notice,
        Some(("submitted web-01: execution 8d4e6a09".into(), false))
    );
}

#[test]
fn manifest_save_asks_for_a_file() {
    use crate::cli::tui::keys::Action;
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
