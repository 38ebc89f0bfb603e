//! `lumen`: parse the command line, install hooks, dispatch.

use std::process::ExitCode;

use clap::Parser;

use lumen::cli::{Cli, Command};
use lumen::cmd::{self, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log = lumen::logging::init();
    let result = dispatch(cli);
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("lumen: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(cli: Cli) -> cmd::CmdResult {
    let g = cli.global;
    match cli.command {
        None => cmd::open::run_open(&g),
        Some(Command::Demo(a)) => cmd::open::run_demo(&a, &g),
        Some(Command::Completions(a)) => {
            let mut c = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(a.shell, &mut c, "lumen", &mut std::io::stdout());
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
    }
}
