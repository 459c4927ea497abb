//! Response bodies: streamed upstream bodies that hold their upstream's in-flight slot until the
//! last byte (or the client going away), and small fixed bodies for the edge's own answers.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use crate::table::InflightGuard;

/// Errors of response bodies (upstream streams, file reads).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type of every response the edge sends.
pub type EdgeBody = BoxBody<Bytes, BoxError>;

/// An upstream body that keeps its in-flight slot while it streams.
pub struct Tracked {
    inner: Incoming,
    _slot: InflightGuard,
}

impl Tracked {
    pub fn boxed(inner: Incoming, slot: InflightGuard) -> EdgeBody {
        BoxBody::new(Self { inner, _slot: slot }.map_err(BoxError::from))
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A fixed body.
pub fn full(text: impl Into<Bytes>) -> EdgeBody {
    http_body_util::Full::new(text.into()).map_err(|never| match never {}).boxed()
}
