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
mod limits;
mod manifest;
mod metrics;
mod namespace_filters;
mod namespace_quotas;
mod namespace_table;
pub(crate) mod namespaces;
mod oidc;
mod output;
mod postgres_import;
mod program_environment;
mod rate_limits;
mod restart;
mod retention;
mod retries;
mod schedules;
mod scheduling;
mod service;
mod status;
mod streaming;
mod tls;
mod validation;
mod webhooks;
