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
        || (status == 403 && said.contains("request has expired"))
        // Some S3 implementations answer an expired presigned URL 400 and say it is too
        // old, or that the request expired.
        || (matches!(status, 400 | 403)
            && (said.contains("too old")
                || said.contains("request expired")
                || said.contains("has expired")));
    if expired {
        return ApiError::UrlExpired;
    }
    if code == "signaturedoesnotmatch" {
        // The store's own words ("The request signature we calculated does not match…")
        // say nothing a user can act on.
        return ApiError::Forbidden(format!(
            "{what}: the storage refused the presigned URL's signature \
             (SignatureDoesNotMatch): the request differs from what was signed, such as \
             a Content-Type other than the one given at upload-url, or this machine's clock \
             is far from the store's"
        ));
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

/// The text of the first `<tag>…</tag>`, its entities decoded, on one line of at most 300
/// characters (an S3 body is the store's words, not a page to print whole).
fn xml_tag(body: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let inner = body
        .split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map(|(inner, _)| inner.trim())
        .unwrap_or_default();
    let inner = inner
        .strip_prefix("<![CDATA[")
        .and_then(|rest| rest.strip_suffix("]]>"))
        .map_or_else(|| decode_entities(inner), str::to_string);
    inner
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}

/// XML's five named entities and numeric references; anything else stays as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        let (before, from_amp) = rest.split_at(at);
        out.push_str(before);
        let decoded = from_amp.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = from_amp.get(1..end)?;
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let number = name.strip_prefix('#')?;
                    let code = match number.strip_prefix('x') {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = from_amp.get(end + 1..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = from_amp.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
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
        let e = from_status(403, xml, "uploading a.bam");
        assert!(
            matches!(&e, ApiError::Forbidden(m) if m.starts_with("uploading a.bam: ") && m.contains("Content-Type")),
            "{e}"
        );
        // An expired URL said as a 400 by other S3 implementations.
        let xml = "<Error><Code>AccessDenied</Code><Message>Request is too old</Message></Error>";
        assert!(matches!(from_status(400, xml, "x"), ApiError::UrlExpired));
        let xml = "<Error><Code>InvalidRequest</Code><Message>Request expired</Message></Error>";
        assert!(matches!(from_status(400, xml, "x"), ApiError::UrlExpired));
        // XML's entities are decoded; control characters never reach a message.
        let xml = "<Error><Code>NoSuchKey</Code><Message>no &quot;a&amp;b&quot; &#x263A;\u{1b}[2J &bogus; &</Message></Error>";
        let e = from_status(404, xml, "x");
        assert!(
            matches!(&e, ApiError::NotFound(m) if m == "x: no \"a&b\" \u{263A} [2J &bogus; &"),
            "{e}"
        );
        let xml = "<Error><Code>InternalError</Code><Message><![CDATA[a <b> c]]></Message></Error>";
        assert!(
            matches!(from_status(500, xml, "x"), ApiError::Server { message, .. } if message == "x: a <b> c")
        );
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
