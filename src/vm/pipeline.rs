//! The pipeline loop: runs the stages in phase order, turns what each
//! did into events, stops at the first failure or cancel, and writes the
//! report.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::{
    error::StageError,
    events::Emitter,
    report::{Report, StageReport},
    run::Run,
    stage::{Stage, StageOutcome},
    Options, EXIT_CANCELLED, REPORT_PHASE,
};

/// Runs the pipeline and returns the process exit code: 0 only when every
/// enabled stage succeeded, [`EXIT_CANCELLED`] when stopped by a signal,
/// 1 otherwise. The report is written in every case but a failure to write
/// it.
pub(crate) async fn run(options: Options, cancel: CancellationToken) -> i32 {
    let started = Instant::now();
    let emitter = Emitter;
    let mut run = Run::new(options, emitter, cancel);
    let mut stage_reports = Vec::new();
    let mut errors = Vec::new();
    let mut stopped: Option<String> = None;
    let mut cancelled = false;

    for (index, stage) in Stage::ALL.into_iter().enumerate() {
        let phase = index as i32;
        let name = stage.name();
        if let Some(why) = &stopped {
            stage_reports.push((name, StageReport::not_run(why)));
            continue;
        }
        emitter.phase_started(phase, name);
        emitter.task_started(phase, name, &stage.describe(&run));
        let stage_started = Instant::now();
        let outcome = match stage.disabled(&run) {
            Some(reason) => Ok(StageOutcome::Skipped {
                reason,
                detail: None,
            }),
            None if run.cancel.is_cancelled() => Err(StageError::Cancelled),
            None => stage.run(&mut run).await,
        };
        let seconds = stage_started.elapsed().as_secs_f64();
        match outcome {
            Ok(StageOutcome::Done { summary, result }) => {
                emitter.say(&format!("{name}: {summary}"));
                emitter.task_completed(name, &summary);
                emitter.phase_completed(phase, name);
                stage_reports.push((name, StageReport::succeeded(seconds, result)));
            }
            Ok(StageOutcome::Skipped { reason, detail }) => {
                emitter.say(&format!("{name}: SKIPPED: {reason}"));
                emitter.task_completed(name, &format!("SKIPPED: {reason}"));
                emitter.phase_completed(phase, name);
                stage_reports.push((name, StageReport::skipped(seconds, &reason, detail)));
            }
            Err(StageError::Cancelled) => {
                let error = "cancelled (SIGTERM)";
                emitter.say(&format!("{name}: {error}"));
                emitter.task_failed(name, error);
                emitter.phase_failed(phase, name, error);
                errors.push(format!("{name}: {error}"));
                stage_reports.push((name, StageReport::failed(seconds, error)));
                stopped = Some(format!("not run: the pipeline was cancelled during {name}"));
                cancelled = true;
            }
            Err(error) => {
                let error = error.to_string();
                emitter.say(&format!("{name}: FAILED: {error}"));
                emitter.task_failed(name, &error);
                emitter.phase_failed(phase, name, &error);
                errors.push(format!("{name}: {error}"));
                stage_reports.push((name, StageReport::failed(seconds, &error)));
                stopped = Some(format!("not run: the {name} stage failed"));
            }
        }
    }
    run.remove_scratch();

    let mut report = Report::new(&run.name, &run.options.manifest);
    for (name, stage) in stage_reports {
        report.stage(name, stage);
    }
    report.artifacts = std::mem::take(&mut run.artifacts);
    report.warnings = std::mem::take(&mut run.warnings);
    report.errors = errors;
    report.finish(started.elapsed().as_secs_f64(), cancelled);

    let path = run
        .options
        .work_dir
        .join(format!("{}.report.json", run.name));
    if let Err(e) = report.write_atomic(&path) {
        emitter.say(&format!("cannot write the report {}: {e}", path.display()));
        return 1;
    }
    emitter.state_file(REPORT_PHASE, &path, "pipeline report");
    emitter.say(&format!(
        "report: {} ({})",
        path.display(),
        if report.pipeline.success {
            "success"
        } else if cancelled {
            "cancelled"
        } else {
            "failed"
        }
    ));
    if cancelled {
        EXIT_CANCELLED
    } else if report.pipeline.success {
        0
    } else {
        1
    }
}
