//! Ceremony simulator: the scenario list, the setup screen (participants, keys,
//! seed), a running rehearsal (numbered checklist, timer, current step / anomaly /
//! quiz, exception sheet, event log) and the summary. State: `crate::app::ceremony`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Padding, Paragraph, Wrap};

use crate::app::{App, CeremonyScreen, Chooser, Pane, Rehearsal, SaveState, Setup, initials};
use crate::domain::ceremony::machine::Phase;
use crate::domain::ceremony::score::StepStatus;
use crate::domain::sanitize::sanitize;
use crate::theme::Theme;
use crate::ui::{centered, pane_block, popup, short};

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let note = match &app.panes().ceremony.screen {
        CeremonyScreen::List => format!(" {} scenarios ", app.panes().ceremony.scenarios.len()),
        CeremonyScreen::Setup(_) => " setup ".to_string(),
        CeremonyScreen::Rehearsal(r) => match r.phase() {
            Phase::Done => " summary ".to_string(),
            _ => " rehearsal ".to_string(),
        },
    };
    let block = pane_block(
        app,
        Pane::Ceremony,
        Some(Line::from(Span::styled(note, t.dimmed()))),
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    match &app.panes().ceremony.screen {
        CeremonyScreen::List => render_list(frame, app, inner),
        CeremonyScreen::Setup(s) => render_setup(frame, app, s, inner),
        CeremonyScreen::Rehearsal(r) if r.phase() == Phase::Done => {
            render_summary(frame, app, r, inner)
        }
        CeremonyScreen::Rehearsal(r) => {
            render_running(frame, app, r, inner);
            if r.abandon {
                let w = 44.min(inner.width);
                let box_area = centered(inner, w, 5);
                let body = popup(frame, app, box_area, "Abandon rehearsal?");
                frame.render_widget(
                    Paragraph::new(vec![
                        Line::from(Span::styled("Nothing is saved.", t.text())),
                        Line::from(vec![
                            Span::styled(" y ", t.fg(t.accent).add_modifier(Modifier::BOLD)),
                            Span::styled("abandon  ", t.dimmed()),
                            Span::styled(" n ", t.fg(t.accent).add_modifier(Modifier::BOLD)),
                            Span::styled("keep going", t.dimmed()),
                        ]),
                    ])
                    .wrap(Wrap { trim: true }),
                    body,
                );
            }
        }
    }
}

