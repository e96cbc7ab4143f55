//! Execute -> StreamLogs -> final state: the log, the phase/task/agent tree,
//! artifacts, exit codes, failures and request_id idempotency.

use std::path::Path;
use std::time::Duration;

use tonic::Code;
use workflow_manager::pb::{self, NodeStatus, OutputStream};

use crate::helper::*;

/// The structured events research-pipeline.sh prints for `topic` with two
/// agents per task; `state_file` is the path it reported.
fn research_events(topic: &str, state_file: &str) -> Vec<Payload> {
    let mut expected = Vec::new();
    for (phase, name) in ["plan", "research", "write"].into_iter().enumerate() {
        let phase = phase as i32;
        let task_id = format!("{name}-1");
        expected.push(Payload::PhaseStarted(pb::PhaseStarted {
            phase,
            name: name.into(),
            total_phases: 3,
        }));
        expected.push(Payload::TaskStarted(pb::TaskStarted {
            phase,
            task_id: task_id.clone(),
            description: format!("{name} {topic}"),
            total_tasks: Some(1),
        }));
        for agent in ["agent-1", "agent-2"] {
            expected.push(Payload::AgentStarted(pb::AgentStarted {
                task_id: task_id.clone(),
                agent_name: agent.into(),
                description: format!("worker {}", &agent[6..]),
            }));
            expected.push(Payload::AgentMessage(pb::AgentMessage {
                task_id: task_id.clone(),
                agent_name: agent.into(),
                message: format!("looking at {topic}"),
            }));
            expected.push(Payload::AgentCompleted(pb::AgentCompleted {
                task_id: task_id.clone(),
                agent_name: agent.into(),
                result: Some("ok".into()),
            }));
        }
        expected.push(Payload::TaskProgress(pb::TaskProgress {
            task_id: task_id.clone(),
            message: "100% done".into(),
        }));
        expected.push(Payload::TaskCompleted(pb::TaskCompleted {
            task_id,
            result: Some(format!("{name} finished")),
        }));
        if phase == 0 {
            expected.push(Payload::StateFileCreated(pb::StateFileCreated {
                phase: 0,
                file_path: state_file.into(),
                description: "research plan".into(),
            }));
        }
        expected.push(Payload::PhaseCompleted(pb::PhaseCompleted {
            phase,
            name: name.into(),
        }));
    }
    expected
}

fn is_program_event(payload: &Payload) -> bool {
    !matches!(
        payload,
        Payload::Output(_)
            | Payload::Queued(_)
            | Payload::Started(_)
            | Payload::Exited(_)
            | Payload::CancelRequested(_)
            | Payload::Killed(_)
            | Payload::TimedOut(_)
            | Payload::Interrupted(_)
            | Payload::Finished(_)
    )
}

