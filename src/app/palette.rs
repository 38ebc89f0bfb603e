//! The `:` command palette (k9s-style): one table of commands, each naming the action
//! whose key it shares; type to filter, Tab to complete (command names, then their
//! arguments: themes, branches, deploy ids, on/off), Enter to run, ↑/↓ for the
//! session's history. Pure: it turns a typed line into an [`Invocation`], and `App`
//! runs that through the same code as the keys (same confirmations, same checks).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::protocol::Action;

/// One palette command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    pub name: &'static str,
    /// Other names that run it (`q` for `quit`).
    pub aliases: &'static [&'static str],
    /// Argument usage as shown in the list ("", "TXN", "on|off", "BRANCH [on|off]").
    pub args: &'static str,
    /// The action whose key does the same (shown beside the command).
    pub action: Option<Action>,
    pub describe: &'static str,
}

const fn cmd(
    name: &'static str,
    aliases: &'static [&'static str],
    args: &'static str,
    action: Option<Action>,
    describe: &'static str,
) -> CommandSpec {
    CommandSpec {
        name,
        aliases,
        args,
        action,
        describe,
    }
}

/// Every command, in list order (views first, then actions, then the rest).
pub const COMMANDS: &[CommandSpec] = &[
    cmd(
        "health",
        &[],
        "",
        Some(Action::FocusHealth),
        "focus branch health",
    ),
    cmd(
        "ledger",
        &[],
        "",
        Some(Action::FocusLedger),
        "focus ledger stream",
    ),
    cmd("cost", &[], "", Some(Action::FocusCost), "focus cost meter"),
    cmd(
        "rhythm",
        &[],
        "",
        Some(Action::FocusRhythm),
        "focus rhythm map",
    ),
    cmd(
        "ceremony",
        &[],
        "",
        Some(Action::FocusCeremony),
        "focus ceremony simulator",
    ),
    cmd(
        "notifications",
        &["notices", "messages"],
        "",
        Some(Action::OpenNotifications),
        "every notice of this session, newest first",
    ),
    cmd(
        "alerts",
        &["firing"],
        "",
        Some(Action::ToggleAlerts),
        "what fires now, critical first; Alertmanager's alerts and silences",
    ),
    cmd(
        "custody",
        &["trust"],
        "",
        Some(Action::CustodyView),
        "custody view: root, signer certificate, CRL, seal audits",
    ),
    cmd(
        "sync",
        &["conflicts"],
        "",
        Some(Action::SyncView),
        "sync detail: where changes reached, open conflicts",
    ),
    cmd(
        "policy",
        &["escalation"],
        "",
        Some(Action::PolicyOverlay),
        "policy rules, decision engine modes, escalation matrix",
    ),
    cmd(
        "silence",
        &[],
        "",
        Some(Action::SilenceAlert),
        "silence the alert selected in the alerts view (Alertmanager)",
    ),
    cmd(
        "help",
        &["keys"],
        "",
        Some(Action::ToggleHelp),
        "every key, the focused pane's first",
    ),
    cmd(
        "rollback",
        &[],
        "[TXN]",
        Some(Action::Rollback),
        "roll back a deploy (TXN id, or the selected one)",
    ),
    cmd(
        "rule-rollback",
        &["rulerollback"],
        "",
        Some(Action::RuleRollback),
        "roll back the newest rule change",
    ),
    cmd(
        "killswitch",
        &["kill-switch"],
        "[on|off]",
        Some(Action::KillSwitch),
        "turn the kill switch on or off",
    ),
    cmd(
        "maintenance",
        &[],
        "[BRANCH [on|off]]",
        Some(Action::Maintenance),
        "maintenance for a branch (or the selected one)",
    ),
    cmd(
        "branch-lock",
        &["lock"],
        "",
        Some(Action::BranchLock),
        "branch lock the selected branch (maintenance on)",
    ),
    cmd(
        "filter",
        &[],
        "[TEXT]",
        Some(Action::OpenFilter),
        "filter the focused pane (no text: clear it)",
    ),
    cmd(
        "theme",
        &[],
        "[NAME]",
        Some(Action::CycleTheme),
        "switch theme (no name: the next one)",
    ),
    cmd(
        "zoom",
        &[],
        "",
        Some(Action::ToggleZoom),
        "zoom the focused pane / back",
    ),
    cmd(
        "follow",
        &[],
        "",
        Some(Action::ToggleFollow),
        "ledger: follow / pause the tail",
    ),
    cmd(
        "rejects",
        &[],
        "",
        Some(Action::ShowRejects),
        "ledger: show rejected lines",
    ),
    cmd(
        "context",
        &[],
        "",
        Some(Action::CycleContext),
        "ledger: context lines around matches",
    ),
    cmd(
        "next",
        &[],
        "",
        Some(Action::NextMatch),
        "ledger: next filter match",
    ),
    cmd(
        "prev",
        &[],
        "",
        Some(Action::PrevMatch),
        "ledger: previous filter match",
    ),
    cmd(
        "sort",
        &[],
        "",
        Some(Action::CycleSort),
        "health, cost: cycle the sort order",
    ),
    cmd(
        "wider",
        &[],
        "",
        Some(Action::WiderWindow),
        "rhythm: wider time window",
    ),
    cmd(
        "narrower",
        &[],
        "",
        Some(Action::NarrowerWindow),
        "rhythm: narrower time window",
    ),
    cmd(
        "series",
        &[],
        "",
        Some(Action::ToggleSeries),
        "rhythm: browse every exporter series",
    ),
    cmd(
        "copy",
        &["yank"],
        "",
        Some(Action::Copy),
        "copy the selected id / line (OSC 52)",
    ),
    cmd(
        "dismiss",
        &[],
        "",
        Some(Action::DismissNotices),
        "dismiss the notices that stay until seen",
    ),
    cmd("quit", &["q", "q!"], "", Some(Action::Quit), "quit lumen"),
];

