//! Drop folder: a burst of dropped manifests and single-file pickup
//! latency, against the same manifests sent with SubmitManifest.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use workflow_manager::pb;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

use crate::harness::*;

/// A `vm_pipeline` that only writes its report, so the drop-folder benchmark
/// measures the daemon, not qemu-img.
pub(crate) const FAST_PIPELINE: &str = r#"#!/bin/sh
if [ "$1" = "--workflow-metadata" ]; then
cat <<'JSON'
{"id":"vm_pipeline","name":"VM pipeline (bench)","description":"Writes a report.","fields":[{"name":"manifest","label":"Manifest","description":"Pipeline document","cli_arg":"--manifest","required":true,"default":null,"field_type":{"type":"text"}},{"name":"output_dir","label":"Output","description":"Output directory","cli_arg":"--output-dir","required":false,"default":"","field_type":{"type":"text"}}]}
JSON
exit 0
fi
echo '{"pipeline":{"success":true}}' > vm.report.json
echo '__WF_EVENT__:{"type":"state_file_created","phase":0,"file_path":"vm.report.json","description":"pipeline report"}' >&2
"#;

/// Starts workflowd with the fast pipeline and, when given, a manifest drop
/// folder; returns the daemon and the folder.
pub(crate) async fn start_dropfolder_daemon(tag: &str, drop_folder: bool) -> (Daemon, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let data = tempdir::TempDir::new(tag);
    let workflows = data.0.join("workflows");
    std::fs::create_dir_all(&workflows).expect("workflow dir");
    let program = workflows.join("vm-pipeline.sh");
    std::fs::write(&program, FAST_PIPELINE).expect("write the pipeline");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let drop = data.0.join("drop");
    let data_dir = data.0.join("data");
    // The manifests' made-up sources (the fast pipeline reads none) must
    // lie in a source root, or every manifest is refused.
    let mut extra: Vec<&OsStr> = vec!["--source-root".as_ref(), "/data".as_ref()];
    if drop_folder {
        extra.extend(["--manifest-dir".as_ref(), drop.as_os_str()]);
    }
    let daemon = Daemon::spawn(data, &data_dir, &workflows, &extra).await;
    (daemon, drop)
}

pub(crate) fn bench_manifest(i: usize) -> String {
    format!(
        r#"{{"version": "1.0", "pipeline": {{"load": {{"source_type": "raw", "source_path": "/data/vm-{i}.raw"}}, "convert": {{"output_format": "qcow2"}}}}}}"#
    )
}

/// Every execution's drop_file label with its create and start times.
pub(crate) async fn drop_times(
    client: &mut WorkflowServiceClient<Channel>,
) -> std::collections::HashMap<String, (std::time::SystemTime, std::time::SystemTime)> {
    let to_time = |t: Option<prost_types::Timestamp>| {
        std::time::SystemTime::try_from(t.expect("time")).expect("valid time")
    };
    let mut times = std::collections::HashMap::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_executions(pb::ListExecutionsRequest {
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        for e in page.executions {
            if let Some(file) = e.labels.get("drop_file") {
                times.insert(
                    file.clone(),
                    (to_time(e.create_time), to_time(e.start_time)),
                );
            }
        }
        if page.next_page_token.is_empty() {
            return times;
        }
        page_token = page.next_page_token;
    }
}

/// Drop folder against SubmitManifest: `files` small manifests dropped at
/// once until all are in processed/, against as many SubmitManifest calls
/// until all executions succeeded; then the pickup latency of single drops,
/// file closed -> execution accepted (and -> program started).
pub(crate) async fn dropfolder(files: usize, pickups: usize) {
    let (daemon, drop) = start_dropfolder_daemon("dropfolder", true).await;
    let mut client = daemon.client().await;
    let incoming = drop.join("to_be_processed");
    wait_status(&mut client, "the drop folders watched", |s| {
        s.drop_folders.iter().any(|d| d.watching)
    })
    .await;
    let started = Instant::now();
    for i in 0..files {
        std::fs::write(
            incoming.join(format!("burst-{i:05}.json")),
            bench_manifest(i),
        )
        .expect("drop");
    }
    let written = started.elapsed();
    wait_status(&mut client, "every burst file processed", |s| {
        s.drop_folders[0].processed_today as usize >= files
    })
    .await;
    let folder_secs = started.elapsed().as_secs_f64();

    // Pickup latency: one file at a time, each closed at a known time.
    let mut closed = std::collections::HashMap::new();
    for i in 0..pickups {
        let name = format!("single-{i:04}.json");
        let path = incoming.join(&name);
        std::fs::write(&path, bench_manifest(i)).expect("drop");
        closed.insert(name, std::time::SystemTime::now());
        let target = files + i + 1;
        wait_status(&mut client, "the single drop processed", |s| {
            s.drop_folders[0].processed_today as usize >= target
        })
        .await;
    }
    let times = drop_times(&mut client).await;
    let since = |later: std::time::SystemTime, earlier: std::time::SystemTime| {
        later.duration_since(earlier).unwrap_or_default()
    };
    let mut to_accepted: Vec<Duration> = closed
        .iter()
        .map(|(name, at)| since(times[name].0, *at))
        .collect();
    let mut to_running: Vec<Duration> = closed
        .iter()
        .map(|(name, at)| since(times[name].1, *at))
        .collect();
    daemon.stop().await;

    let (daemon, _) = start_dropfolder_daemon("submit", false).await;
    let client = daemon.client().await;
    let started = Instant::now();
    let in_flight = 32;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..in_flight {
        let mut client = client.clone();
        let share = files / in_flight + usize::from(worker < files % in_flight);
        tasks.spawn(async move {
            for i in 0..share {
                client
                    .submit_manifest(pb::SubmitManifestRequest {
                        content: bench_manifest(worker * 100_000 + i).into_bytes(),
                        file_name: format!("rpc-{worker}-{i}.json"),
                        ..Default::default()
                    })
                    .await
                    .expect("SubmitManifest");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("submitter");
    }
    let mut client = client;
    wait_status(&mut client, "every dropped file's execution", |s| {
        s.succeeded_today as usize >= files
    })
    .await;
    let rpc_secs = started.elapsed().as_secs_f64();
    daemon.stop().await;

    to_accepted.sort();
    to_running.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "dropfolder: {files} manifests dropped at once (written in {:.0} ms) all in processed/ after {folder_secs:.2} s ({:.0}/s); \
         {files} SubmitManifest calls all succeeded after {rpc_secs:.2} s ({:.0}/s); ratio {:.2}x",
        ms(written),
        files as f64 / folder_secs,
        files as f64 / rpc_secs,
        rpc_secs / folder_secs,
    );
    println!(
        "dropfolder pickup latency over {pickups} single drops: file closed -> execution accepted p50 {:.2} ms p99 {:.2} ms; \
         -> program started p50 {:.2} ms p99 {:.2} ms",
        ms(percentile(&to_accepted, 0.5)),
        ms(percentile(&to_accepted, 0.99)),
        ms(percentile(&to_running, 0.5)),
        ms(percentile(&to_running, 0.99)),
    );
}
