//! Wire types of the Files API, shared by the client and the reference server.
//!
//! The server serialises exactly these shapes; the client deserialises them tolerantly
//! (every optional field may be missing, unknown fields are ignored, aliases accepted).

use serde::{Deserialize, Serialize};

/// One stored file as the list, upload and confirm routes describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The address of the file in API calls; may be opaque on the hosted service.
    #[serde(alias = "fileKey", alias = "file_key")]
    pub key: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Folder of the file: `""` or ending in `/`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub path: String,
    /// Absent means unknown, never 0: the hosted service may omit it (a ranged GET of the
    /// file's bytes then tells it).
    #[serde(default, deserialize_with = "lenient_size")]
    pub size: Option<u64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub etag: Option<String>,
}

/// `null` reads as the default (an empty path or name): servers send `null` for what
/// they do not know, e.g. a root file's path.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A size as a whole number of bytes; anything else (negative, fractional, a string, an
/// object…) is read as unknown rather than failing the whole listing over one entry.
fn lenient_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a size in bytes")
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(u64::try_from(v).ok())
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            while a
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

impl FileEntry {
    /// An entry known only by its key: its name and path read from the key, every other
    /// field unknown (absent, never 0).
    pub fn of_key(key: &str) -> Self {
        FileEntry {
            key: key.to_string(),
            name: String::new(),
            path: String::new(),
            size: None,
            description: None,
            content_type: None,
            created_at: None,
            sha256: None,
            etag: None,
        }
        .normalise()
    }

    /// Fill in `name`/`path` from the key when a server omitted them, so identity
    /// (`path + name`) is always defined.
    pub fn normalise(mut self) -> Self {
        if self.name.is_empty() {
            let (path, name) = split_key(&self.key);
            self.name = name.to_string();
            if self.path.is_empty() {
                self.path = path.to_string();
            }
        }
        if !self.path.is_empty() && !self.path.ends_with('/') {
            self.path.push('/');
        }
        self
    }

    /// The identity of the file: its folder plus its name.
    pub fn display_key(&self) -> String {
        format!("{}{}", self.path, self.name)
    }
}

/// Split `a/b/c.txt` into (`a/b/`, `c.txt`).
pub fn split_key(key: &str) -> (&str, &str) {
    match key.rfind('/') {
        Some(i) => (&key[..=i], &key[i + 1..]),
        None => ("", key),
    }
}

/// The deepest folder ("" or ending in '/') containing all of `folders`.
pub fn common_folder(folders: &[String]) -> String {
    let Some((first, rest)) = folders.split_first() else {
        return String::new();
    };
    let mut common = first.as_str();
    for f in rest {
        while !f.starts_with(common) {
            let trimmed = common.trim_end_matches('/');
            common = match trimmed.rfind('/') {
                Some(i) => &common[..=i],
                None => "",
            };
        }
    }
    common.to_string()
}

/// `GET /v1/files` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListResponse {
    pub files: Vec<FileEntry>,
    pub next_cursor: Option<String>,
}

/// `GET /v1/files/download` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DownloadUrlResponse {
    #[serde(alias = "downloadUrl", alias = "download_url")]
    pub url: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// `POST /v1/files/upload-url` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadUrlRequest {
    pub filename: String,
    pub workspace_id: String,
    pub content_type: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `POST /v1/files/upload-url` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadUrlResponse {
    #[serde(rename = "uploadUrl", alias = "upload_url", alias = "url")]
    pub upload_url: String,
    #[serde(rename = "fileKey", alias = "file_key", alias = "key")]
    pub file_key: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// `POST /v1/files/upload-confirm` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadConfirmRequest {
    pub file_key: String,
    pub workspace_id: String,
    pub filename: String,
    pub size: u64,
}

/// One workspace from the `GET /v1/workspaces` extension route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkspacesResponse {
    pub workspaces: Vec<Workspace>,
}

/// The contract's error body: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// The largest single PUT the large-upload flow accepts (5 GiB, as on S3).
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// The reference server's multipart limit: 500 MiB, the lenient reading of "500 MB".
pub const MULTIPART_LIMIT_BYTES: u64 = 500 * 1024 * 1024;
/// The client's strict reading of "500 MB": larger files take the large-upload flow.
pub const LARGE_UPLOAD_THRESHOLD: u64 = 500_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_folders() {
        let f = |v: &[&str]| common_folder(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(f(&["run7/lane1/", "run7/lane2/", "run7/"]), "run7/");
        assert_eq!(f(&["a/b/", "a/bc/"]), "a/");
        assert_eq!(f(&["x/", "y/"]), "");
        assert_eq!(f(&[]), "");
    }

    #[test]
    fn odd_sizes_are_unknown() {
        for (size, want) in [
            ("12", Some(12)),
            ("-1", None),
            ("\"12\"", None),
            ("1.5", None),
            ("1e30", None),
            ("true", None),
            ("{}", None),
            ("[1]", None),
            ("null", None),
        ] {
            let e: FileEntry =
                serde_json::from_str(&format!(r#"{{"key":"k","size":{size}}}"#)).unwrap();
            assert_eq!(e.size, want, "{size}");
        }
        let e: FileEntry = serde_json::from_str(r#"{"key":"k"}"#).unwrap();
        assert_eq!(e.size, None);
    }

    #[test]
    fn normalise_completes_identity() {
        let e: FileEntry =
            serde_json::from_str(r#"{"key":"opaque","name":"a.vcf","path":"raw","size":null}"#)
                .unwrap();
        assert_eq!(e.normalise().display_key(), "raw/a.vcf");
        let e: FileEntry = serde_json::from_str(r#"{"key":"raw/b.vcf","path":null}"#).unwrap();
        assert_eq!(e.normalise().display_key(), "raw/b.vcf");
    }
}