/// What a palette line asks for. Plain commands are the key's action; the others
/// name what the key would take from the selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Exactly what the action's key does.
    Act(Action),
    /// Roll back this deploy (TXN id).
    Rollback(String),
    /// Kill switch on (`true`) or off.
    KillSwitch(bool),
    /// Maintenance for this branch: on, off, or (`None`) the other way round.
    Maintenance(String, Option<bool>),
    /// Switch to the theme with this name.
    Theme(String),
    /// Set the focused pane's filter to this text ("" clears it).
    Filter(String),
}

/// Words the palette can complete arguments from, gathered by `App` when the palette
/// opens (so the model stays pure).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaletteContext {
    pub themes: Vec<String>,
    pub branches: Vec<String>,
    /// Deploy TXN ids, newest first.
    pub deploys: Vec<String>,
}

/// The command a first word names: a name or alias, or an unambiguous prefix of one
/// name. Case-insensitive.
pub fn lookup(word: &str) -> Option<&'static CommandSpec> {
    let w = word.to_ascii_lowercase();
    if let Some(c) = COMMANDS
        .iter()
        .find(|c| c.name == w || c.aliases.contains(&w.as_str()))
    {
        return Some(c);
    }
    let mut prefixed = COMMANDS.iter().filter(|c| c.name.starts_with(&w));
    match (prefixed.next(), prefixed.next()) {
        (Some(c), None) if !w.is_empty() => Some(c),
        _ => None,
    }
}

