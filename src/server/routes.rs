//! The router, the `/v1` JSON routes, and the middleware that counts requests, logs them
//! (path only: a presigned URL's query is a credential) and turns every error answer —
//! axum's own rejections included — into the contract's JSON shape.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, FromRequest, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::auth::Authed;
use super::error::ErrorReply;
use super::presign::PutTerms;
use super::{AppState, KeyStyle, objects, upload, validate};
use crate::wire::{
    DownloadUrlResponse, ListResponse, MAX_PUT_BYTES, UploadConfirmRequest, UploadUrlRequest,
    UploadUrlResponse, Workspace, WorkspacesResponse,
};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/files", get(list).delete(delete))
        .route("/v1/files/download", get(download_url))
        .route(
            "/v1/files/upload",
            post(upload::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/files/upload-url", post(upload_url))
        .route("/v1/files/upload-confirm", post(upload_confirm))
        .route("/v1/workspaces", get(workspaces))
        .route(
            "/objects/{*object}",
            get(objects::get_object)
                .head(objects::get_object)
                .put(objects::put_object)
                .layer(DefaultBodyLimit::disable()),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn not_found() -> ErrorReply {
    ErrorReply::not_found("no such route")
}

async fn method_not_allowed() -> ErrorReply {
    ErrorReply::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "method not allowed on this route",
    )
}

async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    state.stats.requests.fetch_add(1, Ordering::Relaxed);
    let method = request.method().clone();
    // Never the query: on the byte routes it holds the signature.
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "request"
    );
    as_json_error(response).await
}

/// Rewrite an error answer that is not JSON (an extractor's rejection, say) into the
/// contract's shape, keeping its status and other headers.
async fn as_json_error(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let message = if status.is_server_error() {
        tracing::error!(status = status.as_u16(), detail = %text, "internal error");
        "internal server error".to_string()
    } else if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let replacement =
        ErrorReply::new(status, ErrorReply::code_for(status), message).into_response();
    let (new_parts, new_body) = replacement.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in new_parts.headers.iter() {
        parts.headers.insert(name.clone(), value.clone());
    }
    Response::from_parts(parts, new_body)
}

/// A JSON body (whatever its `Content-Type` says) whose rejections are `400 invalid_request`,
/// or `413` past the default 2 MB body limit.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ErrorReply;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ErrorReply::too_large("the JSON body is too large")
                } else {
                    ErrorReply::invalid(rejection.body_text())
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ErrorReply::invalid(format!("invalid JSON body: {e}")))
    }
}

/// Query parameters (the last of repeated ones wins).
struct Params(HashMap<String, String>);

impl Params {
    fn parse(query: Option<String>) -> Self {
        Params(
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The validated `key` parameter.
    fn key(&self) -> Result<&str, ErrorReply> {
        let key = self
            .get("key")
            .ok_or_else(|| ErrorReply::invalid("key is required"))?;
        validate::file_key(key).map_err(ErrorReply::invalid)?;
        Ok(key)
    }
}

fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

fn decode_cursor(cursor: &str) -> Result<String, ErrorReply> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| ErrorReply::invalid("cursor is not one this server handed out"))
}

/// Run an index call on the store's own threads (never tokio's blocking pool, which
/// uploads use).
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> Result<T, super::error::StoreError> + Send + 'static,
) -> Result<T, ErrorReply> {
    state
        .db
        .run(f)
        .await
        .map_err(|e| ErrorReply::internal("store task", e))?
        .map_err(ErrorReply::from)
}

/// Lists up to this long are cheap enough to share the index threads with lookups; longer
/// ones are kept off one of them, so a flood of them cannot starve the rest.
const CHEAP_LIST_LIMIT: usize = 100;

/// `GET /v1/files?workspace_id&prefix&limit&cursor`
async fn list(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    RawQuery(query): RawQuery,
) -> Result<Json<ListResponse>, ErrorReply> {
    let params = Params::parse(query);
    let ws = auth.workspace(params.get("workspace_id"))?;
    let prefix = params.get("prefix").unwrap_or("").to_string();
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.trim().parse::<u64>() {
            Ok(0) | Err(_) => {
                return Err(ErrorReply::invalid(
                    "limit must be a whole number from 1 to 10000",
                ));
            }
            Ok(n) => usize::try_from(n).map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT)),
        },
    };
    let cursor = params.get("cursor").map(decode_cursor).transpose()?;
    let store = state.store.clone();
    let call = move || store.list(&ws, &prefix, cursor.as_deref(), limit);
    let (files, more) = if limit > CHEAP_LIST_LIMIT {
        state
            .db
            .run_heavy(call)
            .await
            .map_err(|e| ErrorReply::internal("store task", e))??
    } else {
        blocking(&state, call).await?
    };
    let next_cursor = if more {
        files.last().map(|f| encode_cursor(&f.key))
    } else {
        None
    };
    Ok(Json(ListResponse { files, next_cursor }))
}

/// `DELETE /v1/files?workspace_id&key`
async fn delete(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    RawQuery(query): RawQuery,
) -> Result<StatusCode, ErrorReply> {
    let params = Params::parse(query);
    let ws = auth.workspace(params.get("workspace_id"))?;
    let key = params.key()?.to_string();
    let missing = format!("no file {key}");
    let deleted = match &state.bucket {
        Some(bucket) => bucket.delete(&ws, &key).await?,
        None => {
            let store = state.store.clone();
            blocking(&state, move || store.delete(&ws, &key)).await?
        }
    };
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ErrorReply::not_found(missing))
    }
}

