//! `workflowd`: a daemon that discovers workflow programs, runs them as
//! child processes on a bounded worker pool, keeps every execution and log
//! line in a SQLite history, and serves it all over gRPC
//! (`workflow.v1.WorkflowService`).
//!
//! Where a request goes: [`daemon`] wires the parts; [`api`] holds the gRPC
//! handlers; they call the [`engine`] (queue, runners, cancel, recovery),
//! which uses [`discovery`] (the catalog of programs), [`inputs`]
//! (validation and argv) and the [`store`] (history writer, reader and live
//! hub). See docs/architecture.md.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub(crate) mod api;
pub mod auth;
pub mod bundled;
pub mod cgroups;
#[cfg(feature = "wfctl")]
pub mod cli;
#[cfg(any(feature = "wfctl", feature = "mcp"))]
pub(crate) mod client_addr;
#[cfg(any(feature = "wfctl", feature = "mcp"))]
pub(crate) mod client_tls;
#[cfg(any(feature = "wfctl", feature = "mcp"))]
pub(crate) mod client_token;
pub(crate) mod clock;
pub mod config;
pub mod daemon;
pub(crate) mod discovery;
pub(crate) mod engine;
pub(crate) mod estimate;
pub mod events;
pub mod exec_shim;
pub(crate) mod fence;
pub(crate) mod fnv;
pub(crate) mod fs;
#[doc(hidden)]
pub mod fuzz_api;
pub(crate) mod grpc_code;
pub mod guardian;
pub(crate) mod host;
pub(crate) mod http;
pub(crate) mod inputs;
pub(crate) mod manifest;
#[cfg(feature = "mcp")]
pub mod mcp;
pub(crate) mod metrics;
pub mod namespaces;
pub(crate) mod policy;
pub mod process;
pub(crate) mod program_env;
pub mod program_limits;
pub(crate) mod program_trust;
pub mod proto_json;
pub(crate) mod proto_value;
pub(crate) mod random;
pub(crate) mod registry;
pub(crate) mod retries;
pub(crate) mod retry_policy;
pub(crate) mod schedules;
pub(crate) mod store;
pub(crate) mod tree;
pub mod vm;
pub(crate) mod watcher;
pub(crate) mod webhooks;
pub mod workflow;
pub mod yaml;

/// Generated protobuf and gRPC code for `workflow.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod pb {
    tonic::include_proto!("workflow.v1");

    /// Encoded file descriptor set of proto/, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/workflow_descriptor.bin"));
}