fn on_off(word: &str) -> Option<bool> {
    match word.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Parse a typed line (with or without the leading `:`). `Ok(None)`: nothing typed.
pub fn parse(line: &str) -> Result<Option<Invocation>, String> {
    let line = line.trim();
    let line = line.strip_prefix(':').unwrap_or(line).trim();
    let mut words = line.split_whitespace();
    let Some(first) = words.next() else {
        return Ok(None);
    };
    let Some(spec) = lookup(first) else {
        let shown = crate::domain::sanitize::sanitize(first);
        let matches = ranked(first);
        return Err(if matches.is_empty() {
            format!("unknown command `{shown}` — Tab completes; :help lists every key")
        } else {
            let names: Vec<&str> = matches.iter().take(4).map(|c| c.name).collect();
            format!(
                "`{shown}` is ambiguous or unknown — did you mean {}?",
                names.join(", ")
            )
        });
    };
    let args: Vec<&str> = words.collect();
    let rest = line
        .split_once(char::is_whitespace)
        .map_or("", |(_, r)| r.trim());
    let usage = || format!("usage: :{} {}", spec.name, spec.args);
    let action = spec.action.unwrap_or(Action::ToggleHelp);
    let inv = match spec.name {
        "rollback" => match args.as_slice() {
            [] => Invocation::Act(action),
            [txn] => Invocation::Rollback((*txn).to_string()),
            _ => return Err(usage()),
        },
        "killswitch" => match args.as_slice() {
            [] => Invocation::Act(action),
            [w] => Invocation::KillSwitch(on_off(w).ok_or_else(usage)?),
            _ => return Err(usage()),
        },
        "maintenance" => match args.as_slice() {
            [] => Invocation::Act(action),
            [b] => Invocation::Maintenance((*b).to_string(), None),
            [b, w] => Invocation::Maintenance((*b).to_string(), Some(on_off(w).ok_or_else(usage)?)),
            _ => return Err(usage()),
        },
        "theme" => match args.as_slice() {
            [] => Invocation::Act(action),
            [name] => Invocation::Theme((*name).to_string()),
            _ => return Err(usage()),
        },
        "filter" => Invocation::Filter(rest.to_string()),
        _ if !args.is_empty() => {
            return Err(format!("`:{}` takes no arguments", spec.name));
        }
        _ => Invocation::Act(action),
    };
    Ok(Some(inv))
}

/// How well `query` matches `c` (lower is better), or `None`.
fn score(query: &str, c: &CommandSpec) -> Option<u8> {
    let q = query.to_ascii_lowercase();
    if q.is_empty() {
        return Some(0);
    }
    let names = std::iter::once(c.name).chain(c.aliases.iter().copied());
    let mut best: Option<u8> = None;
    for n in names {
        let s = if n == q {
            0
        } else if n.starts_with(&q) {
            1
        } else if n.split('-').any(|part| part.starts_with(&q)) {
            2
        } else if n.contains(&q) {
            3
        } else if is_subsequence(&q, n) {
            4
        } else if c.describe.to_ascii_lowercase().contains(&q) {
            5
        } else {
            continue;
        };
        best = Some(best.map_or(s, |b| b.min(s)));
    }
    best
}

fn is_subsequence(needle: &str, hay: &str) -> bool {
    let mut h = hay.chars();
    needle.chars().all(|c| h.any(|x| x == c))
}

/// Commands matching a first word, best first (table order among equals).
pub fn ranked(word: &str) -> Vec<&'static CommandSpec> {
    let mut v: Vec<(u8, usize, &CommandSpec)> = COMMANDS
        .iter()
        .enumerate()
        .filter_map(|(i, c)| score(word, c).map(|s| (s, i, c)))
        .collect();
    v.sort_by_key(|(s, i, _)| (*s, *i));
    // Letters-in-order and description matches only when no name contains the text:
    // "th" lists :theme, not every command whose description says "the".
    if v.iter().any(|(s, _, _)| *s <= 3) {
        v.retain(|(s, _, _)| *s <= 3);
    }
    v.into_iter().map(|(_, _, c)| c).collect()
}

/// The commands to list for a typed line: the ranked matches of its first word, or,
/// once arguments are being typed, the one command they belong to.
pub fn matches(line: &str) -> Vec<&'static CommandSpec> {
    let line = line.trim_start();
    let line = line.strip_prefix(':').unwrap_or(line);
    match line.split_once(char::is_whitespace) {
        Some((first, _)) => lookup(first).into_iter().collect(),
        None => ranked(line),
    }
}

