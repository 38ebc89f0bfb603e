//! The key-ceremony simulator (docs/scenarios.md and docs/formats.md): scenario files, the pure state
//! machine that runs a rehearsal (the single source of truth for the pane and for
//! headless runs), real rehearsal cryptography, scoring, answer scripts and signed,
//! hash-chained transcripts.

pub mod crypto;
pub mod machine;
pub mod scenario;
pub mod score;
pub mod script;
pub mod seed;
pub mod transcript;

pub use machine::{Input, Machine, MachineError, Participant, Phase, Transition, View};
pub use scenario::{Diagnostic, Scenario};

macro_rules! shipped {
    ($id:literal) => {
        (
            concat!("scenarios/", $id, ".yaml"),
            include_str!(concat!("../../../scenarios/", $id, ".yaml")),
        )
    };
}
macro_rules! pass_script {
    ($id:literal) => {
        (
            $id,
            include_str!(concat!("../../../scenarios/scripts/", $id, ".pass.yaml")),
        )
    };
}

/// The scenarios shipped in the binary: (file name, YAML).
pub const SHIPPED: &[(&str, &str)] = &[
    shipped!("initial-root-setup"),
    shipped!("expired-token-signing"),
    shipped!("quarterly-audit-torn-seal"),
    shipped!("tamper-bag-serial-mismatch"),
    shipped!("signer-reissue"),
    shipped!("crl-after-compromise"),
    shipped!("root-compromise-rollover"),
    shipped!("witness-no-show"),
    shipped!("equipment-failure"),
    shipped!("fingerprint-mismatch"),
];

/// The passing answer script of every shipped scenario: (scenario id, YAML). Used
/// by `ceremony run` when no `--script` is given.
pub const SHIPPED_PASS_SCRIPTS: &[(&str, &str)] = &[
    pass_script!("initial-root-setup"),
    pass_script!("expired-token-signing"),
    pass_script!("quarterly-audit-torn-seal"),
    pass_script!("tamper-bag-serial-mismatch"),
    pass_script!("signer-reissue"),
    pass_script!("crl-after-compromise"),
    pass_script!("root-compromise-rollover"),
    pass_script!("witness-no-show"),
    pass_script!("equipment-failure"),
    pass_script!("fingerprint-mismatch"),
];

/// Parse every shipped scenario (they are checked by the test suite, so an error
/// here means a broken build, but it is still reported, not panicked on).
pub fn shipped_scenarios() -> Vec<Result<Scenario, Vec<Diagnostic>>> {
    SHIPPED
        .iter()
        .map(|(file, text)| scenario::parse(file, text))
        .collect()
}
