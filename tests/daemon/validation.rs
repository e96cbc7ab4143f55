//! ValidateInputs (and Execute's use of the same validation): every violation
//! at once as BadRequest field violations, defaults, argv, phase selectors.

use std::{collections::BTreeSet, fs};

use tonic::Code;
use workflow_manager::pb;

use crate::helper::*;

/// A workflow with one field of every type.
fn kinds_program() -> String {
    workflow_script(
        r#"{"id":"kinds","name":"Kinds","description":"Every field type.",
 "fields":[
  {"name":"title","label":"Title","description":"A title","cli_arg":"--title","required":true,"default":null,"field_type":{"type":"text"}},
  {"name":"count","label":"Count","description":"A count","cli_arg":"--count","required":false,"default":"5","field_type":{"type":"number","min":1,"max":10}},
  {"name":"config","label":"Config","description":"A config file","cli_arg":"--config","required":false,"default":null,"field_type":{"type":"file_path","pattern":"*.yaml"}},
  {"name":"color","label":"Color","description":"A color","cli_arg":"--color","required":false,"default":"red","field_type":{"type":"select","options":["red","green"]}},
  {"name":"phases","label":"Phases","description":"Phases to run","cli_arg":"--phases","required":false,"default":null,"field_type":{"type":"phase_selector","total_phases":3}},
  {"name":"state","label":"State","description":"A state file","cli_arg":"--state","required":false,"default":null,"field_type":{"type":"state_file","pattern":"*.state.json","phase":0}}
 ]}"#,
        "echo kinds",
    )
}

async fn start() -> Daemon {
    Daemon::builder()
        .program("kinds.sh", kinds_program())
        .start()
        .await
}

async fn validate(
    daemon: &Daemon,
    workflow_id: &str,
    inputs: &[(&str, prost_types::Value)],
) -> Result<pb::ValidateInputsResponse, tonic::Status> {
    daemon
        .client()
        .validate_inputs(pb::ValidateInputsRequest {
            workflow_id: workflow_id.into(),
            inputs: input_map(inputs),
        })
        .await
        .map(|r| r.into_inner())
}

/// The fields named by the violations; each must have a description and be
/// named once.
fn violated_fields(status: &tonic::Status) -> BTreeSet<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let violations = violations(status);
    let fields: BTreeSet<String> = violations.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(
        fields.len(),
        violations.len(),
        "a field is named once: {violations:?}"
    );
    for (field, description) in &violations {
        assert!(
            !description.trim().is_empty(),
            "violation of {field} has no description"
        );
    }
    fields
}

