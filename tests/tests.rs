//! Integration tests of `workflowd`: each test starts the real binary on
//! loopback with its own temp dir and SQLite history, and talks gRPC to it.
//!
//! One test binary (`cargo test --test tests`), laid out as pueue's: the
//! shared fixtures in `helper/`, the tests by what they drive: the daemon's
//! gRPC API (`daemon/`), the `wfctl` CLI (`wfctl/`) and the VM pipeline
//! program (`vm_pipeline/`). Only this file sits directly in `tests/`, so
//! cargo finds no other test target.

#[macro_use]
mod helper;

mod daemon;
mod vm_pipeline;
mod wfctl;
