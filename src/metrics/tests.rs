//! The exposition's format and the gRPC counting, in process: the
//! exposition read back by a real parser, and the gRPC service wrapped
//! around a service that answers as tonic does (status in the headers, in
//! the trailers, or never).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use tower::{Service, ServiceExt};

use super::{LiveGauge, Metrics, CONTENT_TYPE};
use crate::events::ExecutionState;

/// The families and their types, as the exposition must declare them.
const FAMILIES: [(&str, &str); 15] = [
    ("workflowd_executions_started", "counter"),
    ("workflowd_executions_ended", "counter"),
    ("workflowd_execution_duration_seconds", "histogram"),
    ("workflowd_log_lines_ingested", "counter"),
    ("workflowd_drop_folder_files", "counter"),
    ("workflowd_grpc_requests", "counter"),
    ("workflowd_http_requests", "counter"),
    ("workflowd_executions_queued", "gauge"),
    ("workflowd_executions_running", "gauge"),
    ("workflowd_workers", "gauge"),
    ("workflowd_workers_max", "gauge"),
    ("workflowd_history_write_queue", "gauge"),
    ("workflowd_history_commit_seconds", "gauge"),
    ("workflowd_history_write_failing", "gauge"),
    ("workflowd_discovery_errors", "gauge"),
];

#[test]
fn the_exposition_declares_every_family_once_and_ends_with_eof() {
    let metrics = Metrics::new();
    // A labelled family appears once it has a series.
    let execution = metrics.execution("w");
    execution.started();
    execution.ended(ExecutionState::Failed, Some(Duration::from_secs(1)));
    metrics.drop_file("manifest", "taken");
    metrics.http_request("/v1/workflows", "GET", 200);
    let grpc = tower::service_fn(|_: http::Request<()>| async {
        Ok::<_, Infallible>(http::Response::new(body(0, Some(("grpc-status", "0")))))
    });
    let request = http::Request::builder().uri("/x/y").body(()).unwrap();
    // Abandoned before its answer: counted CANCELLED.
    drop(metrics.grpc_service(grpc).call(request));
    let text = metrics.render();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(CONTENT_TYPE.starts_with("application/openmetrics-text; version=1.0.0"));
    for (name, kind) in FAMILIES {
        let declared = format!("# TYPE {name} {kind}\n");
        assert_eq!(text.matches(&declared).count(), 1, "{declared}in\n{text}");
    }
}

#[test]
fn executions_lines_and_http_requests_are_counted_by_label() {
    let metrics = Metrics::new();
    let first = metrics.execution("convert");
    first.started();
    first.lines(3);
    first.lines(2);
    first.ended(ExecutionState::TimedOut, Some(Duration::from_millis(1500)));
    let queued_then_cancelled = metrics.execution("convert");
    queued_then_cancelled.ended(ExecutionState::Cancelled, None);
    metrics.http_request("/v1/executions/{id}", "GET", 404);
    metrics.http_request("/v1/executions/{id}", "GET", 404);
    metrics.drop_file("disk", "taken");

    let value = |series: &str| metrics.value(series);
    assert_eq!(
        value("workflowd_executions_started_total{workflow=\"convert\"}"),
        Some(1.0)
    );
    assert_eq!(value("workflowd_log_lines_ingested_total"), Some(5.0));
    for (state, count) in [("timed_out", 1.0), ("cancelled", 1.0)] {
        let series =
            format!("workflowd_executions_ended_total{{workflow=\"convert\",state=\"{state}\"}}");
        assert_eq!(value(&series), Some(count), "{series}");
    }
    // Only the started one is observed: 1.5 s is in the 2.5 s bucket, not
    // the 1 s one.
    let bucket = |le: &str| {
        value(&format!(
            "workflowd_execution_duration_seconds_bucket{{le=\"{le}\",workflow=\"convert\"}}"
        ))
    };
    assert_eq!(
        value("workflowd_execution_duration_seconds_count{workflow=\"convert\"}"),
        Some(1.0)
    );
    assert_eq!(bucket("1.0"), Some(0.0));
    assert_eq!(bucket("2.5"), Some(1.0));
    assert_eq!(
        value("workflowd_http_requests_total{route=\"/v1/executions/{id}\",method=\"GET\",status=\"404\"}"),
        Some(2.0)
    );
    assert_eq!(
        value("workflowd_drop_folder_files_total{kind=\"disk\",outcome=\"taken\"}"),
        Some(1.0)
    );
}

#[test]
fn live_gauges_read_their_source_at_scrape_time_and_zero_once_it_is_gone() {
    let metrics = Metrics::new();
    let source = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(4));
    let weak = std::sync::Arc::downgrade(&source);
    metrics.observe(LiveGauge::Queued, move || {
        weak.upgrade()
            .map_or(0.0, |s| s.load(std::sync::atomic::Ordering::Relaxed) as f64)
    });
    assert_eq!(metrics.value("workflowd_executions_queued"), Some(4.0));
    source.store(7, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(metrics.value("workflowd_executions_queued"), Some(7.0));
    drop(source);
    assert_eq!(metrics.value("workflowd_executions_queued"), Some(0.0));
}