/// Full-line completions of `line`, in the order Tab offers them.
pub fn completions(line: &str, ctx: &PaletteContext) -> Vec<String> {
    let line = line.trim_start();
    let line = line.strip_prefix(':').unwrap_or(line);
    let Some((first, rest)) = line.split_once(char::is_whitespace) else {
        return ranked(line)
            .into_iter()
            .filter(|c| score(line, c).is_some_and(|s| s <= 4))
            .map(|c| {
                if c.args.is_empty() {
                    c.name.to_string()
                } else {
                    format!("{} ", c.name)
                }
            })
            .collect();
    };
    let Some(spec) = lookup(first) else {
        return Vec::new();
    };
    // The words typed so far and the partial one being completed.
    let mut done: Vec<&str> = rest.split_whitespace().collect();
    let partial = if rest.ends_with(char::is_whitespace) || rest.is_empty() {
        ""
    } else {
        done.pop().unwrap_or("")
    };
    let on_off_words = || vec!["on".to_string(), "off".to_string()];
    let words: Vec<String> = match (spec.name, done.len()) {
        ("theme", 0) => ctx.themes.clone(),
        ("killswitch", 0) => on_off_words(),
        ("maintenance", 0) => ctx.branches.clone(),
        ("maintenance", 1) => on_off_words(),
        ("rollback", 0) => ctx.deploys.clone(),
        _ => Vec::new(),
    };
    let lower = partial.to_ascii_lowercase();
    let mut head = spec.name.to_string();
    for d in &done {
        head.push(' ');
        head.push_str(d);
    }
    words
        .into_iter()
        .filter(|w| w.to_ascii_lowercase().starts_with(&lower))
        .map(|w| format!("{head} {w}"))
        .collect()
}

/// The longest common prefix of `items` (by characters).
fn common_prefix(items: &[String]) -> String {
    let Some(first) = items.first() else {
        return String::new();
    };
    let mut n = first.chars().count();
    for s in items.iter().skip(1) {
        n = n.min(
            first
                .chars()
                .zip(s.chars())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    first.chars().take(n).collect()
}

/// Lines run this session, oldest first (bounded).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    items: Vec<String>,
}

impl History {
    pub const CAP: usize = 200;

    /// Remember a line that ran (a repeat of the last line is kept once).
    pub fn push(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() || self.items.last().is_some_and(|l| l == line) {
            return;
        }
        self.items.push(line.to_string());
        if self.items.len() > Self::CAP {
            self.items.remove(0);
        }
    }

    pub fn items(&self) -> &[String] {
        &self.items
    }
}

/// What a key did to the open palette.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Still open (typed, completed, browsed history, or showed an error).
    Open,
    /// Closed without running anything.
    Closed,
    /// Closed: run this, exactly as its key would.
    Run(Invocation),
}

/// The open palette: the line being typed, Tab's cycle, history browsing, the error.
#[derive(Debug, Clone)]
pub struct Palette {
    pub input: tui_input::Input,
    pub error: Option<String>,
    /// Candidates Tab is cycling through and the one shown.
    cycle: Option<(Vec<String>, usize)>,
    /// Index into the history while browsing it, and the line typed before.
    browsing: Option<(usize, String)>,
    pub ctx: PaletteContext,
}

impl Palette {
    pub fn new(ctx: PaletteContext) -> Self {
        Palette {
            input: tui_input::Input::default(),
            error: None,
            cycle: None,
            browsing: None,
            ctx,
        }
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    fn set(&mut self, text: String) {
        self.input = tui_input::Input::new(text);
    }

    /// The commands listed under the input.
    pub fn listed(&self) -> Vec<&'static CommandSpec> {
        matches(self.value())
    }

    /// The row highlighted in the list (the command Tab put in the line).
    pub fn highlighted(&self) -> usize {
        let listed = self.listed();
        let first = self.value().split_whitespace().next().unwrap_or("");
        listed.iter().position(|c| c.name == first).unwrap_or(0)
    }

    fn complete(&mut self, back: bool) {
        if let Some((cands, i)) = &mut self.cycle {
            let n = cands.len().max(1);
            *i = if back { (*i + n - 1) % n } else { (*i + 1) % n };
            let pick = cands.get(*i).cloned().unwrap_or_default();
            self.set(pick);
            // Keep cycling: `set` is not an edit.
            return;
        }
        let cands = completions(self.value(), &self.ctx);
        match cands.len() {
            0 => {
                self.error = Some(match self.value().split_whitespace().next() {
                    Some(w) if lookup(w).is_some() => "nothing to complete here".into(),
                    _ => "no command matches — Esc closes".into(),
                });
            }
            1 => {
                let only = cands.into_iter().next().unwrap_or_default();
                self.set(only);
            }
            _ => {
                let prefix = common_prefix(&cands);
                let typed = self
                    .value()
                    .trim_start()
                    .trim_start_matches(':')
                    .to_string();
                if prefix.chars().count() > typed.chars().count() && !cands.contains(&typed) {
                    self.set(prefix);
                } else {
                    let i = if back { cands.len() - 1 } else { 0 };
                    let pick = cands.get(i).cloned().unwrap_or_default();
                    self.set(pick);
                    self.cycle = Some((cands, i));
                }
            }
        }
    }

