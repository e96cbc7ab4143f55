//! Gauges read from the daemon's in-memory state at scrape time (a
//! collector): the queue, the workers, the history writer, discovery.
//! Reading them costs a brief lock or an atomic load per scrape and
//! nothing on the paths that change them.

use std::sync::Arc;

use parking_lot::RwLock;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

/// A gauge whose value a part of the daemon gives at scrape time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LiveGauge {
    /// Executions waiting in the queue.
    Queued,
    /// Executions running (or handed to a worker to run).
    Running,
    /// Worker threads alive (busy or idle).
    Workers,
    /// The most worker threads (`max_concurrent_jobs`).
    WorkersMax,
    /// Operations in the history writer's queue (or room reserved there).
    HistoryWriteQueue,
    /// How long the writer has been committing its current group.
    HistoryCommitSeconds,
    /// 1 while the history cannot be written (a full disk), else 0.
    HistoryWriteFailing,
    /// Programs that fail discovery now.
    DiscoveryErrors,
}

impl LiveGauge {
    /// Every live gauge, in the order they are exported.
    const ALL: [LiveGauge; 8] = [
        LiveGauge::Queued,
        LiveGauge::Running,
        LiveGauge::Workers,
        LiveGauge::WorkersMax,
        LiveGauge::HistoryWriteQueue,
        LiveGauge::HistoryCommitSeconds,
        LiveGauge::HistoryWriteFailing,
        LiveGauge::DiscoveryErrors,
    ];

    /// The family name and help text.
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            LiveGauge::Queued => ("workflowd_executions_queued", "Executions waiting in the queue"),
            LiveGauge::Running => ("workflowd_executions_running", "Executions running now"),
            LiveGauge::Workers => ("workflowd_workers", "Worker threads alive, busy or idle"),
            LiveGauge::WorkersMax => (
                "workflowd_workers_max",
                "The most executions run at once (max_concurrent_jobs)",
            ),
            LiveGauge::HistoryWriteQueue => (
                "workflowd_history_write_queue",
                "Write operations queued for the history writer and not yet taken into a commit",
            ),
            LiveGauge::HistoryCommitSeconds => (
                "workflowd_history_commit_seconds",
                "How long the history writer has been committing its current group (0 when idle; grows while the disk is full)",
            ),
            LiveGauge::HistoryWriteFailing => (
                "workflowd_history_write_failing",
                "1 while the history cannot be written (disk full, I/O error) and writes wait, else 0",
            ),
            LiveGauge::DiscoveryErrors => (
                "workflowd_discovery_errors",
                "Programs in the workflow directories that fail discovery now",
            ),
        }
    }
}

/// How a live gauge is read.
pub(crate) type Reading = Box<dyn Fn() -> f64 + Send + Sync>;

/// The registered readings; a gauge nobody registered reads 0, so every
/// family is always in the exposition.
#[derive(Default)]
pub(crate) struct LiveGauges {
    readings: RwLock<Vec<(LiveGauge, Reading)>>,
}

impl std::fmt::Debug for LiveGauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let registered: Vec<LiveGauge> = self.readings.read().iter().map(|(g, _)| *g).collect();
        f.debug_struct("LiveGauges")
            .field("registered", &registered)
            .finish()
    }
}

impl LiveGauges {
    /// Reads `gauge` with `reading` from now on, in place of any earlier
    /// reading of it.
    pub(crate) fn observe(&self, gauge: LiveGauge, reading: Reading) {
        let mut readings = self.readings.write();
        readings.retain(|(g, _)| *g != gauge);
        readings.push((gauge, reading));
    }

    /// The value of `gauge` now.
    pub(crate) fn read(&self, gauge: LiveGauge) -> f64 {
        self.readings
            .read()
            .iter()
            .find(|(g, _)| *g == gauge)
            .map_or(0.0, |(_, reading)| reading())
    }
}

/// The collector the registry calls at each scrape.
#[derive(Debug)]
pub(crate) struct LiveCollector(pub(crate) Arc<LiveGauges>);

impl Collector for LiveCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        for gauge in LiveGauge::ALL {
            let (name, help) = gauge.describe();
            let value = ConstGauge::new(self.0.read(gauge));
            let metric = encoder.encode_descriptor(name, help, None, value.metric_type())?;
            value.encode(metric)?;
        }
        Ok(())
    }
}
