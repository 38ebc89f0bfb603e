//! Scoring: per step (correct, within its time budget), per anomaly (graded
//! response), quiz; the pass mark; and what to practise next.

use serde::Serialize;

use super::scenario::{Grade, Scenario};

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Current,
    Done,
    /// Answered wrongly.
    Wrong,
    /// Skipped or timed out without an answer.
    Missed,
    /// The ceremony was stopped (failed) before this step.
    NotReached,
    /// The ceremony was properly postponed before this step: not scored.
    Postponed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    pub step: String,
    pub status: StepStatus,
    pub within_time: bool,
    pub points: u32,
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnomalyResult {
    pub anomaly: String,
    pub kind: String,
    /// `None` when nobody responded.
    pub response: Option<String>,
    pub grade: Grade,
    pub points: u32,
    pub max: u32,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuizResult {
    pub question: String,
    pub answer: String,
    pub points: u32,
    pub max: u32,
    pub explanation: String,
}

/// The end-of-rehearsal summary (also the last transcript record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub passed: bool,
    pub score: u32,
    pub max: u32,
    pub percent: u32,
    pub pass_mark: u32,
    /// Why the rehearsal failed outright (a wrong answer on a critical step, a
    /// wrong anomaly response with consequence `fail`), if it did.
    pub failure: Option<String>,
    pub postponed: bool,
    pub steps_correct: u32,
    pub steps_total: u32,
    pub anomalies_right: u32,
    pub anomalies_total: u32,
    pub quiz_points: u32,
    pub quiz_max: u32,
    /// What to practise next, most important first.
    pub practise: Vec<String>,
}

/// Total the results. `failure` is set when the rehearsal failed outright.
pub fn summarize(
    scenario: &Scenario,
    steps: &[StepResult],
    anomalies: &[AnomalyResult],
    quiz: &[QuizResult],
    failure: Option<String>,
    postponed: bool,
) -> Summary {
    let scored_steps = steps.iter().filter(|s| s.status != StepStatus::Postponed);
    let (mut score, mut max) = (0u32, 0u32);
    let (mut steps_correct, mut steps_total) = (0u32, 0u32);
    for s in scored_steps {
        score += s.points;
        max += s.max;
        steps_total += 1;
        if s.status == StepStatus::Done {
            steps_correct += 1;
        }
    }
    let mut anomalies_right = 0;
    for a in anomalies {
        score += a.points;
        max += a.max;
        if a.grade == Grade::Right {
            anomalies_right += 1;
        }
    }
    let quiz_points: u32 = quiz.iter().map(|q| q.points).sum();
    let quiz_max: u32 = quiz.iter().map(|q| q.max).sum();
    score += quiz_points;
    max += quiz_max;
    let percent = if max == 0 {
        100
    } else {
        u32::try_from(u64::from(score) * 100 / u64::from(max)).unwrap_or(100)
    };

    let mut practise = Vec::new();
    if let Some(f) = &failure {
        practise.push(format!("Why the rehearsal failed: {f}"));
    }
    for a in anomalies.iter().filter(|a| a.grade != Grade::Right) {
        practise.push(format!(
            "Anomaly {} ({}): {}",
            a.anomaly,
            match a.grade {
                Grade::Wrong => "wrong response",
                _ => "acceptable, not best",
            },
            a.explanation
        ));
    }
    for s in steps {
        let step = scenario.steps.iter().find(|d| d.id == s.step);
        let what = step.map(|d| d.instruction.as_str()).unwrap_or("");
        match s.status {
            StepStatus::Wrong | StepStatus::Missed => {
                practise.push(format!("Step {}: {what}", s.step));
            }
            StepStatus::Done if !s.within_time => {
                practise.push(format!("Step {}: finish within its time budget", s.step));
            }
            _ => {}
        }
    }
    for q in quiz.iter().filter(|q| q.points < q.max) {
        practise.push(format!("Quiz {}: {}", q.question, q.explanation));
    }

    Summary {
        scenario: scenario.id.clone(),
        passed: failure.is_none() && percent >= scenario.pass_mark,
        score,
        max,
        percent,
        pass_mark: scenario.pass_mark,
        failure,
        postponed,
        steps_correct,
        steps_total,
        anomalies_right,
        anomalies_total: u32::try_from(anomalies.len()).unwrap_or(u32::MAX),
        quiz_points,
        quiz_max,
        practise,
    }
}

/// Points for a short answer: the question's points shared over its keywords.
pub fn short_answer_points(answer: &str, keywords: &[String], points: u32) -> u32 {
    if keywords.is_empty() {
        return 0;
    }
    let answer = answer.to_lowercase();
    let hits = keywords
        .iter()
        .filter(|k| answer.contains(k.as_str()))
        .count();
    let total = keywords.len();
    u32::try_from(u64::from(points) * hits as u64 / total as u64).unwrap_or(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_answers_share_points_over_keywords() {
        let kw = vec!["two".to_string(), "custodian".to_string()];
        assert_eq!(short_answer_points("Two custodians", &kw, 10), 10);
        assert_eq!(short_answer_points("two people", &kw, 10), 5);
        assert_eq!(short_answer_points("nobody", &kw, 10), 0);
        assert_eq!(short_answer_points("x", &[], 10), 0);
    }
}
