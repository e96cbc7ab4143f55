//! A schedule's action: checked when the schedule is created or changed,
//! and started each time it falls due, through the same engine and
//! manifest runner as Execute and SubmitManifest. A start is idempotent:
//! its request id names the schedule and the time, so starting the same
//! time again (after a crash between the start and its record) finds the
//! executions the first start made instead of making more.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::definition::{Action, Definition, ManifestSource};
use super::error::Violation;
use crate::engine::{Engine, EngineError, ExecuteRequest};
use crate::manifest::submit::{vm_request_id, ManifestRunner, SubmitOptions};
use crate::manifest::{self, Context, FormatHint, ManifestError, Validation, MAX_MANIFEST_BYTES};
use crate::namespaces::Visibility;
use crate::policy::WorkflowPolicy;
use crate::store::{ExecutionFilter, ExecutionRecord, ScheduledBy};

/// The label every execution a schedule starts carries.
pub(crate) const SCHEDULE_LABEL: &str = "schedule";

/// What a start made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Started {
    /// The executions, one or one per VM.
    pub(super) execution_ids: Vec<String>,
    /// The batch, for a batch manifest.
    pub(super) batch_id: Option<String>,
}

/// Why a start did not happen.
#[derive(Debug)]
pub(super) enum NotStarted {
    /// The daemon is stopping: the time stays unhandled and is caught up
    /// at the next start.
    ShuttingDown,
    /// It failed, for this reason (recorded as the run's error).
    Failed(String),
}

/// Starts actions on the engine (and manifests on the runner, when the
/// daemon runs manifests).
pub(super) struct Starter {
    pub(super) engine: Arc<Engine>,
    pub(super) manifests: Option<Arc<ManifestRunner>>,
    /// For CANCEL_PREVIOUS: a previous run's waiting retry is called off.
    pub(super) retries: Option<Arc<crate::retries::Retries>>,
}

impl Starter {
    /// Every violation in `action` (fields named as in
    /// CreateScheduleRequest); empty when it can be started.
    pub(super) async fn check(&self, definition: &Definition) -> Vec<Violation> {
        let namespace = &definition.namespace;
        if self.engine.namespaces().get(namespace).is_none() {
            return vec![Violation::new(
                "schedule.namespace",
                &format!("namespace {namespace:?} is not configured in this daemon"),
            )];
        }
        let seen = Visibility::from_names(&[namespace]).unwrap_or(Visibility::All);
        match &definition.action {
            Action::Execute {
                workflow_id,
                inputs,
                ..
            } => {
                if workflow_id.is_empty() {
                    return vec![Violation::new(
                        "schedule.action.execute.workflow_id",
                        "is required",
                    )];
                }
                match self.engine.validate(workflow_id, inputs, &seen).await {
                    Ok(_) => Vec::new(),
                    Err(EngineError::WorkflowNotFound(_)) => vec![Violation::new(
                        "schedule.action.execute.workflow_id",
                        &format!(
                            "no workflow {workflow_id:?} is discovered in namespace {namespace}"
                        ),
                    )],
                    Err(EngineError::InvalidInputs(violations)) => violations
                        .iter()
                        .map(|v| {
                            Violation::new(
                                &format!("schedule.action.execute.{}", v.field),
                                &v.description,
                            )
                        })
                        .collect(),
                    Err(e) => vec![Violation::new(
                        "schedule.action.execute.workflow_id",
                        &e.to_string(),
                    )],
                }
            }
            Action::Manifest {
                source,
                format,
                output_dir,
                ..
            } => {
                let Some(runner) = &self.manifests else {
                    return vec![Violation::new(
                        "schedule.action.manifest",
                        "this daemon does not run manifests",
                    )];
                };
                let policy = match run_policy(runner.policy(), output_dir.as_deref()) {
                    Ok(policy) => policy,
                    Err(violation) => return vec![violation],
                };
                match load_and_validate(source, *format, policy).await {
                    Ok(validation) if validation.is_valid() => Vec::new(),
                    Ok(validation) => validation
                        .problems
                        .iter()
                        .map(|p| problem_violation(source, &p.path, &p.message))
                        .collect(),
                    Err(violation) => vec![violation],
                }
            }
        }
    }

