//! The estimate math, with the clock fixed at `NOW`.

use super::batch::{batch_estimate, ActiveMember, BatchTally};
use super::*;
use crate::tree::ExecutionTree;

const NOW: i64 = 1_000_000;

/// A tree built from `__WF_EVENT__` JSON bodies.
fn tree(events: &[&str]) -> ExecutionTree {
    let mut tree = ExecutionTree::default();
    for json in events {
        tree.apply(&serde_json::from_str(json).expect("an event"));
    }
    tree
}

fn phase_started(phase: i32, name: &str, total: i32) -> String {
    format!(r#"{{"type":"phase_started","phase":{phase},"name":"{name}","total_phases":{total}}}"#)
}

fn phase_completed(phase: i32, name: &str) -> String {
    format!(r#"{{"type":"phase_completed","phase":{phase},"name":"{name}"}}"#)
}

/// Phases 0 and 1 of 4 completed, phase 2 ("three") running.
fn third_of_four() -> Vec<String> {
    vec![
        phase_started(0, "one", 4),
        phase_completed(0, "one"),
        phase_started(1, "two", 4),
        phase_completed(1, "two"),
        phase_started(2, "three", 4),
    ]
}

fn refs(events: &[String]) -> Vec<&str> {
    events.iter().map(String::as_str).collect()
}

fn running(elapsed_ms: i64, progress: Option<f64>) -> Stage {
    Stage::Running {
        start_ms: Some(NOW - elapsed_ms),
        progress,
    }
}

fn past(median_ms: i64, runs: u32) -> Option<PastRuns> {
    Some(PastRuns { median_ms, runs })
}

#[test]
fn the_median_ignores_an_outlier_and_averages_the_middle_pair() {
    assert_eq!(PastRuns::of(&[]), None);
    assert_eq!(
        PastRuns::of(&[1000, 900_000, 1100]),
        Some(PastRuns {
            median_ms: 1100,
            runs: 3
        })
    );
    assert_eq!(
        PastRuns::of(&[4000, 1000, 2000, 3000]).unwrap().median_ms,
        2500
    );
    assert_eq!(
        PastRuns::of(&[i64::MAX, i64::MAX]).unwrap().median_ms,
        i64::MAX
    );
}

#[test]
fn progress_counts_finished_phases_out_of_the_announced_total() {
    let events = third_of_four();
    let t = tree(&refs(&events));
    assert_eq!(progress(&t), Some(0.5));
    assert_eq!(current_phase(&t).map(|p| p.name.as_str()), Some("three"));

    let mut done = events.clone();
    done.push(phase_completed(2, "three"));
    let t = tree(&refs(&done));
    assert_eq!(progress(&t), Some(0.75));
    assert_eq!(current_phase(&t), None, "between phases none runs");

    let failed = [
        phase_started(0, "one", 2),
        r#"{"type":"phase_failed","phase":0,"name":"one","error":"x"}"#.to_string(),
    ];
    assert_eq!(progress(&tree(&refs(&failed))), Some(0.5));
}

#[test]
fn the_running_phase_adds_its_tasks_or_its_last_percentage() {
    let mut tasks = third_of_four();
    for id in ["a", "b"] {
        tasks.push(format!(
            r#"{{"type":"task_started","phase":2,"task_id":"{id}","description":"","total_tasks":4}}"#
        ));
    }
    tasks.push(r#"{"type":"task_completed","task_id":"a","result":null}"#.into());
    assert_eq!(progress(&tree(&refs(&tasks))), Some((2.0 + 0.25) / 4.0));

    let mut percent = third_of_four();
    percent.push(
        r#"{"type":"task_started","phase":2,"task_id":"copy","description":"","total_tasks":null}"#
            .into(),
    );
    percent.push(r#"{"type":"task_progress","task_id":"copy","message":"60% copied"}"#.into());
    assert_eq!(progress(&tree(&refs(&percent))), Some((2.0 + 0.6) / 4.0));

    // A finished task without a total says nothing about the tasks left.
    percent.push(r#"{"type":"task_completed","task_id":"copy","result":null}"#.into());
    assert_eq!(progress(&tree(&refs(&percent))), Some(0.5));
}

#[test]
fn without_an_announced_total_there_is_no_progress() {
    assert_eq!(progress(&ExecutionTree::default()), None);
    let t = tree(&[&phase_started(0, "one", 0)]);
    assert_eq!(progress(&t), None);
    assert_eq!(current_phase(&t).map(|p| p.name.as_str()), Some("one"));
}

#[test]
fn progress_alone_extrapolates_the_pace_so_far() {
    let e = execution_estimate(running(600, Some(0.25)), None, NOW).unwrap();
    assert_eq!(e.progress, Some(0.25));
    assert_eq!(e.remaining_ms, Some(1800));
    assert_eq!(e.completion_ms, Some(NOW + 1800));
    assert_eq!(e.basis, Some(Basis::Progress));
    assert_eq!(e.history_runs, 0);
}

#[test]
fn history_alone_counts_down_the_median_and_stops_at_zero() {
    let e = execution_estimate(running(400, None), past(1000, 3), NOW).unwrap();
    assert_eq!((e.progress, e.remaining_ms), (None, Some(600)));
    assert_eq!((e.basis, e.history_runs), (Some(Basis::History), 3));

    let overdue = execution_estimate(running(5000, None), past(1000, 3), NOW).unwrap();
    assert_eq!(overdue.remaining_ms, Some(0));
    assert_eq!(overdue.completion_ms, Some(NOW));
}

#[test]
fn both_are_blended_by_the_fraction_done() {
    // By progress: 600 * 0.5 / 0.5 = 600; by history: 2000 - 600 = 1400.
    let e = execution_estimate(running(600, Some(0.5)), past(2000, 2), NOW).unwrap();
    assert_eq!(e.remaining_ms, Some(1000));
    assert_eq!(e.basis, Some(Basis::ProgressAndHistory));
    assert_eq!(e.history_runs, 2);

    // Near the end the execution's own pace dominates.
    let late = execution_estimate(running(900, Some(0.9)), past(5000, 2), NOW).unwrap();
    assert_eq!(late.remaining_ms, Some((0.9 * 100.0 + 0.1 * 4100.0) as i64));
}

#[test]
fn no_progress_yet_leans_on_history_or_leaves_remaining_unknown() {
    let e = execution_estimate(running(100, Some(0.0)), past(1000, 1), NOW).unwrap();
    assert_eq!((e.progress, e.remaining_ms), (Some(0.0), Some(900)));
    assert_eq!(e.basis, Some(Basis::History));

    let e = execution_estimate(running(100, Some(0.0)), None, NOW).unwrap();
    assert_eq!(
        (e.progress, e.remaining_ms, e.completion_ms),
        (Some(0.0), None, None)
    );
    assert_eq!((e.basis, e.history_runs), (None, 0));

    assert_eq!(execution_estimate(running(100, None), None, NOW), None);
}

#[test]
fn a_queued_execution_gets_the_median_when_there_is_history() {
    let e = execution_estimate(Stage::Queued, past(1500, 4), NOW).unwrap();
    assert_eq!((e.progress, e.remaining_ms), (None, Some(1500)));
    assert_eq!((e.basis, e.history_runs), (Some(Basis::History), 4));
    assert_eq!(execution_estimate(Stage::Queued, None, NOW), None);
}

#[test]
fn a_tiny_fraction_does_not_extrapolate_past_a_century() {
    let e = execution_estimate(running(86_400_000, Some(1e-12)), None, NOW).unwrap();
    assert_eq!(e.remaining_ms, Some(MAX_REMAINING_MS as i64));
}

fn member(stage: Stage, past: Option<PastRuns>) -> ActiveMember<'static> {
    ActiveMember {
        workflow_id: "vm",
        stage,
        past,
    }
}

#[test]
fn a_batch_averages_progress_over_all_its_executions() {
    // 4 executions: 1 finished, one half way, one running without
    // progress (0), one queued (0).
    let counts = BatchTally {
        total: 4,
        finished: 1,
    };
    let active = [
        member(running(100, Some(0.5)), None),
        member(running(100, None), None),
        member(Stage::Queued, None),
    ];
    let e = batch_estimate(counts, &active, 2, NOW).unwrap();
    assert_eq!(e.progress, Some(1.5 / 4.0));
    // Known: the first needs 100 more (200 in all); the others are taken
    // to need that mean: 100 more, and 200 queued after the first free
    // worker (at 100): the last ends at 300.
    assert_eq!(e.remaining_ms, Some(300));
    assert_eq!(e.completion_ms, Some(NOW + 300));
    assert_eq!((e.basis, e.history_runs), (Some(Basis::Progress), 0));
}

#[test]
fn a_batch_schedules_its_queue_on_the_worker_pool() {
    let counts = BatchTally {
        total: 5,
        finished: 0,
    };
    // Median 1000; one running 400 ms in (600 left), four queued.
    let mut active = vec![member(running(400, None), past(1000, 7))];
    active.extend((0..4).map(|_| member(Stage::Queued, past(1000, 7))));
    // Two workers: the queued start at 0, 600, 1000, 1600; the last ends
    // at 2600.
    let e = batch_estimate(counts, &active, 2, NOW).unwrap();
    assert_eq!(e.remaining_ms, Some(2600));
    assert_eq!((e.basis, e.history_runs), (Some(Basis::History), 7));
    // One worker: 600 + 4 * 1000.
    let e = batch_estimate(counts, &active, 1, NOW).unwrap();
    assert_eq!(e.remaining_ms, Some(4600));
    // Workers to spare: the longest single one.
    let e = batch_estimate(counts, &active, 8, NOW).unwrap();
    assert_eq!(e.remaining_ms, Some(1000));
}

#[test]
fn a_batch_counts_each_workflows_runs_once() {
    let counts = BatchTally {
        total: 3,
        finished: 0,
    };
    let active = [
        member(Stage::Queued, past(1000, 5)),
        member(Stage::Queued, past(1000, 5)),
        ActiveMember {
            workflow_id: "other",
            stage: Stage::Queued,
            past: past(10, 2),
        },
    ];
    let e = batch_estimate(counts, &active, 4, NOW).unwrap();
    assert_eq!(e.history_runs, 7);
}

#[test]
fn a_batch_with_nothing_to_go_on_has_progress_but_no_remaining_time() {
    let counts = BatchTally {
        total: 2,
        finished: 1,
    };
    let e = batch_estimate(counts, &[member(Stage::Queued, None)], 1, NOW).unwrap();
    assert_eq!(e.progress, Some(0.5));
    assert_eq!(
        (e.remaining_ms, e.completion_ms, e.basis),
        (None, None, None)
    );
    assert_eq!(batch_estimate(counts, &[], 1, NOW), None, "finished");
}

#[test]
fn without_a_start_time_progress_gives_no_pace() {
    let unstarted = Stage::Running {
        start_ms: None,
        progress: Some(0.5),
    };
    let e = execution_estimate(unstarted, None, NOW).unwrap();
    assert_eq!(e.progress, Some(0.5));
    assert_eq!(
        (e.remaining_ms, e.completion_ms, e.basis),
        (None, None, None),
        "not due now"
    );
    let e = execution_estimate(unstarted, past(1000, 2), NOW).unwrap();
    assert_eq!(e.remaining_ms, Some(1000), "the whole median");
    assert_eq!((e.basis, e.history_runs), (Some(Basis::History), 2));

    // In a batch it is neither due now nor a pace for the others.
    let counts = BatchTally {
        total: 2,
        finished: 0,
    };
    let active = [member(unstarted, None), member(Stage::Queued, None)];
    let e = batch_estimate(counts, &active, 1, NOW).unwrap();
    assert_eq!(e.progress, Some(0.25));
    assert_eq!(e.remaining_ms, None);
}
