//! Subcommand implementations (`lumen --help`). Each returns `Result<Outcome, CmdError>`;
//! `main` maps that to the exit code: 0 success, 1 the check failed / the action
//! was refused, 2 usage or I/O error — with a one-line cause on stderr.

use std::fmt;

// First: its macros (`outln!`, `errln!` …) are used by the modules below.
#[macro_use]
pub mod out;

pub mod actions;
pub mod alert_facts;
pub mod alerts;
pub mod billing;
pub mod ceremony;
pub mod custody;
pub mod doctor;
pub mod keygen;
pub mod ledger;
pub mod open;
pub mod scrape;
pub mod sign;
pub mod sim;
pub mod watch;

/// What a command that ran to the end concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1: the check failed (verify found a bad signature, doctor found an error…).
    /// The command has already printed its report.
    CheckFailed,
}

/// Why a command stopped early.
#[derive(Debug)]
pub enum CmdError {
    /// Exit 1: the action was refused (policy, role, key permissions, unknown key…).
    Refused(String),
    /// Exit 2: usage or I/O error.
    Usage(String),
    /// Exit 2: anything else that went wrong, with context.
    Io(anyhow::Error),
}

impl CmdError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CmdError::Refused(_) => 1,
            CmdError::Usage(_) | CmdError::Io(_) => 2,
        }
    }
    pub fn refused(msg: impl Into<String>) -> Self {
        CmdError::Refused(msg.into())
    }
    pub fn usage(msg: impl Into<String>) -> Self {
        CmdError::Usage(msg.into())
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdError::Refused(m) => write!(f, "refused: {m}"),
            CmdError::Usage(m) => write!(f, "{m}"),
            // `{:#}` prints the whole context chain on one line.
            CmdError::Io(e) => write!(f, "{e:#}"),
        }
    }
}

impl From<anyhow::Error> for CmdError {
    fn from(e: anyhow::Error) -> Self {
        // A signed write the key or its role may not make is a refusal (exit 1).
        if let Some(r) = e.downcast_ref::<crate::store::keys::SignRefused>() {
            return CmdError::Refused(r.to_string());
        }
        CmdError::Io(e)
    }
}

impl From<std::io::Error> for CmdError {
    fn from(e: std::io::Error) -> Self {
        CmdError::Io(e.into())
    }
}

pub type CmdResult = Result<Outcome, CmdError>;

/// A tokio runtime for commands that need one (the console builds its own).
pub fn runtime() -> Result<tokio::runtime::Runtime, CmdError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CmdError::Io(anyhow::anyhow!("cannot start the async runtime: {e}")))
}

/// Print `value` as one line of JSON on stdout (escaped for a terminal, never
/// sanitised: see `out::json_line`).
pub fn print_json(value: &impl serde::Serialize) -> Result<(), CmdError> {
    let s = serde_json::to_string(value).map_err(|e| CmdError::Io(e.into()))?;
    out::json_line(&s);
    Ok(())
}
