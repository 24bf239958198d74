//! The checks a scripting command passes before it does anything: the endpoint, the
//! API key, the workspace and its arguments, each with the message a user can act on.

use super::Failure;
use crate::api::{ApiKey, Client, ClientConfig};
use crate::config::Settings;

// A scripting command's problems are reported in the order they must be fixed: the
// endpoint, the key (both from the environment, usually set once), then the workspace,
// then what to work on. Clap would name a missing -w first, and the user who adds it
// then learns that nothing would have worked anyway.

/// `-w WS`, else the profile's workspace when it names exactly one.
pub(super) fn required_workspace(
    ws: Option<String>,
    settings: &Settings,
    command: &str,
) -> Result<String, Failure> {
    if let Some(ws) = ws {
        return Ok(ws);
    }
    match settings.workspaces.value.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Failure::Usage(format!(
            "no workspace: pass -w WS (`filedeck {command} --help`); \
             the browser (`filedeck` alone) lists the workspaces of your key"
        ))),
        several => Err(Failure::Usage(format!(
            "no workspace: pass -w WS; {} lists several ({})",
            settings.workspaces.from,
            several.join(", ")
        ))),
    }
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

pub(super) fn client(settings: &Settings) -> Result<Client, Failure> {
    Ok(Client::new(client_config(settings)?)?)
}

/// The endpoint and its key (read from its layer), checked as far as [`Client::new`] would
/// check them, without building the HTTP client (which reads every CA certificate of the
/// system).
pub(super) fn client_config(settings: &Settings) -> Result<ClientConfig, Failure> {
    let (endpoint, key) = settings
        .endpoint_and_key(&crate::config::text)
        .map_err(Failure::Usage)?;
    // The key travels as `Authorization: Bearer KEY`, which `Client::new` refuses to
    // build from a key that is no header value: the browser must know before it takes
    // the terminal.
    if reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).is_err() {
        return Err(Failure::Usage(
            "the API key contains characters not allowed in a header".into(),
        ));
    }
    let mut cfg = ClientConfig::new(&endpoint, ApiKey::new(key))
        .map_err(|e| Failure::Usage(e.to_string()))?;
    cfg.limit_rate = settings.limit_rate.value;
    Ok(cfg)
}
