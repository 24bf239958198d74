//! The checks a scripting command passes before it does anything: the endpoint, the
//! API key, the workspace and its arguments, each with the message a user can act on.

use super::Failure;
use crate::api::{ApiKey, Client, ClientConfig};

// A scripting command's problems are reported in the order they must be fixed: the
// endpoint, the key (both from the environment, usually set once), then the workspace,
// then what to work on. Clap would name a missing -w first, and the user who adds it
// then learns that nothing would have worked anyway.

pub(super) fn required_workspace(ws: Option<String>, command: &str) -> Result<String, Failure> {
    ws.ok_or_else(|| {
        Failure::Usage(format!(
            "no workspace: pass -w WS (`filedeck {command} --help`); \
             the browser (`filedeck` alone) lists the workspaces of your key"
        ))
    })
}

pub(super) fn required_args<T>(
    args: &[T],
    command: &str,
    name: &str,
    what: &str,
) -> Result<(), Failure> {
    if args.is_empty() {
        return Err(Failure::Usage(format!(
            "no {name} given: pass the {what} (`filedeck {command} --help`)"
        )));
    }
    Ok(())
}

pub(super) fn client(endpoint: Option<String>) -> Result<Client, Failure> {
    Ok(Client::new(client_config(endpoint)?)?)
}

/// The endpoint and key, checked as far as [`Client::new`] would check them, without
/// building the HTTP client (which reads every CA certificate of the system).
pub(super) fn client_config(endpoint: Option<String>) -> Result<ClientConfig, Failure> {
    let endpoint = endpoint.ok_or_else(|| {
        Failure::Usage("no endpoint: pass --endpoint URL or set FILEDECK_ENDPOINT".into())
    })?;
    let key = ApiKey::from_env()
        .ok_or_else(|| Failure::Usage("no API key: set FILEDECK_API_KEY".into()))?;
    // The key travels as `Authorization: Bearer KEY`, which `Client::new` refuses to
    // build from a key that is no header value: the browser must know before it takes
    // the terminal. `ApiKey` never hands its text out, so this reads what it read.
    let text = std::env::var(crate::config::API_KEY_ENV).unwrap_or_default();
    if reqwest::header::HeaderValue::from_str(&format!("Bearer {}", text.trim())).is_err() {
        return Err(Failure::Usage(
            "the API key (FILEDECK_API_KEY) contains characters not allowed in a header".into(),
        ));
    }
    ClientConfig::new(&endpoint, key).map_err(|e| Failure::Usage(e.to_string()))
}
