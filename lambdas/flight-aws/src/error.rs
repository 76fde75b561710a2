//! From AWS SDK errors to the ports' errors, keeping the context (operation,
//! table, key) and whether trying again may help.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use flight_core::ports::StoreError;

/// Error codes that say "try again later" (DynamoDB and CloudWatch spellings).
const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "InternalServiceError",
    "InternalServiceFault",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "LimitExceededException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Cancellation reasons of a transaction that a retry may get past.
pub(crate) const RETRYABLE_REASONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

/// Whether an SDK error may go away when the call is tried again, and its description.
///
/// Timeouts, connection failures, unparseable responses, throttling, 5xx and
/// transaction conflicts are retryable; validation and other client errors are not.
pub(crate) fn classify<E>(err: &SdkError<E>) -> (bool, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let description = DisplayErrorContext(err).to_string();
    let retryable = match err {
        SdkError::ConstructionFailure(_) => false,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(context) => {
            let status = context.raw().status();
            let code = context.err().code().unwrap_or_default();
            status.is_server_error() || status.as_u16() == 429 || RETRYABLE_CODES.contains(&code)
        }
        _ => true,
    };
    (retryable, description)
}

/// A [`StoreError`] for a failed DynamoDB call.
pub(crate) fn store_error<E>(operation: &str, context: &str, err: &SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (retryable, description) = classify(err);
    StoreError {
        message: format!("{operation} on {context} failed: {description}"),
        retryable,
    }
}

/// Error codes of a request refused for its data: a client error that no
/// retry of the same data can get past (CloudWatch's `PutMetricData` spellings).
const REFUSAL_CODES: &[&str] = &[
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "MissingRequiredParameter",
    "InvalidFormat",
    "ValidationError",
];

/// Whether an SDK error refuses the request's data itself: a 4xx answer that
/// is not throttling and names invalid input (or a 413, too large). Access
/// and configuration errors are not refusals: the data is not at fault.
pub(crate) fn is_refusal<E>(err: &SdkError<E>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let SdkError::ServiceError(context) = err else {
        return false;
    };
    let status = context.raw().status().as_u16();
    let code = context.err().code().unwrap_or_default();
    status == 413
        || ((400..500).contains(&status)
            && status != 429
            && !RETRYABLE_CODES.contains(&code)
            && REFUSAL_CODES.contains(&code))
}
