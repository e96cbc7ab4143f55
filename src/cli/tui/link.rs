//! The connection to the daemon: one task that polls what has no stream
//! (GetStatus and the job lists, once a second, only what the screen
//! shows; with `--namespace`, the counts and lists of that namespace
//! only, and only its workflows),
//! runs the screens' [`Request`]s and follows each execution tab with
//! StreamLogs. Everything it learns goes back as [`Update`]s.
//!
//! The channel is tonic's lazy one: it connects on the first call and again
//! after the daemon went away, so "reconnect" is simply the next poll
//! succeeding. A followed log resumes from the sequence after the last
//! event it delivered, so a restart of the daemon loses and repeats
//! nothing.

use std::{collections::HashMap, time::Duration};

use tokio::{
    sync::mpsc,
    task::JoinHandle,
    time::{interval, MissedTickBehavior},
};

use super::messages::{JobTab, Request, TabId, Update};
use crate::cli::error::CliError;
use crate::client_token::DaemonClient;
use crate::pb;

/// How often the status and job lists are fetched.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How often an execution tab's header is fetched while its log is live.
const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// How long a lost log stream waits before it tries again.
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// The most executions a job monitor tab shows.
pub(crate) const JOBS_SHOWN: usize = 1000;
/// Log events handed to the UI in one [`Update::Events`] at most.
const EVENTS_PER_UPDATE: usize = 512;

type Client = DaemonClient;

/// Starts the connection's task; it ends when `requests` is closed.
pub(crate) fn start(
    client: Client,
    addr: String,
    namespace: String,
    requests: mpsc::UnboundedReceiver<Request>,
    updates: mpsc::Sender<Update>,
) -> JoinHandle<()> {
    let link = Link {
        client,
        addr,
        namespace,
        updates,
        watched: Vec::new(),
        connected: None,
        followed: HashMap::new(),
    };
    tokio::spawn(link.run(requests))
}

struct Link {
    client: Client,
    addr: String,
    /// The namespace work starts in and whose counts, job lists and
    /// workflows are shown (`--namespace`); empty: work starts in the
    /// token's only namespace, else `default`, and every namespace the
    /// token sees is shown.
    namespace: String,
    updates: mpsc::Sender<Update>,
    /// The job lists polled.
    watched: Vec<JobTab>,
    /// Whether the last poll reached the daemon (None before the first).
    connected: Option<bool>,
    /// The tasks following execution tabs.
    followed: HashMap<TabId, JoinHandle<()>>,
}