/// `GET /v1/files/download?workspace_id&key`
async fn download_url(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    RawQuery(query): RawQuery,
) -> Result<Json<DownloadUrlResponse>, ErrorReply> {
    let params = Params::parse(query);
    let ws = auth.workspace(params.get("workspace_id"))?;
    let key = params.key()?.to_string();
    if let Some(bucket) = &state.bucket {
        let url = bucket
            .download_url(&ws, &key, state.presign_ttl)
            .await?
            .ok_or_else(|| ErrorReply::not_found(format!("no file {key}")))?;
        return Ok(Json(DownloadUrlResponse {
            url,
            expires_in: Some(state.presign_ttl.as_secs()),
        }));
    }
    let store = state.store.clone();
    let (lookup_ws, lookup_key) = (ws.clone(), key.clone());
    blocking(&state, move || store.get(&lookup_ws, &lookup_key))
        .await?
        .ok_or_else(|| ErrorReply::not_found(format!("no file {key}")))?;
    let url = state
        .signer
        .url(&state.public_url, "GET", &ws, &key, state.presign_ttl, None);
    Ok(Json(DownloadUrlResponse {
        url,
        expires_in: Some(state.presign_ttl.as_secs()),
    }))
}

/// `POST /v1/files/upload-url`
async fn upload_url(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    JsonBody(request): JsonBody<UploadUrlRequest>,
) -> Result<Json<UploadUrlResponse>, ErrorReply> {
    let ws = auth.workspace(Some(&request.workspace_id))?;
    let path = validate::folder_path(request.path.as_deref().unwrap_or(""))
        .map_err(ErrorReply::invalid)?;
    validate::file_name(&request.filename).map_err(ErrorReply::invalid)?;
    let display = format!("{path}{}", request.filename);
    validate::file_key(&display).map_err(ErrorReply::invalid)?;
    validate::content_type(&request.content_type).map_err(ErrorReply::invalid)?;
    if request.size > MAX_PUT_BYTES {
        return Err(ErrorReply::invalid(format!(
            "size {} is over the {MAX_PUT_BYTES}-byte limit of one PUT",
            request.size
        )));
    }
    let store = state.store.clone();
    let check_ws = ws.clone();
    blocking(&state, move || store.check_collision(&check_ws, &display)).await?;
    // Minted now, so repeated PUTs of this URL are one upload; in opaque style the URL
    // carries the display path to the PUT, and the pending upload keeps it for the confirm.
    let key = state.store.new_key(&path, &request.filename);
    if let Some(bucket) = &state.bucket {
        let upload_url = bucket
            .upload_url(
                &ws,
                &key,
                (path, request.filename),
                request.content_type.trim(),
                request.size,
                state.presign_ttl,
            )
            .await?;
        return Ok(Json(UploadUrlResponse {
            upload_url,
            file_key: key,
            expires_in: Some(state.presign_ttl.as_secs()),
        }));
    }
    let display = match state.store.key_style() {
        KeyStyle::Path => None,
        KeyStyle::Opaque => Some((path, request.filename)),
    };
    let terms = PutTerms {
        content_type: request.content_type.trim().to_string(),
        size: request.size,
        upload: state.store.new_upload_id(),
        key_id: super::inflight::key_id(&auth.key().token),
        display,
    };
    let upload_url = state.signer.url(
        &state.public_url,
        "PUT",
        &ws,
        &key,
        state.presign_ttl,
        Some(&terms),
    );
    Ok(Json(UploadUrlResponse {
        upload_url,
        file_key: key,
        expires_in: Some(state.presign_ttl.as_secs()),
    }))
}

/// `POST /v1/files/upload-confirm`: the file object in path style, `{"key"}` alone in
/// opaque style (contract: "Key styles").
async fn upload_confirm(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    JsonBody(request): JsonBody<UploadConfirmRequest>,
) -> Result<Response, ErrorReply> {
    let ws = auth.workspace(Some(&request.workspace_id))?;
    validate::file_key(&request.file_key).map_err(ErrorReply::invalid)?;
    validate::file_name(&request.filename).map_err(ErrorReply::invalid)?;
    let entry = match &state.bucket {
        Some(bucket) => {
            bucket
                .confirm(&ws, &request.file_key, &request.filename, request.size)
                .await?
        }
        None => {
            let store = state.store.clone();
            blocking(&state, move || {
                store.confirm(&ws, &request.file_key, &request.filename, request.size)
            })
            .await?
        }
    };
    Ok(match state.store.key_style() {
        KeyStyle::Path => Json(entry).into_response(),
        KeyStyle::Opaque => Json(ConfirmedKey { key: entry.key }).into_response(),
    })
}

/// The opaque style's confirm answer.
#[derive(serde::Serialize)]
struct ConfirmedKey {
    key: String,
}

/// `GET /v1/workspaces`: for `*` the workspaces holding files, plus any named ones.
async fn workspaces(
    State(state): State<Arc<AppState>>,
    auth: Authed,
) -> Result<Json<WorkspacesResponse>, ErrorReply> {
    let mut ids: Vec<String> = auth
        .key()
        .workspaces
        .iter()
        .filter(|w| *w != "*")
        .cloned()
        .collect();
    if auth.key().all_workspaces() {
        let store = state.store.clone();
        ids.extend(blocking(&state, move || store.workspaces()).await?);
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    let workspaces = ids
        .into_iter()
        .map(|id| Workspace {
            name: Some(id.clone()),
            id,
        })
        .collect();
    Ok(Json(WorkspacesResponse { workspaces }))
}
