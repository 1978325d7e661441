//! The policy on tokio's paused clock: attempts, waits and events are counted, never timed.

use super::*;
use crate::events::CollectingSink;
use aws_sdk_quicksight::config::http::HttpResponse;
use aws_sdk_quicksight::operation::start_asset_bundle_export_job::StartAssetBundleExportJobError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use std::sync::atomic::{AtomicU32, Ordering};

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(1000),
        max_elapsed: Duration::from_secs(3600),
    }
}

#[derive(Debug, PartialEq)]
enum Fault {
    Busy,
    Denied,
}

fn busy_is_transient(f: &Fault) -> Option<String> {
    (*f == Fault::Busy).then(|| "busy".to_string())
}

/// The waits of the `Retrying` events, in order.
fn waits(sink: &CollectingSink) -> Vec<(u32, Duration, String)> {
    sink.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Retrying {
                attempt, delay, reason, ..
            } => Some((attempt, delay, reason)),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_up_to_the_attempt_cap_with_one_event_each() {
    let sink = CollectingSink::default();
    let calls = AtomicU32::new(0);
    let started = Instant::now();
    let result: Result<(), Fault> = Retry::new(&policy(5), "DescribeThing thing-1")
        .events(&sink)
        .run(
            || {
                calls.fetch_add(1, Ordering::Relaxed);
                async { Err(Fault::Busy) }
            },
            busy_is_transient,
        )
        .await;
    assert_eq!(result, Err(Fault::Busy));
    assert_eq!(calls.load(Ordering::Relaxed), 5);

    let events = waits(&sink);
    assert_eq!(
        events.iter().map(|(a, _, _)| *a).collect::<Vec<_>>(),
        [1, 2, 3, 4],
        "one event per retry, none after the last attempt"
    );
    assert!(events.iter().all(|(_, _, reason)| reason == "busy"));
    // Each wait lies between half the step and the step: 100, 200, 400, 800 ms.
    for ((_, delay, _), step) in events.iter().zip([100u64, 200, 400, 800]) {
        let ms = delay.as_millis() as u64;
        assert!(ms >= step / 2 && ms <= step, "{delay:?} for step {step}");
    }
    // On the paused clock the run took its waits (tokio's timer rounds each up to the ms).
    let waited: Duration = events.iter().map(|(_, d, _)| *d).sum();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= waited && elapsed <= waited + Duration::from_millis(4),
        "{elapsed:?}"
    );
    assert!(waited <= Duration::from_millis(1500));
    assert!(sink.events().iter().all(|e| match e {
        Event::Retrying { operation, .. } => operation == "DescribeThing thing-1",
        _ => false,
    }));
}

#[tokio::test(start_paused = true)]
async fn waits_stay_under_the_delay_cap_and_the_total_time_cap() {
    let sink = CollectingSink::default();
    let calls = AtomicU32::new(0);
    let capped = RetryPolicy {
        max_attempts: 1000,
        initial_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(4),
        max_elapsed: Duration::from_secs(60),
    };
    let started = Instant::now();
    let result: Result<(), Fault> = Retry::new(&capped, "op")
        .events(&sink)
        .run(
            || {
                calls.fetch_add(1, Ordering::Relaxed);
                async { Err(Fault::Busy) }
            },
            busy_is_transient,
        )
        .await;
    assert_eq!(result, Err(Fault::Busy));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
    // Given up only because the next wait (at most 4 s) would pass the cap.
    assert!(elapsed >= Duration::from_secs(56), "{elapsed:?}");
    let events = waits(&sink);
    assert!(events.iter().all(|(_, d, _)| *d <= Duration::from_secs(4)));
    assert_eq!(events.len() as u32 + 1, calls.load(Ordering::Relaxed));
}

