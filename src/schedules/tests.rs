//! The catch-up and crash rules with a clock the test controls: the
//! schedule's cursor is stored as the test says, and catch-up is told what
//! time "now" is, so times minutes apart are checked in milliseconds. A
//! real engine runs the started executions (engine/testing.rs).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::definition::{Action, CatchUp, Definition, Overlap};
use super::live::Live;
use super::Schedules;
use crate::engine::testing::{workflow_script, TestEngine};
use crate::store::{
    ExecutionFilter, RunOutcome, ScheduleRecord, ScheduleRunRecord, ScheduleWrite, ScheduledBy,
};

const MINUTE: i64 = 60_000;
/// 2026-12-06T10:00:00Z.
const TEN_AM: i64 = 1_796_551_200_000;

fn quick() -> (&'static str, String) {
    (
        "quick",
        workflow_script(
            r#"{"id":"quick","name":"Quick","description":"Exits at once.","fields":[]}"#,
            "echo done",
        ),
    )
}

fn every_minute(catch_up: CatchUp, window_ms: u64) -> Definition {
    Definition {
        cron: vec!["* * * * *".into()],
        time_zone: String::new(),
        jitter_ms: 0,
        start_ms: None,
        end_ms: None,
        action: Action::Execute {
            workflow_id: "quick".into(),
            inputs: BTreeMap::new(),
            timeout_ms: None,
            labels: BTreeMap::new(),
            retry: None,
        },
        overlap: Overlap::AllowAll,
        catch_up,
        catch_up_window_ms: window_ms,
        description: String::new(),
        namespace: "default".into(),
    }
}

/// A schedule stored with its cursor at `handled_ms`, known to `schedules`
/// but with no timer running: the test drives it.
async fn stored(schedules: &Arc<Schedules>, definition: Definition, handled_ms: i64) -> Arc<Live> {
    let record = ScheduleRecord {
        id: "nightly".into(),
        definition: definition.to_json(),
        paused: false,
        note: String::new(),
        create_ms: handled_ms,
        update_ms: handled_ms,
        handled_ms,
    };
    schedules
        .writer
        .schedule(ScheduleWrite::Create(Box::new(record.clone())))
        .await
        .unwrap();
    let calendar = super::calendar::Calendar::compile("nightly", &definition).unwrap();
    let live = Arc::new(Live::new(record, definition, calendar));
    schedules.live.lock().insert("nightly".into(), live.clone());
    live
}

async fn setup() -> (TestEngine, Arc<Schedules>) {
    let t = TestEngine::start(2, 10, &[quick()]).await;
    let schedules = Schedules::new(
        t.engine.clone(),
        None,
        None,
        t.writer.clone(),
        t.engine.reader().clone(),
    );
    (t, schedules)
}

/// The runs, oldest first.
fn runs(schedules: &Schedules) -> Vec<ScheduleRunRecord> {
    let mut runs = schedules
        .reader
        .schedule_runs("nightly", None, 100)
        .unwrap();
    runs.reverse();
    runs
}

async fn executions(t: &TestEngine) -> Vec<crate::store::ExecutionRecord> {
    let filter = ExecutionFilter {
        schedule_id: Some("nightly".into()),
        ..ExecutionFilter::default()
    };
    t.engine.list_executions(filter, None, 100).await.unwrap()
}