#[test]
fn the_exposition_parses_with_a_prometheus_parser() {
    let metrics = Metrics::new();
    let execution = metrics.execution("lines");
    execution.started();
    execution.ended(ExecutionState::Succeeded, Some(Duration::from_millis(20)));
    let text = metrics.render();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("parses");
    let started = scrape
        .samples
        .iter()
        .find(|s| s.metric == "workflowd_executions_started_total")
        .expect("the started series");
    assert_eq!(started.labels.get("workflow"), Some("lines"));
    // The parser knows Prometheus' text format, where a counter's samples
    // carry the family's own name; OpenMetrics adds `_total`, so it reads
    // them untyped. The value is what matters here.
    assert!(
        matches!(
            started.value,
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) if v == 1.0
        ),
        "{:?}",
        started.value
    );
    let duration = scrape
        .samples
        .iter()
        .find(|s| s.metric == "workflowd_execution_duration_seconds")
        .expect("the duration histogram");
    let prometheus_parse::Value::Histogram(buckets) = &duration.value else {
        panic!("not a histogram: {:?}", duration.value);
    };
    let at = |le: f64| buckets.iter().find(|b| b.less_than == le).map(|b| b.count);
    assert_eq!((at(0.01), at(0.025)), (Some(0.0), Some(1.0)));
}

#[test]
fn a_scrape_is_cheap_with_many_series() {
    let metrics = Metrics::new();
    // More workflows than a daemon has, each with every state.
    for w in 0..50 {
        let execution = metrics.execution(&format!("workflow-{w}"));
        execution.started();
        for state in ExecutionState::ALL {
            execution.ended(state, Some(Duration::from_secs(w)));
        }
    }
    // The fastest of a few, so that another process taking the CPU for a
    // moment does not count; an unoptimised build is several times slower
    // than the daemon's release build.
    let fastest = (0..20)
        .map(|_| {
            let started = Instant::now();
            metrics.render();
            started.elapsed()
        })
        .min()
        .expect("runs");
    assert!(fastest < Duration::from_millis(5), "{fastest:?} per scrape");
}

/// A response body made of frames given in advance.
type TestBody =
    StreamBody<tokio_stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

/// A response body: `messages` data frames, then `trailers` if given.
fn body(messages: usize, trailers: Option<(&'static str, &'static str)>) -> TestBody {
    let mut frames: Vec<Result<Frame<Bytes>, Infallible>> = (0..messages)
        .map(|_| Ok(Frame::data(Bytes::from_static(b"message"))))
        .collect();
    if let Some((name, value)) = trailers {
        let mut map = http::HeaderMap::new();
        map.insert(name, http::HeaderValue::from_static(value));
        frames.push(Ok(Frame::trailers(map)));
    }
    StreamBody::new(tokio_stream::iter(frames))
}

#[tokio::test]
async fn grpc_requests_are_counted_by_method_and_code_from_headers_or_trailers() {
    let metrics = Metrics::new();
    // Answers as tonic does: errors trailers-only, successes in trailers;
    // a path with "hang" never answers.
    let inner = tower::service_fn(|request: http::Request<()>| async move {
        let path = request.uri().path().to_string();
        if path.ends_with("/GetExecution") {
            let response = http::Response::builder()
                .header("grpc-status", "5")
                .body(body(0, None))
                .unwrap();
            return Ok::<_, Infallible>(response);
        }
        if path.ends_with("/hang") {
            std::future::pending::<()>().await;
        }
        Ok(http::Response::new(body(2, Some(("grpc-status", "0")))))
    });
    let mut service = metrics.grpc_service(inner);
    let request = |method: &str| {
        http::Request::builder()
            .uri(format!("/workflow.v1.WorkflowService/{method}"))
            .body(())
            .unwrap()
    };

    for _ in 0..2 {
        let response = service.ready().await.unwrap().call(request("GetExecution"));
        response.await.unwrap().into_body().collect().await.unwrap();
    }
    let listed = service
        .ready()
        .await
        .unwrap()
        .call(request("ListExecutions"));
    listed.await.unwrap().into_body().collect().await.unwrap();
    // A stream the client drops before the trailers.
    let streamed = service.ready().await.unwrap().call(request("StreamLogs"));
    let mut streamed = streamed.await.unwrap().into_body();
    streamed.frame().await.unwrap().unwrap();
    drop(streamed);
    // A call dropped before any response, on a path the service lacks.
    let hanging = service.ready().await.unwrap().call(request("hang"));
    assert!(tokio::time::timeout(Duration::from_millis(20), hanging)
        .await
        .is_err());

    let count = |method: &str, code: &str| {
        metrics.value(&format!(
            "workflowd_grpc_requests_total{{method=\"{method}\",code=\"{code}\"}}"
        ))
    };
    assert_eq!(count("GetExecution", "NOT_FOUND"), Some(2.0));
    assert_eq!(count("ListExecutions", "OK"), Some(1.0));
    assert_eq!(count("StreamLogs", "CANCELLED"), Some(1.0));
    assert_eq!(count("unknown", "CANCELLED"), Some(1.0));
    assert_eq!(count("StreamLogs", "OK"), None);
}
