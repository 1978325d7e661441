//! The Lambda entry point (`bootstrap` on provided.al2023): reads `QSBACKUP_HANDLER` to know
//! which state it serves, builds the environments once per container ([`qsbackup_lambda::targets::Envs`]), and dispatches each event.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use qsbackup_lambda::targets::dispatch_all;
use qsbackup_lambda::HandlerError;
use serde_json::Value;

fn diagnostic(e: HandlerError) -> Diagnostic {
    Diagnostic {
        error_type: e.kind,
        error_message: e.message,
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let handler = std::env::var("QSBACKUP_HANDLER").map_err(|_| "QSBACKUP_HANDLER is not set")?;
    let envs = qsbackup_lambda::envs_from_env().await.map_err(|e| e.to_string())?;
    let envs = &envs;
    let handler = handler.as_str();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        dispatch_all(envs, handler, event.payload).await.map_err(diagnostic)
    }))
    .await
}