#[tokio::test]
async fn research_pipeline_succeeds_with_its_tree_and_artifact() {
    let daemon = Daemon::start().await;
    let exec = daemon
        .execute(
            "research_pipeline",
            &[("topic", text("rust")), ("depth", num(2.0))],
        )
        .await;
    assert!(
        uuid::Uuid::parse_str(&exec.id).is_ok(),
        "execution id is a UUID: {}",
        exec.id
    );
    assert_eq!(exec.workflow_id, "research_pipeline");
    assert_eq!(exec.workflow_name, "Research pipeline");
    // A waiter from the start gets what GetExecution says at the end
    // (checked below), tree and artifact included.
    let waiter = {
        let mut client = daemon.client();
        let request = pb::WaitExecutionRequest {
            execution_id: exec.id.clone(),
        };
        tokio::spawn(async move { client.wait_execution(request).await })
    };
    let events = daemon.run_to_end(&exec.id).await;

    // Lifecycle: queued, started, ..., exited, finished.
    let kinds = kinds(&events);
    assert_eq!(kinds[0], "queued", "{kinds:?}");
    assert_eq!(kinds[1], "started", "{kinds:?}");
    assert_eq!(kinds[kinds.len() - 2], "exited", "{kinds:?}");
    assert_eq!(
        lifecycle(&events),
        ["queued", "started", "exited", "finished"]
    );
    let started = of!(events, Started)[0];
    assert!(started.pid > 0);
    let expected_argv = [
        "--topic", "rust", "--depth", "2", "--format", "markdown", "--phases", "0,1,2",
    ];
    assert_eq!(started.argv[1..], expected_argv);
    assert_eq!(
        Path::new(&started.argv[0]).canonicalize().unwrap(),
        example("research-pipeline.sh")
    );
    assert_eq!(
        *of!(events, Exited)[0],
        pb::Exited {
            exit_code: Some(0),
            signal: None
        }
    );
    let done = finished(&events);
    assert_eq!(done.state(), ExecutionState::Succeeded);
    assert!(done.error.is_empty(), "{done:?}");

    // The program's events, in the order it printed them.
    let state_file = of!(events, StateFileCreated)
        .first()
        .map(|s| s.file_path.clone())
        .expect("a state_file_created event");
    let program_events: Vec<Payload> = events
        .iter()
        .filter_map(|e| e.payload.clone())
        .filter(is_program_event)
        .collect();
    assert_eq!(program_events, research_events("rust", &state_file));
    assert_eq!(
        output_texts(&events, OutputStream::Stdout),
        ["phase plan done", "phase research done", "phase write done"]
    );
    assert!(output_texts(&events, OutputStream::Stderr).is_empty());

    // The execution record.
    let exec = daemon.get(&exec.id).await;
    let waited = waiter.await.expect("waiter").expect("WaitExecution");
    assert_eq!(waited.into_inner().execution.as_ref(), Some(&exec));
    assert_eq!(exec.state(), ExecutionState::Succeeded);
    assert_eq!(exec.exit_code, Some(0));
    assert_eq!(exec.signal, None);
    assert!(exec.error.is_empty(), "{:?}", exec.error);
    assert_eq!(exec.pid, 0, "pid is 0 once the program ended");
    assert_eq!(exec.argv, started.argv);
    assert_eq!(
        exec.inputs,
        labels(&[
            ("topic", "rust"),
            ("depth", "2"),
            ("format", "markdown"),
            ("phases", "0,1,2")
        ])
    );
    let created = nanos(exec.create_time.as_ref().expect("create_time"));
    let start = nanos(exec.start_time.as_ref().expect("start_time"));
    let end = nanos(exec.end_time.as_ref().expect("end_time"));
    assert!(
        created <= start && start <= end,
        "{created} <= {start} <= {end}"
    );

    let counts = exec.log_counts.expect("log_counts");
    assert_eq!(counts.total, events.len() as u64);
    assert_eq!(counts.stdout_lines, 3);
    assert_eq!(counts.stderr_lines, 0);
    assert_eq!(counts.events, program_events.len() as u64);
    assert_eq!(counts.malformed_events, 0);

    // The tree.
    let names = ["plan", "research", "write"];
    assert_eq!(exec.phases.len(), 3, "{:?}", exec.phases);
    for (i, phase) in exec.phases.iter().enumerate() {
        let name = names[i];
        assert_eq!(
            (phase.index, phase.name.as_str(), phase.total_phases),
            (i as i32, name, 3)
        );
        assert_eq!(phase.status(), NodeStatus::Completed, "{phase:?}");
        assert!(phase.error.is_empty());
        assert_eq!(phase.tasks.len(), 1, "{phase:?}");
        let task = &phase.tasks[0];
        assert_eq!(task.task_id, format!("{name}-1"));
        assert_eq!(task.description, format!("{name} rust"));
        assert_eq!(task.total_tasks, Some(1));
        assert_eq!(task.status(), NodeStatus::Completed, "{task:?}");
        assert_eq!(task.messages, ["100% done"]);
        assert_eq!(task.result, format!("{name} finished"));
        assert_eq!(task.percent, 100);
        assert!(task.error.is_empty());
        let agents: Vec<(&str, &str, NodeStatus, &[String], &str)> = task
            .agents
            .iter()
            .map(|a| {
                (
                    a.name.as_str(),
                    a.description.as_str(),
                    a.status(),
                    a.messages.as_slice(),
                    a.result.as_str(),
                )
            })
            .collect();
        let looking = ["looking at rust".to_string()];
        assert_eq!(
            agents,
            [
                (
                    "agent-1",
                    "worker 1",
                    NodeStatus::Completed,
                    &looking[..],
                    "ok"
                ),
                (
                    "agent-2",
                    "worker 2",
                    NodeStatus::Completed,
                    &looking[..],
                    "ok"
                ),
            ]
        );
    }

    // The artifact points to the file the program wrote.
    assert_eq!(exec.artifacts.len(), 1, "{:?}", exec.artifacts);
    let artifact = &exec.artifacts[0];
    assert_eq!(artifact.phase, 0);
    assert_eq!(artifact.path, state_file);
    assert_eq!(artifact.description, "research plan");
    assert!(artifact.create_time.is_some());
    assert!(
        artifact.path.ends_with("plan.state.json"),
        "{}",
        artifact.path
    );
    let content = std::fs::read_to_string(&artifact.path).expect("the state file exists");
    assert!(content.contains("\"topic\":\"rust\""), "{content}");
}

