//! What an AWS error means for netplan: the SDK's error turned into the engine's `ProviderError`, its
//! kind decided by AWS's error code (EC2 has no modeled errors: codes are strings) and, without a code,
//! by what happened to the request (a timeout, a broken connection, a 5xx).

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use netplan_engine::provider::{ErrorKind, ProviderError};

type HttpResponse = aws_sdk_ec2::config::http::HttpResponse;

/// Codes that mean AWS refused before acting: retried after a pause.
const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "SlowDown",
    // Lambda's own EC2 calls throttled (a 502): nothing was done.
    "EC2ThrottledException",
    // IAM: "multiple requests to change this object were submitted simultaneously" — refused, try
    // again (its documentation says so).
    "ConcurrentModification",
    "ConcurrentModificationException",
];

/// Codes that mean the identity may not make this call.
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
];

/// Codes that mean the service failed: the request may or may not have taken effect.
const UNAVAILABLE: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "ServiceFailure",
    "ServiceException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Codes that mean something else still uses the object (and that it may go away).
const IN_USE: &[&str] = &[
    "DependencyViolation",
    "DeleteConflict",
    "ResourceInUse",
    "ResourceInUseException",
    "InvalidIPAddress.InUse",
    "InvalidNetworkInterface.InUse",
    "ResourceConflictException",
];