impl Link {
    async fn run(mut self, mut requests: mpsc::UnboundedReceiver<Request>) {
        let mut ticker = interval(POLL_EVERY);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(request) => self.handle(request, &mut ticker).await,
                    None => break,
                },
                _ = ticker.tick() => self.poll().await,
            }
        }
        for (_, task) in self.followed.drain() {
            task.abort();
        }
    }

    async fn handle(&mut self, request: Request, ticker: &mut tokio::time::Interval) {
        match request {
            Request::Watch(tabs) => {
                if tabs != self.watched {
                    self.watched = tabs;
                    ticker.reset_immediately();
                }
            }
            Request::Refresh => ticker.reset_immediately(),
            Request::LoadWorkflows => self.load_workflows().await,
            Request::Follow { tab, execution_id } => {
                let follower = Follower {
                    client: self.client.clone(),
                    addr: self.addr.clone(),
                    updates: self.updates.clone(),
                    tab,
                    execution_id,
                };
                self.followed.insert(tab, tokio::spawn(follower.run()));
            }
            Request::Unfollow(tab) => {
                if let Some(task) = self.followed.remove(&tab) {
                    task.abort();
                }
            }
            // Calls that may take a while run beside the polling.
            Request::Run {
                workflow_id,
                inputs,
            } => {
                tokio::spawn(run_workflow(
                    self.client.clone(),
                    self.addr.clone(),
                    self.updates.clone(),
                    workflow_id,
                    inputs,
                    self.namespace.clone(),
                ));
            }
            Request::Cancel {
                execution_id,
                force,
            } => {
                tokio::spawn(cancel(
                    self.client.clone(),
                    self.addr.clone(),
                    self.updates.clone(),
                    execution_id,
                    force,
                ));
            }
            Request::CheckManifest {
                generation,
                content,
            } => {
                let (mut client, addr, updates) =
                    (self.client.clone(), self.addr.clone(), self.updates.clone());
                tokio::spawn(async move {
                    let request = pb::ValidateManifestRequest {
                        content: content.into_bytes(),
                        ..Default::default()
                    };
                    let result = client
                        .validate_manifest(request)
                        .await
                        .map(|r| Box::new(r.into_inner()))
                        .map_err(|s| CliError::from_status(s, &addr).to_string());
                    let _ = updates
                        .send(Update::ManifestChecked { generation, result })
                        .await;
                });
            }
            Request::SubmitManifest { content } => {
                let (mut client, addr, updates) =
                    (self.client.clone(), self.addr.clone(), self.updates.clone());
                let namespace = self.namespace.clone();
                tokio::spawn(async move {
                    let request = pb::SubmitManifestRequest {
                        content: content.into_bytes(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        namespace,
                        ..Default::default()
                    };
                    let result = client
                        .submit_manifest(request)
                        .await
                        .map(|r| Box::new(r.into_inner()))
                        .map_err(|s| CliError::from_status(s, &addr).to_string());
                    let _ = updates.send(Update::ManifestSubmitted(result)).await;
                });
            }
        }
    }

    /// One round of polling: the status, then each watched job list. The
    /// first failure ends the round and reports the daemon unreachable.
    async fn poll(&mut self) {
        let request = pb::GetStatusRequest {
            namespace: self.namespace.clone(),
        };
        let status = self.client.get_status(request).await;
        let status = match status {
            Ok(status) => status.into_inner(),
            Err(e) => return self.lost(e).await,
        };
        if self.connected != Some(true) {
            self.connected = Some(true);
            self.send(Update::Connected).await;
        }
        self.send(Update::Status(Box::new(status))).await;
        for tab in self.watched.clone() {
            let request = pb::ListExecutionsRequest {
                page_size: JOBS_SHOWN as i32,
                states: tab.states(),
                namespace: self.namespace.clone(),
                ..Default::default()
            };
            match self.client.list_executions(request).await {
                Ok(page) => {
                    let page = page.into_inner();
                    self.send(Update::Jobs {
                        tab,
                        more: !page.next_page_token.is_empty(),
                        executions: page.executions,
                    })
                    .await;
                }
                Err(e) => return self.lost(e).await,
            }
        }
    }

    async fn load_workflows(&mut self) {
        let request = pb::ListWorkflowsRequest {
            page_size: 1000,
            namespace: self.namespace.clone(),
            ..Default::default()
        };
        match self.client.list_workflows(request).await {
            Ok(list) => {
                self.send(Update::Workflows(Box::new(list.into_inner())))
                    .await
            }
            Err(e) => {
                let message = CliError::from_status(e, &self.addr).to_string();
                self.send(Update::Failed(message)).await;
            }
        }
    }

    /// A failed poll: the daemon is unreachable, or answered with an error.
    async fn lost(&mut self, status: tonic::Status) {
        let error = CliError::from_status(status, &self.addr);
        let unreachable = matches!(
            error,
            CliError::Unavailable { .. } | CliError::DaemonUnavailable { .. }
        );
        if unreachable {
            self.connected = Some(false);
            // The banner names the address; the reason alone follows it.
            let reason = match error {
                CliError::Unavailable { reason, .. }
                | CliError::DaemonUnavailable { reason, .. } => reason,
                other => other.to_string(),
            };
            self.send(Update::Disconnected(reason)).await;
        } else {
            self.send(Update::Failed(error.to_string())).await;
        }
    }

    async fn send(&self, update: Update) {
        // The UI has gone only when wfctl is quitting.
        let _ = self.updates.send(update).await;
    }
}

/// ValidateInputs, then Execute.
async fn run_workflow(
    mut client: Client,
    addr: String,
    updates: mpsc::Sender<Update>,
    workflow_id: String,
    inputs: HashMap<String, prost_types::Value>,
    namespace: String,
) {
    // Every refusal goes back to the form, so it can be sent again: with
    // the field violations of INVALID_ARGUMENT, or just why (a full queue,
    // the daemon away).
    let refused = |error: CliError| match error {
        CliError::InvalidArgument {
            message,
            violations,
        } => Update::Violations {
            workflow_id: workflow_id.clone(),
            violations,
            message,
        },
        other => Update::Violations {
            workflow_id: workflow_id.clone(),
            violations: Vec::new(),
            message: other.to_string(),
        },
    };
    let check = pb::ValidateInputsRequest {
        workflow_id: workflow_id.clone(),
        inputs: inputs.clone(),
    };
    if let Err(status) = client.validate_inputs(check).await {
        let _ = updates
            .send(refused(CliError::from_status(status, &addr)))
            .await;
        return;
    }
    let request = pb::ExecuteRequest {
        workflow_id: workflow_id.clone(),
        inputs,
        request_id: uuid::Uuid::new_v4().to_string(),
        namespace,
        ..Default::default()
    };
    let update = match client.execute(request).await {
        Ok(response) => match response.into_inner().execution {
            Some(execution) => Update::Started(Box::new(execution)),
            None => Update::Failed(format!("no execution returned for {workflow_id}")),
        },
        Err(status) => refused(CliError::from_status(status, &addr)),
    };
    let _ = updates.send(update).await;
}

