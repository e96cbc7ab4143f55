//! End-to-end tests of the `wfctl` binary: each runs the real CLI against a
//! real daemon on loopback and checks its stdout, stderr and exit code.

mod daemon_address;
mod drain;
mod executions;
mod hyperctl;
mod manifest;
mod namespaces;
mod schedules;
mod terminal;
mod tui;
mod webhooks;
