//! The manifest builder's keys, checks, submit and save, without a
//! terminal.

use super::*;

/// ValidateManifest's answer with these `(path, message)` problems (the
/// app's manifest tests use it too).
pub(crate) fn manifest_answer(problems: &[(&str, &str)]) -> Box<pb::ValidateManifestResponse> {
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

/// The builder after these actions, and the effects of the last one.
fn press(builder: &mut ManifestBuilder, actions: &[Action]) -> Vec<Effect> {
    let mut effects = Vec::new();
    for action in actions {
        effects = builder.on_action(action);
    }
    effects
}

fn type_text(builder: &mut ManifestBuilder, text: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in text.chars() {
        effects.extend(builder.on_action(&Action::Type(c)));
    }
    effects
}

/// A builder with a source path typed, back in Navigate mode on Source.
fn with_source(path: &str) -> ManifestBuilder {
    let mut builder = ManifestBuilder::default();
    press(&mut builder, &[const { Action::Down }; 7]);
    assert_eq!(builder.row(), Some(Row::Text(Field::SourcePath)));
    type_text(&mut builder, path);
    press(&mut builder, &[Action::Back]);
    builder
}

fn document(builder: &ManifestBuilder) -> serde_json::Value {
    serde_json::from_str(&builder.rendered().0).unwrap()
}

fn generation_of(effects: &[Effect]) -> Option<u64> {
    effects.iter().rev().find_map(|e| match e {
        Effect::Send(Request::CheckManifest { generation, .. }) => Some(*generation),
        _ => None,
    })
}

#[test]
fn space_checks_one_source_type_at_a_time_and_unchecks_it() {
    let mut builder = with_source("/d/web.raw");
    assert_eq!(document(&builder)["pipeline"]["load"]["source_type"], "raw");
    press(&mut builder, &[Action::Home, Action::Down, Action::Toggle]);
    assert_eq!(builder.draft.source_type.as_deref(), Some("ova"));
    press(&mut builder, &[Action::Down, Action::Toggle]);
    assert_eq!(builder.draft.source_type.as_deref(), Some("ovf"));
    assert_eq!(document(&builder)["pipeline"]["load"]["source_type"], "ovf");
    press(&mut builder, &[Action::Toggle]);
    assert_eq!(builder.draft.source_type, None);
    assert_eq!(document(&builder)["pipeline"]["load"]["source_type"], "raw");
}

#[test]
fn ami_adds_its_id_field_and_the_id_reaches_the_manifest() {
    let mut builder = with_source("/d/web.raw");
    assert!(!builder
        .rows(Step::Source)
        .contains(&Row::Text(Field::AmiId)));
    press(&mut builder, &[Action::Home]);
    press(&mut builder, &[const { Action::Down }; 6]);
    press(&mut builder, &[Action::Toggle]);
    assert_eq!(builder.draft.source_type.as_deref(), Some("ami"));
    press(&mut builder, &[Action::Down, Action::Down]);
    assert_eq!(builder.editing(), Some(Field::AmiId));
    type_text(&mut builder, "ami-0abc");
    assert_eq!(document(&builder)["pipeline"]["load"]["ami_id"], "ami-0abc");
    // Another type drops the id from the manifest.
    press(
        &mut builder,
        &[Action::Up, Action::Up, Action::Up, Action::Toggle],
    );
    assert_eq!(builder.draft.source_type.as_deref(), Some("raw"));
    assert!(document(&builder)["pipeline"]["load"]
        .get("ami_id")
        .is_none());
}

#[test]
fn a_text_field_takes_letters_until_esc_and_space_types_again() {
    let mut builder = ManifestBuilder::default();
    assert_eq!(builder.input_mode(), InputMode::Navigate);
    press(&mut builder, &[const { Action::Down }; 9]);
    assert_eq!(builder.row(), Some(Row::Text(Field::Name)));
    assert_eq!(builder.input_mode(), InputMode::Text);
    type_text(&mut builder, "web-9");
    press(&mut builder, &[Action::DeleteBack]);
    assert_eq!(builder.draft.name.as_deref(), Some("web-"));
    press(&mut builder, &[Action::Back]);
    assert_eq!(builder.input_mode(), InputMode::Navigate);
    press(&mut builder, &[Action::Toggle]);
    assert_eq!(builder.input_mode(), InputMode::Text);
    press(&mut builder, &[Action::Up]);
    assert_eq!(builder.input_mode(), InputMode::Text, "on the path field");
    press(&mut builder, &[Action::Up]);
    assert_eq!(builder.input_mode(), InputMode::Navigate, "on raw");
}

#[test]
fn a_relative_path_becomes_absolute_in_the_manifest_and_the_field() {
    let mut builder = with_source("disks/web.vmdk");
    let absolute = absolute_text("disks/web.vmdk");
    assert!(absolute.starts_with('/'), "{absolute}");
    assert_eq!(
        builder.draft.source_path.as_deref(),
        Some(absolute.as_str())
    );
    press(&mut builder, &[Action::Down]);
    assert_eq!(builder.texts.source_path, absolute);
}

#[test]
fn pipeline_toggles_and_choices_change_the_draft() {
    let mut builder = with_source("/d/web.raw");
    press(&mut builder, &[Action::Open]);
    assert_eq!(builder.step, Step::Pipeline);
    press(&mut builder, &[Action::Toggle]);
    assert!(!builder.draft.inspect);
    press(&mut builder, &[Action::Down, Action::Down, Action::Right]);
    assert_eq!(builder.draft.fstab_mode, "bypath-only");
    press(&mut builder, &[Action::Left, Action::Left]);
    assert_eq!(builder.draft.fstab_mode, "noop", "round from the first");
    press(&mut builder, &[Action::Down, Action::Left]);
    assert_eq!(builder.draft.network_fix_level, "none");
    press(&mut builder, &[Action::Down, Action::Toggle]);
    assert!(!builder.draft.convert);
    assert_eq!(document(&builder)["pipeline"]["convert"]["enabled"], false);
    press(&mut builder, &[Action::Down, Action::Down, Action::Toggle]);
    assert!(builder.draft.boot_test);
    // FIX off hides its choices: the cursor skips them.
    press(&mut builder, &[Action::Home, Action::Down, Action::Toggle]);
    assert!(!builder.draft.fix);
    press(&mut builder, &[Action::Down]);
    assert_eq!(builder.row(), Some(Row::Convert));
}

#[test]
fn only_qcow2_offers_compression() {
    let mut builder = with_source("/d/web.raw");
    press(&mut builder, &[Action::Open, Action::Open]);
    assert_eq!(builder.step, Step::Output);
    assert!(builder.rows(Step::Output).contains(&Row::Compress));
    press(&mut builder, &[Action::Right]);
    assert_eq!(builder.draft.output_format, "raw");
    assert!(!builder.rows(Step::Output).contains(&Row::Compress));
    assert_eq!(document(&builder)["pipeline"]["convert"]["compress"], false);
    press(&mut builder, &[Action::Down]);
    assert_eq!(builder.editing(), Some(Field::OutputPath));
    press(
        &mut builder,
        &[Action::Up, Action::Left, Action::Down, Action::Toggle],
    );
    assert_eq!(builder.draft.output_format, "qcow2");
    assert!(!builder.draft.compress);
}

#[test]
fn enter_and_backspace_walk_the_steps() {
    let mut builder = ManifestBuilder::default();
    press(&mut builder, &[Action::StepBack]);
    assert_eq!(builder.step, Step::Source);
    press(&mut builder, &[Action::Open, Action::Open, Action::Open]);
    assert_eq!(builder.step, Step::Review);
    press(&mut builder, &[Action::Open]);
    assert_eq!(builder.step, Step::Review);
    press(&mut builder, &[Action::StepBack, Action::StepBack]);
    assert_eq!(builder.step, Step::Pipeline);
}

#[test]
fn each_change_is_checked_with_a_new_generation_and_old_answers_are_dropped() {
    let mut builder = ManifestBuilder::default();
    let first = generation_of(&press(&mut builder, &[Action::Down]));
    assert_eq!(first, Some(1), "the first key has the draft checked");
    assert_eq!(generation_of(&press(&mut builder, &[Action::Down])), None);
    press(&mut builder, &[const { Action::Down }; 5]);
    let typed = type_text(&mut builder, "/d/a.raw");
    assert_eq!(generation_of(&typed), Some(9), "one per character");
    builder.checked(8, Ok(manifest_answer(&[("pipeline", "stale")])));
    assert!(builder.answer.is_none(), "an older generation is dropped");
    assert!(builder
        .state_line(Theme::new(false))
        .to_string()
        .contains("checking"));
    builder.checked(9, Ok(manifest_answer(&[])));
    assert!(builder.problems().is_empty());
    // A change makes the answer stale until the next one.
    let effects = press(&mut builder, &[Action::Up, Action::Toggle]);
    assert_eq!(generation_of(&effects), Some(10));
    assert!(builder.answer.is_none());
    builder.checked(9, Ok(manifest_answer(&[])));
    assert!(builder.answer.is_none());
}

#[test]
fn a_failed_check_shows_the_local_problems_and_is_asked_again() {
    let mut builder = ManifestBuilder::default();
    let generation = generation_of(&press(&mut builder, &[Action::Down])).unwrap();
    builder.checked(generation, Err("cannot reach the workflow daemon".into()));
    assert_eq!(builder.problems(), builder.local_problems());
    assert!(!builder.problems().is_empty(), "no source path yet");
    let again = press(&mut builder, &[Action::Down]);
    assert_eq!(generation_of(&again), Some(generation + 1));
}

#[test]
fn submit_is_refused_with_problems_local_or_the_daemons() {
    let mut builder = ManifestBuilder::default();
    let effects = press(&mut builder, &[Action::Submit]);
    assert_eq!(builder.step, Step::Review, "s shows Review first");
    assert!(
        matches!(effects.first(), Some(Effect::Note(_))),
        "{effects:?}"
    );
    let effects = press(&mut builder, &[Action::Submit]);
    match effects.first() {
        Some(Effect::Problem(text)) => {
            assert!(text.contains("pipeline.load.source_path"), "{text}")
        }
        other => panic!("{other:?}"),
    }
    let mut builder = with_source("/d/web.raw");
    press(&mut builder, &[Action::Open, Action::Open, Action::Open]);
    builder.checked(
        builder.generation,
        Ok(manifest_answer(&[(
            "pipeline.load.source_path",
            "outside every source root",
        )])),
    );
    let effects = press(&mut builder, &[Action::Submit]);
    assert_eq!(
        effects,
        vec![Effect::Problem(
            "not submitted: 1 problem (pipeline.load.source_path: outside every source root)"
                .into()
        )]
    );
    assert!(!builder.submitting);
}

#[test]
fn submit_sends_the_manifest_and_opens_each_execution() {
    let mut builder = with_source("/d/web.raw");
    press(&mut builder, &[Action::Open, Action::Open, Action::Open]);
    builder.checked(builder.generation, Ok(manifest_answer(&[])));
    let effects = press(&mut builder, &[Action::Submit]);
    let content = builder.rendered().0;
    assert_eq!(
        effects,
        vec![Effect::Send(Request::SubmitManifest { content })]
    );
    let again = press(&mut builder, &[Action::Submit]);
    assert!(matches!(again.as_slice(), [Effect::Note(_)]), "{again:?}");

    let vm = |name: &str, id: &str| pb::SubmittedVm {
        name: name.into(),
        execution: Some(pb::Execution {
            id: id.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let effects = builder.submitted(Ok(Box::new(pb::SubmitManifestResponse {
        vms: vec![vm("web", "exec-0001"), vm("db", "exec-0002")],
        started: true,
        ..Default::default()
    })));
    assert_eq!(
        effects,
        vec![
            Effect::Note("submitted 2 VMs".into()),
            Effect::OpenExecution("exec-0001".into()),
            Effect::OpenExecution("exec-0002".into()),
        ]
    );
    assert!(!builder.submitting);
    let effects = builder.submitted(Err("refused".into()));
    assert_eq!(
        effects,
        vec![Effect::Problem("not submitted: refused".into())]
    );
}

#[test]
fn save_writes_json_or_yaml_and_asks_before_overwriting() {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = with_source("/d/web.raw");
    press(&mut builder, &[Action::Save]);
    assert_eq!(builder.step, Step::Review);
    let save = builder.save.as_ref().unwrap();
    assert_eq!(save.path, absolute_text("web-manifest.json"));
    assert_eq!(builder.input_mode(), InputMode::Text);

    let json = dir.path().join("web.json");
    builder.save.as_mut().unwrap().path = json.to_str().unwrap().into();
    let effects = press(&mut builder, &[Action::Open]);
    assert_eq!(
        effects,
        vec![Effect::Note(format!(
            "manifest written to {}",
            json.display()
        ))]
    );
    assert!(builder.save.is_none());
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(written["pipeline"]["load"]["source_path"], "/d/web.raw");

    // An existing file: asked, kept on n, overwritten on y.
    press(&mut builder, &[const { Action::StepBack }; 3]);
    press(
        &mut builder,
        &[Action::Home, Action::Down, Action::Down, Action::Toggle],
    );
    assert_eq!(builder.draft.source_type.as_deref(), Some("ovf"));
    press(&mut builder, &[Action::Save]);
    builder.save.as_mut().unwrap().path = json.to_str().unwrap().into();
    press(&mut builder, &[Action::Open]);
    assert!(builder.save.as_ref().unwrap().asking);
    assert_eq!(builder.input_mode(), InputMode::Navigate);
    press(&mut builder, &[Action::NextMatch]);
    assert!(!builder.save.as_ref().unwrap().asking);
    let before = std::fs::read_to_string(&json).unwrap();
    assert!(before.contains("\"raw\""), "{before}");
    press(&mut builder, &[Action::Save, Action::Yes]);
    assert!(builder.save.is_none());
    let after = std::fs::read_to_string(&json).unwrap();
    assert!(after.contains("\"ovf\""), "{after}");

    let yaml = dir.path().join("web.yaml");
    press(&mut builder, &[Action::Save]);
    builder.save.as_mut().unwrap().path = yaml.to_str().unwrap().into();
    press(&mut builder, &[Action::Open]);
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(text.starts_with("version:"), "{text}");
}

#[test]
fn save_refuses_a_draft_the_validator_refuses() {
    let mut builder = ManifestBuilder::default();
    let effects = press(&mut builder, &[Action::Save]);
    assert!(builder.save.is_none());
    assert!(matches!(effects.first(), Some(Effect::Problem(p)) if p.contains("source_path")));
}