/// Cancel, noting the outcome on the status line.
async fn cancel(
    mut client: Client,
    addr: String,
    updates: mpsc::Sender<Update>,
    execution_id: String,
    force: bool,
) {
    let request = pb::CancelRequest {
        execution_id: execution_id.clone(),
        force,
        ..Default::default()
    };
    let update = match client.cancel(request).await {
        Ok(response) if response.get_ref().already_requested && !force => {
            Update::Note(format!("cancel of {execution_id} already requested"))
        }
        Ok(_) if force => Update::Note(format!("kill of {execution_id} requested")),
        Ok(_) => Update::Note(format!("cancel of {execution_id} requested")),
        Err(status) => Update::Failed(CliError::from_status(status, &addr).to_string()),
    };
    let _ = updates.send(update).await;
}

/// Follows one execution tab.
struct Follower {
    client: Client,
    addr: String,
    updates: mpsc::Sender<Update>,
    tab: TabId,
    execution_id: String,
}

impl Follower {
    /// GetExecution (until it answers), the log from the start and live
    /// (resumed from where it broke off, as often as the connection is
    /// lost), then WaitExecution for the final state.
    async fn run(mut self) {
        let execution = loop {
            let request = pb::GetExecutionRequest {
                execution_id: self.execution_id.clone(),
            };
            match self.client.get_execution(request).await {
                Ok(response) => break response.into_inner().execution,
                Err(status) if status.code() == tonic::Code::NotFound => {
                    let message = CliError::from_status(status, &self.addr).to_string();
                    let _ = self.updates.send(Update::Failed(message)).await;
                    return;
                }
                Err(_) => tokio::time::sleep(RETRY_AFTER).await,
            }
        };
        if let Some(execution) = execution {
            self.send_execution(execution).await;
        }
        let mut next_sequence = 1;
        while !self.stream_from(&mut next_sequence).await {
            tokio::time::sleep(RETRY_AFTER).await;
        }
        loop {
            let request = pb::WaitExecutionRequest {
                execution_id: self.execution_id.clone(),
            };
            match self.client.wait_execution(request).await {
                Ok(response) => {
                    if let Some(execution) = response.into_inner().execution {
                        self.send_execution(execution).await;
                    }
                    return;
                }
                // Deleted from the history meanwhile (retention).
                Err(status) if status.code() == tonic::Code::NotFound => {
                    let message = CliError::from_status(status, &self.addr).to_string();
                    let _ = self.updates.send(Update::Failed(message)).await;
                    return;
                }
                Err(_) => tokio::time::sleep(RETRY_AFTER).await,
            }
        }
    }

    /// Streams from `next_sequence`, advancing it; true when the stream
    /// ended because the execution did, false when it broke off.
    async fn stream_from(&mut self, next_sequence: &mut u64) -> bool {
        let request = pb::StreamLogsRequest {
            execution_id: self.execution_id.clone(),
            from_sequence: *next_sequence,
            follow: true,
        };
        let mut stream = match self.client.stream_logs(request).await {
            Ok(response) => response.into_inner(),
            // Gone from the history (retention): nothing more will come.
            Err(status) => return status.code() == tonic::Code::NotFound,
        };
        let mut batch = Vec::new();
        // The header's state, phase, progress and ETA have no stream of
        // their own: fetched again once a second while the log is live.
        let mut refresh = interval(REFRESH_EVERY);
        refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        refresh.reset();
        loop {
            // Hand over what has arrived whenever the stream has nothing
            // ready, so a quiet program's lines show at once and a chatty
            // one's arrive in batches.
            let next = match futures_util::FutureExt::now_or_never(stream.message()) {
                Some(next) => next,
                None => {
                    self.flush(&mut batch).await;
                    // `Streaming::message` is cancel safe: a tick loses no
                    // event.
                    tokio::select! {
                        next = stream.message() => next,
                        _ = refresh.tick() => {
                            self.refresh().await;
                            continue;
                        }
                    }
                }
            };
            match next {
                Ok(Some(response)) => {
                    if let Some(event) = response.event {
                        *next_sequence = event.sequence + 1;
                        batch.push(event);
                        if batch.len() >= EVENTS_PER_UPDATE {
                            self.flush(&mut batch).await;
                        }
                    }
                }
                Ok(None) => {
                    self.flush(&mut batch).await;
                    return true;
                }
                Err(_) => {
                    self.flush(&mut batch).await;
                    return false;
                }
            }
        }
    }

    /// GetExecution, sent on as the tab's execution; a failure is left to
    /// the stream to notice.
    async fn refresh(&mut self) {
        let request = pb::GetExecutionRequest {
            execution_id: self.execution_id.clone(),
        };
        if let Ok(response) = self.client.get_execution(request).await {
            if let Some(execution) = response.into_inner().execution {
                self.send_execution(execution).await;
            }
        }
    }

    async fn flush(&self, batch: &mut Vec<pb::LogEvent>) {
        if !batch.is_empty() {
            let events = std::mem::take(batch);
            let _ = self
                .updates
                .send(Update::Events {
                    tab: self.tab,
                    events,
                })
                .await;
        }
    }

    async fn send_execution(&self, execution: pb::Execution) {
        let _ = self
            .updates
            .send(Update::Execution {
                tab: self.tab,
                execution: Box::new(execution),
            })
            .await;
    }
}