#[tokio::test(start_paused = true)]
async fn a_deadline_ends_the_retries_before_it() {
    let calls = AtomicU32::new(0);
    let started = Instant::now();
    let deadline = started + Duration::from_millis(250);
    let result: Result<(), Fault> = Retry::new(&policy(100), "op")
        .until(deadline)
        .run(
            || {
                calls.fetch_add(1, Ordering::Relaxed);
                async { Err(Fault::Busy) }
            },
            busy_is_transient,
        )
        .await;
    assert_eq!(result, Err(Fault::Busy));
    assert!(Instant::now() < deadline);
    assert!(calls.load(Ordering::Relaxed) >= 2);
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_is_not_retried() {
    let sink = CollectingSink::default();
    let calls = AtomicU32::new(0);
    let started = Instant::now();
    let result: Result<(), Fault> = Retry::new(&policy(5), "op")
        .events(&sink)
        .run(
            || {
                calls.fetch_add(1, Ordering::Relaxed);
                async { Err(Fault::Denied) }
            },
            busy_is_transient,
        )
        .await;
    assert_eq!(result, Err(Fault::Denied));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert!(sink.events().is_empty());
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_call_that_recovers_returns_its_answer() {
    let sink = CollectingSink::default();
    let calls = AtomicU32::new(0);
    let result = Retry::new(&policy(5), "op")
        .events(&sink)
        .run(
            || {
                let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
                async move {
                    if n < 3 {
                        Err(Fault::Busy)
                    } else {
                        Ok(n)
                    }
                }
            },
            busy_is_transient,
        )
        .await;
    assert_eq!(result, Ok(3));
    assert_eq!(waits(&sink).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_cancel_during_a_wait_stops_without_another_attempt() {
    let cancel = CancellationToken::new();
    let calls = AtomicU32::new(0);
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        trigger.cancel();
    });
    let slow = RetryPolicy {
        initial_delay: Duration::from_secs(10),
        ..policy(5)
    };
    let result: Result<(), Stop<Fault>> = Retry::new(&slow, "op")
        .run_cancellable(
            &cancel,
            || {
                calls.fetch_add(1, Ordering::Relaxed);
                async { Err(Fault::Busy) }
            },
            busy_is_transient,
        )
        .await;
    assert_eq!(result, Err(Stop::Cancelled));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

fn service_error(code: &str, status: u16) -> SdkError<StartAssetBundleExportJobError, HttpResponse> {
    let err = StartAssetBundleExportJobError::generic(ErrorMetadata::builder().code(code).build());
    let raw = HttpResponse::new(status.try_into().expect("a valid status"), SdkBody::empty());
    SdkError::service_error(err, raw)
}

#[test]
fn throttling_and_5xx_are_transient_and_the_job_limit_only_for_job_starts() {
    assert_eq!(
        transient(&service_error("ThrottlingException", 429)).as_deref(),
        Some("ThrottlingException")
    );
    assert!(transient(&service_error("InternalFailureException", 500)).is_some());
    assert!(transient(&service_error("AccessDeniedException", 403)).is_none());
    assert!(transient(&service_error("InvalidParameterValueException", 400)).is_none());
    assert!(transient(&service_error("LimitExceededException", 400)).is_none());
    assert!(transient_or_job_limit(&service_error("LimitExceededException", 400)).is_some());
    assert!(transient_or_job_limit(&service_error("ConflictException", 409)).is_none());
}

#[test]
fn the_default_policy_caps_every_wait_and_the_run() {
    let p = RetryPolicy::default();
    let waits: Vec<Duration> = p.backoff().collect();
    assert_eq!(waits.len() as u32, p.max_attempts - 1);
    assert!(waits.iter().all(|w| *w <= p.max_delay));
    assert!(waits.iter().sum::<Duration>() < p.max_elapsed);
}

/// Calls of `operation` the emulator throttled.
async fn throttled(emu: &qs_emulator::EmulatorHandle, operation: &str) -> u64 {
    let stats: serde_json::Value = reqwest::get(format!("{}/_emulator/stats?account=123456789012", emu.endpoint()))
        .await
        .expect("the admin API answers")
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).expect("stats are JSON"))
        .expect("stats are readable");
    stats["throttled"][operation].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn calls_this_layer_retries_are_tried_once_by_the_sdk() {
    let emu = qs_emulator::start(qs_emulator::EmulatorOptions {
        faults: serde_json::from_value(serde_json::json!({
            "throttle": {"StartAssetBundleExportJob": 1.0, "ListNamespaces": 1.0}
        }))
        .expect("a fault plan"),
        ..Default::default()
    })
    .await
    .expect("the emulator starts");
    let config = aws_sdk_quicksight::config::Builder::new()
        .behavior_version(aws_sdk_quicksight::config::BehaviorVersion::latest())
        .endpoint_url(emu.endpoint())
        .region(aws_sdk_quicksight::config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("t", "t", None, None, "test"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build();
    let client = aws_sdk_quicksight::Client::from_conf(config);
    let start = || {
        client
            .start_asset_bundle_export_job()
            .aws_account_id("123456789012")
            .asset_bundle_export_job_id("j")
            .resource_arns("arn:aws:quicksight:us-east-1:123456789012:dashboard/d")
            .export_format(aws_sdk_quicksight::types::AssetBundleExportFormat::QuicksightJson)
    };

    // The SDK's own retries, as configured: three attempts.
    assert!(start().send().await.is_err());
    assert_eq!(throttled(&emu, "StartAssetBundleExportJob").await, 3);
    // With this layer's override: one.
    assert!(start()
        .customize()
        .config_override(single_attempt())
        .send()
        .await
        .is_err());
    assert_eq!(throttled(&emu, "StartAssetBundleExportJob").await, 4);
    // And a client handed to the identity readers: one.
    let single = quicksight_single_attempt(&client);
    assert!(single
        .list_namespaces()
        .aws_account_id("123456789012")
        .send()
        .await
        .is_err());
    assert_eq!(throttled(&emu, "ListNamespaces").await, 1);
}
