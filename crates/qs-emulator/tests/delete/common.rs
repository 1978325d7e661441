//! The client, the served emulator, and errors as the SDK reports them.

use aws_sdk_quicksight::config::http::HttpResponse;
use aws_sdk_quicksight::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_quicksight::Client;
use qs_emulator::{EmulatorOptions, Profile};

pub const ACCOUNT: &str = "123456789012";

pub fn client(endpoint: &str) -> Client {
    crate::sdk_client::client(endpoint, "us-east-1")
}

pub async fn emulator() -> (qs_emulator::EmulatorHandle, Client) {
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 1,
        accounts: vec![ACCOUNT.into()],
        ..Default::default()
    })
    .await
    .expect("start emulator");
    let qs = client(&emu.endpoint());
    (emu, qs)
}

/// An error as the SDK reports it: the service's code and the HTTP status.
#[derive(Debug, PartialEq)]
pub struct Failure {
    pub code: String,
    pub status: u16,
}

pub fn failure<E: ProvideErrorMetadata + std::fmt::Debug>(e: SdkError<E, HttpResponse>) -> Failure {
    let status = e
        .raw_response()
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|| panic!("no HTTP response: {e:?}"));
    Failure {
        code: e.code().unwrap_or_default().to_string(),
        status,
    }
}

pub fn not_found() -> Failure {
    Failure {
        code: "ResourceNotFoundException".into(),
        status: 404,
    }
}

pub async fn stats(endpoint: &str) -> serde_json::Value {
    let text = reqwest::get(format!("{endpoint}/_emulator/stats?account={ACCOUNT}"))
        .await
        .expect("stats")
        .text()
        .await
        .expect("stats body");
    serde_json::from_str(&text).expect("stats json")
}
