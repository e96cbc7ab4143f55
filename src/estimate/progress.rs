//! The fraction of an execution done, and its running phase, read from
//! its Phase -> Task -> Agent tree.

use crate::tree::{ExecutionTree, NodeStatus, PhaseNode};

/// The phase running now: the latest phase started and not finished.
pub(crate) fn current_phase(tree: &ExecutionTree) -> Option<&PhaseNode> {
    tree.phases
        .iter()
        .rev()
        .find(|p| p.status == NodeStatus::Running)
}

/// Fraction done, 0 to 1: phases finished out of the announced total,
/// plus the running phase's own fraction ([`phase_fraction`]) as a part
/// of one phase. None when no phase announced a total.
///
/// The total is the latest one announced (a program may learn it as it
/// goes). Failed phases count as finished: the program has moved past
/// them, and only a still-running execution is estimated.
pub(crate) fn progress(tree: &ExecutionTree) -> Option<f64> {
    let total = tree
        .phases
        .iter()
        .rev()
        .map(|p| p.total_phases)
        .find(|total| *total > 0)?;
    let finished = tree
        .phases
        .iter()
        .filter(|p| p.status != NodeStatus::Running)
        .count();
    let running = current_phase(tree).map_or(0.0, phase_fraction);
    Some(((finished as f64 + running) / f64::from(total)).clamp(0.0, 1.0))
}

/// How far the running phase is, 0 to 1: its finished tasks out of the
/// total its tasks announced; without a total, the percentage its last
/// task reported while it runs; else 0 (nothing says how many tasks are
/// left).
fn phase_fraction(phase: &PhaseNode) -> f64 {
    let announced = phase
        .tasks
        .iter()
        .filter_map(|t| t.total_tasks)
        .filter(|total| *total > 0)
        .max();
    if let Some(total) = announced {
        let finished = phase
            .tasks
            .iter()
            .filter(|t| t.status != NodeStatus::Running)
            .count();
        return (finished as f64 / f64::from(total)).min(1.0);
    }
    match phase.tasks.last() {
        Some(task) if task.status == NodeStatus::Running && task.percent >= 0 => {
            f64::from(task.percent.min(100)) / 100.0
        }
        _ => 0.0,
    }
}
