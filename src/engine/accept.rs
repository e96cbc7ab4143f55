//! Accepting an execution: Execute (a client's request, validated against
//! the workflow's schema) and a retry (the failed attempt's argv again),
//! both stored and queued the same way by [`Engine::accept`].

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::scheduler::{Limits, QueueFull, QueueReservation};
use super::{Activation, AtOnceLimit, Engine, EngineError, ExecuteRequest};
use crate::clock::now_ms;
use crate::events::{ExecutionState, Lifecycle, LogCounts, LogEvent, LogPayload};
use crate::inputs;
use crate::store::{ExecutionRecord, NewExecution, RetryAttempt, StoreError};
use crate::tree::ExecutionTree;

/// An Execute request checked against the workflow, its namespace and
/// the limits ([`Engine::check_execute`]), not yet stored.
#[derive(Debug)]
pub(crate) enum CheckedStart {
    /// Its request id named an earlier execution: this one, started by
    /// an earlier call.
    Existing(Box<ExecutionRecord>),
    /// Valid and new: [`Engine::start`] stores and queues it.
    New(Box<NewStart>),
}

/// A valid new execution, ready to be stored and queued.
#[derive(Debug)]
pub(crate) struct NewStart {
    new: NewExecution,
    timeout: Option<Duration>,
}

/// A [`NewStart`] holding its place in the queue ([`Engine::reserve`]);
/// dropped, it gives the place back.
pub(crate) struct ReservedStart<'a> {
    start: NewStart,
    place: QueueReservation<'a>,
}

impl Engine {
    /// Accepts an execution. Returns it and whether this call started it
    /// (false when `request_id` matched an earlier one).
    pub(crate) async fn execute(
        self: &Arc<Self>,
        request: ExecuteRequest,
    ) -> Result<(ExecutionRecord, bool), EngineError> {
        match self.check_execute(request).await? {
            CheckedStart::Existing(existing) => Ok((*existing, false)),
            CheckedStart::New(start) => self.start(self.reserve(*start)?).await,
        }
    }