#[tokio::test]
async fn depth_sets_the_number_of_agents() {
    let daemon = Daemon::start().await;
    let exec = daemon
        .execute(
            "research_pipeline",
            &[
                ("topic", text("x")),
                ("depth", num(3.0)),
                ("phases", nums(&[1.0])),
            ],
        )
        .await;
    let exec = daemon.wait_state(&exec.id, ExecutionState::Succeeded).await;
    assert_eq!(
        exec.phases.len(),
        1,
        "only the selected phase ran: {:?}",
        exec.phases
    );
    assert_eq!(exec.phases[0].index, 1);
    assert_eq!(exec.phases[0].tasks[0].agents.len(), 3);
    assert!(exec.artifacts.is_empty());
}

#[tokio::test]
async fn non_zero_exit_fails_with_the_failed_phase() {
    let daemon = Daemon::start().await;
    let exec = daemon
        .execute("sleeper", &[("seconds", num(0.0)), ("exit_code", num(3.0))])
        .await;
    let events = daemon.run_to_end(&exec.id).await;
    assert_eq!(
        *of!(events, Exited)[0],
        pb::Exited {
            exit_code: Some(3),
            signal: None
        }
    );
    let done = finished(&events);
    assert_eq!(done.state(), ExecutionState::Failed);
    assert!(!done.error.is_empty(), "finished carries the error");
    assert_eq!(
        *of!(events, PhaseFailed)[0],
        pb::PhaseFailed {
            phase: 0,
            name: "sleep".into(),
            error: "exit code 3 requested".into()
        }
    );

    let exec = daemon.get(&exec.id).await;
    assert_eq!(exec.state(), ExecutionState::Failed);
    assert_eq!(exec.exit_code, Some(3));
    assert_eq!(exec.signal, None);
    assert!(!exec.error.is_empty(), "the execution says why it failed");
    assert_eq!(exec.phases.len(), 1);
    assert_eq!(exec.phases[0].status(), NodeStatus::Failed);
    assert_eq!(exec.phases[0].error, "exit code 3 requested");
}

#[tokio::test]
async fn same_request_id_returns_the_same_execution() {
    let daemon = Daemon::start().await;
    let mut req = request("hello", &[("name", text("once"))]);
    req.request_id = "retry-me-1".into();
    req.labels = labels(&[("team", "a")]);
    let first = daemon.execute_request(req.clone()).await;
    assert_eq!(first.request_id, "retry-me-1");
    assert_eq!(first.labels, labels(&[("team", "a")]));

    let again = daemon
        .client()
        .execute(req.clone())
        .await
        .expect("retried Execute")
        .into_inner();
    assert!(!again.started, "the retry did not start anything");
    assert_eq!(again.execution.expect("execution").id, first.id);

    daemon
        .wait_state(&first.id, ExecutionState::Succeeded)
        .await;
    // Still the same execution once it finished.
    let late = daemon
        .client()
        .execute(req)
        .await
        .expect("late retry")
        .into_inner();
    assert!(!late.started);
    let late = late.execution.expect("execution");
    assert_eq!(late.id, first.id);
    assert_eq!(late.state(), ExecutionState::Succeeded);

    let listed = daemon.list_executions(Default::default()).await.executions;
    assert_eq!(listed.len(), 1, "one execution for one request_id");

    // A different request_id is a different execution.
    let mut other = request("hello", &[]);
    other.request_id = "retry-me-2".into();
    let second = daemon.execute_request(other).await;
    assert_ne!(second.id, first.id);
    daemon
        .wait_state(&second.id, ExecutionState::Succeeded)
        .await;
}

