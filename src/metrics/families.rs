//! Every metric family the daemon exports, with its name, help and labels,
//! in one place: docs/metrics.md describes the same list.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds of the execution-duration buckets, in seconds: from 10 ms
/// (a program that fails at once) to 8 hours (a large disk conversion), a
/// bucket every factor of two to three so that a quantile is within that.
pub(crate) const DURATION_BUCKETS: [f64; 18] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0,
    3600.0, 7200.0, 28800.0,
];

/// The label of the per-workflow families.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct WorkflowLabels {
    /// The workflow id.
    pub(crate) workflow: String,
}

/// The labels of an execution's end.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EndLabels {
    /// The workflow id.
    pub(crate) workflow: String,
    /// The final state, lower case (`succeeded`, `timed_out`, ...).
    pub(crate) state: &'static str,
}

/// The labels of a drop-folder file's step.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DropFileLabels {
    /// The folder's mode: `manifest` or `disk`.
    pub(crate) kind: &'static str,
    /// `taken`, `processed`, `failed` or `lost`.
    pub(crate) outcome: &'static str,
}

/// The labels of a gRPC request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct GrpcLabels {
    /// The RPC's name (`GetExecution`), or `unknown` for a path the
    /// service does not have (so a client cannot grow the label set).
    pub(crate) method: &'static str,
    /// The gRPC status code's name (`OK`, `NOT_FOUND`, ...).
    pub(crate) code: &'static str,
}

/// The labels of an HTTP/JSON request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HttpLabels {
    /// The route template (`/v1/executions/{id}`), never the raw path.
    pub(crate) route: String,
    /// The HTTP method.
    pub(crate) method: String,
    /// The response status.
    pub(crate) status: u16,
}

/// The families whose values are kept in memory (the live gauges are read
/// at scrape time instead: `live.rs`).
#[derive(Debug)]
pub(crate) struct Families {
    pub(crate) executions_started: Family<WorkflowLabels, Counter>,
    pub(crate) executions_ended: Family<EndLabels, Counter>,
    pub(crate) execution_duration: Family<WorkflowLabels, Histogram>,
    pub(crate) log_lines: Counter,
    pub(crate) drop_files: Family<DropFileLabels, Counter>,
    pub(crate) grpc_requests: Family<GrpcLabels, Counter>,
    pub(crate) http_requests: Family<HttpLabels, Counter>,
}

impl Families {
    /// New families, registered in `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Families {
        let families = Families {
            executions_started: Family::default(),
            executions_ended: Family::default(),
            execution_duration: Family::new_with_constructor(|| {
                Histogram::new(DURATION_BUCKETS.iter().copied())
            }),
            log_lines: Counter::default(),
            drop_files: Family::default(),
            grpc_requests: Family::default(),
            http_requests: Family::default(),
        };
        registry.register(
            "workflowd_executions_started",
            "Executions whose program was started, by workflow",
            families.executions_started.clone(),
        );
        registry.register(
            "workflowd_executions_ended",
            "Executions that reached a final state, by workflow and state",
            families.executions_ended.clone(),
        );
        registry.register(
            "workflowd_execution_duration_seconds",
            "How long started executions ran, from the program's start to the recorded end",
            families.execution_duration.clone(),
        );
        registry.register(
            "workflowd_log_lines_ingested",
            "Lines read from programs' stdout and stderr",
            families.log_lines.clone(),
        );
        registry.register(
            "workflowd_drop_folder_files",
            "Drop-folder files by folder kind and outcome (taken, processed, failed, lost)",
            families.drop_files.clone(),
        );
        registry.register(
            "workflowd_grpc_requests",
            "Requests to workflow.v1.WorkflowService by method and gRPC status code",
            families.grpc_requests.clone(),
        );
        registry.register(
            "workflowd_http_requests",
            "HTTP/JSON requests by route, method and status",
            families.http_requests.clone(),
        );
        families
    }
}