fn key_hint<'a>(t: &Theme, key: &str, label: &str) -> Vec<Span<'a>> {
    vec![
        Span::styled(
            format!(" {key} "),
            t.fg(t.accent).add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{label} "), t.dimmed()),
    ]
}

// ------------------------------------------------------------------ list

fn render_list(frame: &mut Frame, app: &App, inner: Rect) {
    let t = &app.shell().theme;
    if app.panes().ceremony.scenarios.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "no scenarios loaded (scenarios/*.yaml, --scenarios DIR)",
                t.dimmed(),
            )),
            inner,
        );
        return;
    }
    let split = inner.width >= 70;
    let (list_area, detail_area) = if split {
        let [l, d] = Layout::horizontal([Constraint::Length(30), Constraint::Min(0)]).areas(inner);
        (l, Some(d))
    } else {
        (inner, None)
    };
    let items: Vec<ListItem> = app
        .panes()
        .ceremony
        .scenarios
        .iter()
        .map(|s| {
            let mut spans = vec![Span::styled(short(&sanitize(&s.id), 28), t.text())];
            if !split {
                spans.push(Span::styled(
                    format!(
                        "  {} · {} · {}",
                        super::count(s.steps, "step", "steps"),
                        super::count(s.anomalies, "anomaly", "anomalies"),
                        sanitize(&s.title)
                    ),
                    t.dimmed(),
                ));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let sel = app
        .panes()
        .ceremony
        .scenario_sel
        .min(app.panes().ceremony.scenarios.len() - 1);
    let list = List::new(items)
        .highlight_style(t.selected())
        .highlight_symbol("▌");
    let mut state = ListState::default().with_selected(Some(sel));
    frame.render_stateful_widget(list, list_area, &mut state);
    let (Some(d), Some(s)) = (detail_area, app.panes().ceremony.scenarios.get(sel)) else {
        return;
    };
    let mut lines = vec![
        Line::from(Span::styled(
            sanitize(&s.title).into_owned(),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        )),
        Line::from(Span::styled(
            format!(
                "{} · {} · pass mark {}%",
                super::count(s.steps, "step", "steps"),
                super::count(s.anomalies, "anomaly", "anomalies"),
                s.pass_mark
            ),
            t.fg(t.accent),
        )),
        Line::from(vec![
            Span::styled("roles: ", t.dimmed()),
            Span::styled(sanitize(&s.roles.join(", ")).into_owned(), t.text()),
        ]),
        Line::from(Span::styled(sanitize(&s.summary).into_owned(), t.text())),
        Line::from(""),
        Line::from(key_hint(t, "Enter", "rehearse this scenario")),
    ];
    if let Some(last) = &app.panes().ceremony.last
        && let Some(sum) = &last.view.summary
    {
        let mut spans = key_hint(t, "→", "last summary:");
        spans.push(Span::styled(
            format!(
                "{} {} {}%",
                sanitize(&sum.scenario),
                if sum.passed { "passed" } else { "failed" },
                sum.percent
            ),
            t.text(),
        ));
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), d);
}

// ------------------------------------------------------------------ setup

fn render_setup(frame: &mut Frame, app: &App, s: &Setup, inner: Rect) {
    let t = &app.shell().theme;
    let mut lines = vec![
        Line::from(Span::styled(
            format!("Rehearse: {}", sanitize(&s.scenario.title)),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        )),
        Line::from(Span::styled(
            "Assign a participant to every role. Each gets an ephemeral rehearsal key unless they bring a key file.",
            t.dimmed(),
        )),
        Line::from(""),
    ];
    let title_w = s
        .roles
        .iter()
        .map(|r| r.title.chars().count())
        .max()
        .unwrap_or(10)
        .min(28);
    for (i, r) in s.roles.iter().enumerate() {
        let selected = s.sel == i;
        let name = if r.name.is_empty() {
            if r.needed {
                "(name needed)"
            } else {
                "(nobody — optional)"
            }
            .to_string()
        } else {
            sanitize(&r.name).into_owned()
        };
        let key = match &r.key_file {
            Some(p) => format!("key {}", short(&p.display().to_string(), 40)),
            None => "rehearsal key".to_string(),
        };
        let style = if selected { t.selected() } else { t.text() };
        lines.push(Line::from(vec![
            Span::styled(if selected { "▌" } else { " " }, style),
            Span::styled(
                format!("{:<w$}  ", short(&sanitize(&r.title), title_w), w = title_w),
                style,
            ),
            Span::styled(format!("{:<16}", short(&name, 16)), style),
            Span::styled(
                format!("  {key}"),
                if selected { style } else { t.dimmed() },
            ),
        ]));
    }
    let seed_sel = s.sel == s.seed_row();
    lines.push(Line::from(vec![
        Span::styled(
            if seed_sel { "▌" } else { " " },
            if seed_sel { t.selected() } else { t.text() },
        ),
        Span::styled(
            format!("{:<w$}  {}", "Seed", s.seed, w = title_w),
            if seed_sel { t.selected() } else { t.text() },
        ),
        Span::styled(
            format!(
                "  reproduce: lumen ceremony run --scenario {} --seed {}",
                sanitize(&s.scenario.id),
                s.seed
            ),
            t.dimmed(),
        ),
    ]));
    let start_sel = s.sel == s.start_row();
    lines.push(Line::from(Span::styled(
        " ▶ Start the rehearsal",
        if start_sel {
            t.selected()
        } else {
            t.fg(t.accent).add_modifier(Modifier::BOLD)
        },
    )));
    if let Some(e) = &s.error {
        lines.push(Line::from(Span::styled(
            sanitize(e).into_owned(),
            t.fg(t.error),
        )));
    }
    lines.push(Line::from(""));
    let mut hints = key_hint(t, "↑↓", "select");
    hints.extend(key_hint(t, "Enter", "edit / start"));
    hints.extend(key_hint(t, "→", "key file"));
    hints.extend(key_hint(t, "Esc", "back"));
    lines.push(Line::from(hints));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

// ------------------------------------------------------------------ running

fn fmt_ms(ms: i64) -> String {
    let secs = ms.unsigned_abs() / 1000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// A budget in seconds (from a scenario file: any size) as m:ss.
fn fmt_secs(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

fn status_mark(t: &Theme, s: StepStatus) -> (&'static str, Style) {
    match s {
        StepStatus::Done => ("✓", t.fg(t.ok)),
        StepStatus::Wrong => ("✗", t.fg(t.error)),
        StepStatus::Missed => ("✗", t.fg(t.warn)),
        StepStatus::NotReached => ("—", t.dimmed()),
        StepStatus::Postponed => ("⏸", t.fg(t.info)),
        StepStatus::Current => ("▶", t.fg(t.accent).add_modifier(Modifier::BOLD)),
        StepStatus::Pending => (" ", t.dimmed()),
    }
}

fn render_running(frame: &mut Frame, app: &App, r: &Rehearsal, inner: Rect) {
    let t = &app.shell().theme;
    let v = &r.view;
    // Header: title, seed, score, timer.
    let mut head = vec![
        Span::styled(
            short(&sanitize(&v.title), 40),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("  seed {}", r.seed), t.dimmed()),
        Span::styled(format!("  score {}/{}", v.score, v.max_so_far), t.text()),
    ];
    if let (Some(left), Some(cur)) = (r.remaining_ms(app.shell().now), &v.current) {
        let (text, style) = if left >= 0 {
            (
                format!(
                    "  step ⏱ {} left of {}",
                    fmt_ms(left),
                    fmt_secs(cur.budget_secs)
                ),
                t.fg(t.ok),
            )
        } else {
            (
                format!("  step ⏱ {} over budget (half points)", fmt_ms(left)),
                t.fg(t.warn).add_modifier(Modifier::BOLD),
            )
        };
        head.push(Span::styled(text, style));
    }
    if r.phase() != crate::domain::ceremony::machine::Phase::Done {
        let elapsed = i64::try_from(r.now_ms(app.shell().now)).unwrap_or(i64::MAX);
        let clock = format!("  ceremony {}", fmt_ms(elapsed));
        // Only whole: a cut "ceremon" would say nothing.
        let used: usize = head.iter().map(Span::width).sum();
        if used + clock.chars().count() <= usize::from(inner.width) {
            head.push(Span::styled(clock, t.dimmed()));
        }
    }
    let [head_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(Line::from(head)), head_area);

    let wide = body.width >= 110;
    if wide {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(body);
        let log_h = (left.height / 3).clamp(3, 12);
        let [check_area, log_area] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(log_h)]).areas(left);
        render_checklist(frame, app, r, check_area, true);
        render_log(frame, app, r, log_area);
        let panel = Block::new()
            .borders(Borders::LEFT)
            .border_style(t.fg(t.border))
            .padding(Padding::left(1));
        let right_inner = panel.inner(right);
        frame.render_widget(panel, right);
        render_current(frame, app, r, right_inner);
    } else {
        let cur_h = (body.height * 3 / 5).max(6).min(body.height);
        let [cur_area, rest] =
            Layout::vertical([Constraint::Length(cur_h), Constraint::Min(0)]).areas(body);
        let log_h = if rest.height >= 8 { 3 } else { 0 };
        let [check_area, log_area] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(log_h)]).areas(rest);
        render_current(frame, app, r, cur_area);
        render_checklist(frame, app, r, check_area, false);
        render_log(frame, app, r, log_area);
    }
}

