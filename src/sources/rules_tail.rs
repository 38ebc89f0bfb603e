//! Tail of `controls/rules_history.jsonl`: every complete line becomes a
//! [`RuleChange`] or counts as bad; blank lines are skipped. Read from the start (the
//! history is small); truncation/replacement sends `Msg::SourceReset` first.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::domain::hq::paths;
use crate::domain::rhythm::{RuleChange, parse_rule_line};
use crate::protocol::{Msg, SourceId};
use crate::sources::tail::{self, Follower, Line, StartAt, TailEvent};

#[derive(Debug, Clone)]
pub struct RulesTailConfig {
    pub path: PathBuf,
    pub poll: Duration,
}

impl RulesTailConfig {
    pub fn new(root: &Path) -> Self {
        RulesTailConfig {
            path: root.join(paths::RULES_HISTORY),
            poll: Duration::from_millis(50),
        }
    }
}

/// Parse a batch of lines: (rules, bad lines).
pub fn parse_lines(lines: &[Line]) -> (Vec<RuleChange>, usize) {
    let mut rules = Vec::new();
    let mut bad = 0;
    for line in lines {
        if line.bytes.iter().all(u8::is_ascii_whitespace) && !line.is_cut() {
            continue;
        }
        match parse_rule_line(&line.bytes) {
            Ok(r) if !line.is_cut() => rules.push(r),
            _ => bad += 1,
        }
    }
    (rules, bad)
}

fn handle(ev: TailEvent, out: &mut Vec<Msg>) {
    match ev {
        TailEvent::Lines(lines) => {
            let (rules, bad) = parse_lines(&lines);
            if !rules.is_empty() || bad > 0 {
                out.push(Msg::RulesAppended {
                    rules,
                    bad,
                    at: Utc::now(),
                });
            }
        }
        TailEvent::Reset(reason) => out.push(Msg::SourceReset {
            source: SourceId::Rules,
            reason,
        }),
        TailEvent::Failed(error) => out.push(tail::failed_msg(SourceId::Rules, error)),
        TailEvent::Pending(_) | TailEvent::Missing => out.push(Msg::SourceMissing {
            source: SourceId::Rules,
            at: Utc::now(),
        }),
        TailEvent::Recovered => out.push(Msg::SourceRecovered {
            source: SourceId::Rules,
            at: Utc::now(),
        }),
    }
}

/// Follow the rules history until `cancel`.
pub async fn run(cfg: RulesTailConfig, tx: mpsc::Sender<Msg>, cancel: CancellationToken) {
    let follower = Follower::new(cfg.path, StartAt::Beginning, false);
    tail::drive(follower, cfg.poll, handle, tx, cancel).await;
}
