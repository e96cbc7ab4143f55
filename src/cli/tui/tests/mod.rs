//! Rendering tests of every screen: the app drawn on ratatui's TestBackend
//! at 80x24 (the smallest size it supports) and at 120x40, compared with
//! the snapshots under `snapshots/` (insta; `cargo insta review`, or
//! `INSTA_UPDATE=always`, to accept a change after reading it). This file
//! is the harness; `screens` and `manifest` are the tests.

mod manifest;
mod screens;

use std::time::{Duration, SystemTime};

use ratatui::{backend::TestBackend, Terminal};

use super::{
    app::App,
    messages::{JobTab, Update},
    theme::Theme,
};
use crate::pb;

/// The fixed "now" of every snapshot: 2026-01-02 03:04:05 UTC.
pub(super) fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_323_045)
}

/// A timestamp `secs_ago` seconds before [`now`].
pub(super) fn ago(secs_ago: i64) -> Option<prost_types::Timestamp> {
    let now = now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    Some(prost_types::Timestamp {
        seconds: now - secs_ago,
        nanos: 0,
    })
}

/// The app drawn at `width` x `height`, as text.
pub(super) fn render(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| app.draw(frame, now())).unwrap();
    terminal.backend().to_string()
}

/// An app connected to a daemon at a fixed address, without colours.
pub(super) fn app() -> App {
    let mut app = App::new("127.0.0.1:50051".into(), None, Theme::new(false));
    app.on_update(Update::Connected);
    app
}

/// A status with a drop folder, as a daemon with work going reports it.
pub(super) fn status() -> pb::GetStatusResponse {
    pb::GetStatusResponse {
        version: "0.1.0".into(),
        uptime_seconds: 3725,
        max_workers: 4,
        running: 2,
        queued: 1,
        max_queue: 1000,
        succeeded_today: 17,
        failed_today: 2,
        total_executions: 120,
        drop_folders: vec![pb::DropFolder {
            path: "/var/lib/workflowd/manifests".into(),
            mode: pb::DropFolderMode::Manifest as i32,
            files_waiting: 3,
            files_processing: 1,
            processed_today: 9,
            failed_today: 1,
            watching: true,
        }],
        ..Default::default()
    }
}

/// An execution of `workflow` in `state`, started `secs_ago`.
pub(super) fn execution(
    id: &str,
    workflow: &str,
    state: pb::ExecutionState,
    secs_ago: i64,
) -> pb::Execution {
    pb::Execution {
        id: id.into(),
        workflow_id: workflow.into(),
        state: state as i32,
        start_time: ago(secs_ago),
        ..Default::default()
    }
}

/// Two running executions, one with a phase, progress and an ETA.
pub(super) fn running() -> Vec<pb::Execution> {
    let mut convert = execution(
        "0190a5c2-7d3e-7a41-9e1b-5f2c8d4e6a01",
        "vm_pipeline",
        pb::ExecutionState::Running,
        95,
    );
    convert.labels.insert("vm".into(), "web-01".into());
    convert.current_phase = "convert".into();
    convert.estimate = Some(pb::Estimate {
        progress: Some(0.6),
        remaining: Some(prost_types::Duration {
            seconds: 63,
            nanos: 0,
        }),
        ..Default::default()
    });
    let plain = execution(
        "0190a5c2-7d3e-7a41-9e1b-5f2c8d4e6a02",
        "research",
        pb::ExecutionState::Running,
        12,
    );
    vec![convert, plain]
}
