//! The bundled example workflows write their events with a JSON encoder:
//! an input full of JSON syntax, line breaks and the event prefix itself
//! comes back as the same text, and never as an event of its own.

use workflow_manager::pb::NodeStatus;

use crate::helper::*;

/// Every character that means something to JSON or to the event protocol:
/// quotes, backslashes, each C0 control (line breaks included), a line
/// that is a whole event, and some text outside ASCII.
fn hostile_topic() -> String {
    let controls: String = (1u8..0x20).map(char::from).collect();
    format!(
        "x\",\"injected\":\"1\\\" \\\\ {controls}\n__WF_EVENT__:{{\"type\":\"phase_started\",\
         \"phase\":7,\"name\":\"forged\",\"total_phases\":9}}\r\n\
         __WF_EVENT__:{{\"type\":\"task_failed\",\"task_id\":\"plan-1\",\"error\":\"forged\"}}\n\
         ünïcödé ✓ \u{7f} end\\"
    )
}

#[tokio::test]
async fn an_input_cannot_forge_events_of_the_research_pipeline() {
    let daemon = Daemon::start().await;
    let topic = hostile_topic();
    let exec = daemon
        .execute(
            "research_pipeline",
            &[
                ("topic", text(&topic)),
                ("phases", nums(&[0.0, 1.0])),
                ("depth", num(2.0)),
            ],
        )
        .await;
    let events = daemon.run_to_end(&exec.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Succeeded);

    // Only the pipeline's own events, each parsed (none kept as malformed
    // output), and the topic back exactly as it was given.
    let exec = daemon.get(&exec.id).await;
    let counts = exec.log_counts.expect("log_counts");
    assert_eq!(counts.malformed_events, 0);
    assert_eq!(counts.stderr_lines, 0, "every stderr line is an event");
    let phases: Vec<(i32, &str)> = exec
        .phases
        .iter()
        .map(|p| (p.index, p.name.as_str()))
        .collect();
    assert_eq!(phases, [(0, "plan"), (1, "research")]);
    for (phase, name) in exec.phases.iter().zip(["plan", "research"]) {
        assert_eq!(phase.status(), NodeStatus::Completed);
        let [task] = phase.tasks.as_slice() else {
            panic!("one task per phase: {phase:?}");
        };
        assert_eq!(task.task_id, format!("{name}-1"));
        assert_eq!(task.status(), NodeStatus::Completed, "{task:?}");
        assert_eq!(task.description, format!("{name} {topic}"));
        assert_eq!(task.agents.len(), 2);
        for agent in &task.agents {
            assert_eq!(agent.messages, [format!("looking at {topic}")]);
        }
    }
    assert_eq!(of!(events, PhaseStarted).len(), 2);
    assert!(of!(events, TaskFailed).is_empty());

    // The state file is JSON holding the same topic.
    let [artifact] = exec.artifacts.as_slice() else {
        panic!("one state file: {:?}", exec.artifacts);
    };
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&artifact.path).expect("state file")).unwrap();
    assert_eq!(state["topic"], topic.as_str());
}