#[tokio::test]
async fn after_downtime_the_latest_time_starts_once_and_the_rest_are_missed() {
    let (t, schedules) = setup().await;
    let live = stored(
        &schedules,
        every_minute(CatchUp::StartOne, 3_600_000),
        TEN_AM + 30_000,
    )
    .await;

    // Down from 10:00:30 to 10:05:10: 10:01 .. 10:05 fell due.
    let now = TEN_AM + 5 * MINUTE + 10_000;
    schedules.catch_up(&live, now).await;
    let runs = runs(&schedules);
    assert_eq!(runs.len(), 2, "{runs:#?}");
    assert_eq!(runs[0].outcome, RunOutcome::Missed);
    assert_eq!(runs[0].scheduled_ms, TEN_AM + MINUTE);
    assert!(
        runs[0].error.contains("missed 4 times"),
        "{}",
        runs[0].error
    );
    assert_eq!(runs[1].outcome, RunOutcome::Started);
    assert_eq!(runs[1].scheduled_ms, TEN_AM + 5 * MINUTE);
    let executions = executions(&t).await;
    assert_eq!(executions.len(), 1);
    assert_eq!(runs[1].execution_ids, vec![executions[0].id.to_string()]);
    assert_eq!(
        executions[0].scheduled_by,
        Some(ScheduledBy {
            schedule_id: "nightly".into(),
            scheduled_ms: TEN_AM + 5 * MINUTE
        })
    );

    // A second start at the same moment finds nothing left to do.
    schedules.catch_up(&live, now).await;
    assert_eq!(super::tests::runs(&schedules).len(), 2);
    assert_eq!(super::tests::executions(&t).await.len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn outside_the_window_or_with_skip_every_time_is_missed() {
    for (catch_up, window_ms) in [(CatchUp::StartOne, 5_000), (CatchUp::Skip, 3_600_000)] {
        let (t, schedules) = setup().await;
        let live = stored(
            &schedules,
            every_minute(catch_up, window_ms),
            TEN_AM + 30_000,
        )
        .await;
        schedules
            .catch_up(&live, TEN_AM + 5 * MINUTE + 10_000)
            .await;
        let runs = runs(&schedules);
        assert_eq!(runs.len(), 1, "{catch_up:?}: {runs:#?}");
        assert_eq!(runs[0].outcome, RunOutcome::Missed);
        assert!(
            runs[0].error.contains("missed 5 times"),
            "{}",
            runs[0].error
        );
        assert!(executions(&t).await.is_empty());
        let stored = schedules.reader.schedule("nightly").unwrap().unwrap();
        assert_eq!(stored.handled_ms, TEN_AM + 5 * MINUTE, "the cursor moved");
        t.stop().await;
    }
}

#[tokio::test]
async fn a_start_the_daemon_made_before_it_died_is_recorded_not_repeated() {
    let (t, schedules) = setup().await;
    // Skip: had the start been lost, 10:01 would only be MISSED.
    let live = stored(&schedules, every_minute(CatchUp::Skip, 0), TEN_AM + 30_000).await;

    // The daemon started 10:01's run and died before recording it.
    let due = TEN_AM + MINUTE;
    let definition = live.state.lock().definition.clone();
    let started = schedules
        .starter
        .start(
            &definition,
            ScheduledBy {
                schedule_id: "nightly".into(),
                scheduled_ms: due,
            },
            live.request_id(due),
        )
        .await
        .unwrap_or_else(|_| panic!("started"));

    schedules.catch_up(&live, due + 5_000).await;
    let runs = runs(&schedules);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].outcome, RunOutcome::Started);
    assert_eq!(runs[0].scheduled_ms, due);
    assert_eq!(runs[0].execution_ids, started.execution_ids);
    assert_eq!(executions(&t).await.len(), 1, "not started twice");
    t.stop().await;
}

#[tokio::test]
async fn a_start_made_before_a_crash_stays_started_when_the_action_fails_now() {
    let (t, schedules) = setup().await;
    let live = stored(&schedules, every_minute(CatchUp::Skip, 0), TEN_AM + 30_000).await;
    // The daemon started 10:01's run and died before recording it...
    let due = TEN_AM + MINUTE;
    let definition = live.state.lock().definition.clone();
    let started = schedules
        .starter
        .start(
            &definition,
            ScheduledBy {
                schedule_id: "nightly".into(),
                scheduled_ms: due,
            },
            live.request_id(due),
        )
        .await
        .unwrap_or_else(|_| panic!("started"));
    // ...and the action no longer starts (its workflow, like a manifest's
    // template, changed while the daemon was down).
    let mut edited = (*definition).clone();
    if let Action::Execute { workflow_id, .. } = &mut edited.action {
        *workflow_id = "gone".into();
    }
    live.state.lock().definition = Arc::new(edited);

    schedules.catch_up(&live, due + 5_000).await;
    let runs = runs(&schedules);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].outcome, RunOutcome::Started, "{runs:#?}");
    assert_eq!(runs[0].execution_ids, started.execution_ids);
    assert!(runs[0].error.starts_with("started, but:"), "{runs:#?}");
    assert_eq!(executions(&t).await.len(), 1, "not started twice");
    t.stop().await;
}
