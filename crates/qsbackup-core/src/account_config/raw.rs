//! The JSON body of a QuickSight answer, as the service sent it.
//!
//! The account configuration is kept in the service's own wire form rather
//! than rebuilt field by field from SDK types: brand definitions and custom
//! permissions profiles are deep structures that grow with every service
//! release, and a hand-made mapping would drop new fields without anyone
//! noticing. The SDK still signs, sends, retries and types the errors; an
//! interceptor takes a successful answer's body before the SDK decodes it
//! and hands the SDK `{}` instead. Besides saving work, that sidesteps the
//! SDK's decoder for `Capabilities`, whose unoptimized stack frame alone is
//! about 1.5 MiB and overflows a 2 MiB thread in debug builds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_quicksight::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_quicksight::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_quicksight::error::BoxError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use serde_json::Value;

/// Keys of every answer that describe the exchange, not the account: they
/// change from call to call and would make identical accounts differ.
const EXCHANGE_KEYS: &[&str] = &["RequestId", "Status", "NextToken"];

/// Query parameters that mark a presigned URL (a bearer secret that also
/// changes with every call).
const PRESIGNED_MARKERS: &[&str] = &["x-amz-signature=", "x-amz-credential=", "signature="];

/// Longest wait for the rest of a body the SDK has handed over.
const BODY_TIMEOUT: Duration = Duration::from_secs(120);

/// Takes the body of a successful answer of the operation it is attached
/// to; error answers are left to the SDK, which types them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Option<SdkBody>>>);

impl Capture {
    /// The captured body parsed as JSON, or why there is none.
    pub(crate) async fn json(&self) -> Result<Value, String> {
        let body = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
            .ok_or_else(|| "the response body was not available".to_string())?;
        let bytes = tokio::time::timeout(BODY_TIMEOUT, ByteStream::new(body).collect())
            .await
            .map_err(|_| format!("the response body did not arrive within {BODY_TIMEOUT:?}"))?
            .map_err(|err| format!("the response body could not be read: {err}"))?
            .into_bytes();
        if bytes.is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&bytes).map_err(|err| format!("the response is not JSON: {err}"))
    }
}

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "qsbackup::account_config::Capture"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        if response.status().is_success() {
            let body = std::mem::replace(response.body_mut(), SdkBody::from("{}"));
            // Each successful attempt replaces the last; only one succeeds.
            *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(body);
        }
        Ok(())
    }
}

/// `answer` without its exchange keys, with presigned URLs removed.
pub(crate) fn clean(mut answer: Value) -> Value {
    if let Value::Object(map) = &mut answer {
        for key in EXCHANGE_KEYS {
            map.remove(*key);
        }
    }
    scrub_presigned(&mut answer);
    answer
}

/// Removes every object entry whose value is a presigned URL.
pub(crate) fn scrub_presigned(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !is_presigned(v));
            map.values_mut().for_each(scrub_presigned);
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_presigned),
        _ => {}
    }
}

fn is_presigned(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        let lower = s.to_ascii_lowercase();
        lower.starts_with("http") && PRESIGNED_MARKERS.iter().any(|m| lower.contains(m))
    })
}

/// Sorts `items` by the string at `key` (missing keys first), so list
/// order never depends on the service's paging.
pub(crate) fn sort_by_key(items: &mut [Value], key: &str) {
    items.sort_by(|a, b| {
        let a = a.get(key).and_then(Value::as_str).unwrap_or_default();
        let b = b.get(key).and_then(Value::as_str).unwrap_or_default();
        a.cmp(b)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clean_drops_exchange_keys_and_presigned_urls() {
        let answer = json!({
            "RequestId": "r-1",
            "Status": 200,
            "BrandDetail": {
                "BrandId": "b1",
                "Logo": {"LogoSet": {"Primary": {"Original": {
                    "Source": {"PublicUrl": "https://example.com/logo.png"},
                    "GeneratedImageUrl": "https://bucket.s3.amazonaws.com/l.png?X-Amz-Signature=abc"
                }}}}
            }
        });
        let cleaned = clean(answer);
        assert_eq!(
            cleaned,
            json!({"BrandDetail": {"BrandId": "b1", "Logo": {"LogoSet": {"Primary": {"Original": {
                "Source": {"PublicUrl": "https://example.com/logo.png"}
            }}}}}})
        );
    }

    #[test]
    fn sort_by_key_orders_by_string_field() {
        let mut items = vec![json!({"Id": "b"}), json!({"Id": "a"}), json!({})];
        sort_by_key(&mut items, "Id");
        assert_eq!(items, vec![json!({}), json!({"Id": "a"}), json!({"Id": "b"})]);
    }
}
