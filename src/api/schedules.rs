//! The schedule RPCs (CreateSchedule ... TriggerSchedule): request in,
//! a call on the daemon's [`Schedules`], response out.

use std::sync::Arc;

use tonic::{Response, Status};

use super::paging::{self, count, page_size};
use super::{schedule_convert as convert, WorkflowApi};
use crate::namespaces::Visibility;
use crate::pb;
use crate::schedules::{
    ScheduleError, Schedules, Violation, DEFAULT_NEXT_FIRE_TIMES, MAX_NEXT_FIRE_TIMES,
};

/// Recent runs GetSchedule returns when the request does not say.
const DEFAULT_RECENT_RUNS: usize = 10;
/// Most recent runs GetSchedule returns.
const MAX_RECENT_RUNS: usize = 1000;
/// ListSchedules' page size when the request does not say.
const DEFAULT_SCHEDULES_PAGE: usize = 100;
/// ListSchedules' largest page.
const MAX_SCHEDULES_PAGE: usize = 1000;

impl WorkflowApi {
    fn schedules(&self) -> Result<&Arc<Schedules>, Status> {
        self.schedules
            .as_ref()
            .ok_or_else(|| Status::unimplemented("this server does not keep schedules"))
    }

    /// Refuses a schedule whose namespace the caller does not see (it
    /// named it: PERMISSION_DENIED leaks nothing).
    fn check_schedule_namespace(seen: &Visibility, namespace: &str) -> Result<(), Status> {
        if seen.sees(namespace) {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "schedule.namespace: this caller does not see namespace {namespace}; it sees {}",
                seen.names().join(", ")
            )))
        }
    }

    /// NOT_FOUND, as for a schedule that does not exist, when the caller
    /// does not see the namespace of schedule `id`.
    async fn check_schedule_seen(&self, seen: &Visibility, id: &str) -> Result<(), Status> {
        if *seen == Visibility::All {
            return Ok(());
        }
        let view = self.schedules()?.get(id, 0, 0).await?;
        if seen.sees(&view.definition.namespace) {
            Ok(())
        } else {
            Err(ScheduleError::NotFound(id.to_string()).into())
        }
    }

    pub(super) async fn create_schedule_call(
        &self,
        request: pb::CreateScheduleRequest,
        seen: &Visibility,
    ) -> Result<Response<pb::CreateScheduleResponse>, Status> {
        let schedule = request.schedule.unwrap_or_default();
        let definition = convert::definition(&schedule).map_err(ScheduleError::Invalid)?;
        Self::check_schedule_namespace(seen, &definition.namespace)?;
        let view = self
            .schedules()?
            .create(schedule.id, definition, schedule.paused, schedule.note)
            .await?;
        Ok(Response::new(pb::CreateScheduleResponse {
            schedule: Some(convert::schedule(&view)),
        }))
    }

    pub(super) async fn get_schedule_call(
        &self,
        request: pb::GetScheduleRequest,
        seen: &Visibility,
    ) -> Result<Response<pb::GetScheduleResponse>, Status> {
        self.check_schedule_seen(seen, &request.schedule_id).await?;
        let next = count(
            "next_fire_times",
            request.next_fire_times,
            DEFAULT_NEXT_FIRE_TIMES,
            MAX_NEXT_FIRE_TIMES,
        )?;
        let recent = count(
            "recent_runs",
            request.recent_runs,
            DEFAULT_RECENT_RUNS,
            MAX_RECENT_RUNS,
        )?;
        let view = self
            .schedules()?
            .get(&request.schedule_id, next, recent)
            .await?;
        Ok(Response::new(pb::GetScheduleResponse {
            schedule: Some(convert::schedule(&view)),
        }))
    }

    pub(super) fn list_schedules_call(
        &self,
        request: pb::ListSchedulesRequest,
        seen: &Visibility,
    ) -> Result<Response<pb::ListSchedulesResponse>, Status> {
        let size = page_size(
            request.page_size,
            DEFAULT_SCHEDULES_PAGE,
            MAX_SCHEDULES_PAGE,
        )?;
        let after = paging::decode::<String>(&request.page_token, 0)?;
        let mut schedules = self.schedules()?.list(after.as_deref(), size + 1, seen);
        let next_page_token = if schedules.len() > size {
            schedules.truncate(size);
            paging::encode(&schedules[size - 1].record.id, 0)
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListSchedulesResponse {
            schedules: schedules.iter().map(convert::schedule).collect(),
            next_page_token,
        }))
    }

    pub(super) async fn update_schedule_call(
        &self,
        request: pb::UpdateScheduleRequest,
        seen: &Visibility,
    ) -> Result<Response<pb::UpdateScheduleResponse>, Status> {
        self.check_schedule_seen(seen, &request.schedule_id).await?;
        let schedule = request.schedule.unwrap_or_default();
        if !schedule.id.is_empty() && schedule.id != request.schedule_id {
            return Err(ScheduleError::Invalid(vec![Violation::new(
                "schedule.id",
                "must be empty or the schedule_id of the request",
            )])
            .into());
        }
        let definition = convert::definition(&schedule).map_err(ScheduleError::Invalid)?;
        Self::check_schedule_namespace(seen, &definition.namespace)?;
        let view = self
            .schedules()?
            .update(&request.schedule_id, definition)
            .await?;
        Ok(Response::new(pb::UpdateScheduleResponse {
            schedule: Some(convert::schedule(&view)),
        }))
    }

    pub(super) async fn delete_schedule_call(
        &self,
        request: pb::DeleteScheduleRequest,
        seen: &Visibility,
    ) -> Result<Response<pb::DeleteScheduleResponse>, Status> {
        self.check_schedule_seen(seen, &request.schedule_id).await?;
        self.schedules()?.delete(&request.schedule_id).await?;
        Ok(Response::new(pb::DeleteScheduleResponse {}))
    }

    pub(super) async fn pause_schedule_call(
        &self,
        request: pb::PauseScheduleRequest,
        seen: &Visibility,
    ) -> Result<Response<pb::PauseScheduleResponse>, Status> {
        self.check_schedule_seen(seen, &request.schedule_id).await?;
        let view = self
            .schedules()?
            .pause(&request.schedule_id, request.paused, request.note)
            .await?;
        Ok(Response::new(pb::PauseScheduleResponse {
            schedule: Some(convert::schedule(&view)),
        }))
    }

    pub(super) async fn trigger_schedule_call(
        &self,
        request: pb::TriggerScheduleRequest,
        seen: &Visibility,
    ) -> Result<Response<pb::TriggerScheduleResponse>, Status> {
        self.check_schedule_seen(seen, &request.schedule_id).await?;
        let request_id = Some(request.request_id).filter(|r| !r.is_empty());
        let run = self
            .schedules()?
            .trigger(&request.schedule_id, request_id)
            .await?;
        Ok(Response::new(pb::TriggerScheduleResponse {
            run: Some(convert::run(&run)),
        }))
    }
}