    /// Takes a place in the queue for a start [`Engine::check_execute`]
    /// found valid and new, or says why the queue is full. Split from
    /// [`Engine::start`] so that the API spends a namespace's rate only
    /// on a start that has its place.
    pub(crate) fn reserve(&self, start: NewStart) -> Result<ReservedStart<'_>, EngineError> {
        let place = self.queue_place(&start.new.namespace)?;
        Ok(ReservedStart { start, place })
    }

    /// Takes a place in the queue for each of `starts` (all of one
    /// namespace: a manifest's VMs), or none of them and says why: the
    /// queue is full now, or could never hold so many at once. So a batch
    /// spends its namespace's rate once it has every place it needs, and
    /// never starts in part for want of one.
    pub(crate) fn reserve_all(
        &self,
        starts: Vec<NewStart>,
    ) -> Result<Vec<ReservedStart<'_>>, EngineError> {
        if let Some(first) = starts.first() {
            self.check_at_once(starts.len(), &first.new.namespace)?;
        }
        // The first refusal drops the places taken so far: given back.
        starts
            .into_iter()
            .map(|start| self.reserve(start))
            .collect()
    }

    /// Stores and queues a start that holds its place. Returns it and
    /// whether this call started it (false when a racing call with the
    /// same request id stored it first).
    pub(crate) async fn start(
        self: &Arc<Self>,
        reserved: ReservedStart<'_>,
    ) -> Result<(ExecutionRecord, bool), EngineError> {
        let ReservedStart { start, place } = reserved;
        self.accept(start.new, start.timeout, place).await
    }

    /// Checks an Execute request without storing anything: the workflow
    /// in its namespace, the inputs against its schema, the limits within
    /// the daemon's and the namespace's maximums; finds the execution an
    /// earlier call with its request id started. Split from
    /// [`Engine::start`] so that the API spends a namespace's rate of
    /// starting work only on a valid new start.
    pub(crate) async fn check_execute(
        &self,
        request: ExecuteRequest,
    ) -> Result<CheckedStart, EngineError> {
        self.check_accepting()?;
        let namespace = if request.namespace.is_empty() {
            crate::namespaces::DEFAULT.to_string()
        } else {
            request.namespace
        };
        let Some(namespace_settings) = self.config.namespaces.get(&namespace) else {
            return Err(EngineError::UnknownNamespace(namespace));
        };
        let workflow = self.workflow(&request.workflow_id).await?;
        // A workflow of another namespace is not there for this call.
        if !self.config.namespaces.has_workflow(
            &namespace,
            &workflow.program_path,
            &self.config.bundled_workflows_dir,
        ) {
            return Err(EngineError::WorkflowNotFound(request.workflow_id));
        }

        // A retry finds its execution here. Two first calls racing each
        // other both get past this; the history's unique index on request
        // ids lets one insert and turns the other away below. No lock is
        // held across the insert: one would let only one execution with a
        // request id be accepted per commit of the history.
        if let Some(request_id) = &request.request_id {
            if let Some(existing) = self.execution_by_request_id(request_id).await? {
                return Ok(CheckedStart::Existing(Box::new(existing)));
            }
        }
        let resolved =
            inputs::resolve(&workflow, &request.inputs).map_err(EngineError::InvalidInputs)?;
        let limits = self
            .config
            .program_limits
            .resolve(&workflow.metadata.id, request.limits)
            .map_err(EngineError::InvalidLimits)?;
        // Within the daemon's maximum, and within the namespace's.
        let over_namespace = request.limits.problems_within(
            &namespace_settings.limits_maximum,
            &format!("namespaces.{namespace}.limits_maximum"),
        );
        if !over_namespace.is_empty() {
            return Err(EngineError::InvalidLimits(over_namespace));
        }
        let new = NewExecution {
            workflow_id: workflow.metadata.id.clone(),
            workflow_name: workflow.metadata.name.clone(),
            inputs: resolved.values,
            argv: resolved.argv,
            labels: request.labels,
            request_id: request.request_id,
            timeout_ms: request.timeout.map(|t| t.as_millis() as u64),
            limits,
            batch_id: request.batch_id,
            scheduled_by: request.scheduled_by,
            retry: request.retry.map(|policy| RetryAttempt {
                policy,
                attempt: 1,
                first_attempt: None,
                previous_rowid: None,
                next_attempt: None,
                settled: false,
            }),
            namespace,
            ..NewExecution::default()
        };
        Ok(CheckedStart::New(Box::new(NewStart {
            new,
            timeout: request.timeout,
        })))
    }

    /// Accepts the attempt after `previous`, which failed: the same argv,
    /// inputs, labels, batch and schedule, linked to it. Idempotent: the
    /// attempt's request id names the first attempt and the number, so a
    /// second call (after a crash) finds the attempt the first one made.
    pub(crate) async fn retry(
        self: &Arc<Self>,
        previous: &ExecutionRecord,
    ) -> Result<(ExecutionRecord, bool), EngineError> {
        self.check_accepting()?;
        let Some(retry) = &previous.retry else {
            return Err(EngineError::AlreadyFinished {
                id: previous.id.to_string(),
                state: previous.state,
            });
        };
        let first = retry.first_attempt.unwrap_or(previous.id);
        let attempt = retry.attempt + 1;
        let request_id = format!("retry/{first}/{attempt}");
        if let Some(existing) = self.execution_by_request_id(&request_id).await? {
            return Ok((existing, false));
        }
        let new = NewExecution {
            workflow_id: previous.workflow_id.clone(),
            workflow_name: previous.workflow_name.clone(),
            inputs: previous.inputs.clone(),
            argv: previous.argv.clone(),
            labels: previous.labels.clone(),
            request_id: Some(request_id),
            timeout_ms: previous.timeout_ms,
            limits: previous.limits,
            batch_id: previous.batch_id.clone(),
            scheduled_by: previous.scheduled_by.clone(),
            namespace: previous.namespace.clone(),
            retry: Some(RetryAttempt {
                policy: retry.policy.clone(),
                attempt,
                first_attempt: Some(first),
                previous_rowid: Some(previous.rowid),
                next_attempt: None,
                settled: false,
            }),
            ..NewExecution::default()
        };
        let timeout = previous.timeout_ms.map(Duration::from_millis);
        let place = self.queue_place(&new.namespace)?;
        self.accept(new, timeout, place).await
    }

    /// The config's retry policy of `workflow_id` (`retry_policies`), for
    /// the callers that take it when a request gives none: Execute and a
    /// schedule's runs. Manifest runs do not: the drop folders retry
    /// their own VMs, and two retries of one VM would race each other.
    pub(crate) fn retry_default(
        &self,
        workflow_id: &str,
    ) -> Option<crate::retry_policy::RetryPolicy> {
        self.config.retry_defaults.get(workflow_id).cloned()
    }

    /// How the limits of [`crate::program_limits`] are enforced here, for
    /// GetStatus.
    pub(crate) fn program_limits_enforcement(&self) -> String {
        let limits = match &self.config.cgroups {
            Some(cgroups) => format!("{} and setrlimit", cgroups.describe()),
            None => "process group watch and setrlimit (no cgroup this daemon may create)".into(),
        };
        let orphans = if self.config.guardian.is_some() {
            "a guardian process kills the programs' groups if the daemon dies"
        } else {
            "programs outlive a dead daemon until its next start"
        };
        let setup = if self.config.exec_shim.is_some() {
            "set up before exec by workflow-exec"
        } else {
            "set up before exec by a fork of the daemon (workflow-exec not found next to it)"
        };
        format!("{limits}; {orphans}; {setup}")
    }

    /// Refuses new work while shutting down or while the history cannot
    /// be written.
    fn check_accepting(&self) -> Result<(), EngineError> {
        if self.scheduler().shutting_down {
            return Err(EngineError::ShuttingDown);
        }
        // Its record could not be stored until the history can be written
        // again (writes wait meanwhile): refuse it now instead of holding
        // the call for as long as the disk stays full.
        if let Some(failure) = self.writer.write_failure() {
            return Err(EngineError::HistoryUnwritable(failure.error));
        }
        Ok(())
    }

    /// Refuses `count` executions of `namespace` asking for places
    /// together when more than that could never wait and run at once,
    /// however long the caller waited for the queue to drain.
    fn check_at_once(&self, count: usize, namespace: &str) -> Result<(), EngineError> {
        let (max_queue, workers) = (self.config.max_queue, self.config.max_concurrent_jobs);
        if count > max_queue + workers {
            return Err(EngineError::TooManyAtOnce {
                count,
                limit: AtOnceLimit::Daemon { max_queue, workers },
            });
        }
        let most = self.scheduler().namespaces.most_held(namespace, workers);
        match most {
            Some(most) if count > most.total() => Err(EngineError::TooManyAtOnce {
                count,
                limit: AtOnceLimit::Namespace {
                    namespace: namespace.to_string(),
                    most,
                },
            }),
            _ => Ok(()),
        }
    }

    /// Holds a place in the queue for an execution of `namespace`, or
    /// says why the queue is full.
    fn queue_place(&self, namespace: &str) -> Result<QueueReservation<'_>, EngineError> {
        let limits = Limits {
            workers: self.config.max_concurrent_jobs,
            queue: self.config.max_queue,
        };
        QueueReservation::take(&self.scheduler, limits, &Arc::from(namespace)).map_err(|full| {
            match full {
                QueueFull::Daemon => EngineError::QueueFull {
                    limit: self.config.max_queue,
                },
                QueueFull::Namespace(limit) => EngineError::NamespaceQueueFull {
                    namespace: namespace.to_string(),
                    limit,
                },
            }
        })
    }

    /// Stores `new` (given its id and accept time here) with its `queued`
    /// event in the place `reservation` holds, and queues it.
    async fn accept(
        self: &Arc<Self>,
        mut new: NewExecution,
        timeout: Option<Duration>,
        reservation: QueueReservation<'_>,
    ) -> Result<(ExecutionRecord, bool), EngineError> {
        let namespace: Arc<str> = Arc::from(new.namespace.as_str());
        let queue_position = reservation.position();

        let id = Uuid::now_v7();
        let create_ms = now_ms();
        new.id = id;
        new.create_ms = create_ms;
        let queued = LogEvent {
            sequence: 1,
            time_ms: create_ms,
            payload: LogPayload::Lifecycle(Lifecycle::Queued { queue_position }),
        };
        let created = self
            .writer
            .create_execution(new.clone(), queued.clone())
            .await;
        let rowid = match created {
            Ok(rowid) => rowid,
            Err(e) => {
                drop(reservation);
                if let StoreError::DuplicateRequestId(request_id) = &e {
                    // The racing call's insert is committed by now (in this
                    // group or an earlier one).
                    if let Some(existing) = self.execution_by_request_id(request_id).await? {
                        return Ok((existing, false));
                    }
                }
                return Err(e.into());
            }
        };
        let mut counts = LogCounts::default();
        counts.record(&queued.payload);
        let mut record = ExecutionRecord::accepted(rowid, new, counts);
        let active = self.activate(Activation {
            id,
            rowid,
            workflow_id: record.workflow_id.clone(),
            batch_id: record.batch_id.clone(),
            argv: record.argv.clone(),
            timeout,
            limits: record.limits,
            namespace,
            committed: vec![Arc::new(queued)],
            next_sequence: 2,
            tree: ExecutionTree::default(),
            counts,
            accepted: Some(record.clone()),
            retries: record.retry.is_some(),
        });
        let started_now = {
            let mut scheduler = reservation.enqueue(active);
            self.dispatch(&mut scheduler)
        };
        if started_now.contains(&id) {
            record.state = ExecutionState::Running;
        }
        Ok((record, true))
    }
}
