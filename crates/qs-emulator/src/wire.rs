//! The restJson1 wire conventions QuickSight uses: error responses, request
//! ids, SigV4 credential scope, pagination tokens and epoch timestamps.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An error as QuickSight sends it: status, `x-amzn-ErrorType`, JSON body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        let status = match code {
            "ThrottlingException" => StatusCode::TOO_MANY_REQUESTS,
            "LimitExceededException" | "ConflictException" | "ResourceExistsException" => StatusCode::CONFLICT,
            "ResourceNotFoundException" => StatusCode::NOT_FOUND,
            "AccessDeniedException" => StatusCode::UNAUTHORIZED,
            "MissingAuthenticationTokenException" => StatusCode::FORBIDDEN,
            "UnsupportedUserEditionException" => StatusCode::FORBIDDEN,
            "InternalFailureException" | "InternalServerException" => StatusCode::INTERNAL_SERVER_ERROR,
            "ResourceUnavailableException" => StatusCode::SERVICE_UNAVAILABLE,
            "UnknownOperationException" => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new("InvalidParameterValueException", message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new("ResourceNotFoundException", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = request_id();
        // InternalServerException is the one error shape without RequestId.
        let body = if self.code == "InternalServerException" {
            json!({ "Message": self.message })
        } else {
            json!({ "Message": self.message, "RequestId": request_id })
        };
        let mut resp = (self.status, body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.insert("x-amzn-RequestId", v);
        }
        resp
    }
}

/// A successful response: the statusCode-bound `Status` member is the HTTP
/// status, everything else is the JSON body.
pub fn ok(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let request_id = body
        .get("RequestId")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(request_id);
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    resp
}

pub fn request_id() -> String {
    let n: u128 = rand::random();
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The region of a SigV4-signed request, from its credential scope. Requests
/// without a signature are refused as AWS refuses them.
pub fn signed_region(headers: &HeaderMap) -> Result<String, ApiError> {
    let missing = || ApiError::new("MissingAuthenticationTokenException", "Missing Authentication Token");
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
        ApiError::new(
            "IncompleteSignatureException",
            "Authorization header requires AWS4-HMAC-SHA256 signature",
        )
    })?;
    let credential = rest
        .split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("Credential="))
        .ok_or_else(|| {
            ApiError::new(
                "IncompleteSignatureException",
                "Authorization header requires 'Credential' parameter",
            )
        })?;
    // AKID/DATE/REGION/SERVICE/aws4_request
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[3] != "quicksight" || scope[4] != "aws4_request" {
        return Err(ApiError::new(
            "IncompleteSignatureException",
            format!(
                "Credential should be scoped to a valid region and to the service quicksight: {}",
                scope.get(1..).map(|s| s.join("/")).unwrap_or_default()
            ),
        ));
    }
    Ok(scope[2].to_string())
}

/// Pages over `items` with QuickSight's `next-token` / `max-results`.
pub fn paginate<'a, T>(
    items: &'a [T],
    next_token: Option<&str>,
    max_results: Option<&str>,
) -> Result<(&'a [T], Option<String>), ApiError> {
    paginate_with(
        items,
        next_token,
        max_results,
        "InvalidParameterValueException",
        "InvalidNextTokenException",
    )
}

/// [`paginate`] for operations whose model declares other error codes for a
/// bad page size or token (the brand and custom-permissions APIs).
pub fn paginate_with<'a, T>(
    items: &'a [T],
    next_token: Option<&str>,
    max_results: Option<&str>,
    bad_size: &'static str,
    bad_token: &'static str,
) -> Result<(&'a [T], Option<String>), ApiError> {
    let max = match max_results {
        None => 100,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(ApiError::new(
                    bad_size,
                    format!("1 validation error detected: Value '{s}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100"),
                ))
            }
        },
    };
    let start = match next_token {
        None => 0,
        Some(t) => decode_token(t)
            .filter(|n| *n <= items.len())
            .ok_or_else(|| ApiError::new(bad_token, "The NextToken is not valid."))?,
    };
    let end = (start + max).min(items.len());
    let token = (end < items.len()).then(|| encode_token(end));
    Ok((&items[start..end], token))
}

fn encode_token(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("qs-emulator:{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(token).ok()?;
    let s = String::from_utf8(raw).ok()?;
    s.strip_prefix("qs-emulator:")?.parse().ok()
}

/// Seconds since the epoch, as QuickSight puts timestamps in JSON.
pub fn now_epoch() -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_millis() as f64) / 1000.0
}

/// Drops `null` members so optional absent fields are not sent.
pub fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}