#[tokio::test]
async fn racing_calls_with_one_request_id_start_one_execution() {
    let daemon = Daemon::start().await;
    let mut req = request("hello", &[("name", text("race"))]);
    req.request_id = "race-1".into();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let mut client = daemon.client();
        let req = req.clone();
        calls.spawn(async move { client.execute(req).await.expect("Execute").into_inner() });
    }
    let answers = calls.join_all().await;
    let started = answers.iter().filter(|a| a.started).count();
    assert_eq!(started, 1, "exactly one call started the execution");
    let id = &answers[0].execution.as_ref().expect("execution").id;
    for answer in &answers {
        assert_eq!(&answer.execution.as_ref().expect("execution").id, id);
    }
    daemon.wait_state(id, ExecutionState::Succeeded).await;
    let listed = daemon.list_executions(Default::default()).await.executions;
    assert_eq!(listed.len(), 1, "one execution for one request_id");
}

/// WaitExecution for `execution_id`, bounded by `deadline`.
async fn wait_execution(
    daemon: &Daemon,
    execution_id: &str,
    deadline: Duration,
) -> Result<pb::Execution, tonic::Status> {
    let mut request = tonic::Request::new(pb::WaitExecutionRequest {
        execution_id: execution_id.to_string(),
    });
    request.set_timeout(deadline);
    let response = daemon.client().wait_execution(request).await?;
    Ok(response.into_inner().execution.expect("execution"))
}

#[tokio::test]
async fn wait_execution_returns_once_the_execution_has_ended() {
    let daemon = Daemon::start().await;
    let running = daemon.execute("sleeper", &[("seconds", num(30.0))]).await;
    daemon.wait_output(&running.id, "sleeping 30 s").await;

    // While the program runs, the call's deadline passes first.
    let err = wait_execution(&daemon, &running.id, Duration::from_millis(300))
        .await
        .expect_err("still running");
    assert!(
        matches!(err.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{err:?}"
    );

    // A waiter gets the execution in its final state once it ends.
    let waiter = {
        let daemon_client = daemon.client();
        let id = running.id.clone();
        tokio::spawn(async move {
            let mut client = daemon_client;
            client
                .wait_execution(pb::WaitExecutionRequest { execution_id: id })
                .await
        })
    };
    daemon.cancel(&running.id, None, true).await;
    let ended = waiter
        .await
        .expect("waiter")
        .expect("WaitExecution")
        .into_inner()
        .execution
        .expect("execution");
    assert_eq!(ended.state(), ExecutionState::Cancelled, "{ended:?}");
    assert!(ended.end_time.is_some(), "{ended:?}");

    // Once it has ended, the wait returns at once with what GetExecution says.
    let again = wait_execution(&daemon, &running.id, DEADLINE)
        .await
        .expect("WaitExecution");
    assert_eq!(again, daemon.get(&running.id).await);
    assert_eq!(again, ended);
}

#[tokio::test]
async fn unknown_execution_ids_are_not_found() {
    let daemon = Daemon::start().await;
    let id = uuid::Uuid::new_v4().to_string();
    let err = daemon
        .client()
        .get_execution(pb::GetExecutionRequest {
            execution_id: id.clone(),
        })
        .await
        .expect_err("unknown execution");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    let err = daemon
        .client()
        .cancel(cancel_request(&id, None, false))
        .await
        .expect_err("unknown execution");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    let err = wait_execution(&daemon, &id, DEADLINE)
        .await
        .expect_err("unknown execution");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let err = wait_execution(&daemon, "not-a-uuid", DEADLINE)
        .await
        .expect_err("malformed id");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("execution_id"), "{err:?}");

    // StreamLogs may fail at the call or on the first message.
    let result = daemon
        .client()
        .stream_logs(pb::StreamLogsRequest {
            execution_id: id,
            from_sequence: 0,
            follow: true,
        })
        .await;
    let err = match result {
        Err(err) => err,
        Ok(stream) => stream
            .into_inner()
            .message()
            .await
            .expect_err("unknown execution"),
    };
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
}