/// Maps an AWS error code, its message and the HTTP status to what the engine should do with it.
/// Known codes first; then the code's shape (`*.NotFound`, `Invalid*`); a code netplan does not know
/// answered with a 5xx is the service failing (its outcome unknown), with a 4xx the request refused.
pub(crate) fn classify(code: &str, message: &str, status: Option<u16>) -> ErrorKind {
    if THROTTLED.contains(&code) {
        return ErrorKind::Throttled;
    }
    if DENIED.contains(&code) {
        return ErrorKind::Denied;
    }
    if UNAVAILABLE.contains(&code) {
        return ErrorKind::Unavailable;
    }
    if IN_USE.contains(&code) {
        // A conflict because the object already exists is not something going away.
        return if message.contains("already exist") {
            ErrorKind::InvalidInput
        } else {
            ErrorKind::DependencyViolation
        };
    }
    if code == "IdempotentParameterMismatch" {
        return ErrorKind::IdempotencyMismatch;
    }
    // A new role Lambda cannot assume yet, or whose policy is not effective yet.
    if code == "InvalidParameterValueException"
        && (message.contains("cannot be assumed") || message.contains("does not have permissions"))
    {
        return ErrorKind::EventualConsistency;
    }
    if code.ends_with(".NotFound")
        || code.ends_with("NotFound")
        || code == "NoSuchEntity"
        || code == "ResourceNotFoundException"
        || code == "NotFoundException"
    {
        return ErrorKind::NotFound;
    }
    // Lambda answers some bad input with a 502 (InvalidSubnetIDException): "invalid" is about the
    // request whatever the status.
    if code.starts_with("Invalid")
        || code == "MissingParameter"
        || code.ends_with(".Duplicate")
        || code == "EntityAlreadyExists"
        || code.contains("AlreadyAssociated")
    {
        return ErrorKind::InvalidInput;
    }
    if status.is_some_and(|s| s >= 500) {
        return ErrorKind::Unavailable;
    }
    if code.ends_with("Exception") || code.contains("Conflict") || code.ends_with("LimitExceeded") {
        return ErrorKind::InvalidInput;
    }
    ErrorKind::Other
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
        (None, Some(403)) if code.is_none() => {
            "the endpoint answered HTTP 403 (access denied) without an AWS error".to_string()
        }
        (None, Some(s)) if code.is_none() => format!(
            "the endpoint answered HTTP {s} without an AWS error (an emulator's unimplemented call?)"
        ),
        _ => aws_sdk_ec2::error::DisplayErrorContext(e).to_string(),
    };
    let (kind, ending) = match (&code, e) {
        (Some(c), _) => (classify(c, &message, status), Ending::Answered),
        (None, SdkError::TimeoutError(_)) => (ErrorKind::Unavailable, Ending::TimedOut),
        (None, SdkError::DispatchFailure(d)) if d.is_timeout() => {
            (ErrorKind::Unavailable, Ending::TimedOut)
        }
        (None, SdkError::DispatchFailure(_)) => (ErrorKind::Unavailable, Ending::NoConnection),
        // A 403 whose body the SDK cannot read is still a refusal of authorization, never an outage.
        (None, _) if status == Some(403) => (ErrorKind::Denied, Ending::Answered),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// (code, message, status) → kind: one case per line, one runner.
    #[test]
    fn classify_table() {
        use ErrorKind::*;
        let cases: &[(&str, &str, Option<u16>, ErrorKind)] = &[
            ("RequestLimitExceeded", "Request limit exceeded.", Some(503), Throttled),
            ("Throttling", "Rate exceeded", Some(400), Throttled),
            ("TooManyRequestsException", "Rate exceeded", Some(429), Throttled),
            ("ConcurrentModification", "multiple requests to change this object", Some(409), Throttled),
            ("EC2ThrottledException", "Lambda was throttled by EC2", Some(502), Throttled),
            ("InternalError", "We encountered an internal error.", Some(500), Unavailable),
            ("ServiceFailure", "internal", Some(500), Unavailable),
            ("ServiceException", "internal", Some(500), Unavailable),
            // A code netplan does not list: the status decides.
            ("SomethingNew", "the service had a problem", Some(503), Unavailable),
            ("SomethingNewException", "the service had a problem", Some(500), Unavailable),
            ("SomethingNewException", "bad request", Some(400), InvalidInput),
            ("SomethingNew", "bad request", Some(400), Other),
            ("SomethingNew", "no status", None, Other),
            // Invalid is about the input, even answered with a 5xx (Lambda's 502s).
            ("InvalidSubnetIDException", "subnet-1 does not exist", Some(502), InvalidInput),
            ("InvalidParameterValue", "bad CIDR", Some(400), InvalidInput),
            ("InvalidSubnet.Conflict", "conflicts", Some(400), InvalidInput),
            ("InvalidPermission.Duplicate", "exists", Some(400), InvalidInput),
            ("EntityAlreadyExists", "Role with name x already exists.", Some(409), InvalidInput),
            ("Resource.AlreadyAssociated", "associated", Some(400), InvalidInput),
            ("RouteLimitExceeded", "too many routes", Some(400), InvalidInput),
            ("AddressLimitExceeded", "too many addresses", Some(400), InvalidInput),
            ("DependencyViolation", "has dependencies", Some(400), DependencyViolation),
            ("DeleteConflict", "must detach all policies first", Some(409), DependencyViolation),
            ("InvalidIPAddress.InUse", "in use", Some(400), DependencyViolation),
            ("ResourceConflictException", "The operation cannot be performed at this time. An update is in progress", Some(409), DependencyViolation),
            ("ResourceConflictException", "Function already exist: x", Some(409), InvalidInput),
            ("IdempotentParameterMismatch", "other parameters", Some(400), IdempotencyMismatch),
            ("InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.", Some(400), EventualConsistency),
            ("InvalidParameterValueException", "The provided execution role does not have permissions to call CreateNetworkInterface on EC2", Some(400), EventualConsistency),
            ("InvalidParameterValueException", "Unzipped size must be smaller than 262144000 bytes", Some(400), InvalidInput),
            ("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist", Some(400), NotFound),
            ("NoSuchEntity", "The role with name r cannot be found.", Some(404), NotFound),
            ("ResourceNotFoundException", "Function not found", Some(404), NotFound),
            ("UnauthorizedOperation", "You are not authorized to perform this operation.", Some(403), Denied),
            ("AccessDenied", "User: arn:aws:iam::1:user/u is not authorized to perform: iam:CreateRole", Some(403), Denied),
            ("AccessDeniedException", "not authorized", Some(403), Denied),
        ];
        let mut wrong = vec![];
        for (code, message, status, want) in cases {
            let got = classify(code, message, *status);
            if got != *want {
                wrong.push(format!(
                    "{code} {status:?} {message:?}: {got:?}, want {want:?}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
