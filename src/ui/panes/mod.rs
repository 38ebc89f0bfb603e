//! One module per pane. Each draws from `App` state only.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::{App, Pane};

pub mod ceremony;
pub mod cost;
pub mod health;
pub mod ledger;
pub mod rhythm;

pub fn render(frame: &mut Frame, app: &App, pane: Pane, area: Rect) {
    if area.width < 3 || area.height < 2 {
        return;
    }
    match pane {
        Pane::Health => health::render(frame, app, area),
        Pane::Ledger => ledger::render(frame, app, area),
        Pane::Cost => cost::render(frame, app, area),
        Pane::Rhythm => rhythm::render(frame, app, area),
        Pane::Ceremony => ceremony::render(frame, app, area),
    }
}

/// `1 anomaly`, `2 anomalies`, `0 branches`: a count with its noun in the right number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A column that is shown only when the pane is wide enough (lower `prio` first).
pub struct Col {
    pub title: &'static str,
    pub width: u16,
    pub prio: u8,
}

/// Indexes of the columns that fit in `width`, in their original order.
pub fn fit_columns(cols: &[Col], width: u16) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cols.len()).collect();
    order.sort_by_key(|i| cols.get(*i).map_or(u8::MAX, |c| c.prio));
    let mut used = 0u16;
    let mut keep = Vec::new();
    for i in order {
        let Some(c) = cols.get(i) else { continue };
        let need = c.width + 1;
        if used + need <= width {
            used += need;
            keep.push(i);
        }
    }
    keep.sort_unstable();
    keep
}

/// A table row of only the `keep` columns (from `fit_columns`).
pub fn fitted_row<'a, const N: usize>(
    cells: [ratatui::widgets::Cell<'a>; N],
    keep: &[usize],
) -> ratatui::widgets::Row<'a> {
    let mut cells: Vec<Option<ratatui::widgets::Cell<'a>>> = cells.into_iter().map(Some).collect();
    ratatui::widgets::Row::new(
        keep.iter()
            .filter_map(|i| cells.get_mut(*i).and_then(Option::take)),
    )
}

/// The widths of the `keep` columns.
pub fn fitted_widths(cols: &[Col], keep: &[usize]) -> Vec<ratatui::layout::Constraint> {
    keep.iter()
        .filter_map(|i| cols.get(*i))
        .map(|c| ratatui::layout::Constraint::Length(c.width))
        .collect()
}