    /// Starts `action` for the time `scheduled`, idempotently under
    /// `request_id`.
    pub(super) async fn start(
        &self,
        definition: &Definition,
        scheduled: ScheduledBy,
        request_id: String,
    ) -> Result<Started, NotStarted> {
        let action = &definition.action;
        let mut labels = action.labels().clone();
        labels.insert(SCHEDULE_LABEL.to_string(), scheduled.schedule_id.clone());
        match action {
            Action::Execute {
                workflow_id,
                inputs,
                timeout_ms,
                retry,
                ..
            } => {
                let (execution, _) = self
                    .engine
                    .execute(ExecuteRequest {
                        workflow_id: workflow_id.clone(),
                        inputs: inputs.clone(),
                        request_id: Some(request_id),
                        timeout: timeout_ms.map(Duration::from_millis),
                        labels,
                        batch_id: None,
                        scheduled_by: Some(scheduled),
                        retry: retry
                            .clone()
                            .or_else(|| self.engine.retry_default(workflow_id)),
                        // The config's limits for the workflow.
                        limits: Default::default(),
                        namespace: definition.namespace.clone(),
                    })
                    .await
                    .map_err(engine_failure)?;
                Ok(Started {
                    execution_ids: vec![execution.id.to_string()],
                    batch_id: None,
                })
            }
            Action::Manifest {
                source,
                format,
                output_dir,
                ..
            } => {
                let runner = self.manifests.as_ref().ok_or_else(|| {
                    NotStarted::Failed("this daemon does not run manifests".into())
                })?;
                let policy = run_policy(runner.policy(), output_dir.as_deref())
                    .map_err(|v| NotStarted::Failed(format!("{}: {}", v.field, v.description)))?;
                let run_output_dir = policy.output_dir.clone();
                let validation = load_and_validate(source, *format, policy)
                    .await
                    .map_err(|v| NotStarted::Failed(format!("{}: {}", v.field, v.description)))?;
                if !validation.is_valid() {
                    let problems: Vec<String> = validation
                        .problems
                        .iter()
                        .map(|p| {
                            let v = problem_violation(source, &p.path, &p.message);
                            format!("{}: {}", v.field, v.description)
                        })
                        .collect();
                    return Err(NotStarted::Failed(problems.join("; ")));
                }
                let outcome = runner
                    .submit(
                        &validation,
                        SubmitOptions {
                            request_id: Some(request_id),
                            file_name: template_name(source),
                            labels,
                            output_dir: Some(run_output_dir),
                            scheduled_by: Some(scheduled),
                            namespace: definition.namespace.clone(),
                        },
                    )
                    .await
                    .map_err(|e| match e {
                        ManifestError::Engine(e) => engine_failure(e),
                        other => NotStarted::Failed(other.to_string()),
                    })?;
                Ok(Started {
                    execution_ids: outcome
                        .vms
                        .iter()
                        .map(|vm| vm.execution.id.to_string())
                        .collect(),
                    batch_id: outcome.batch_id,
                })
            }
        }
    }

    /// The execution an earlier start under `request_id` made, if any (the
    /// first VM's, for a manifest).
    pub(super) async fn started_before(
        &self,
        action: &Action,
        request_id: &str,
    ) -> Result<Option<ExecutionRecord>, EngineError> {
        let key = match action {
            Action::Execute { .. } => request_id.to_string(),
            Action::Manifest { .. } => vm_request_id(request_id, 0),
        };
        self.engine.execution_by_request_id(&key).await
    }

