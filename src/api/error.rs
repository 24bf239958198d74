//! One error type whose variants a user can act on.

use std::time::Duration;

/// What went wrong talking to the Files API, in terms a user can act on.
///
/// No variant ever carries the API key or a presigned URL: messages name the route
/// or the file, never the credentials.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "the API key was not accepted (401): check it (`filedeck config show` says where it is read from)"
    )]
    Unauthorized,
    #[error("access denied (403): {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("the presigned URL expired")]
    UrlExpired,
    #[error("the request was refused (400): {0}")]
    InvalidRequest(String),
    /// A problem on this side, found before anything was sent.
    #[error("{0}")]
    Local(String),
    #[error("server error {status}: {message}")]
    Server {
        status: u16,
        message: String,
        /// The server's `Retry-After`, honoured by the retry loop.
        retry_after: Option<Duration>,
    },
    #[error("network error: {0}")]
    Network(String),
    #[error("no data for {0:?}: the transfer stalled")]
    Stalled(Duration),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("integrity check failed: {0}")]
    Integrity(String),
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    #[error("cancelled")]
    Cancelled,
}

impl ApiError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ApiError::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether repeating the same request may succeed (connection trouble, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Network(_) | ApiError::Stalled(_) => true,
            ApiError::Server { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// Map a reqwest transport error to a message that never contains the URL
    /// (presigned URLs carry signatures; API URLs may carry nothing secret, but one
    /// rule for both is simpler to audit).
    pub fn from_transport(err: reqwest::Error) -> Self {
        let err = err.without_url();
        let mut msg = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        if err.is_timeout() {
            msg = format!("timed out ({msg})");
        }
        ApiError::Network(msg)
    }
}

/// Build an [`ApiError`] from a failed response's status and body, reading every error
/// shape the contract says to tolerate: the contract's JSON, `{"detail"}`,
/// `{"message"}`, S3's XML, or plain text.
pub fn from_status(status: u16, body: &str, what: &str) -> ApiError {
    let (code, server_message) = parse_error_body(body);
    let code = code.to_ascii_lowercase();
    // Judge expiry on the server's own words only: the file name in `what` may say "expired".
    let said = server_message.to_ascii_lowercase();
    let expired = code == "expired"
        || code == "expiredtoken"
        || (code == "accessdenied" && said.contains("expired"))
        || (status == 403 && said.contains("request has expired"));
    if expired {
        return ApiError::UrlExpired;
    }
    let message = if server_message.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {server_message}")
    };
    match status {
        401 => ApiError::Unauthorized,
        403 => ApiError::Forbidden(message),
        404 => ApiError::NotFound(message),
        409 => ApiError::Conflict(message),
        413 => ApiError::TooLarge(message),
        400 | 411 | 422 => ApiError::InvalidRequest(message),
        _ => ApiError::Server {
            status,
            message,
            retry_after: None,
        },
    }
}

/// Returns (code, message); either may be empty.
fn parse_error_body(body: &str) -> (String, String) {
    let trimmed = body.trim();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(trimmed) {
        let text = |v: Option<&serde_json::Value>| match v {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other @ (serde_json::Value::Array(_) | serde_json::Value::Object(_))) => {
                other.to_string()
            }
            _ => String::new(),
        };
        if let Some(e) = v.get("error") {
            if e.is_object() {
                return (text(e.get("code")), text(e.get("message")));
            }
            return (String::new(), text(Some(e)));
        }
        let msg = text(v.get("detail").or_else(|| v.get("message")));
        return (text(v.get("code")), msg);
    }
    if trimmed.starts_with('<') {
        return (xml_tag(trimmed, "Code"), xml_tag(trimmed, "Message"));
    }
    // Plain text: keep one short line, never a whole HTML page.
    let line = trimmed.lines().next().unwrap_or("").trim();
    let line: String = line.chars().filter(|c| !c.is_control()).take(200).collect();
    (String::new(), line)
}

fn xml_tag(body: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    body.split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map(|(inner, _)| inner.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_error_shape() {
        let e = from_status(
            404,
            r#"{"error":{"code":"not_found","message":"no such file"}}"#,
            "x",
        );
        assert!(matches!(e, ApiError::NotFound(m) if m.contains("no such file")));
        let e = from_status(409, r#"{"detail":"exists"}"#, "x");
        assert!(matches!(e, ApiError::Conflict(m) if m.contains("exists")));
        let e = from_status(500, "oops\nmore", "x");
        assert!(matches!(e, ApiError::Server { status: 500, message, .. } if message == "x: oops"));
        let xml = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
        assert!(matches!(from_status(403, xml, "x"), ApiError::UrlExpired));
        let xml = "<Error><Code>SignatureDoesNotMatch</Code><Message>bad</Message></Error>";
        assert!(matches!(from_status(403, xml, "x"), ApiError::Forbidden(_)));
        let denied = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        let e = from_status(403, denied, "downloading expired-samples.vcf");
        assert!(
            matches!(e, ApiError::Forbidden(_)),
            "the file name is not the server's word"
        );
        let e = from_status(403, r#"{"error":{"code":"expired","message":"gone"}}"#, "x");
        assert!(matches!(e, ApiError::UrlExpired));
        assert!(from_status(503, "", "x").is_transient());
        assert!(from_status(429, "", "x").is_transient());
        assert!(!from_status(400, "", "x").is_transient());
    }
}
