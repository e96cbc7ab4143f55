//! The HTTP side of the daemon's port through real HTTP on loopback: the
//! JSON routes of the proto's `google.api.http` annotations, their errors,
//! log streams as SSE and NDJSON, CORS, the body cap, and gRPC-web next to
//! native gRPC. One file per concern.

mod cors;
mod errors;
mod grpc_web;
mod limits;
mod logs;
mod routes;
