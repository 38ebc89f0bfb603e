//! `lumen`: parse the command line, install hooks, dispatch.
//!
//! Every byte printed goes through `lumen::cmd::out` (sanitised text, escaped JSON,
//! quiet on a closed pipe); exit codes: 0 success, 1 the check failed / the action
//! was refused, 2 usage or I/O error.

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;

use lumen::cli::{Cli, Command};
use lumen::cmd::{self, Outcome, out};
use lumen::errln;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    let _log = match &cli.command {
        Some(Command::Watch(a)) => lumen::logging::init_watch(a.log.as_deref()),
        _ => lumen::logging::init(),
    };
    let code = match dispatch(cli) {
        Ok(Outcome::Ok) => 0,
        Ok(Outcome::CheckFailed) => 1,
        Err(e) => {
            errln!("lumen: {e}");
            e.exit_code()
        }
    };
    // A closed pipe is quiet (the command's own outcome stands); any other failure
    // to write stdout lost output, which is an I/O error.
    match out::finish() {
        Err(e) if code == 0 => {
            errln!("lumen: cannot write to standard output: {e}");
            ExitCode::from(2)
        }
        _ => ExitCode::from(code),
    }
}

/// A command line clap refused (exit 2), or `--help` / `--version` (exit 0). Errors
/// quote the arguments, so they are printed through the sanitiser, without colour.
fn clap_error(e: &clap::Error) -> ExitCode {
    if e.use_stderr() {
        lumen::errp!("{}", e.render());
    } else {
        // Help and version text is Lumen's own; clap chooses colour and ignores a
        // closed pipe.
        let _ = e.print();
    }
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}

fn dispatch(cli: Cli) -> cmd::CmdResult {
    let g = cli.global;
    match cli.command {
        None => cmd::open::run_open(&g),
        Some(Command::Demo(a)) => cmd::open::run_demo(&a, &g),
        Some(Command::Completions(a)) => {
            // Generated into memory: clap_complete panics on a write error.
            let mut c = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(a.shell, &mut c, "lumen", &mut script);
            out::stdout_raw(&script);
            Ok(Outcome::Ok)
        }
        Some(Command::Scrape(a)) => cmd::scrape::run_scrape(&a, &g),
        Some(Command::Simulate(a)) => cmd::sim::run_simulate(&a, &g),
        Some(Command::Init(a)) => cmd::sim::run_init(&a, &g),
        Some(Command::Keygen(a)) => cmd::keygen::run_keygen(&a, &g),
        Some(Command::Ledger(c)) => cmd::ledger::run_ledger(&c, &g),
        Some(Command::Ceremony(c)) => cmd::ceremony::run(&c, &g),
        Some(Command::Rollback(a)) => cmd::actions::run_rollback(&a, &g),
        Some(Command::RuleRollback) => cmd::actions::run_rule_rollback(&g),
        Some(Command::Killswitch(a)) => cmd::actions::run_killswitch(&a, &g),
        Some(Command::Maintenance(a)) => cmd::actions::run_maintenance(&a, &g),
        Some(Command::Billing(a)) => cmd::billing::run_billing(&a, &g),
        Some(Command::Doctor) => cmd::doctor::run_doctor(&g),
        Some(Command::Alerts(a)) => cmd::alerts::run_alerts(&a, &g),
        Some(Command::Watch(a)) => cmd::watch::run_watch(&a, &g),
        Some(Command::Custody) => cmd::custody::run_custody(&g),
        Some(Command::Sign(a)) => cmd::sign::run_sign(&a, &g),
        Some(Command::VerifyFile(a)) => cmd::sign::run_verify_file(&a, &g),
    }
}
