//! The schedule verbs, one file each: `wfctl schedule create|update`
//! ([`create`], with the definition built from the flags in [`define`]),
//! `list`, `describe`, `pause|unpause`, `trigger` and `delete`. Their flags
//! are in [`super::args`], the printing in [`super::render::schedule`]; the
//! hyperctl form `wfctl schedules ...` ([`super::hyperctl`]) hands its work
//! to the same functions. See docs/schedules.md.

pub(crate) mod create;
pub(crate) mod define;
pub(crate) mod delete;
pub(crate) mod describe;
pub(crate) mod list;
pub(crate) mod pause;
pub(crate) mod trigger;

use super::{
    args::{GlobalArgs, ScheduleCommand},
    context::Ctx,
    error::CliError,
};
use crate::pb;

/// The schedule a response carries; none is [`CliError::NotFound`].
fn returned(schedule: Option<pb::Schedule>, schedule_id: &str) -> Result<pb::Schedule, CliError> {
    schedule.ok_or_else(|| CliError::NotFound(format!("schedule {schedule_id:?} not found")))
}

/// Runs a `schedule` verb. The definition of `create` and `update` is
/// checked before connecting, so a usage error is reported as one even
/// when the daemon is down.
pub(crate) async fn run(globals: &GlobalArgs, command: ScheduleCommand) -> Result<(), CliError> {
    match command {
        ScheduleCommand::Create(args) => {
            let mut schedule = define::schedule(&args.schedule_id, &args.definition, "--")?;
            schedule.paused = args.paused;
            schedule.note = args.note.unwrap_or_default();
            create::create(&Ctx::connect(globals).await?, schedule).await
        }
        ScheduleCommand::Update(args) => {
            let schedule = define::schedule(&args.schedule_id, &args.definition, "--")?;
            create::update(&Ctx::connect(globals).await?, schedule).await
        }
        ScheduleCommand::List => list::list(&Ctx::connect(globals).await?).await,
        ScheduleCommand::Describe(args) => {
            let ctx = Ctx::connect(globals).await?;
            describe::describe(&ctx, &args.schedule_id, args.next, args.runs).await
        }
        ScheduleCommand::Pause(args) => {
            let ctx = Ctx::connect(globals).await?;
            pause::pause(&ctx, &args.schedule_id, true, args.note).await
        }
        ScheduleCommand::Unpause(args) => {
            let ctx = Ctx::connect(globals).await?;
            pause::pause(&ctx, &args.schedule_id, false, args.note).await
        }
        ScheduleCommand::Trigger(args) => {
            let ctx = Ctx::connect(globals).await?;
            trigger::trigger(&ctx, &args.schedule_id, args.request_id).await
        }
        ScheduleCommand::Delete(args) => {
            delete::delete(&Ctx::connect(globals).await?, &args.schedule_id).await
        }
    }
}
