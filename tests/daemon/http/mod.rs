//! The HTTP side of the daemon's port through real HTTP on loopback: the
//! JSON routes of the proto's `google.api.http` annotations, their errors,
//! log streams as SSE and NDJSON, CORS and what foreign pages may not do, the body cap, gRPC-web next to
//! native gRPC, and the dashboard at `/`. One file per concern.

mod browser;
mod cors;
mod dashboard;
mod errors;
mod grpc_web;
mod limits;
mod logs;
mod routes;
mod stream_tokens;