fn set(fields: &[&str]) -> BTreeSet<String> {
    fields.iter().map(|s| s.to_string()).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn every_violation_is_reported_at_once() {
    let daemon = start().await;
    let err = validate(
        &daemon,
        "kinds",
        &[
            // title (required) is missing
            ("count", num(11.0)),
            ("config", text("/nonexistent/dir/config.yaml")),
            ("color", text("blue")),
            ("phases", nums(&[0.0, 3.0])),
            ("bogus", text("x")),
        ],
    )
    .await
    .expect_err("invalid inputs");
    assert_eq!(
        violated_fields(&err),
        set(&[
            "inputs.bogus",
            "inputs.color",
            "inputs.config",
            "inputs.count",
            "inputs.phases",
            "inputs.title"
        ])
    );
}

#[tokio::test]
async fn each_kind_of_bad_value_is_a_violation_of_its_field() {
    let daemon = start().await;
    let wrong_pattern = daemon.file("config.txt");
    fs::write(&wrong_pattern, "x").unwrap();
    let wrong_pattern = wrong_pattern.to_str().unwrap();
    let cases: Vec<(&str, prost_types::Value)> = vec![
        ("count", text("twelve")),
        ("count", num(0.0)),
        ("count", num(10.5)),
        ("phases", text("0,3")),
        ("phases", nums(&[-1.0])),
        ("config", text(wrong_pattern)),
        ("color", text("RED")),
    ];
    for (name, value) in cases {
        let err = validate(
            &daemon,
            "kinds",
            &[("title", text("t")), (name, value.clone())],
        )
        .await
        .expect_err(&format!("{name} = {value:?} is invalid"));
        assert_eq!(
            violated_fields(&err),
            set(&[&format!("inputs.{name}")]),
            "{name} = {value:?}"
        );
    }
}

#[tokio::test]
async fn valid_inputs_resolve_with_defaults_and_argv() {
    let daemon = start().await;
    let program = daemon
        .workflows_dir()
        .join("kinds.sh")
        .canonicalize()
        .unwrap();
    let program = program.to_str().unwrap();
    let config = daemon.file("app.yaml");
    fs::write(&config, "a: 1\n").unwrap();
    let config = config.to_str().unwrap();
    let state = daemon.file("run.state.json");
    fs::write(&state, "{}").unwrap();
    let state = state.to_str().unwrap();

    let full = validate(
        &daemon,
        "kinds",
        &[
            ("title", text("hi")),
            ("count", num(7.0)),
            ("config", text(config)),
            ("color", text("green")),
            ("phases", nums(&[0.0, 2.0])),
            ("state", text(state)),
        ],
    )
    .await
    .expect("valid inputs");
    assert_eq!(
        full.resolved_inputs,
        labels(&[
            ("title", "hi"),
            ("count", "7"),
            ("config", config),
            ("color", "green"),
            ("phases", "0,2"),
            ("state", state)
        ])
    );
    assert_eq!(
        full.argv,
        strings(&[
            program, "--title", "hi", "--count", "7", "--config", config, "--color", "green",
            "--phases", "0,2", "--state", state
        ])
    );

    // Only the required input: defaults are applied, fields without a value
    // or default are left out.
    let minimal = validate(&daemon, "kinds", &[("title", text("hi"))])
        .await
        .expect("valid inputs");
    assert_eq!(
        minimal.resolved_inputs,
        labels(&[("title", "hi"), ("count", "5"), ("color", "red")])
    );
    assert_eq!(
        minimal.argv,
        strings(&[program, "--title", "hi", "--count", "5", "--color", "red"])
    );
}

#[tokio::test]
async fn phase_selector_accepts_a_list_or_a_string() {
    let daemon = start().await;
    for phases in [nums(&[0.0, 2.0]), text("0,2")] {
        let resolved = validate(
            &daemon,
            "kinds",
            &[("title", text("t")), ("phases", phases.clone())],
        )
        .await
        .unwrap_or_else(|e| panic!("phases {phases:?}: {e:?}"));
        assert_eq!(
            resolved.resolved_inputs.get("phases").map(String::as_str),
            Some("0,2")
        );
        assert!(
            resolved.argv.windows(2).any(|w| w == ["--phases", "0,2"]),
            "{:?}",
            resolved.argv
        );
    }
}

#[tokio::test]
async fn research_pipeline_argv_follows_the_declared_fields() {
    let daemon = Daemon::start().await;
    let program = example("research-pipeline.sh");
    let resolved = validate(
        &daemon,
        "research_pipeline",
        &[("topic", text("rust")), ("depth", text("3"))],
    )
    .await
    .expect("valid inputs");
    assert_eq!(
        resolved.resolved_inputs,
        labels(&[
            ("topic", "rust"),
            ("depth", "3"),
            ("format", "markdown"),
            ("phases", "0,1,2")
        ])
    );
    assert_eq!(resolved.argv.len(), 9, "{:?}", resolved.argv);
    assert_eq!(
        std::path::Path::new(&resolved.argv[0])
            .canonicalize()
            .unwrap(),
        program
    );
    assert_eq!(
        resolved.argv[1..],
        strings(&["--topic", "rust", "--depth", "3", "--format", "markdown", "--phases", "0,1,2"])
    );

    let err = validate(&daemon, "research_pipeline", &[("depth", num(6.0))])
        .await
        .expect_err("topic missing, depth too big");
    assert_eq!(
        violated_fields(&err),
        set(&["inputs.depth", "inputs.topic"])
    );
}

#[tokio::test]
async fn execute_validates_and_unknown_workflows_are_not_found() {
    let daemon = start().await;
    let err = daemon
        .client()
        .execute(request("kinds", &[("count", num(99.0))]))
        .await
        .expect_err("Execute with invalid inputs");
    assert_eq!(
        violated_fields(&err),
        set(&["inputs.count", "inputs.title"])
    );
    let listed = daemon.list_executions(Default::default()).await;
    assert!(
        listed.executions.is_empty(),
        "a rejected Execute leaves no execution"
    );

    let err = validate(&daemon, "no_such_workflow", &[])
        .await
        .expect_err("unknown workflow");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let err = daemon
        .client()
        .execute(request("no_such_workflow", &[]))
        .await
        .expect_err("unknown workflow");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
}

#[tokio::test]
async fn values_with_a_nul_byte_are_refused_before_anything_runs() {
    let daemon = start().await;
    let config = daemon.file("config.yaml");
    fs::write(&config, "x").unwrap();
    let config_with_nul = format!("{}\0.yaml", config.display());
    let list_with_nul = prost_types::Value {
        kind: Some(prost_types::value::Kind::ListValue(
            prost_types::ListValue {
                values: vec![text("0\0")],
            },
        )),
    };
    // Every field type; each value would be cut at the NUL by the kernel
    // (argv entries are C strings), so none may pass.
    let cases: Vec<(&str, prost_types::Value, bool)> = vec![
        ("title", text("before\0after"), true),
        ("config", text(&config_with_nul), true),
        ("color", text("red\0"), true),
        ("state", text("/tmp/a\0.state.json"), true),
        ("count", text("5\0"), false),
        ("phases", list_with_nul, false),
    ];
    for (name, value, names_the_nul) in cases {
        let mut inputs = vec![(name, value.clone())];
        if name != "title" {
            inputs.push(("title", text("t")));
        }
        let err = validate(&daemon, "kinds", &inputs)
            .await
            .expect_err(&format!("{name} = {value:?} is refused"));
        assert_eq!(violated_fields(&err), set(&[&format!("inputs.{name}")]));
        if names_the_nul {
            let description = &violations(&err)[0].1;
            assert!(description.contains("NUL byte"), "{name}: {description}");
        }
        let err = daemon
            .client()
            .execute(request("kinds", &inputs))
            .await
            .expect_err(&format!("Execute with {name} = {value:?}"));
        assert_eq!(violated_fields(&err), set(&[&format!("inputs.{name}")]));
    }
    let listed = daemon.list_executions(Default::default()).await;
    assert!(listed.executions.is_empty(), "nothing was started");
}

/// A workflow with eight text fields, enough to fill a program's argv.
fn texts_program() -> String {
    let fields: Vec<String> = (0..8)
        .map(|i| {
            format!(
                r#"{{"name":"t{i}","label":"T{i}","description":"A text","cli_arg":"--t{i}","required":false,"default":null,"field_type":{{"type":"text"}}}}"#
            )
        })
        .collect();
    workflow_script(
        &format!(
            r#"{{"id":"texts","name":"Texts","description":"Long texts.","fields":[{}]}}"#,
            fields.join(",")
        ),
        "echo texts",
    )
}

#[tokio::test]
async fn values_too_long_to_be_arguments_are_refused_before_anything_runs() {
    let daemon = Daemon::builder()
        .program("kinds.sh", kinds_program())
        .program("texts.sh", texts_program())
        .start()
        .await;
    // Linux passes no argument longer than 131071 bytes (MAX_ARG_STRLEN
    // with its NUL): the longest passes, one byte more is refused.
    let longest = "a".repeat(131_071);
    validate(&daemon, "kinds", &[("title", text(&longest))])
        .await
        .expect("the longest argument passes");
    let too_long = "a".repeat(131_072);
    let one_too_long: Vec<(&str, prost_types::Value)> = vec![("title", text(&too_long))];
    // Each value fits, but seven of them plus an eighth pass the budget for
    // the whole argv: the eighth is named.
    let too_many: Vec<(&str, prost_types::Value)> =
        ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"]
            .into_iter()
            .map(|name| (name, text(&longest)))
            .collect();
    for (workflow_id, inputs, field) in [
        ("kinds", &one_too_long, "inputs.title"),
        ("texts", &too_many, "inputs.t7"),
    ] {
        let err = validate(&daemon, workflow_id, inputs)
            .await
            .expect_err(&format!("{field} is refused by ValidateInputs"));
        assert_eq!(violated_fields(&err), set(&[field]));
        let description = &violations(&err)[0].1;
        assert!(description.contains("bytes"), "{field}: {description}");
        let err = daemon
            .client()
            .execute(request(workflow_id, inputs))
            .await
            .expect_err(&format!("{field} is refused by Execute"));
        assert_eq!(violated_fields(&err), set(&[field]));
    }
    let listed = daemon.list_executions(Default::default()).await;
    assert!(listed.executions.is_empty(), "nothing was started");
}
