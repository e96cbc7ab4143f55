//! The schedule tools: create_schedule, list_schedules, get_schedule,
//! pause_schedule, trigger_schedule and delete_schedule, thin adapters
//! from MCP arguments to one schedule RPC and back to structured results
//! (a router of their own, added to the fixed tools' in `server.rs`).
//! Daemon errors become [`ToolError`]s; a field violation names
//! create_schedule's argument ([`FieldStyle::Schedule`]).

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};

use super::error::{FieldStyle, Subject, ToolError, Violation};
use super::model::{
    DeleteScheduleOutput, ListSchedulesOutput, ScheduleInfo, ScheduleRunInfo, TriggerScheduleOutput,
};
use super::params::{
    CreateScheduleParams, GetScheduleParams, ListSchedulesParams, PauseScheduleParams,
    ScheduleParams, TriggerScheduleParams,
};
use super::server::WorkflowMcp;
use crate::pb::{self, schedule_action::Action, schedule_manifest::Source};

#[tool_router(router = schedule_router, vis = "pub(crate)")]
impl WorkflowMcp {
    /// Creates a schedule.
    #[tool(
        description = "Create a schedule: at each time one of its cron expressions falls due (in \
                       its time zone), it executes a workflow (`execute`) or submits a hyper2kvm \
                       manifest (`manifest`: stored `content`, or a `template_path` read again at \
                       each run). The daemon checks everything now (cron, time zone, workflow and \
                       inputs, manifest) and returns the schedule with its next fire times. \
                       trigger_schedule runs it at once; list_executions with schedule_id lists \
                       what it started.",
        annotations(
            title = "Create schedule",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_schedule(
        &self,
        Parameters(params): Parameters<CreateScheduleParams>,
    ) -> Result<Json<ScheduleInfo>, ToolError> {
        let id = params.schedule_id.clone();
        let schedule = schedule_of(params)?;
        let response = self
            .daemon()
            .client()
            .create_schedule(pb::CreateScheduleRequest {
                schedule: Some(schedule),
            })
            .await
            .map_err(|s| self.schedule_error(&s, &id))?
            .into_inner();
        Ok(schedule_info(response.schedule))
    }

    /// Lists every schedule.
    #[tool(
        description = "List the schedules, by id, one page at a time: each one's cron \
                       expressions, action, policies, whether it is paused, and its next fire \
                       time.",
        annotations(
            title = "List schedules",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_schedules(
        &self,
        Parameters(params): Parameters<ListSchedulesParams>,
    ) -> Result<Json<ListSchedulesOutput>, ToolError> {
        let response = self
            .daemon()
            .client()
            .list_schedules(pb::ListSchedulesRequest {
                page_size: params.page_size.map_or(0, |n| n.clamp(1, 1000) as i32),
                page_token: params.page_token.unwrap_or_default(),
            })
            .await
            .map_err(|s| self.schedule_error(&s, ""))?
            .into_inner();
        Ok(Json(ListSchedulesOutput {
            schedules: response.schedules.iter().map(ScheduleInfo::from).collect(),
            next_page_token: (!response.next_page_token.is_empty())
                .then_some(response.next_page_token),
        }))
    }

    /// One schedule with its next fire times and recent runs.
    #[tool(
        description = "Get a schedule: its definition, whether it is paused (and the note saying \
                       why), its next fire times and its recent runs, newest first (each STARTED \
                       with its execution ids, or SKIPPED, BUFFERED, MISSED or FAILED with the \
                       reason).",
        annotations(
            title = "Get schedule",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_schedule(
        &self,
        Parameters(params): Parameters<GetScheduleParams>,
    ) -> Result<Json<ScheduleInfo>, ToolError> {
        let count = |n: Option<u32>, max: u32| n.map_or(0, |n| n.clamp(1, max) as i32);
        let response = self
            .daemon()
            .client()
            .get_schedule(pb::GetScheduleRequest {
                schedule_id: params.schedule_id.clone(),
                next_fire_times: count(params.next_fire_times, 100),
                recent_runs: count(params.recent_runs, 1000),
            })
            .await
            .map_err(|s| self.schedule_error(&s, &params.schedule_id))?
            .into_inner();
        Ok(schedule_info(response.schedule))
    }

    /// Pauses or unpauses a schedule.
    #[tool(
        description = "Pause (paused: true) or unpause (paused: false) a schedule, with a note \
                       saying why. A paused schedule starts and records nothing; the times it \
                       fell due while paused are not caught up. trigger_schedule still runs it.",
        annotations(
            title = "Pause schedule",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn pause_schedule(
        &self,
        Parameters(params): Parameters<PauseScheduleParams>,
    ) -> Result<Json<ScheduleInfo>, ToolError> {
        let response = self
            .daemon()
            .client()
            .pause_schedule(pb::PauseScheduleRequest {
                schedule_id: params.schedule_id.clone(),
                paused: params.paused,
                note: params.note.unwrap_or_default(),
            })
            .await
            .map_err(|s| self.schedule_error(&s, &params.schedule_id))?
            .into_inner();
        Ok(schedule_info(response.schedule))
    }

    /// Runs a schedule's action now.
    #[tool(
        description = "Run a schedule's action now, paused or not. Its overlap policy applies as \
                       to any time it falls due: the run may be SKIPPED (or BUFFERED) while the \
                       previous one still goes. Returns the run with the execution ids it \
                       started; follow them with get_workflow_status. A repeated call with the \
                       same request_id returns the first call's run.",
        annotations(
            title = "Trigger schedule",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn trigger_schedule(
        &self,
        Parameters(params): Parameters<TriggerScheduleParams>,
    ) -> Result<Json<TriggerScheduleOutput>, ToolError> {
        let id = params.schedule_id;
        let run = self
            .daemon()
            .client()
            .trigger_schedule(pb::TriggerScheduleRequest {
                schedule_id: id.clone(),
                request_id: params.request_id.unwrap_or_default(),
            })
            .await
            .map_err(|s| self.schedule_error(&s, &id))?
            .into_inner()
            .run
            .unwrap_or_default();
        let started = run.outcome() == pb::ScheduleRunOutcome::Started;
        let hint = if started {
            "Follow the executions with get_workflow_status, or list them with list_executions \
             and schedule_id."
                .to_string()
        } else {
            format!(
                "Nothing started now; get_schedule {id} shows its runs and when it next falls due."
            )
        };
        Ok(Json(TriggerScheduleOutput {
            schedule_id: id,
            started,
            run: ScheduleRunInfo::from(&run),
            hint,
        }))
    }

    /// Deletes a schedule.
    #[tool(
        description = "Delete a schedule and the records of its runs. The executions it started \
                       stay in the history.",
        annotations(
            title = "Delete schedule",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn delete_schedule(
        &self,
        Parameters(params): Parameters<ScheduleParams>,
    ) -> Result<Json<DeleteScheduleOutput>, ToolError> {
        self.daemon()
            .client()
            .delete_schedule(pb::DeleteScheduleRequest {
                schedule_id: params.schedule_id.clone(),
            })
            .await
            .map_err(|s| self.schedule_error(&s, &params.schedule_id))?;
        Ok(Json(DeleteScheduleOutput {
            schedule_id: params.schedule_id,
            deleted: true,
        }))
    }
}

impl WorkflowMcp {
    /// A schedule RPC's error: NOT_FOUND names the schedule, violations
    /// name create_schedule's arguments.
    fn schedule_error(&self, status: &tonic::Status, id: &str) -> ToolError {
        self.tool_error(status, Subject::Schedule(id), FieldStyle::Schedule)
    }
}

/// A schedule a call returned, as the tools return it.
fn schedule_info(schedule: Option<pb::Schedule>) -> Json<ScheduleInfo> {
    Json(ScheduleInfo::from(&schedule.unwrap_or_default()))
}

/// The schedule create_schedule's arguments describe. What the daemon
/// checks goes as given; only what it cannot see (two actions or none,
/// malformed times) is refused here, naming the argument.
fn schedule_of(params: CreateScheduleParams) -> Result<pb::Schedule, ToolError> {
    let violation = |field: &str, description: &str| ToolError::InvalidInput {
        violations: vec![Violation {
            field: field.to_string(),
            description: description.to_string(),
        }],
    };
    let seconds = |s: u32| prost_types::Duration {
        seconds: i64::from(s),
        nanos: 0,
    };
    let time = |field: &str, text: Option<String>| {
        text.map(|text| {
            chrono::DateTime::parse_from_rfc3339(&text)
                .map(|t| prost_types::Timestamp {
                    seconds: t.timestamp(),
                    nanos: t.timestamp_subsec_nanos() as i32,
                })
                .map_err(|e| {
                    violation(
                        field,
                        &format!("must be an RFC 3339 time such as 2026-05-01T02:00:00Z: {e}"),
                    )
                })
        })
        .transpose()
    };
    let labels = params.labels.unwrap_or_default().into_iter().collect();
    let action = match (params.execute, params.manifest) {
        (Some(execute), None) => Action::Execute(pb::ScheduleExecute {
            workflow_id: execute.workflow_id,
            inputs: execute
                .inputs
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| (k.clone(), crate::proto_value::from_json(v)))
                .collect(),
            timeout: execute.timeout_seconds.map(seconds),
            labels,
            ..Default::default()
        }),
        (None, Some(manifest)) => Action::Manifest(pb::ScheduleManifest {
            source: match (manifest.content, manifest.template_path) {
                (Some(content), None) => Some(Source::Content(content.into_bytes())),
                (None, Some(path)) => Some(Source::TemplatePath(path)),
                _ => {
                    return Err(violation(
                        "manifest",
                        "give one of content (the manifest) or template_path (a manifest file)",
                    ))
                }
            },
            format: pb::ManifestFormat::from(manifest.format.unwrap_or_default()) as i32,
            output_dir: manifest.output_dir.unwrap_or_default(),
            labels,
        }),
        _ => {
            return Err(violation(
                "execute",
                "give one of execute (a workflow) or manifest, the schedule's one action",
            ))
        }
    };
    Ok(pb::Schedule {
        id: params.schedule_id,
        spec: Some(pb::ScheduleSpec {
            cron: params.cron,
            time_zone: params.time_zone.unwrap_or_default(),
            jitter: params.jitter_seconds.map(seconds),
            start_time: time("start_time", params.start_time)?,
            end_time: time("end_time", params.end_time)?,
        }),
        action: Some(pb::ScheduleAction {
            action: Some(action),
        }),
        overlap_policy: params
            .overlap_policy
            .map_or(pb::ScheduleOverlapPolicy::Unspecified, Into::into)
            as i32,
        catch_up_policy: params
            .catch_up_policy
            .map_or(pb::ScheduleCatchUpPolicy::Unspecified, Into::into)
            as i32,
        catch_up_window: params.catch_up_window_seconds.map(seconds),
        paused: params.paused.unwrap_or(false),
        note: params.note.unwrap_or_default(),
        description: params.description.unwrap_or_default(),
        namespace: params.namespace.unwrap_or_default(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(value: serde_json::Value) -> CreateScheduleParams {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_arguments_become_the_schedule() {
        let schedule = schedule_of(params(serde_json::json!({
            "schedule_id": "nightly",
            "cron": ["0 2 * * *"],
            "execute": {"workflow_id": "hello", "inputs": {"name": "night"}, "timeout_seconds": 60},
            "labels": {"team": "ops"},
            "overlap_policy": "ALLOW_ALL",
            "start_time": "2026-05-01T02:00:00Z",
        })))
        .unwrap();
        assert_eq!(
            schedule.overlap_policy(),
            pb::ScheduleOverlapPolicy::AllowAll
        );
        assert_eq!(
            schedule.spec.unwrap().start_time.unwrap().seconds,
            1_777_600_800
        );
        let Some(Action::Execute(execute)) = schedule.action.unwrap().action else {
            panic!("an execute action");
        };
        assert_eq!(execute.labels["team"], "ops");
        assert_eq!(execute.timeout.unwrap().seconds, 60);
    }

    #[test]
    fn one_action_and_well_formed_times() {
        let error = |value| schedule_of(params(value)).unwrap_err().to_string();
        assert!(
            error(serde_json::json!({"schedule_id": "s", "cron": ["@daily"]}))
                .starts_with("invalid input: execute: give one of")
        );
        assert!(error(serde_json::json!({
            "schedule_id": "s", "cron": ["@daily"], "manifest": {}
        }))
        .starts_with("invalid input: manifest: give one of"));
        assert!(error(serde_json::json!({
            "schedule_id": "s", "cron": ["@daily"], "execute": {"workflow_id": "w"},
            "end_time": "tomorrow"
        }))
        .starts_with("invalid input: end_time: must be an RFC 3339 time"));
    }
}
