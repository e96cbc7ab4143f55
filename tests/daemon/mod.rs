//! Tests of the daemon through its gRPC API, one file per area of
//! behaviour.

mod audit;
mod auth;
mod cancel;
mod config;
mod discovery;
mod disk_full;
mod drop_folders;
mod estimates;
mod example_workflows;
mod execution;
mod history;
mod http;
mod manifest;
mod metrics;
mod output;
mod program_environment;
mod restart;
mod retention;
mod retries;
mod schedules;
mod scheduling;
mod status;
mod streaming;
mod validation;
mod webhooks;
