//! Discovery: ListWorkflows / GetWorkflow, discovery errors, paging, the
//! bundled examples, and hot reload of the watched directories.

use std::{fs, path::Path};

use serde_json::json;
use tonic::Code;
use workflow_manager::pb::{
    self,
    field_type::{self, Kind},
};

use crate::helper::*;

/// The example workflows, ordered by id.
const EXAMPLE_IDS: [&str; 5] = [
    "chatty",
    "hello",
    "ignore_sigterm",
    "research_pipeline",
    "sleeper",
];

fn ids(workflows: &[pb::Workflow]) -> Vec<&str> {
    workflows.iter().map(|w| w.id.as_str()).collect()
}

fn canonical(path: &str) -> std::path::PathBuf {
    Path::new(path)
        .canonicalize()
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What a program declares: runs `program --workflow-metadata`.
fn declared_metadata(program: &Path) -> serde_json::Value {
    let out = std::process::Command::new(program)
        .arg("--workflow-metadata")
        .output()
        .expect("run --workflow-metadata");
    assert!(out.status.success(), "{}", program.display());
    serde_json::from_slice(&out.stdout).expect("metadata JSON")
}

fn opt_i64(v: &serde_json::Value) -> Option<i64> {
    v.as_i64()
}

/// The protocol's field JSON as the API's Field.
fn declared_field(f: &serde_json::Value) -> pb::Field {
    let t = &f["field_type"];
    let kind = match t["type"].as_str().expect("field_type.type") {
        "text" => Kind::Text(field_type::Text {}),
        "number" => Kind::Number(field_type::Number {
            min: opt_i64(&t["min"]),
            max: opt_i64(&t["max"]),
        }),
        "file_path" => Kind::FilePath(field_type::FilePath {
            pattern: t["pattern"].as_str().map(Into::into),
        }),
        "select" => Kind::Select(field_type::Select {
            options: t["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap().to_string())
                .collect(),
        }),
        "phase_selector" => Kind::PhaseSelector(field_type::PhaseSelector {
            total_phases: t["total_phases"].as_i64().unwrap() as i32,
        }),
        "state_file" => Kind::StateFile(field_type::StateFile {
            pattern: t["pattern"].as_str().unwrap().into(),
            phase: t["phase"].as_i64().map(|p| p as i32),
        }),
        other => panic!("unknown field type {other}"),
    };
    pb::Field {
        name: f["name"].as_str().unwrap().into(),
        label: f["label"].as_str().unwrap().into(),
        description: f["description"].as_str().unwrap().into(),
        cli_arg: f["cli_arg"].as_str().unwrap().into(),
        required: f["required"].as_bool().unwrap(),
        default_value: f["default"].as_str().map(Into::into),
        required_for_phases: f["required_for_phases"]
            .as_array()
            .map(|a| a.iter().map(|p| p.as_i64().unwrap() as i32).collect())
            .unwrap_or_default(),
        r#type: Some(pb::FieldType { kind: Some(kind) }),
    }
}

/// Checks the JSON Schema of a workflow against its fields.
fn check_schema(workflow: &pb::Workflow) {
    let schema: serde_json::Value =
        serde_json::from_str(&workflow.input_json_schema).expect("input_json_schema is JSON");
    let id = &workflow.id;
    assert_eq!(schema["type"], "object", "{id}: {schema}");
    let mut required = Vec::new();
    for field in &workflow.fields {
        let prop = &schema["properties"][&field.name];
        let kind = field
            .r#type
            .as_ref()
            .and_then(|t| t.kind.as_ref())
            .expect("field type");
        let context = format!("{id}.{}: {schema}", field.name);
        match kind {
            Kind::Text(_) | Kind::FilePath(_) | Kind::StateFile(_) => {
                assert_eq!(prop["type"], "string", "{context}")
            }
            Kind::Number(n) => {
                assert_eq!(prop["type"], "number", "{context}");
                assert_eq!(
                    prop.get("minimum").and_then(|m| m.as_f64()),
                    n.min.map(|m| m as f64),
                    "{context}"
                );
                assert_eq!(
                    prop.get("maximum").and_then(|m| m.as_f64()),
                    n.max.map(|m| m as f64),
                    "{context}"
                );
            }
            Kind::Select(s) => {
                assert_eq!(prop["type"], "string", "{context}");
                assert_eq!(prop["enum"], json!(s.options), "{context}");
            }
            Kind::PhaseSelector(_) => {
                assert_eq!(prop["type"], "array", "{context}");
                assert_eq!(prop["items"]["type"], "integer", "{context}");
            }
        }
        if field.required {
            required.push(field.name.clone());
        }
    }
    let mut listed: Vec<String> = schema
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().map(|n| n.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    listed.sort();
    required.sort();
    assert_eq!(listed, required, "{id}: required inputs: {schema}");
}

#[tokio::test]
async fn lists_examples_with_declared_fields_and_schema() {
    let before = now_nanos() - 1_000_000_000;
    let daemon = Daemon::start().await;
    let list = daemon.list_workflows().await;
    assert_eq!(ids(&list.workflows), EXAMPLE_IDS);
    assert!(
        list.discovery_errors.is_empty(),
        "{:?}",
        list.discovery_errors
    );
    assert!(list.next_page_token.is_empty());

    for workflow in &list.workflows {
        let program = canonical(&workflow.program_path);
        assert!(Path::new(&workflow.program_path).is_absolute());
        assert_eq!(
            program.parent(),
            Some(examples_dir().canonicalize().unwrap().as_path())
        );
        let declared = declared_metadata(&program);
        assert_eq!(workflow.id, declared["id"].as_str().unwrap());
        assert_eq!(workflow.name, declared["name"].as_str().unwrap());
        assert_eq!(
            workflow.description,
            declared["description"].as_str().unwrap()
        );
        assert_eq!(
            workflow.schema_version,
            declared["schema_version"].as_str().unwrap_or("1.0.0"),
            "{}",
            workflow.id
        );
        let fields: Vec<pb::Field> = declared["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(declared_field)
            .collect();
        assert_eq!(
            workflow.fields, fields,
            "{}: fields as declared",
            workflow.id
        );
        let discovered = nanos(workflow.discover_time.as_ref().expect("discover_time"));
        assert!(
            discovered >= before && discovered <= now_nanos(),
            "discover_time is now-ish"
        );
        check_schema(workflow);
    }

    // Spot checks against the examples as written.
    let research = &list.workflows[3];
    assert_eq!(research.schema_version, "1.1.0");
    assert_eq!(
        canonical(&research.program_path),
        example("research-pipeline.sh")
    );
    let names: Vec<&str> = research.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["topic", "depth", "format", "phases", "resume"]);
    assert!(research.fields[0].required);
    assert_eq!(
        research.fields[1].r#type,
        Some(pb::FieldType {
            kind: Some(Kind::Number(field_type::Number {
                min: Some(1),
                max: Some(5)
            }))
        })
    );
    let schema: serde_json::Value = serde_json::from_str(&research.input_json_schema).unwrap();
    assert_eq!(schema["properties"]["depth"]["minimum"].as_f64(), Some(1.0));
    assert_eq!(schema["properties"]["depth"]["maximum"].as_f64(), Some(5.0));
    assert_eq!(
        schema["properties"]["format"]["enum"],
        json!(["markdown", "json"])
    );
    assert_eq!(schema["required"], json!(["topic"]));
    let hello = &list.workflows[1];
    assert_eq!(hello.schema_version, "1.0.0", "the default schema_version");
    assert_eq!(hello.fields[0].default_value.as_deref(), Some("world"));
    // A number with only a lower bound has no maximum.
    let stubborn = &list.workflows[2];
    assert_eq!(
        stubborn.fields[0].r#type,
        Some(pb::FieldType {
            kind: Some(Kind::Number(field_type::Number {
                min: Some(1),
                max: None
            }))
        })
    );
    assert_eq!(stubborn.fields.len(), 1, "no input names a file to write");
    // A field without a default has none.
    assert_eq!(research.fields[0].default_value, None);
}

#[tokio::test]
async fn get_workflow_returns_it_and_not_found_for_unknown() {
    let daemon = Daemon::start().await;
    let listed = daemon.list_workflows().await.workflows;
    let sleeper = daemon
        .client()
        .get_workflow(pb::GetWorkflowRequest {
            workflow_id: "sleeper".into(),
        })
        .await
        .expect("GetWorkflow sleeper")
        .into_inner()
        .workflow
        .expect("workflow");
    assert_eq!(Some(&sleeper), listed.iter().find(|w| w.id == "sleeper"));
    assert_eq!(sleeper.name, "Sleeper");

    let err = daemon
        .client()
        .get_workflow(pb::GetWorkflowRequest {
            workflow_id: "no_such_workflow".into(),
        })
        .await
        .expect_err("unknown workflow");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
}

#[tokio::test]
async fn broken_programs_are_reported_as_discovery_errors() {
    let ok = workflow_script(
        r#"{"id":"fixture_ok","name":"Fixture","description":"fine","fields":[]}"#,
        "echo ok",
    );
    let daemon = Daemon::builder()
        .flag("--discovery-timeout", 1)
        .program("ok.sh", ok)
        .program(
            "bad-json.sh",
            "#!/bin/sh\necho '{\"id\": not json'\n".into(),
        )
        .program("exits-one.sh", "#!/bin/sh\necho oops >&2\nexit 1\n".into())
        .program(
            "no-id.sh",
            "#!/bin/sh\necho '{\"name\":\"x\",\"description\":\"y\",\"fields\":[]}'\n".into(),
        )
        .program("hangs.sh", "#!/bin/sh\nexec sleep 30\n".into())
        .start()
        .await;
    // The hanging program does not hold the daemon up: it is reported once
    // its own timeout is over.
    let list = eventually("hangs.sh to time out", POLL_DEADLINE, || async {
        let list = daemon.list_workflows().await;
        list.discovery_errors
            .iter()
            .any(|e| e.program_path.ends_with("hangs.sh"))
            .then_some(list)
    })
    .await;
    let mut expected_ids = EXAMPLE_IDS.to_vec();
    expected_ids.insert(1, "fixture_ok");
    assert_eq!(ids(&list.workflows), expected_ids);

    let dir = daemon.workflows_dir().canonicalize().unwrap();
    let mut broken: Vec<_> = list
        .discovery_errors
        .iter()
        .map(|e| {
            assert!(
                !e.message.trim().is_empty(),
                "discovery error without message: {e:?}"
            );
            assert!(e.discover_time.is_some(), "{e:?}");
            (canonical(&e.program_path), e.message.clone())
        })
        .collect();
    broken.sort();
    let paths: Vec<_> = broken.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        paths,
        ["bad-json.sh", "exits-one.sh", "hangs.sh", "no-id.sh"]
            .map(|f| dir.join(f))
            .to_vec(),
        "{broken:?}"
    );

    let status = daemon.status().await;
    assert_eq!(status.workflows_discovered, 6);
    assert_eq!(status.discovery_errors, 4);
    let fixture_dir = status
        .workflow_directories
        .iter()
        .find(|d| Path::new(&d.path).ends_with("workflows") && !d.path.contains("examples"))
        .unwrap_or_else(|| panic!("fixture dir in {:?}", status.workflow_directories));
    assert_eq!(
        (
            fixture_dir.workflows,
            fixture_dir.discovery_errors,
            fixture_dir.exists
        ),
        (1, 4, true)
    );
}

#[tokio::test]
async fn list_workflows_pages_through_every_workflow_once() {
    let daemon = Daemon::builder()
        .program("broken.sh", "#!/bin/sh\nexit 3\n".into())
        .start()
        .await;
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = daemon
            .client()
            .list_workflows(pb::ListWorkflowsRequest {
                page_size: 2,
                page_token: token.clone(),
            })
            .await
            .expect("ListWorkflows page")
            .into_inner();
        assert_eq!(
            page.discovery_errors.len(),
            1,
            "every page carries the discovery errors"
        );
        pages.push(
            ids(&page.workflows)
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        );
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
        assert!(pages.len() < 10, "paging does not end: {pages:?}");
    }
    assert_eq!(
        pages,
        vec![
            vec!["chatty", "hello"],
            vec!["ignore_sigterm", "research_pipeline"],
            vec!["sleeper"]
        ]
    );
}

#[tokio::test]
async fn bundled_examples_are_discovered_by_default() {
    let daemon = Daemon::builder().default_dirs().start().await;
    let list = daemon.list_workflows().await;
    // Besides the examples, the VM pipeline the daemon binary carries.
    let mut expected = EXAMPLE_IDS.to_vec();
    expected.push("vm_pipeline");
    assert_eq!(
        ids(&list.workflows),
        expected,
        "errors: {:?}",
        list.discovery_errors
    );
    assert!(
        list.discovery_errors.is_empty(),
        "{:?}",
        list.discovery_errors
    );
    // The bundled copies run like the originals.
    let exec = daemon.execute("hello", &[("name", text("bundle"))]).await;
    let events = daemon.run_to_end(&exec.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Succeeded);
    assert_eq!(
        output_texts(&events, pb::OutputStream::Stdout),
        ["hello, bundle"]
    );
}

#[tokio::test]
async fn no_bundled_workflows_and_no_dirs_lists_nothing() {
    let daemon = Daemon::builder()
        .default_dirs()
        .switch("--no-bundled-workflows")
        .start()
        .await;
    let list = daemon.list_workflows().await;
    assert!(list.workflows.is_empty(), "{:?}", ids(&list.workflows));
    assert!(
        list.discovery_errors.is_empty(),
        "{:?}",
        list.discovery_errors
    );
}

fn hot_program(name: &str) -> String {
    workflow_script(
        &format!(r#"{{"id":"hot","name":"{name}","description":"hot reloaded","fields":[]}}"#),
        "echo hot",
    )
}

async fn get_hot(daemon: &Daemon) -> Result<pb::Workflow, tonic::Status> {
    daemon
        .client()
        .get_workflow(pb::GetWorkflowRequest {
            workflow_id: "hot".into(),
        })
        .await
        .map(|r| r.into_inner().workflow.expect("workflow"))
}

#[tokio::test]
async fn hot_reload_adds_updates_and_removes_programs() {
    let daemon = Daemon::start().await;
    let d = &daemon;
    assert_eq!(
        get_hot(d).await.expect_err("not there yet").code(),
        Code::NotFound
    );

    // Copy a new program into the watched directory.
    let staged = write_program(&daemon.staging_dir(), "hot.sh", &hot_program("Hot v1"));
    let installed = daemon.workflows_dir().join("hot.sh");
    fs::copy(&staged, &installed).expect("copy program");
    let v1 = eventually("hot to appear", POLL_DEADLINE, || async move {
        get_hot(d).await.ok().filter(|w| w.name == "Hot v1")
    })
    .await;
    assert_eq!(
        canonical(&v1.program_path),
        installed.canonicalize().unwrap()
    );
    assert!(ids(&daemon.list_workflows().await.workflows).contains(&"hot"));

    // Change it in place.
    fs::write(&installed, hot_program("Hot v2")).expect("rewrite program");
    let v2 = eventually("hot to be updated", POLL_DEADLINE, || async move {
        get_hot(d).await.ok().filter(|w| w.name == "Hot v2")
    })
    .await;
    assert!(
        nanos(v2.discover_time.as_ref().unwrap()) > nanos(v1.discover_time.as_ref().unwrap()),
        "discover_time moves on re-discovery"
    );

    // A broken program shows up as a discovery error, and leaves with the file.
    let broken = daemon.workflows_dir().join("broken.sh");
    let broken_staged = write_program(&daemon.staging_dir(), "broken.sh", "#!/bin/sh\nexit 1\n");
    fs::copy(&broken_staged, &broken).expect("copy broken program");
    eventually("broken.sh to be reported", POLL_DEADLINE, || async move {
        let list = d.list_workflows().await;
        list.discovery_errors
            .iter()
            .any(|e| e.program_path.ends_with("broken.sh"))
            .then_some(())
    })
    .await;

    // Remove both.
    fs::remove_file(&installed).expect("remove program");
    fs::remove_file(&broken).expect("remove broken program");
    eventually(
        "hot and broken.sh to disappear",
        POLL_DEADLINE,
        || async move {
            let list = d.list_workflows().await;
            let gone = !ids(&list.workflows).contains(&"hot")
                && list
                    .discovery_errors
                    .iter()
                    .all(|e| !e.program_path.ends_with("broken.sh"));
            gone.then_some(())
        },
    )
    .await;
    assert_eq!(
        get_hot(d).await.expect_err("removed").code(),
        Code::NotFound
    );
    assert_eq!(ids(&daemon.list_workflows().await.workflows), EXAMPLE_IDS);
}

/// A program that writes `$HOME/ran-<name>` whenever it is run at all.
fn tattletale(name: &str) -> String {
    workflow_script(
        &format!(
            r#"{{"id":"{name}","name":"{name}","description":"Says when it ran.","fields":[]}}"#
        ),
        "true",
    )
    .replacen(
        "#!/bin/sh\n",
        &format!("#!/bin/sh\ntouch \"$HOME/ran-{name}\"\n"),
        1,
    )
}

#[tokio::test]
async fn programs_others_could_change_are_refused_and_never_run() {
    use std::os::unix::fs::PermissionsExt;
    let daemon = Daemon::builder()
        .program("trusted.sh", tattletale("trusted"))
        .start()
        .await;
    let d = &daemon;
    let home = daemon.data_dir().parent().unwrap().join("home");
    // Listing waits for the probes that just started.
    assert!(ids(&daemon.list_workflows().await.workflows).contains(&"trusted"));
    assert!(
        home.join("ran-trusted").exists(),
        "the trusted one is probed"
    );
    let dir = daemon.workflows_dir();

    let writable = write_program(
        &daemon.staging_dir(),
        "writable.sh",
        &tattletale("writable"),
    );
    fs::set_permissions(&writable, fs::Permissions::from_mode(0o757)).unwrap();
    let mut expected = vec![("writable.sh", "writable by others (mode 757)".to_string())];
    let daemon_uid = rustix::process::geteuid().as_raw();
    if daemon_uid == 0 {
        let foreign = write_program(&daemon.staging_dir(), "foreign.sh", &tattletale("foreign"));
        std::os::unix::fs::chown(&foreign, Some(65534), None).unwrap();
        expected.push((
            "foreign.sh",
            "owned by uid 65534, not by the daemon's user (0) or root".to_string(),
        ));
    }
    for (name, _) in &expected {
        fs::rename(daemon.staging_dir().join(name), dir.join(name)).unwrap();
    }
    let count = expected.len();
    let errors = eventually("both to be refused", POLL_DEADLINE, || async move {
        let list = d.list_workflows().await;
        let errors: Vec<(String, String)> = list
            .discovery_errors
            .iter()
            .map(|e| (e.program_path.clone(), e.message.clone()))
            .collect();
        (errors.len() == count).then_some(errors)
    })
    .await;
    for (name, why) in expected {
        let (_, message) = errors
            .iter()
            .find(|(path, _)| path.ends_with(name))
            .unwrap_or_else(|| panic!("{name} in {errors:?}"));
        assert!(message.contains(&why), "{name}: {message}");
        let id = name.trim_end_matches(".sh");
        assert!(!home.join(format!("ran-{id}")).exists(), "{name} never ran");
    }
    let ids = ids(&d.list_workflows().await.workflows).join(",");
    assert!(
        !ids.contains("writable") && !ids.contains("foreign"),
        "{ids}"
    );
}

#[tokio::test]
async fn a_program_hanging_on_metadata_holds_up_only_itself() {
    let timeout_secs = 12;
    let good = workflow_script(
        r#"{"id":"good","name":"Good","description":"answers","fields":[]}"#,
        "echo good",
    );
    let started = std::time::Instant::now();
    let daemon = Daemon::builder()
        .flag("--discovery-timeout", timeout_secs)
        .program("good.sh", good)
        .program("hangs.sh", "#!/bin/sh\nexec sleep 600\n".into())
        .start()
        .await;
    let d = &daemon;
    let health = daemon
        .health()
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health answers");
    assert_eq!(
        health.into_inner().status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let list = daemon.list_workflows().await;
    let answered_after = started.elapsed();
    assert!(
        answered_after < std::time::Duration::from_secs(timeout_secs / 2),
        "answered after {answered_after:?}, not after the discovery timeout"
    );
    assert!(
        ids(&list.workflows).contains(&"good"),
        "{:?}",
        ids(&list.workflows)
    );
    assert!(
        list.discovery_errors.is_empty(),
        "the hanging probe is still running: {:?}",
        list.discovery_errors
    );
    // Callers can tell that discovery is still at work, and on what.
    assert_eq!(
        list.programs_probing.len(),
        1,
        "{:?}",
        list.programs_probing
    );
    assert!(list.programs_probing[0].ends_with("hangs.sh"));
    assert_eq!(daemon.status().await.programs_probing, 1);
    // The good one runs meanwhile.
    let execution = daemon.execute("good", &[]).await;
    let events = daemon.run_to_end(&execution.id).await;
    assert_eq!(finished(&events).state, ExecutionState::Succeeded as i32);

    // A program added now is discovered while the hanging probe still runs.
    let later = write_program(
        &daemon.staging_dir(),
        "later.sh",
        &workflow_script(
            r#"{"id":"later","name":"Later","description":"added later","fields":[]}"#,
            "echo later",
        ),
    );
    fs::rename(&later, daemon.workflows_dir().join("later.sh")).unwrap();
    let list = eventually("later to appear", POLL_DEADLINE, || async move {
        let list = d.list_workflows().await;
        ids(&list.workflows).contains(&"later").then_some(list)
    })
    .await;
    assert!(
        list.discovery_errors.is_empty()
            && started.elapsed() < std::time::Duration::from_secs(timeout_secs),
        "later was found before the hanging probe timed out: {:?}",
        list.discovery_errors
    );

    // A workflow nobody declares: the answer waits for the probe still
    // running (it might have declared it), then is NOT_FOUND.
    let missing = daemon
        .client()
        .get_workflow(pb::GetWorkflowRequest {
            workflow_id: "nobody_declares_this".into(),
        })
        .await
        .expect_err("not declared");
    assert_eq!(missing.code(), Code::NotFound);
    let list = daemon.list_workflows().await;
    assert!(
        list.programs_probing.is_empty(),
        "{:?}",
        list.programs_probing
    );
    assert_eq!(daemon.status().await.programs_probing, 0);
    let [error] = list.discovery_errors.as_slice() else {
        panic!("one discovery error: {:?}", list.discovery_errors);
    };
    assert!(error.program_path.ends_with("hangs.sh"), "{error:?}");
    assert!(
        error.message.contains(&format!(
            "did not answer --workflow-metadata within {timeout_secs} s"
        )),
        "{error:?}"
    );
}
