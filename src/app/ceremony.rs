//! Ceremony pane state: the scenario list; the ceremony pane's keys.

use super::*;

/// A ceremony scenario as listed in the pane.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSummary {
    pub id: String,
    pub title: String,
    pub steps: usize,
    pub anomalies: usize,
    pub roles: Vec<String>,
    pub summary: String,
    pub pass_mark: u32,
}

impl App {
    pub(crate) fn ceremony_action(&mut self, a: Action) {
        self.scenario_sel = move_sel(self.scenario_sel, self.scenarios.len(), a, 5);
    }
}

impl App {
    /// Text submitted while a rehearsal waits for input.
    pub(crate) fn submit_ceremony_input(&mut self, text: String) {
        let _ = text;
    }

    /// Esc in the ceremony prompt.
    pub(crate) fn ceremony_input_cancelled(&mut self) {}
}