fn render_checklist(frame: &mut Frame, app: &App, r: &Rehearsal, area: Rect, wide: bool) {
    if area.height == 0 {
        return;
    }
    let t = &app.shell().theme;
    let v = &r.view;
    let cur = v
        .checklist
        .iter()
        .position(|c| c.status == StepStatus::Current)
        .unwrap_or(0);
    let h = usize::from(area.height);
    let offset = cur
        .saturating_sub(h / 2)
        .min(v.checklist.len().saturating_sub(h));
    let w = usize::from(area.width);
    let actors_w = if wide { 14 } else { 0 };
    // mark, number, actors, instruction, witness initials, budget
    let instr_w = w.saturating_sub(2 + 4 + actors_w + 5 + 6);
    let lines: Vec<Line> = v
        .checklist
        .iter()
        .skip(offset)
        .take(h)
        .map(|c| {
            let (mark, mark_style) = status_mark(t, c.status);
            let current = c.status == StepStatus::Current;
            let base = if current { t.selected() } else { t.text() };
            let witness = c
                .witness
                .as_ref()
                .and_then(|role| r.name_for_role(role))
                .map(initials)
                .unwrap_or_default();
            let mut spans = vec![
                Span::styled(format!("{mark} "), if current { base } else { mark_style }),
                Span::styled(format!("{:>2}. ", c.index + 1), base),
            ];
            if actors_w > 0 {
                spans.push(Span::styled(
                    format!(
                        "{:<w$}",
                        short(&sanitize(&c.actors.join(",")), actors_w - 1),
                        w = actors_w
                    ),
                    if current { base } else { t.dimmed() },
                ));
            }
            spans.push(Span::styled(
                format!(
                    "{:<w$}",
                    short(&sanitize(&c.instruction), instr_w.saturating_sub(1)),
                    w = instr_w
                ),
                base,
            ));
            spans.push(Span::styled(
                format!("{:>4} ", short(&sanitize(&witness), 4)),
                if current { base } else { t.fg(t.info) },
            ));
            spans.push(Span::styled(
                format!("{:>5}", fmt_secs(c.budget_secs)),
                if current { base } else { t.dimmed() },
            ));
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_log(frame: &mut Frame, app: &App, r: &Rehearsal, area: Rect) {
    if area.height < 2 {
        return;
    }
    let t = &app.shell().theme;
    let h = usize::from(area.height) - 1;
    let mut lines = vec![Line::from(Span::styled(
        "event log",
        t.dimmed().add_modifier(Modifier::BOLD),
    ))];
    let skip = r.view.log.len().saturating_sub(h);
    for l in r.view.log.iter().skip(skip) {
        // Log lines are sanitized by the machine.
        let style = if l.starts_with("ANOMALY") {
            t.fg(t.warn)
        } else {
            t.dimmed()
        };
        lines.push(Line::from(Span::styled(
            short(l, usize::from(area.width)),
            style,
        )));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn options_lines<'a>(t: &Theme, options: &[(String, String)], sel: usize) -> Vec<Line<'a>> {
    options
        .iter()
        .enumerate()
        .map(|(i, (_, text))| {
            let style = if i == sel { t.selected() } else { t.text() };
            Line::from(vec![
                Span::styled(if i == sel { "▶" } else { " " }, style),
                Span::styled(format!("{}. ", i + 1), style),
                Span::styled(sanitize(text).into_owned(), style),
            ])
        })
        .collect()
}

fn chooser_lines<'a>(t: &Theme, c: &Chooser) -> Vec<Line<'a>> {
    let mut lines = vec![Line::from(Span::styled(
        sanitize(&c.title).into_owned(),
        t.fg(t.accent).add_modifier(Modifier::BOLD),
    ))];
    lines.extend(options_lines(t, &c.options, c.sel));
    lines
}

fn render_current(frame: &mut Frame, app: &App, r: &Rehearsal, area: Rect) {
    if area.height == 0 {
        return;
    }
    let t = &app.shell().theme;
    let v = &r.view;
    let mut lines: Vec<Line> = Vec::new();
    let n_steps = v.checklist.len();
    match v.phase {
        Phase::Anomaly => {
            if let Some(a) = &v.anomaly {
                lines.push(Line::from(Span::styled(
                    format!("⚠ ANOMALY — {}", sanitize(&a.kind)),
                    t.fg(t.error).add_modifier(Modifier::BOLD),
                )));
                if let Some(c) = &v.current {
                    lines.push(Line::from(Span::styled(
                        format!(
                            "at step {}/{n_steps}: {}",
                            c.index + 1,
                            sanitize(&c.instruction)
                        ),
                        t.dimmed(),
                    )));
                }
                lines.push(Line::from(Span::styled(
                    sanitize(&a.message).into_owned(),
                    t.fg(t.warn),
                )));
                lines.push(Line::from(Span::styled("How do you respond?", t.text())));
                lines.extend(options_lines(t, &a.options, r.sel));
            }
        }
        Phase::Quiz => {
            if let Some(q) = &v.question {
                lines.push(Line::from(Span::styled(
                    format!("Quiz question {}", q.index + 1),
                    t.fg(t.title).add_modifier(Modifier::BOLD),
                )));
                lines.push(Line::from(Span::styled(
                    sanitize(&q.question).into_owned(),
                    t.text(),
                )));
                if q.options.is_empty() {
                    lines.push(Line::from(key_hint(t, "Enter", "type your answer")));
                } else {
                    lines.extend(options_lines(t, &q.options, r.sel));
                }
            }
        }
        Phase::Step => {
            if let Some(c) = &v.current {
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("Step {}/{n_steps} ", c.index + 1),
                        t.fg(t.title).add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(format!("· {} ", c.kind), t.fg(t.accent)),
                ]));
                lines.push(Line::from(Span::styled(
                    sanitize(&c.instruction).into_owned(),
                    t.text().add_modifier(Modifier::BOLD),
                )));
                let who: Vec<String> = c
                    .actors
                    .iter()
                    .map(|role| match r.name_for_role(role) {
                        Some(n) => format!("{n} ({role})"),
                        None => role.clone(),
                    })
                    .collect();
                lines.push(Line::from(vec![
                    Span::styled("acts: ", t.dimmed()),
                    Span::styled(sanitize(&who.join(", ")).into_owned(), t.text()),
                ]));
                if let Some(w) = &c.witness_name {
                    lines.push(Line::from(vec![
                        Span::styled("witness: ", t.dimmed()),
                        Span::styled(format!("{} [{}]", sanitize(w), initials(w)), t.text()),
                    ]));
                }
                if let Some(q) = &v.quorum {
                    lines.push(Line::from(vec![
                        Span::styled(
                            format!("quorum {}/{}", q.have, q.need),
                            t.fg(t.accent).add_modifier(Modifier::BOLD),
                        ),
                        Span::styled(
                            if q.signed_by.is_empty() {
                                String::new()
                            } else {
                                format!("  signed: {}", sanitize(&q.signed_by.join(", ")))
                            },
                            t.dimmed(),
                        ),
                    ]));
                }
                // Steps that act on Enter say so; the others keep the machine's hint
                // (what to type or choose).
                let hint = match c.kind {
                    "sign" => "Enter: the actor signs the step record with their key".into(),
                    "quorum" => {
                        "Enter: each custodian signs the step record with their own key".into()
                    }
                    "generate_root" => {
                        "Enter: generate the root key and show its fingerprint".into()
                    }
                    "issue_signer" => "Enter: the root signs the signer certificate".into(),
                    "sign_crl" => "Enter: the root signs the CRL".into(),
                    _ => sanitize(&c.hint).into_owned(),
                };
                lines.push(Line::from(Span::styled(format!("→ {hint}"), t.fg(t.info))));
            }
            if let Some(c) = &r.chooser {
                lines.extend(chooser_lines(t, c));
            } else {
                lines.push(Line::from(key_hint(t, "Enter", "act on this step")));
            }
        }
        Phase::Done => {}
    }
    if let Some(fp) = &v.root_fingerprint {
        lines.push(Line::from(vec![
            Span::styled("root fingerprint: ", t.dimmed()),
            Span::styled(fp.clone(), t.fg(t.accent)),
        ]));
    }
    if let Some(e) = &r.error {
        lines.push(Line::from(Span::styled(
            sanitize(e).into_owned(),
            t.fg(t.error),
        )));
    }
    if let Some(x) = v.exceptions.last() {
        lines.push(Line::from(Span::styled(
            format!("Exception sheet ({}):", v.exceptions.len()),
            t.fg(t.warn).add_modifier(Modifier::BOLD),
        )));
        lines.extend(exception_lines(t, x));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn exception_lines<'a>(
    t: &Theme,
    x: &crate::domain::ceremony::machine::Exception,
) -> Vec<Line<'a>> {
    let row = |k: &str, v: &str| {
        Line::from(vec![
            Span::styled(format!("  {k:<9}"), t.dimmed()),
            Span::styled(sanitize(v).into_owned(), t.text()),
        ])
    };
    vec![
        row(
            "anomaly",
            &format!("{} ({:?})", x.anomaly, x.grade).to_lowercase(),
        ),
        row("expected", &x.expected),
        row("happened", &x.happened),
        row("decided", &x.decided),
    ]
}

// ------------------------------------------------------------------ summary

fn render_summary(frame: &mut Frame, app: &App, r: &Rehearsal, inner: Rect) {
    let t = &app.shell().theme;
    let v = &r.view;
    let mut lines: Vec<Line> = Vec::new();
    let Some(s) = &v.summary else {
        return;
    };
    lines.push(Line::from(vec![
        Span::styled(
            if s.passed { " PASSED " } else { " FAILED " },
            if s.passed { t.fg(t.ok) } else { t.fg(t.error) }
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ),
        Span::styled(
            format!(
                "  {} — {}/{} ({}%, pass mark {}%)  seed {}",
                sanitize(&v.title),
                s.score,
                s.max,
                s.percent,
                s.pass_mark,
                r.seed
            ),
            t.text().add_modifier(Modifier::BOLD),
        ),
    ]));
    if s.postponed {
        lines.push(Line::from(Span::styled(
            "The ceremony was postponed (not-run steps are not scored).",
            t.fg(t.info),
        )));
    }
    if let Some(f) = &s.failure {
        lines.push(Line::from(Span::styled(
            format!("failed: {}", sanitize(f)),
            t.fg(t.error),
        )));
    }
    lines.push(Line::from(Span::styled(
        format!(
            "steps {}/{} · anomalies {}/{} handled right · quiz {}/{}",
            s.steps_correct,
            s.steps_total,
            s.anomalies_right,
            s.anomalies_total,
            s.quiz_points,
            s.quiz_max
        ),
        t.fg(t.accent),
    )));
    match &r.save {
        SaveState::NotStarted | SaveState::Saving => lines.push(Line::from(Span::styled(
            "saving the transcript…",
            t.dimmed(),
        ))),
        SaveState::Saved { path, ledger } => {
            lines.push(Line::from(vec![
                Span::styled("transcript: ", t.dimmed()),
                Span::styled(sanitize(&path.display().to_string()).into_owned(), t.text()),
            ]));
            lines.push(match ledger {
                Ok(id) => Line::from(vec![
                    Span::styled("ledger: ", t.dimmed()),
                    Span::styled(format!("ceremony_rehearsal {}", sanitize(id)), t.fg(t.ok)),
                ]),
                Err(e) => Line::from(Span::styled(sanitize(e).into_owned(), t.fg(t.warn))),
            });
        }
        SaveState::Failed(e) => lines.push(Line::from(Span::styled(
            sanitize(e).into_owned(),
            t.fg(t.error),
        ))),
    }
    let wide = inner.width >= 110;
    let mut score_lines: Vec<Line> = vec![Line::from(Span::styled(
        "score",
        t.dimmed().add_modifier(Modifier::BOLD),
    ))];
    for l in &r.scores {
        let style = if l.points >= l.max {
            t.fg(t.ok)
        } else if l.points == 0 {
            t.fg(t.error)
        } else {
            t.fg(t.warn)
        };
        score_lines.push(Line::from(vec![
            Span::styled(format!("{:>5}/{:<3}", l.points, l.max), style),
            Span::styled(format!("{:<8}", l.kind), t.dimmed()),
            Span::styled(
                format!("{} {}", sanitize(&l.id), sanitize(&l.outcome)),
                t.text(),
            ),
        ]));
    }
    let mut other: Vec<Line> = Vec::new();
    if !s.practise.is_empty() {
        other.push(Line::from(Span::styled(
            "practise next",
            t.dimmed().add_modifier(Modifier::BOLD),
        )));
        for p in &s.practise {
            other.push(Line::from(Span::styled(
                format!("• {}", sanitize(p)),
                t.text(),
            )));
        }
    }
    if !v.exceptions.is_empty() {
        other.push(Line::from(Span::styled(
            format!("exception sheet ({})", v.exceptions.len()),
            t.fg(t.warn).add_modifier(Modifier::BOLD),
        )));
        for x in &v.exceptions {
            other.extend(exception_lines(t, x));
        }
    }
    let mut hints = key_hint(t, "↑↓", "scroll");
    hints.extend(key_hint(t, "Esc", "back to the list"));
    hints.extend(key_hint(t, "→", "(on the list) reopen this summary"));
    other.push(Line::from(hints));
    let scroll = (r.scroll, 0);
    if !wide {
        // Narrow: one scrolling column — the verdict, practise and exceptions first
        // (they matter most), then the table.
        lines.push(Line::from(""));
        lines.extend(other);
        lines.push(Line::from(""));
        lines.extend(score_lines);
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll(scroll),
            inner,
        );
        return;
    }
    // Wide: the verdict on top (its wrapped height), then the table beside the rest.
    let w = usize::from(inner.width.max(1));
    let head_h: usize = lines.iter().map(|l| l.width().max(1).div_ceil(w)).sum();
    let head_h = u16::try_from(head_h + 1).unwrap_or(u16::MAX);
    let [head, body] =
        Layout::vertical([Constraint::Length(head_h), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), head);
    let [l, rr] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
    frame.render_widget(Paragraph::new(score_lines).scroll(scroll), l);
    frame.render_widget(
        Paragraph::new(other)
            .wrap(Wrap { trim: false })
            .scroll(scroll),
        rr,
    );
}
