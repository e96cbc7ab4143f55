//! `GET /metrics`: the exposition, for Prometheus to scrape.

use axum::http::header::CONTENT_TYPE as CONTENT_TYPE_HEADER;
use axum::routing::get;

use super::{Metrics, CONTENT_TYPE};

/// A router answering `GET /metrics` with the OpenMetrics text.
pub(crate) fn router(metrics: Metrics) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move { ([(CONTENT_TYPE_HEADER, CONTENT_TYPE)], metrics.render()) }
        }),
    )
}
