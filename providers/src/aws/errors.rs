//! What an AWS error means for netplan: the SDK's error turned into the engine's `ProviderError`, its
//! kind decided by AWS's error code (EC2 has no modeled errors: codes are strings) and, without a code,
//! by what happened to the request (a timeout, a broken connection, a 5xx).

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use netplan_engine::provider::{ErrorKind, ProviderError};

type HttpResponse = aws_sdk_ec2::config::http::HttpResponse;

/// Maps an AWS error code (and message) to what the engine should do with it.
pub(crate) fn classify(code: &str, message: &str) -> ErrorKind {
    match code {
        // Refused before anything was done.
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "SlowDown" => ErrorKind::Throttled,
        // The service failed: the request may or may not have taken effect.
        "InternalError"
        | "InternalFailure"
        | "ServiceFailure"
        | "ServiceException"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "Unavailable"
        | "RequestTimeout"
        | "RequestTimeoutException" => ErrorKind::Unavailable,
        "DependencyViolation"
        | "DeleteConflict"
        | "ResourceInUse"
        | "ResourceInUseException"
        | "InvalidIPAddress.InUse"
        | "InvalidNetworkInterface.InUse"
        | "ResourceConflictException"
            if !message.contains("already exist") =>
        {
            ErrorKind::DependencyViolation
        }
        "IdempotentParameterMismatch" => ErrorKind::IdempotencyMismatch,
        // A new role Lambda cannot assume yet, or whose policy is not effective yet.
        "InvalidParameterValueException"
            if message.contains("cannot be assumed")
                || message.contains("does not have permissions") =>
        {
            ErrorKind::EventualConsistency
        }
        c if c.ends_with(".NotFound")
            || c.ends_with("NotFound")
            || c == "NoSuchEntity"
            || c == "ResourceNotFoundException"
            || c == "NotFoundException" =>
        {
            ErrorKind::NotFound
        }
        c if c.starts_with("Invalid")
            || c.ends_with("Exception")
            || c == "MissingParameter"
            || c.ends_with(".Duplicate")
            || c == "EntityAlreadyExists"
            || c.contains("AlreadyAssociated")
            || c.contains("Conflict") =>
        {
            ErrorKind::InvalidInput
        }
        _ => ErrorKind::Other,
    }
}

/// How a failed request ended, for the request layer's retry decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// AWS answered with an error.
    Answered,
    /// No answer in time: the request may have been carried out.
    TimedOut,
    /// The connection failed (refused, reset): the request may have been sent.
    NoConnection,
}

/// Turns any SDK error into the engine's error, keeping AWS's code and message, with the request id
/// when AWS gave one.
pub(crate) fn from_sdk<E>(action: &str, e: &SdkError<E, HttpResponse>) -> (ProviderError, Ending)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().map(str::to_string);
    let status = e.raw_response().map(|r| r.status().as_u16());
    let message = match (e.message(), status) {
        (Some(m), _) => m.to_string(),
        (None, Some(s)) if code.is_none() => format!(
            "the endpoint answered HTTP {s} without an AWS error (an emulator's unimplemented call?)"
        ),
        _ => aws_sdk_ec2::error::DisplayErrorContext(e).to_string(),
    };
    let (kind, ending) = match (&code, e) {
        (Some(c), _) => (classify(c, &message), Ending::Answered),
        (None, SdkError::TimeoutError(_)) => (ErrorKind::Unavailable, Ending::TimedOut),
        (None, SdkError::DispatchFailure(d)) if d.is_timeout() => {
            (ErrorKind::Unavailable, Ending::TimedOut)
        }
        (None, SdkError::DispatchFailure(_)) => (ErrorKind::Unavailable, Ending::NoConnection),
        (None, SdkError::ResponseError(_)) => (ErrorKind::Unavailable, Ending::Answered),
        (None, _) if status.is_some_and(|s| s >= 500) => (ErrorKind::Unavailable, Ending::Answered),
        (None, _) if status == Some(429) => (ErrorKind::Throttled, Ending::Answered),
        _ => (ErrorKind::Other, Ending::Answered),
    };
    let request = e
        .request_id()
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default();
    let mut err = ProviderError::new(kind, format!("{action}: {message}{request}"));
    err.code = code;
    (err, ending)
}
