//! API keys: loaded from a keys file or the environment and checked, then bearer-token
//! authentication (constant time) and workspace authorisation.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::{ErrorReply, ServerError};
use super::{AppState, SCOPES, SERVER_KEY_ENV, validate};

/// One API key: its bearer token, its scopes and the workspaces it may use (ids, or `["*"]`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyGrant {
    pub token: String,
    pub scopes: Vec<String>,
    pub workspaces: Vec<String>,
}

impl KeyGrant {
    /// Whether the key holds `scope` (or `*`).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope || s == "*")
    }

    /// Whether the key may use workspace `id` (listed, or `*`).
    pub fn allows_workspace(&self, id: &str) -> bool {
        self.workspaces.iter().any(|w| w == id || w == "*")
    }

    /// Whether the key may use every workspace.
    pub fn all_workspaces(&self) -> bool {
        self.workspaces.iter().any(|w| w == "*")
    }
}

/// Never prints the token.
impl fmt::Debug for KeyGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyGrant")
            .field("token", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("workspaces", &self.workspaces)
            .finish()
    }
}

/// The key from `FILEDECK_SERVER_KEY`, if that variable is set to a non-blank value: every
/// scope, every workspace.
pub fn keys_from_env() -> Option<KeyGrant> {
    let token = std::env::var(SERVER_KEY_ENV).ok()?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    Some(KeyGrant {
        token: token.to_string(),
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        workspaces: vec!["*".to_string()],
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    key: Vec<KeyGrant>,
}

/// Read a TOML keys file:
///
/// ```toml
/// [[key]]
/// token = "…"
/// scopes = ["files"]
/// workspaces = ["ws_abc123"]   # or ["*"]
/// ```
///
/// Error messages never quote the file's contents (they could hold a token).
pub fn load_keys_file(path: &Path) -> Result<Vec<KeyGrant>, ServerError> {
    let text = std::fs::read_to_string(path).map_err(|source| ServerError::KeysFileRead {
        path: path.to_path_buf(),
        source,
    })?;
    warn_if_readable_by_others(path);
    let bad = |message: String| ServerError::KeysFile {
        path: path.to_path_buf(),
        message,
    };
    let parsed: KeysFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|span| {
            text.get(..span.start)
                .unwrap_or(&text)
                .matches('\n')
                .count()
                + 1
        });
        match line {
            Some(line) => bad(format!("line {line}: {}", e.message().trim())),
            None => bad(e.message().trim().to_string()),
        }
    })?;
    if parsed.key.is_empty() {
        return Err(bad("no [[key]] entries".to_string()));
    }
    check_keys(&parsed.key).map_err(bad)?;
    Ok(parsed.key)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "keys file is readable by other users; consider chmod 600"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// The configured keys, with the SHA-256 of each token for fixed-length comparisons.
pub(crate) struct Keyring {
    keys: Vec<(Arc<KeyGrant>, [u8; 32])>,
}

impl Keyring {
    pub(crate) fn new(keys: Vec<KeyGrant>) -> Self {
        let keys = keys
            .into_iter()
            .map(|key| {
                let digest = Sha256::digest(key.token.as_bytes()).into();
                (Arc::new(key), digest)
            })
            .collect();
        Keyring { keys }
    }

    /// The key whose token `Authorization: Bearer <token>` carries. Every configured key is
    /// compared, in time independent of where the tokens differ.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<Arc<KeyGrant>, ErrorReply> {
        let token = bearer_token(headers.get(AUTHORIZATION)).ok_or_else(|| {
            ErrorReply::unauthorized("missing API key: send Authorization: Bearer <key>")
        })?;
        let digest: [u8; 32] = Sha256::digest(token).into();
        let mut found = None;
        for (key, known) in &self.keys {
            if bool::from(digest.as_slice().ct_eq(known.as_slice())) {
                found = Some(key);
            }
        }
        found
            .cloned()
            .ok_or_else(|| ErrorReply::unauthorized("unknown API key"))
    }
}

fn bearer_token(value: Option<&HeaderValue>) -> Option<&[u8]> {
    let (scheme, token) = value?.as_bytes().split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = token.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// Check configured keys: usable tokens, no repeated token, valid workspace grants.
/// Messages name keys by position, never by token.
pub(crate) fn check_keys(keys: &[KeyGrant]) -> Result<(), String> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        let n = i + 1;
        if key.token.trim().is_empty() {
            return Err(format!("key #{n} has an empty token"));
        }
        if !key.token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "key #{n}: a token may hold only printable ASCII without spaces"
            ));
        }
        if let Some(first) = seen.insert(key.token.as_str(), n) {
            return Err(format!("key #{n} repeats the token of key #{first}"));
        }
        for ws in &key.workspaces {
            if ws != "*" {
                validate::workspace_id(ws).map_err(|e| format!("key #{n}: {e}"))?;
            }
        }
    }
    Ok(())
}

/// An authenticated request whose key holds the `files` scope. Extracted before the body,
/// so a request without a valid key is refused before anything is read.
pub(crate) struct Authed {
    key: Arc<KeyGrant>,
}

impl Authed {
    pub(crate) fn key(&self) -> &KeyGrant {
        &self.key
    }

    /// The validated workspace id, if the key may use it: `400` when missing or malformed,
    /// `403` when not granted.
    pub(crate) fn workspace(&self, ws: Option<&str>) -> Result<String, ErrorReply> {
        let ws = ws.ok_or_else(|| ErrorReply::invalid("workspace_id is required"))?;
        validate::workspace_id(ws).map_err(ErrorReply::invalid)?;
        if !self.key().allows_workspace(ws) {
            return Err(ErrorReply::forbidden(format!(
                "this API key may not use workspace {ws}"
            )));
        }
        Ok(ws.to_string())
    }
}

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = ErrorReply;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let key = state.keys.authenticate(&parts.headers)?;
        if !key.has_scope("files") {
            return Err(ErrorReply::forbidden("this API key lacks the files scope"));
        }
        Ok(Authed { key })
    }
}
