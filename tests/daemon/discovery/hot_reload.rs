//! Hot reload of the watched directories: programs added, changed and
//! removed; programs others could change refused; a program hanging on
//! its metadata holds up only itself.

use std::fs;

use tonic::Code;
use workflow_manager::pb::{self};

use crate::helper::*;

use super::*;

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
