//! Presigned URLs for the byte routes.
//!
//! Layout: `{base}/objects/{workspace}/{key, each segment percent-encoded}?X-Expires={unix
//! seconds}[&X-Content-Type={type}&X-Size={bytes}&X-Upload={id}&X-Key={key id}
//! [&X-Path={path}&X-Name={name}]]
//! &X-Signature={hex HMAC-SHA256}`. The MAC covers the method (`GET`, also good for `HEAD`;
//! or `PUT`), the workspace, the key, the expiry and, for `PUT`, the content type and size,
//! the upload id (fresh for each URL, so a confirmed one can be told spent although a path
//! key is reused by the next upload of that path), the id of the API key that asked for the
//! URL (a short hash, never the token: a `PUT` has no `Authorization`, yet counts against
//! that key's cap of uploads), and for an opaque key's `PUT` the
//! display path it will be confirmed as (the URL carries it, so the server keeps nothing
//! between step 1 and the `PUT`). The secret is 32 random bytes kept in
//! `secret.key` (mode 0600) in the data directory, made once and reused on restart.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::Uri;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::Sha256;

use super::error::{ErrorReply, ServerError};
use super::validate;

type HmacSha256 = Hmac<Sha256>;

const SECRET_FILE: &str = "secret.key";
/// Path prefix of the byte routes.
pub(crate) const OBJECTS_PREFIX: &str = "/objects/";

pub(crate) struct Signer {
    secret: [u8; 32],
}

/// What a `PUT` URL was signed over besides the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PutTerms {
    pub(crate) content_type: String,
    pub(crate) size: u64,
    /// This URL's own id: the URL is spent once the bytes it carried are confirmed.
    pub(crate) upload: String,
    /// The id of the API key that made the URL (`inflight::key_id`), for its upload cap.
    pub(crate) key_id: String,
    /// The display path (`path`, `name`) of an opaque key, which the key does not tell.
    pub(crate) display: Option<(String, String)>,
}

/// The signed fields of a `PUT` URL, as text.
struct PutFields<'a> {
    content_type: &'a str,
    size: &'a str,
    upload: &'a str,
    key_id: &'a str,
    display: Option<(&'a str, &'a str)>,
}

/// The object a verified URL addresses.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) workspace: String,
    pub(crate) key: String,
    /// Unix seconds after which the URL is refused.
    pub(crate) expires: u64,
    /// Present for `PUT` URLs.
    pub(crate) put: Option<PutTerms>,
}

