//! Integration tests of `workflowd`: each test starts the real binary on
//! loopback with its own temp dir and SQLite history, and talks gRPC to it.
//!
//! One test binary: the test modules live in `tests/tests/` (not auto-discovered
//! by cargo as separate targets) and the shared fixtures in `tests/helper/`.

#[macro_use]
mod helper;

#[path = "tests/cancel.rs"]
mod cancel;
#[path = "tests/config.rs"]
mod config;
#[path = "tests/discovery.rs"]
mod discovery;
#[path = "tests/disk_full.rs"]
mod disk_full;
#[path = "tests/drop_folders.rs"]
mod drop_folders;
#[path = "tests/example_workflows.rs"]
mod example_workflows;
#[path = "tests/execution.rs"]
mod execution;
#[path = "tests/history.rs"]
mod history;
#[path = "tests/manifest.rs"]
mod manifest;
#[path = "tests/output.rs"]
mod output;
#[path = "tests/restart.rs"]
mod restart;
#[path = "tests/retention.rs"]
mod retention;
#[path = "tests/scheduling.rs"]
mod scheduling;
#[path = "tests/status.rs"]
mod status;
#[path = "tests/streaming.rs"]
mod streaming;
#[path = "tests/validation.rs"]
mod validation;
#[path = "tests/vm_pipeline.rs"]
mod vm_pipeline;
#[path = "tests/wfctl.rs"]
mod wfctl;
