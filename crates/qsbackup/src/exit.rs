//! Exit codes and how an outcome reaches the user: errors on stderr with their
//! whole cause chain, the exit code from what went wrong.

use std::process::ExitCode;

use qsbackup_core::text::printable_lines;

pub const SUCCESS: u8 = 0;
pub const FAILURE: u8 = 1;
pub const PARTIAL: u8 = 2;
pub const USAGE: u8 = 3;
pub const LOCKED: u8 = 4;

/// How a command ended.
#[derive(Debug)]
pub struct Outcome {
    pub code: u8,
    pub error: Option<anyhow::Error>,
}

impl Outcome {
    pub fn success() -> Outcome {
        Outcome {
            code: SUCCESS,
            error: None,
        }
    }
    pub fn partial() -> Outcome {
        Outcome {
            code: PARTIAL,
            error: None,
        }
    }
    pub fn failure(error: anyhow::Error) -> Outcome {
        Outcome {
            code: FAILURE,
            error: Some(error),
        }
    }
    pub fn usage(error: anyhow::Error) -> Outcome {
        Outcome {
            code: USAGE,
            error: Some(error),
        }
    }
    /// Ended early by SIGINT or SIGTERM: `what` says what was kept (one line, no "error:").
    pub fn interrupted(what: impl std::fmt::Display) -> Outcome {
        Outcome {
            code: crate::interrupt::exit_code(),
            error: Some(anyhow::anyhow!(
                "interrupted by {}: {what}",
                crate::interrupt::signal_name()
            )),
        }
    }

    pub fn is_interrupted(&self) -> bool {
        self.code > 128
    }

    /// Classifies an engine error: configuration problems are usage errors.
    pub fn from_core(error: qsbackup_core::Error) -> Outcome {
        if let qsbackup_core::Error::Interrupted {
            stored_bundles,
            running_jobs,
        } = error
        {
            return Outcome::interrupted(format!(
                "nothing was committed; the next backup resumes from the {stored_bundles} stored bundles \
                 and {running_jobs} started export jobs this run kept"
            ));
        }
        let code = if error.is_usage() || error.is_no_credentials() {
            USAGE
        } else if error.is_lock_held() {
            LOCKED
        } else {
            FAILURE
        };
        Outcome {
            code,
            error: Some(error.into()),
        }
    }

    pub fn report(self) -> ExitCode {
        if let Some(e) = &self.error {
            // Errors may quote names from the account: printed without their control characters.
            if self.is_interrupted() {
                eprintln!("{}", printable_lines(&e.to_string()));
            } else {
                eprintln!("error: {}", printable_lines(&format!("{e:#}")));
            }
            tracing::debug!("exit {}: {e:?}", self.code);
        }
        ExitCode::from(self.code)
    }
}
