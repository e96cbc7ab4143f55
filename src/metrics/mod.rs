//! The daemon's Prometheus metrics, in the OpenMetrics text format
//! (`prometheus-client`), served at `GET /metrics` on the daemon's port
//! ([`route`]). docs/metrics.md lists the families.
//!
//! Counters and the histogram live in memory and start at zero with each
//! daemon (as Prometheus expects of counters); the gauges that describe
//! the daemon's state now are read from that state at scrape time
//! ([`live`]). A scrape never touches SQLite, so its cost does not grow
//! with the history.
//!
//! This module depends on nothing else in the daemon but the domain types
//! (`events`, `pb`): the engine, the history, discovery and the drop
//! folders each record into a [`Metrics`] handle or register a reading of
//! their own state with it.

mod execution;
mod families;
mod grpc_layer;
mod live;
mod route;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use prometheus_client::registry::Registry;

pub(crate) use execution::ExecutionMetrics;
use families::{DropFileLabels, Families, HttpLabels};
pub(crate) use grpc_layer::GrpcMetrics;
pub(crate) use live::LiveGauge;
use live::{LiveCollector, LiveGauges};
pub(crate) use route::router;

/// The content type of [`Metrics::render`]'s text.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The daemon's metrics. Cheap to clone: every clone records into the same
/// families.
#[derive(Clone, Debug)]
pub(crate) struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    families: Arc<Families>,
    live: Arc<LiveGauges>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Metrics with every family at zero.
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::default();
        let families = Arc::new(Families::register(&mut registry));
        let live = Arc::new(LiveGauges::default());
        registry.register_collector(Box::new(LiveCollector(live.clone())));
        Metrics {
            inner: Arc::new(Inner {
                registry,
                families,
                live,
            }),
        }
    }

    /// The whole exposition, ending with `# EOF`.
    pub(crate) fn render(&self) -> String {
        let mut text = String::with_capacity(8 * 1024);
        self.render_into(&mut text);
        text
    }

    /// Appends the whole exposition to `text`.
    pub(crate) fn render_into(&self, text: &mut String) {
        // Writing into a String cannot fail, and every value the families
        // hold encodes.
        prometheus_client::encoding::text::encode(text, &self.inner.registry)
            .expect("the exposition encodes into a String");
    }

    /// The handles an execution of `workflow` records into; look them up
    /// once per execution.
    pub(crate) fn execution(&self, workflow: &str) -> ExecutionMetrics {
        ExecutionMetrics::new(self.inner.families.clone(), workflow)
    }

    /// A drop folder of `kind` (`manifest`, `disk`) took a file, or a file
    /// reached `outcome` (`processed`, `failed`, `lost`).
    pub(crate) fn drop_file(&self, kind: &'static str, outcome: &'static str) {
        self.inner
            .families
            .drop_files
            .get_or_create(&DropFileLabels { kind, outcome })
            .inc();
    }

    /// Counts one HTTP/JSON request: `route` is the route's template (not
    /// the request's path, which would make a label set per id).
    // Called by the HTTP/JSON layer (src/http/), which lands separately;
    // until then only the tests call it.
    #[allow(dead_code)]
    pub(crate) fn http_request(&self, route: &str, method: &str, status: u16) {
        self.inner
            .families
            .http_requests
            .get_or_create(&HttpLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .inc();
    }

    /// Reads `gauge` with `reading` at each scrape from now on. The reading
    /// should hold its source weakly, so that the metrics do not keep a
    /// stopped part alive, and read 0 once the source is gone.
    pub(crate) fn observe(
        &self,
        gauge: LiveGauge,
        reading: impl Fn() -> f64 + Send + Sync + 'static,
    ) {
        self.inner.live.observe(gauge, Box::new(reading));
    }

    /// Wraps the gRPC service `service` so that its requests are counted
    /// by method and status code.
    pub(crate) fn grpc_service<S>(&self, service: S) -> GrpcMetrics<S> {
        GrpcMetrics::new(service, self.inner.families.clone())
    }

    /// The value of one series (`name{labels}` exactly as rendered), if
    /// the exposition has it; for tests.
    #[cfg(test)]
    pub(crate) fn value(&self, series: &str) -> Option<f64> {
        let text = self.render();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(|value| value.parse().expect("a sample value"))
    }
}
