//! Fixtures for the integration tests, split by purpose as pueue's
//! `tests/helper/` is: a real `workflowd` process serving gRPC on loopback
//! with its own temporary directory (`builder.rs`, `daemon.rs`), calls of
//! its API that are expected to succeed (`rpc.rs`), waiting on real signals
//! (`wait.rs`), programs and disk images the tests run on (`fixtures.rs`,
//! `images.rs`), the HTTP side of its port (`http.rs`), the `wfctl` CLI
//! (`wfctl.rs`), `wfctl tui` in a tmux session (`tmux.rs`) and assertions
//! on logs and errors (`asserts.rs`).

use std::time::Duration;

use tonic::transport::Channel;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;
pub use workflow_manager::pb::{self, log_event::Payload, ExecutionState, LogEvent};

/// Every payload of one variant in a list of events, e.g. `of!(events, Killed)`.
macro_rules! of {
    ($events:expr, $variant:ident) => {
        $events
            .iter()
            .filter_map(|e| match e.payload.as_ref() {
                Some($crate::helper::Payload::$variant(p)) => Some(p),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
}

mod asserts;
mod builder;
mod daemon;
mod delegated_cgroup;
mod fixtures;
mod history;
mod http;
mod images;
mod receiver;
mod rpc;
mod tcp_proxy;
// The PostgreSQL server the store's unit tests start, shared as a file.
#[path = "../../src/store/db/test_server.rs"]
mod test_server;
mod tmux;
mod wait;
mod wfctl;

pub use asserts::*;
pub use builder::{fresh_postgres_database, history_in_postgres, skip_on_postgres, DaemonBuilder};
pub use daemon::*;
pub use fixtures::*;
pub use http::*;
pub use images::*;
pub use receiver::*;
pub use rpc::*;
pub use tcp_proxy::TcpProxy;
pub use tmux::*;
pub use wait::*;
pub use wfctl::*;

/// The generated gRPC client of the workflow service.
pub type Client = WorkflowServiceClient<Channel>;

/// Upper bound for any single wait of a test (daemon start, a whole run, ...).
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Upper bound for changes that only show up by polling (hot reload).
pub const POLL_DEADLINE: Duration = Duration::from_secs(10);