    fn history_step(&mut self, hist: &History, back: bool) {
        let items = hist.items();
        if items.is_empty() {
            return;
        }
        let next = match (&self.browsing, back) {
            (None, true) => Some(items.len() - 1),
            (None, false) => return,
            (Some((i, _)), true) => Some(i.saturating_sub(1)),
            (Some((i, _)), false) if i + 1 < items.len() => Some(i + 1),
            (Some(_), false) => None,
        };
        match next {
            Some(i) => {
                let draft = self
                    .browsing
                    .take()
                    .map_or_else(|| self.value().to_string(), |(_, d)| d);
                let line = items.get(i).cloned().unwrap_or_default();
                self.set(line);
                self.browsing = Some((i, draft));
            }
            None => {
                // Past the newest: the line typed before browsing.
                if let Some((_, draft)) = self.browsing.take() {
                    self.set(draft);
                }
            }
        }
        self.cycle = None;
    }

    /// One key while the palette is open.
    pub fn key(&mut self, k: KeyEvent, hist: &mut History) -> Outcome {
        use tui_input::backend::crossterm::EventHandler;
        self.error = None;
        match k.code {
            KeyCode::Esc => Outcome::Closed,
            KeyCode::Enter => match parse(self.value()) {
                Ok(None) => Outcome::Closed,
                Ok(Some(inv)) => {
                    hist.push(self.value().trim().trim_start_matches(':'));
                    Outcome::Run(inv)
                }
                Err(e) => {
                    self.error = Some(e);
                    Outcome::Open
                }
            },
            KeyCode::Tab => {
                self.complete(false);
                Outcome::Open
            }
            KeyCode::BackTab => {
                self.complete(true);
                Outcome::Open
            }
            KeyCode::Up => {
                self.history_step(hist, true);
                Outcome::Open
            }
            KeyCode::Down => {
                self.history_step(hist, false);
                Outcome::Open
            }
            KeyCode::Backspace if self.value().is_empty() => Outcome::Closed,
            _ => {
                if k.modifiers.contains(KeyModifiers::CONTROL)
                    && !matches!(k.code, KeyCode::Char('w' | 'u' | 'a' | 'e' | 'h'))
                {
                    return Outcome::Open;
                }
                self.input.handle_event(&crossterm::event::Event::Key(k));
                self.cycle = None;
                self.browsing = None;
                Outcome::Open
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(p: &mut Palette, h: &mut History, s: &str) {
        for c in s.chars() {
            p.key(key(KeyCode::Char(c)), h);
        }
    }

    fn ctx() -> PaletteContext {
        PaletteContext {
            themes: vec!["dark".into(), "light".into(), "mono".into()],
            branches: vec!["koosy".into(), "papafly".into(), "orbit".into()],
            deploys: vec!["TXN-20261122-0007".into(), "TXN-20261122-0003".into()],
        }
    }

    #[test]
    fn every_command_name_is_unique_and_resolves_to_itself() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            for n in std::iter::once(c.name).chain(c.aliases.iter().copied()) {
                assert!(seen.insert(n), "`{n}` named twice");
                assert_eq!(lookup(n).map(|x| x.name), Some(c.name));
            }
        }
    }

    #[test]
    fn parses_commands_and_arguments() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse(":  "), Ok(None));
        assert_eq!(parse(":q"), Ok(Some(Invocation::Act(Action::Quit))));
        assert_eq!(parse("QUIT"), Ok(Some(Invocation::Act(Action::Quit))));
        assert_eq!(
            parse(":ledger"),
            Ok(Some(Invocation::Act(Action::FocusLedger)))
        );
        // An unambiguous prefix runs.
        assert_eq!(
            parse("notif"),
            Ok(Some(Invocation::Act(Action::OpenNotifications)))
        );
        assert_eq!(
            parse("rollback TXN-1"),
            Ok(Some(Invocation::Rollback("TXN-1".into())))
        );
        assert_eq!(
            parse("rollback"),
            Ok(Some(Invocation::Act(Action::Rollback)))
        );
        assert_eq!(
            parse("killswitch on"),
            Ok(Some(Invocation::KillSwitch(true)))
        );
        assert_eq!(
            parse("killswitch OFF"),
            Ok(Some(Invocation::KillSwitch(false)))
        );
        assert!(parse("killswitch maybe").unwrap_err().contains("usage"));
        assert_eq!(
            parse("maintenance koosy on"),
            Ok(Some(Invocation::Maintenance("koosy".into(), Some(true))))
        );
        assert_eq!(
            parse("maintenance koosy"),
            Ok(Some(Invocation::Maintenance("koosy".into(), None)))
        );
        assert_eq!(
            parse("theme light"),
            Ok(Some(Invocation::Theme("light".into())))
        );
        assert_eq!(
            parse("filter  event:deploy  branch:koosy "),
            Ok(Some(Invocation::Filter(
                "event:deploy  branch:koosy".into()
            )))
        );
        assert_eq!(parse("filter"), Ok(Some(Invocation::Filter(String::new()))));
        assert!(
            parse("zoom now")
                .unwrap_err()
                .contains("takes no arguments")
        );
    }

    #[test]
    fn unknown_and_ambiguous_commands_are_errors_not_guesses() {
        let e = parse("frobnicate").unwrap_err();
        assert!(e.contains("unknown command `frobnicate`"), "{e}");
        // `r` starts rollback, rule-rollback, rejects, rhythm: never guess.
        let e = parse("r").unwrap_err();
        assert!(e.contains("did you mean"), "{e}");
        // Escape sequences in what was typed are not echoed raw.
        let e = parse("\u{1b}[31mx").unwrap_err();
        assert!(!e.contains('\u{1b}'), "{e:?}");
    }

    #[test]
    fn filtering_ranks_prefixes_first() {
        let names: Vec<&str> = matches("ro").iter().map(|c| c.name).collect();
        assert_eq!(names.first(), Some(&"rollback"));
        assert!(names.contains(&"rule-rollback"));
        let names: Vec<&str> = matches(":th").iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            ["theme", "health", "rhythm"],
            "names only, no description noise"
        );
        // Fuzzy: letters in order.
        let names: Vec<&str> = matches("ntf").iter().map(|c| c.name).collect();
        assert_eq!(names.first(), Some(&"notifications"));
        assert_eq!(matches("").len(), COMMANDS.len());
        assert!(matches("zzzz").is_empty());
        // With arguments typed, the list is the one command they belong to.
        let names: Vec<&str> = matches("theme li").iter().map(|c| c.name).collect();
        assert_eq!(names, vec!["theme"]);
    }

    #[test]
    fn tab_completes_names_then_arguments() {
        let mut h = History::default();
        let mut p = Palette::new(ctx());
        typed(&mut p, &mut h, "noti");
        p.key(key(KeyCode::Tab), &mut h);
        assert_eq!(p.value(), "notifications");

        let mut p = Palette::new(ctx());
        typed(&mut p, &mut h, "the");
        p.key(key(KeyCode::Tab), &mut h);
        assert_eq!(p.value(), "theme ");
        typed(&mut p, &mut h, "l");
        p.key(key(KeyCode::Tab), &mut h);
        assert_eq!(p.value(), "theme light");

        let mut p = Palette::new(ctx());
        typed(&mut p, &mut h, "maint");
        p.key(key(KeyCode::Tab), &mut h);
        typed(&mut p, &mut h, "pa");
        p.key(key(KeyCode::Tab), &mut h);
        assert_eq!(p.value(), "maintenance papafly");
        typed(&mut p, &mut h, " o");
        p.key(key(KeyCode::Tab), &mut h);
        // on / off share "o": Tab cycles them.
        assert_eq!(p.value(), "maintenance papafly on");
        p.key(key(KeyCode::Tab), &mut h);
        assert_eq!(p.value(), "maintenance papafly off");
        p.key(key(KeyCode::BackTab), &mut h);
        assert_eq!(p.value(), "maintenance papafly on");

        // Deploy ids share a long prefix: the first Tab fills it in.
        let mut p = Palette::new(ctx());
        typed(&mut p, &mut h, "rollback T");
        p.key(key(KeyCode::Tab), &mut h);
        assert_eq!(p.value(), "rollback TXN-20261122-000");
        p.key(key(KeyCode::Tab), &mut h);
        assert_eq!(p.value(), "rollback TXN-20261122-0007");
    }

    #[test]
    fn tab_with_nothing_to_complete_says_so() {
        let mut h = History::default();
        let mut p = Palette::new(ctx());
        typed(&mut p, &mut h, "zzz");
        assert_eq!(p.key(key(KeyCode::Tab), &mut h), Outcome::Open);
        assert_eq!(p.value(), "zzz");
        assert!(p.error.is_some());
    }

    #[test]
    fn enter_runs_or_shows_an_error_inline() {
        let mut h = History::default();
        let mut p = Palette::new(ctx());
        typed(&mut p, &mut h, "bogus");
        assert_eq!(p.key(key(KeyCode::Enter), &mut h), Outcome::Open);
        assert!(p.error.as_deref().unwrap_or("").contains("unknown command"));
        assert!(h.items().is_empty(), "errors are not history");
        // Typing clears the error.
        p.key(key(KeyCode::Backspace), &mut h);
        assert!(p.error.is_none());

        let mut p = Palette::new(ctx());
        typed(&mut p, &mut h, "killswitch on");
        assert_eq!(
            p.key(key(KeyCode::Enter), &mut h),
            Outcome::Run(Invocation::KillSwitch(true))
        );
        assert_eq!(h.items(), ["killswitch on"]);
        let mut p = Palette::new(ctx());
        assert_eq!(p.key(key(KeyCode::Enter), &mut h), Outcome::Closed);
        let mut p = Palette::new(ctx());
        assert_eq!(p.key(key(KeyCode::Esc), &mut h), Outcome::Closed);
    }

    #[test]
    fn up_and_down_browse_the_history_and_restore_the_draft() {
        let mut h = History::default();
        h.push("ledger");
        h.push("theme light");
        h.push("theme light");
        assert_eq!(h.items(), ["ledger", "theme light"]);
        let mut p = Palette::new(ctx());
        typed(&mut p, &mut h, "he");
        p.key(key(KeyCode::Up), &mut h);
        assert_eq!(p.value(), "theme light");
        p.key(key(KeyCode::Up), &mut h);
        assert_eq!(p.value(), "ledger");
        p.key(key(KeyCode::Up), &mut h);
        assert_eq!(p.value(), "ledger");
        p.key(key(KeyCode::Down), &mut h);
        assert_eq!(p.value(), "theme light");
        p.key(key(KeyCode::Down), &mut h);
        assert_eq!(p.value(), "he");
    }

    #[test]
    fn history_is_bounded() {
        let mut h = History::default();
        for i in 0..(History::CAP + 10) {
            h.push(&format!("theme t{i}"));
        }
        assert_eq!(h.items().len(), History::CAP);
        assert_eq!(h.items().first().map(String::as_str), Some("theme t10"));
    }

    #[test]
    fn every_action_with_an_effect_has_a_command() {
        // Navigation keys move within a pane; everything else is reachable by name.
        let navigation = [
            Action::Up,
            Action::Down,
            Action::PageUp,
            Action::PageDown,
            Action::Top,
            Action::Bottom,
            Action::Left,
            Action::Right,
            Action::Select,
            Action::Back,
            Action::FocusNext,
            Action::FocusPrev,
            Action::OpenPalette,
        ];
        for a in Action::ALL {
            if navigation.contains(&a) {
                continue;
            }
            assert!(
                COMMANDS.iter().any(|c| c.action == Some(a)),
                "no palette command for {a:?}"
            );
        }
    }
}
