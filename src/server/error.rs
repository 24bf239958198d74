//! The server's error types: [`ServerError`] for its Rust API, [`ErrorReply`] for HTTP answers.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::wire::{ErrorBody, ErrorDetail};

/// What can go wrong starting or driving the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("no API keys: pass --keys FILE or set FILEDECK_SERVER_KEY")]
    NoKeys,
    #[error("invalid API keys: {0}")]
    InvalidKeys(String),
    #[error("cannot read keys file {}: {source}", path.display())]
    KeysFileRead { path: PathBuf, source: io::Error },
    #[error("invalid keys file {}: {message}", path.display())]
    KeysFile { path: PathBuf, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("invalid public URL: {0}")]
    PublicUrl(String),
    #[error(
        "--listen {0} is every address, so presigned URLs need the address clients reach this \
         server at: pass --public-url URL (e.g. https://files.example.com)"
    )]
    WildcardWithoutPublicUrl(SocketAddr),
    #[error("data directory {}: {source}", path.display())]
    DataDir { path: PathBuf, source: io::Error },
    #[error("index database {}: {source}", path.display())]
    Index {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("index database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error(
        "index database {}: schema version {version} is newer than this filedeck's \
         ({supported}); use a newer filedeck or another data directory",
        path.display()
    )]
    IndexVersion {
        path: PathBuf,
        version: i64,
        supported: i64,
    },
    #[error(
        "index database {}: its files were stored with --key-style {stored}; serve it with \
         that style, or use another data directory for --key-style {wanted}",
        path.display()
    )]
    KeyStyle {
        path: PathBuf,
        stored: String,
        wanted: super::KeyStyle,
    },
    #[error(
        "index database {}: it indexes the store {indexed}, not {wanted}; use another data \
         directory for this store",
        path.display()
    )]
    IndexedStore {
        path: PathBuf,
        indexed: String,
        wanted: String,
    },
    #[error("S3 store: {0}")]
    S3(String),
    #[error("presigning secret {}: {message}", path.display())]
    Secret { path: PathBuf, message: String },
    #[error("storage: {0}")]
    Io(#[from] io::Error),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("server stopped serving: {0}")]
    Serve(io::Error),
    #[error("server task failed: {0}")]
    Task(String),
}

/// An HTTP error answer in the contract's shape `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub(crate) struct ErrorReply {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ErrorReply {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ErrorReply {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub(crate) fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub(crate) fn expired() -> Self {
        Self::new(StatusCode::FORBIDDEN, "expired", "Request has expired")
    }

    pub(crate) fn bad_signature() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "bad_signature",
            "The request signature does not match",
        )
    }

    /// `503 unavailable`: this key has as many uploads running as it may.
    pub(crate) fn busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this API key has as many uploads running as the server allows; retry later",
        )
    }

    /// A `500 internal`: the details go to the log, the client gets a generic message.
    pub(crate) fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }

    /// The contract's code for an HTTP status, for answers not built by the handlers.
    pub(crate) fn code_for(status: StatusCode) -> &'static str {
        match status {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::CONFLICT => "conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            s if s.is_server_error() => "internal",
            _ => "invalid_request",
        }
    }
}

impl IntoResponse for ErrorReply {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let retry = (self.status == StatusCode::SERVICE_UNAVAILABLE).then(|| {
            [(
                axum::http::header::RETRY_AFTER,
                super::inflight::RETRY_AFTER_SECS.to_string(),
            )]
        });
        (self.status, retry, Json(body)).into_response()
    }
}

/// What the store reports.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("index database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("storage: {0}")]
    Io(#[from] io::Error),
}

impl From<StoreError> for ErrorReply {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ErrorReply::not_found(m),
            StoreError::Conflict(m) => ErrorReply::conflict(m),
            StoreError::Forbidden(m) => ErrorReply::forbidden(m),
            other => ErrorReply::internal("store failed", other),
        }
    }
}

impl From<StoreError> for ServerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ServerError::NotFound(m),
            StoreError::Conflict(m) => ServerError::Conflict(m),
            StoreError::Forbidden(m) => ServerError::Forbidden(m),
            StoreError::Db(e) => ServerError::Db(e),
            StoreError::Io(e) => ServerError::Io(e),
        }
    }
}
