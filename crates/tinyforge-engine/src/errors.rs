//! Classifies bollard's errors into the contract's [`EngineError`].

use bollard::errors::Error;
use tinyforge_plugin::ports::EngineError;

/// Any daemon call's error.
pub fn classify(e: Error) -> EngineError {
    match e {
        Error::DockerResponseServerError { status_code: 404, message } => EngineError::NotFound(message),
        Error::DockerResponseServerError { status_code: 409, message } => EngineError::Conflict(message),
        Error::DockerResponseServerError { status_code, message } => {
            EngineError::Other(format!("{status_code}: {message}"))
        }
        Error::IOError { err } => EngineError::Unreachable(err.to_string()),
        Error::HyperResponseError { err } => EngineError::Unreachable(err.to_string()),
        Error::HyperLegacyError { err } => EngineError::Unreachable(err.to_string()),
        Error::SocketNotFoundError(p) => EngineError::Unreachable(format!("no socket at {p}")),
        other => EngineError::Other(other.to_string()),
    }
}

/// A pull's error: the registry's refusal and a missing image get their own kinds.
pub fn classify_pull(e: Error, reference: &str) -> EngineError {
    let text = e.to_string().to_ascii_lowercase();
    if ["unauthorized", "denied", "authentication required", "no basic auth credentials"]
        .iter()
        .any(|w| text.contains(w))
    {
        return EngineError::PullDenied(reference.to_owned());
    }
    if ["not found", "manifest unknown", "does not exist"].iter().any(|w| text.contains(w)) {
        return EngineError::ImageNotFound(reference.to_owned());
    }
    match classify(e) {
        EngineError::NotFound(_) => EngineError::ImageNotFound(reference.to_owned()),
        other => other,
    }
}
