//! `wfctl run`: start an execution, then print its id, wait for it, or
//! follow it. Waiting and following go through the execution's retries
//! (docs/retries.md): each attempt is an execution of its own, and the
//! attempt after an ended one is found by its `next_attempt_id`, waited
//! for while its `next_attempt_time` says one will start.

use std::time::{Duration, SystemTime};

use crate::cli::{
    args::{GlobalArgs, RunArgs},
    context::Ctx,
    error::CliError,
    follow::{follow, EventStyle},
    input::{collect_inputs, collect_labels, proto_duration, resource_limits, retry_policy},
    outcome::execution_outcome,
    render::{
        execution::{print_execution, print_started},
        print::timestamp_text,
        print_note, short_state,
    },
};
use crate::pb;

/// How often a retry that is due is looked for, at most and at least.
const NEXT_ATTEMPT_POLL: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(1));

/// `wfctl run`.
pub(crate) async fn run(globals: &GlobalArgs, args: RunArgs) -> Result<(), CliError> {
    let request = pb::ExecuteRequest {
        workflow_id: args.workflow_id.clone(),
        inputs: collect_inputs(args.inputs_file.as_deref(), &args.inputs)?,
        request_id: args.request_id.clone().unwrap_or_default(),
        timeout: args
            .timeout
            .map(|t| proto_duration(t, "--timeout"))
            .transpose()?,
        labels: collect_labels(&args.labels)?,
        retry_policy: retry_policy(&args.retry)?,
        limits: resource_limits(&args.limits)?,
        namespace: args.namespace.field(),
    };
    let ctx = &Ctx::connect(globals).await?;
    let execution = ctx.start(request).await?;
    if args.follow || args.wait {
        return to_last_attempt(ctx, &execution.id, args.follow).await;
    }
    print_started(ctx.output, &execution);
    Ok(())
}

/// Follows the log of each attempt from `first_id` on (`follow_log`), or waits
/// for each silently and prints the last, and returns the outcome of the
/// last attempt.
async fn to_last_attempt(ctx: &Ctx, first_id: &str, follow_log: bool) -> Result<(), CliError> {
    if !follow_log {
        print_note(&format!(
            "wfctl: waiting for execution {first_id} to finish"
        ));
    }
    let style = EventStyle::choose(ctx.output, true);
    let mut id = first_id.to_string();
    loop {
        let ended = if follow_log {
            follow(ctx, &id, 0, true, style).await?;
            ctx.get_execution(&id).await?
        } else {
            ctx.wait_execution(&id).await?
        };
        match after_attempt(ctx, ended).await? {
            AfterAttempt::Next(next) => id = next,
            AfterAttempt::Last(last) => {
                if !follow_log {
                    print_execution(ctx.output, &last);
                }
                return execution_outcome(ctx, &last);
            }
        }
    }
}

/// What follows an ended attempt.
enum AfterAttempt {
    /// The next attempt, started: its id.
    Next(String),
    /// Nothing: this is the last attempt (it succeeded, was not retried,
    /// or its retry was called off).
    Last(Box<pb::Execution>),
}

/// What follows the attempt `ended`, waiting while a retry of it waits to
/// start; each step is noted on stderr.
async fn after_attempt(ctx: &Ctx, ended: pb::Execution) -> Result<AfterAttempt, CliError> {
    let mut current = ended;
    let mut announced = false;
    loop {
        let of = current.retry_policy.as_ref().map_or(0, |p| p.max_attempts);
        if !current.next_attempt_id.is_empty() {
            print_note(&format!(
                "wfctl: attempt {} of {of} started: execution {}",
                current.attempt + 1,
                current.next_attempt_id
            ));
            return Ok(AfterAttempt::Next(current.next_attempt_id));
        }
        let Some(due) = current.next_attempt_time else {
            if announced {
                print_note(&format!(
                    "wfctl: the retry of attempt {} was called off",
                    current.attempt
                ));
            }
            return Ok(AfterAttempt::Last(Box::new(current)));
        };
        if !announced {
            let error = if current.error.is_empty() {
                String::new()
            } else {
                format!(" ({})", current.error)
            };
            print_note(&format!(
                "wfctl: attempt {} of {of} ended {}{error}; attempt {} starts at {}",
                current.attempt,
                short_state(current.state()),
                current.attempt + 1,
                timestamp_text(Some(&due)),
            ));
            announced = true;
        }
        let until_due = SystemTime::try_from(due)
            .ok()
            .and_then(|due| due.duration_since(SystemTime::now()).ok())
            .unwrap_or_default();
        tokio::time::sleep(until_due.clamp(NEXT_ATTEMPT_POLL.0, NEXT_ATTEMPT_POLL.1)).await;
        current = ctx.get_execution(&current.id).await?;
    }
}
