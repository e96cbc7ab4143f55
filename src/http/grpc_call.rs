//! Calls an RPC in-process through the same tonic services that answer
//! native gRPC: the request message is framed as gRPC, handed to the
//! service as an HTTP request, and the answer's frames and trailers are
//! read back. So an HTTP route runs exactly the code (and any layer on the
//! service) a gRPC call runs, and no handler is written twice.

use bytes::{Buf, Bytes, BytesMut};
use http::{header, Request};
use http_body_util::{BodyExt, Full};
use tonic::service::Routes;
use tower::ServiceExt;

use crate::auth::Caller;

/// The gRPC length-prefixed message header: a compression flag and a
/// big-endian length.
const FRAME_HEADER: usize = 5;

/// The services an HTTP route calls into.
#[derive(Clone)]
pub(crate) struct GrpcCaller {
    routes: Routes,
}

impl GrpcCaller {
    /// Calls into `routes` (the gRPC services, without the HTTP routes).
    pub(crate) fn new(routes: Routes) -> Self {
        Self { routes }
    }

    /// Starts the RPC at `grpc_path` with the encoded `message`, as the
    /// HTTP request's `caller` (whose role the RPC checks). Fails with
    /// the RPC's status when it answers with an error before any message.
    /// The call has no deadline of its own: it ends when the HTTP client
    /// goes away (the answer's future or body is dropped).
    pub(crate) async fn call(
        &self,
        grpc_path: &str,
        message: Vec<u8>,
        caller: Option<Caller>,
    ) -> Result<Replies, tonic::Status> {
        let mut framed = BytesMut::with_capacity(FRAME_HEADER + message.len());
        framed.extend_from_slice(&[0]);
        framed.extend_from_slice(
            &u32::try_from(message.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        framed.extend_from_slice(&message);
        let request = Request::builder()
            .method(http::Method::POST)
            .uri(grpc_path)
            .header(header::CONTENT_TYPE, "application/grpc")
            .header(header::TE, "trailers");
        let request = match caller {
            Some(caller) => request.extension(caller),
            None => request,
        };
        let request = request
            .body(Full::new(framed.freeze()))
            .map_err(|e| tonic::Status::internal(format!("building the in-process call: {e}")))?;
        let response = match self.routes.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        // A trailers-only answer: the status is in the headers, and there
        // is no message (an error, or a stream that ended at once).
        let trailers_only = tonic::Status::from_header_map(response.headers());
        if let Some(status) = &trailers_only {
            if status.code() != tonic::Code::Ok {
                return Err(status.clone());
            }
        }
        Ok(Replies {
            body: response.into_body(),
            buffer: BytesMut::new(),
            ended: trailers_only.is_some(),
        })
    }
}

/// The messages of one RPC's answer, in order.
pub(crate) struct Replies {
    body: tonic::body::Body,
    buffer: BytesMut,
    ended: bool,
}

impl Replies {
    /// The next encoded message; None once the RPC ended with OK; the
    /// RPC's status when it ended with an error.
    pub(crate) async fn next(&mut self) -> Option<Result<Bytes, tonic::Status>> {
        loop {
            match self.take_message() {
                Ok(Some(message)) => return Some(Ok(message)),
                Ok(None) => {}
                Err(status) => {
                    self.ended = true;
                    return Some(Err(status));
                }
            }
            if self.ended {
                return None;
            }
            let Some(frame) = self.body.frame().await else {
                self.ended = true;
                return Some(Err(tonic::Status::internal(
                    "the RPC ended without a status",
                )));
            };
            let frame = match frame {
                Ok(frame) => frame,
                Err(status) => {
                    self.ended = true;
                    return Some(Err(status));
                }
            };
            match frame.into_data() {
                Ok(data) => self.buffer.extend_from_slice(&data),
                Err(frame) => {
                    self.ended = true;
                    let trailers = frame.into_trailers().unwrap_or_default();
                    match tonic::Status::from_header_map(&trailers) {
                        Some(status) if status.code() == tonic::Code::Ok => {
                            return match self.take_message() {
                                Ok(Some(message)) if self.buffer.is_empty() => Some(Ok(message)),
                                Ok(None) if self.buffer.is_empty() => None,
                                Ok(_) => Some(Err(tonic::Status::internal(
                                    "the RPC ended inside a message",
                                ))),
                                Err(status) => Some(Err(status)),
                            };
                        }
                        Some(status) => return Some(Err(status)),
                        None => {
                            return Some(Err(tonic::Status::internal(
                                "the RPC ended without a status",
                            )))
                        }
                    }
                }
            }
        }
    }

    /// The one message of a unary RPC, after its OK status.
    pub(crate) async fn single(mut self) -> Result<Bytes, tonic::Status> {
        let message = match self.next().await {
            Some(result) => result?,
            None => return Err(tonic::Status::internal("a unary RPC answered no message")),
        };
        match self.next().await {
            None => Ok(message),
            Some(Err(status)) => Err(status),
            Some(Ok(_)) => Err(tonic::Status::internal("a unary RPC answered two messages")),
        }
    }

    /// A whole message from the buffer, when one has arrived. The call
    /// asks for no compression, so a compressed message is an error.
    fn take_message(&mut self) -> Result<Option<Bytes>, tonic::Status> {
        if self.buffer.len() < FRAME_HEADER {
            return Ok(None);
        }
        if self.buffer[0] != 0 {
            return Err(tonic::Status::internal(
                "a compressed reply was not asked for",
            ));
        }
        let length = u32::from_be_bytes([
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
            self.buffer[4],
        ]) as usize;
        if self.buffer.len() < FRAME_HEADER + length {
            return Ok(None);
        }
        self.buffer.advance(FRAME_HEADER);
        Ok(Some(self.buffer.split_to(length).freeze()))
    }
}
