//! `lumen custody [--hq DIR] [--json]`: the trust chain and custody state
//! (docs/custody.md). Exit 1 when it is not ok.

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::cmd::{CmdError, CmdResult, Outcome, print_json};
use crate::domain::hq::custody::{CustodyReport, assess};
use crate::domain::sanitize::sanitize;

fn hq_root(g: &GlobalArgs) -> PathBuf {
    g.hq.clone().unwrap_or_else(|| PathBuf::from("."))
}

/// The report for `--hq` at the current time.
pub fn report(g: &GlobalArgs) -> Result<CustodyReport, CmdError> {
    let root = hq_root(g);
    if !root.is_dir() {
        return Err(CmdError::usage(format!(
            "HQ root {} is not a directory",
            root.display()
        )));
    }
    Ok(assess(
        &crate::store::custody::read_custody(&root),
        chrono::Utc::now(),
    ))
}

pub fn run_custody(g: &GlobalArgs) -> CmdResult {
    let r = report(g)?;
    if g.json {
        print_json(&r)?;
    } else {
        let yn = |b: bool| if b { "yes" } else { "NO" };
        let or_dash = |s: &Option<String>| s.as_deref().map_or("-".to_string(), sanitize_owned);
        outln!(
            "root    {}  fingerprint {}  manifest match: {}",
            or_dash(&r.root.subject),
            or_dash(&r.root.fingerprint),
            yn(r.root.manifest_match)
        );
        outln!(
            "signer  {}  serial {}  expires {} ({} days)  chain: {}  codeSigning: {}  revoked: {}",
            or_dash(&r.signer.subject),
            or_dash(&r.signer.serial),
            r.signer
                .not_after
                .map_or("-".to_string(), |t| t.format("%Y-%m-%d").to_string()),
            r.signer
                .days_left
                .map_or("-".to_string(), |d| d.to_string()),
            yn(r.signer.chain_ok),
            yn(r.signer.eku_ok),
            if r.signer.revoked { "YES" } else { "no" }
        );
        outln!("crl     {} entries", r.crl.entries);
        match &r.audits.last {
            Some(a) => outln!(
                "audit   {} by {}  seal intact: {}  root fingerprint matches: {}  ({} days ago; next due {})",
                a.ts_utc.format("%Y-%m-%d"),
                sanitize(&a.auditors.join(", ")),
                yn(a.seal_ok),
                yn(a.fingerprint_match),
                r.audits.days_since.unwrap_or(0),
                r.audits
                    .next_due
                    .map_or("-".to_string(), |t| t.format("%Y-%m-%d").to_string())
            ),
            None => outln!("audit   none recorded"),
        }
        for e in &r.errors {
            outln!("error   {}", sanitize(e));
        }
        for p in &r.problems {
            outln!("problem {}", sanitize(p));
        }
        outln!("{}", if r.ok { "custody ok" } else { "custody NOT ok" });
    }
    Ok(if r.ok {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

fn sanitize_owned(s: &str) -> String {
    sanitize(s).into_owned()
}
