//! Each request through the router: in flight from its head until its response body is
//! dropped, and answered 408 when its body came too slowly.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Request, Response};
use hyper_util::service::TowerToHyperService;

use super::rate::{BodyLimit, RateLimited};
use super::watch::Watch;

#[derive(Clone)]
pub(super) struct ConnService {
    pub(super) router: TowerToHyperService<Router>,
    pub(super) watch: Arc<Watch>,
    pub(super) body_limit: BodyLimit,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.watch.request_started();
        let guard = InFlight(self.watch.clone());
        let watch = self.watch.clone();
        let limit = self.body_limit;
        let req = req.map(|body| RateLimited::new(body, limit, watch));
        let answer = self.router.call(req);
        let watch = self.watch.clone();
        Box::pin(async move {
            let mut response = answer.await?;
            if watch.is_cut() {
                response = too_slow();
            }
            Ok(response.map(|inner| TrackedBody {
                inner,
                _in_flight: guard,
            }))
        })
    }
}

/// The answer to a request whose body came too slowly, whatever its handler made of the
/// body error.
fn too_slow() -> Response<axum::body::Body> {
    let mut response = Response::new(axum::body::Body::from(
        r#"{"error":{"code":"request_timeout","message":"the request body came too slowly"}}"#,
    ));
    *response.status_mut() = hyper::StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    response
}

/// Held from a request's head until its response body is dropped (or the request is
/// abandoned).
struct InFlight(Arc<Watch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// A response body keeping its request in flight.
pub(crate) struct TrackedBody {
    inner: axum::body::Body,
    _in_flight: InFlight,
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