    /// What a start under `request_id` made, if it made anything: its
    /// execution, or every execution of a manifest's batch. A start that
    /// failed part-way (a batch whose later VMs were refused), or one made
    /// before a crash and repeated after its template was edited, has
    /// started something all the same, and its record must say what.
    pub(super) async fn started_under(&self, action: &Action, request_id: &str) -> Option<Started> {
        let first = self
            .started_before(action, request_id)
            .await
            .ok()
            .flatten()?;
        let mut execution_ids = vec![first.id.to_string()];
        if let (Action::Manifest { .. }, Some(batch)) = (action, &first.batch_id) {
            let filter = ExecutionFilter {
                batch_id: Some(batch.clone()),
                ..ExecutionFilter::default()
            };
            if let Ok(all) = self.engine.list_executions(filter, None, usize::MAX).await {
                // Newest first: the VMs in the order they were started.
                execution_ids = all.iter().rev().map(|e| e.id.to_string()).collect();
            }
        }
        Some(Started {
            execution_ids,
            batch_id: first.batch_id,
        })
    }
}

impl Action {
    /// The labels it gives its executions.
    pub(crate) fn labels(&self) -> &BTreeMap<String, String> {
        match self {
            Action::Execute { labels, .. } | Action::Manifest { labels, .. } => labels,
        }
    }
}

fn engine_failure(error: EngineError) -> NotStarted {
    match error {
        EngineError::ShuttingDown => NotStarted::ShuttingDown,
        other => NotStarted::Failed(other.to_string()),
    }
}

/// The policy a run is validated against: the daemon's, with the
/// schedule's output directory (inside the daemon's) in place of its own.
fn run_policy(
    policy: &WorkflowPolicy,
    output_dir: Option<&Path>,
) -> Result<WorkflowPolicy, Violation> {
    let mut policy = policy.clone();
    if let Some(dir) = output_dir {
        policy.output_dir = policy
            .output_target(dir)
            .map_err(|e| Violation::new("schedule.action.manifest.output_dir", &e.to_string()))?;
    }
    Ok(policy)
}

/// The manifest's bytes (a template read now, from inside the source
/// roots) validated against `policy`.
async fn load_and_validate(
    source: &ManifestSource,
    format: FormatHint,
    policy: WorkflowPolicy,
) -> Result<Validation, Violation> {
    let source = source.clone();
    tokio::task::spawn_blocking(move || {
        let (content, file_name, base_dir) = match &source {
            ManifestSource::Inline(content) => (content.clone(), None, None),
            ManifestSource::Template(path) => {
                let field = "schedule.action.manifest.template_path";
                let resolved = policy
                    .confine_source(path)
                    .map_err(|e| Violation::new(field, &e.to_string()))?;
                let content = read_template(&resolved).map_err(|e| Violation::new(field, &e))?;
                let name = resolved
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                (content, name, resolved.parent().map(Path::to_path_buf))
            }
        };
        Ok(manifest::validate(
            &content,
            format,
            Context {
                file_name: file_name.as_deref(),
                base_dir: base_dir.as_deref(),
                policy: Some(&policy),
            },
        ))
    })
    .await
    .map_err(|e| Violation::new("schedule.action.manifest", &e.to_string()))?
}

fn read_template(path: &Path) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the template {}: {e}", path.display()))?
        .len();
    if len > MAX_MANIFEST_BYTES as u64 {
        return Err(format!(
            "the template {} is {len} bytes; a manifest may have at most {} MiB",
            path.display(),
            MAX_MANIFEST_BYTES >> 20
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read the template {}: {e}", path.display()))
}

fn template_name(source: &ManifestSource) -> Option<String> {
    match source {
        ManifestSource::Inline(_) => None,
        ManifestSource::Template(path) => path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned()),
    }
}

/// A manifest problem as a violation of the schedule's field.
fn problem_violation(source: &ManifestSource, path: &str, message: &str) -> Violation {
    match source {
        ManifestSource::Inline(_) if path.is_empty() => {
            Violation::new("schedule.action.manifest.content", message)
        }
        ManifestSource::Inline(_) => {
            Violation::new(&format!("schedule.action.manifest.content.{path}"), message)
        }
        ManifestSource::Template(file) => Violation::new(
            "schedule.action.manifest.template_path",
            &format!(
                "the template {} is not a valid manifest: {}{message}",
                file.display(),
                if path.is_empty() {
                    String::new()
                } else {
                    format!("{path}: ")
                }
            ),
        ),
    }
}
