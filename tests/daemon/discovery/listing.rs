//! ListWorkflows and GetWorkflow: the declared fields and their JSON
//! Schema, discovery errors, paging and the bundled examples.

use std::path::Path;

use serde_json::json;
use tonic::Code;
use workflow_manager::pb::{
    self,
    field_type::{self, Kind},
};

use crate::helper::*;

use super::*;

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
                ..Default::default()
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