impl Signer {
    /// Read the data directory's secret, or make one (atomically, mode 0600).
    pub(crate) fn load_or_create(data_dir: &Path) -> Result<Self, ServerError> {
        let path = data_dir.join(SECRET_FILE);
        let secret_error = |message: String| ServerError::Secret {
            path: path.clone(),
            message,
        };
        match fs::read_to_string(&path) {
            Ok(text) => {
                restrict_permissions(&path);
                let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == 32);
                let bytes = bytes.ok_or_else(|| {
                    secret_error(
                        "is not 64 hex digits; delete it to make a new one \
                         (URLs already handed out then stop working)"
                            .to_string(),
                    )
                })?;
                let mut secret = [0u8; 32];
                secret.copy_from_slice(&bytes);
                Ok(Signer { secret })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut secret = [0u8; 32];
                getrandom::fill(&mut secret).map_err(|e| secret_error(e.to_string()))?;
                match write_new_secret(data_dir, &path, &secret) {
                    Ok(()) => Ok(Signer { secret }),
                    // Another process made it first: use theirs.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(data_dir)
                    }
                    Err(e) => Err(secret_error(e.to_string())),
                }
            }
            Err(e) => Err(secret_error(e.to_string())),
        }
    }

    fn mac(
        &self,
        method: &str,
        ws: &str,
        key: &str,
        expires: &str,
        put: Option<&PutFields<'_>>,
    ) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        let mut field = |bytes: &[u8]| {
            mac.update(&(bytes.len() as u64).to_be_bytes());
            mac.update(bytes);
        };
        // v2: `PUT` URLs carry the key id.
        field(b"filedeck-presign-v2");
        field(method.as_bytes());
        field(ws.as_bytes());
        field(key.as_bytes());
        field(expires.as_bytes());
        if let Some(put) = put {
            field(put.content_type.as_bytes());
            field(put.size.as_bytes());
            field(b"upload");
            field(put.upload.as_bytes());
            field(b"key");
            field(put.key_id.as_bytes());
            if let Some((path, name)) = put.display {
                field(b"display");
                field(path.as_bytes());
                field(name.as_bytes());
            }
        }
        mac
    }

    /// A presigned URL under `base` (a [`parse_public_url`] result) for `method` (`GET` or
    /// `PUT`).
    pub(crate) fn url(
        &self,
        base: &str,
        method: &str,
        ws: &str,
        key: &str,
        ttl: Duration,
        put: Option<&PutTerms>,
    ) -> String {
        let expires = unix_now().saturating_add(ttl.as_secs()).to_string();
        let size = put.map(|p| p.size.to_string());
        let put_fields = put.zip(size.as_deref()).map(|(p, size)| PutFields {
            content_type: &p.content_type,
            size,
            upload: &p.upload,
            key_id: &p.key_id,
            display: p
                .display
                .as_ref()
                .map(|(path, name)| (path.as_str(), name.as_str())),
        });
        let signature = hex::encode(
            self.mac(method, ws, key, &expires, put_fields.as_ref())
                .finalize()
                .into_bytes(),
        );
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("X-Expires", &expires);
        if let Some(put) = &put_fields {
            query.append_pair("X-Content-Type", put.content_type);
            query.append_pair("X-Size", put.size);
            query.append_pair("X-Upload", put.upload);
            query.append_pair("X-Key", put.key_id);
            if let Some((path, name)) = put.display {
                query.append_pair("X-Path", path);
                query.append_pair("X-Name", name);
            }
        }
        query.append_pair("X-Signature", &signature);
        format!(
            "{base}{OBJECTS_PREFIX}{}/{}?{}",
            ws,
            encode_key(key),
            query.finish()
        )
    }

    /// Check a byte-route request: the signature first (`403 bad_signature`), then the expiry
    /// (`403 expired`). `method` is `GET` for GET and HEAD, `PUT` for PUT.
    pub(crate) fn verify(&self, method: &str, uri: &Uri) -> Result<Target, ErrorReply> {
        let (workspace, key) =
            parse_object_path(uri.path()).ok_or_else(ErrorReply::bad_signature)?;
        let mut expires = None;
        let mut signature = None;
        let mut content_type = None;
        let mut size = None;
        let mut upload = None;
        let mut key_id = None;
        let mut display_path = None;
        let mut display_name = None;
        for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            match name.as_ref() {
                "X-Expires" => expires = Some(value),
                "X-Signature" => signature = Some(value),
                "X-Content-Type" => content_type = Some(value),
                "X-Size" => size = Some(value),
                "X-Upload" => upload = Some(value),
                "X-Key" => key_id = Some(value),
                "X-Path" => display_path = Some(value),
                "X-Name" => display_name = Some(value),
                _ => {}
            }
        }
        let (Some(expires), Some(signature)) = (expires, signature) else {
            return Err(ErrorReply::bad_signature());
        };
        let display = match (display_path.as_deref(), display_name.as_deref()) {
            (Some(path), Some(name)) => Some((path, name)),
            (None, None) => None,
            _ => return Err(ErrorReply::bad_signature()),
        };
        let put = if method == "PUT" {
            match (
                content_type.as_deref(),
                size.as_deref(),
                upload.as_deref(),
                key_id.as_deref(),
            ) {
                (Some(content_type), Some(size), Some(upload), Some(key_id)) => Some(PutFields {
                    content_type,
                    size,
                    upload,
                    key_id,
                    display,
                }),
                _ => return Err(ErrorReply::bad_signature()),
            }
        } else {
            None
        };
        let signature =
            hex::decode(signature.as_bytes()).map_err(|_| ErrorReply::bad_signature())?;
        self.mac(method, &workspace, &key, &expires, put.as_ref())
            .verify_slice(&signature)
            .map_err(|_| ErrorReply::bad_signature())?;
        // Signed by us, so these parse; be strict anyway.
        let expires: u64 = expires.parse().map_err(|_| ErrorReply::bad_signature())?;
        if expires <= unix_now() {
            return Err(ErrorReply::expired());
        }
        let put = match put {
            Some(put) => Some(PutTerms {
                content_type: put.content_type.to_string(),
                size: put.size.parse().map_err(|_| ErrorReply::bad_signature())?,
                upload: put.upload.to_string(),
                key_id: put.key_id.to_string(),
                display: put
                    .display
                    .map(|(path, name)| (path.to_string(), name.to_string())),
            }),
            None => None,
        };
        Ok(Target {
            workspace,
            key,
            expires,
            put,
        })
    }
}

/// Check a public URL (`--public-url`) and give it without a trailing `/`: `http` or `https`,
/// a host, an optional port and path prefix, no userinfo, query or fragment.
///
/// Presigned URLs are `{public URL}/objects/…`, while the server routes `/objects/…`: a path
/// prefix is for a reverse proxy that serves this server under it and strips it before
/// passing a request on.
pub fn parse_public_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?} is not an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{text:?} must not hold a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?} must not have a query (?) or fragment (#)"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn write_new_secret(data_dir: &Path, path: &Path, secret: &[u8; 32]) -> io::Result<()> {
    let tmp = data_dir.join(format!("{SECRET_FILE}.{}.tmp", {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(io::Error::other)?;
        hex::encode(b)
    }));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(format!("{}\n", hex::encode(secret)).as_bytes())?;
        file.sync_all()?;
        // A hard link does not replace an existing file, unlike a rename.
        fs::hard_link(&tmp, path)?;
        fs::File::open(data_dir)?.sync_all()
    })();
    let _ = fs::remove_file(&tmp);
    result
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "presigning secret was readable by others; setting mode 0600");
        if let Err(e) = fs::set_permissions(path, fs::Permissions::from_mode(0o600)) {
            tracing::warn!(path = %path.display(), error = %e, "cannot restrict the secret's permissions");
        }
    }
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) {}

/// Everything but the RFC 3986 unreserved characters is encoded in a key's segments.
const KEY_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode each segment of a key.
pub(crate) fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|segment| utf8_percent_encode(segment, KEY_SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// `None` unless every `%` is followed by two hex digits (the crate would pass a stray `%`
/// through as it is) and the bytes are UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let escapes_whole = s.split('%').skip(1).all(|rest| {
        rest.as_bytes()
            .first_chunk::<2>()
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_whole {
        return None;
    }
    percent_decode_str(s).decode_utf8().ok().map(String::from)
}

/// `/objects/{ws}/{key…}` → (workspace, key), both decoded and valid.
fn parse_object_path(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix(OBJECTS_PREFIX)?;
    let (ws, key) = rest.split_once('/')?;
    let ws = percent_decode(ws)?;
    let key = percent_decode(key)?;
    validate::workspace_id(&ws).ok()?;
    validate::file_key(&key).ok()?;
    Some((ws, key))
}

#[cfg(test)]
mod tests;
