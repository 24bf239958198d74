//! The Files API's routes as a test calls them over HTTP, with one bearer token: each
//! call's answer checked for the success the test needs, or handed back whole.

// Each test crate includes this file and uses a different part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use filedeck::wire::{FileEntry, ListResponse, UploadUrlResponse};
use reqwest::Client;
use serde_json::json;

/// An HTTP client that sends `token`; it derefs to the client, for byte requests.
pub struct Api {
    client: Client,
    token: &'static str,
}

impl std::ops::Deref for Api {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Api {
    pub fn new(token: &'static str) -> Api {
        Api {
            client: Client::builder().no_proxy().build().unwrap(),
            token,
        }
    }
}

/// Every file of workspace `ws` (one page of up to 10,000).
pub async fn list(api: &Api, base: &str, ws: &str) -> Vec<FileEntry> {
    let answer: ListResponse = api
        .get(format!("{base}/v1/files"))
        .bearer_auth(api.token)
        .query(&[("workspace_id", ws), ("limit", "10000")])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    answer.files
}

/// A multipart upload of `bytes` as `path + name`, which must be stored.
pub async fn upload(
    api: &Api,
    base: &str,
    ws: &str,
    path: &str,
    name: &str,
    bytes: &[u8],
) -> FileEntry {
    let form = reqwest::multipart::Form::new()
        .text("workspace_id", ws.to_string())
        .text("path", path.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        );
    api.post(format!("{base}/v1/files/upload"))
        .bearer_auth(api.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Step 1 of the large flow, which must be answered.
pub async fn upload_url(
    api: &Api,
    base: &str,
    ws: &str,
    name: &str,
    content_type: &str,
    size: u64,
) -> UploadUrlResponse {
    api.post(format!("{base}/v1/files/upload-url"))
        .bearer_auth(api.token)
        .json(&json!({"workspace_id": ws, "filename": name, "content_type": content_type, "size": size}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Step 3 of the large flow: the answer's status.
pub async fn confirm(api: &Api, base: &str, ws: &str, key: &str, name: &str, size: u64) -> u16 {
    api.post(format!("{base}/v1/files/upload-confirm"))
        .bearer_auth(api.token)
        .json(&json!({"workspace_id": ws, "file_key": key, "filename": name, "size": size}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The answer's status.
pub async fn delete(api: &Api, base: &str, ws: &str, key: &str) -> u16 {
    api.delete(format!("{base}/v1/files"))
        .bearer_auth(api.token)
        .query(&[("workspace_id", ws), ("key", key)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The answer, whole.
pub async fn download_url(api: &Api, base: &str, ws: &str, key: &str) -> reqwest::Response {
    api.get(format!("{base}/v1/files/download"))
        .bearer_auth(api.token)
        .query(&[("workspace_id", ws), ("key", key)])
        .send()
        .await
        .unwrap()
}

/// Poll `check` every 20 ms for up to `secs`; whether it ever held.
pub async fn eventually(secs: u64, mut check: impl AsyncFnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(secs) {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
