//! Command line (`lumen --help` and docs/formats.md): clap derive. Global flags are accepted before or
//! after the subcommand (`global = true`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "lumen", version, about = "Lumen — the HQ operations console", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// HQ root directory (default: `hq_root` from the config file, else the current directory)
    #[arg(long, global = true, value_name = "DIR")]
    pub hq: Option<PathBuf>,
    /// Config file (default: config.yaml in the platform config directory)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Operator identity: an Ed25519 private key (PKCS#8 PEM, mode 0600)
    #[arg(long, global = true, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Print machine-readable JSON (docs/formats.md) where the command prints data
    #[arg(long, global = true)]
    pub json: bool,
    /// Theme name (dark, light, high-contrast, colorblind, or a user theme)
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Open the console read-only: no action keys, nothing written
    #[arg(long, global = true)]
    pub readonly: bool,
    /// Skip the typed confirmation (required when standard input is not a terminal)
    #[arg(long, global = true)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Console on an embedded, self-running demo HQ
    Demo(DemoArgs),
    /// The demo's exporter, health endpoints and event generator, headless
    Simulate(SimulateArgs),
    /// Scaffold an HQ root from the shipped template
    Init(InitArgs),
    /// Check files, schemas, keys and sources; print a report with a fix for each finding
    Doctor,
    /// Trust chain and custody: root, signer certificate, CRL, seal audits
    Custody,
    /// Poll an exporter once and print what was parsed
    Scrape(ScrapeArgs),
    /// New signer key; prints the keys.json entry
    Keygen(KeygenArgs),
    /// Ledger tools: verify, stats, prove, checkpoint, append
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Monthly billing export: billing/YYYY-MM/<branch>.json + summary.csv
    Billing(BillingArgs),
    /// Roll back a deploy (headless)
    Rollback(RollbackArgs),
    /// Revert the newest rule change
    RuleRollback,
    /// Turn the kill switch on or off
    Killswitch(KillswitchArgs),
    /// Put a branch in or out of maintenance mode
    Maintenance(MaintenanceArgs),
    /// Key-ceremony rehearsals
    #[command(subcommand)]
    Ceremony(CeremonyCommand),
    /// What fires now, critical first then newest (exit 1 if any alert is critical)
    Alerts(AlertsArgs),
    /// Headless alert evaluator and notifier, run as a service (docs/alerts.md)
    Watch(WatchArgs),
    /// Print shell completions
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// Do not check branch health endpoints (no network; no BranchDown)
    #[arg(long)]
    pub no_health: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// How often conditions are evaluated (e.g. 5s, 1m)
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub interval: String,
    /// What was already sent (default: hq/notifications/sent-log.json under the HQ root)
    #[arg(long, value_name = "FILE")]
    pub sent_log: Option<PathBuf>,
    /// Log file (default: watch.log in Lumen's log directory)
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Evaluate and send once, then exit (for cron and tests)
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed for the simulated world
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep the demo directory (HQ root, ledger, transcripts and the demo operator's
    /// private key) on quit and print where it is; by default it is removed
    #[arg(long)]
    pub keep: bool,
    /// Keep deploying while the kill switch is on, to show the critical
    /// KillSwitchViolation alert (by default the demo's automation obeys it)
    #[arg(long)]
    pub chaos: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address for the exporter and health endpoints
    #[arg(long, default_value = "127.0.0.1:9108")]
    pub listen: String,
    /// Ledger events appended per second
    #[arg(long, default_value_t = 2.0)]
    pub events_per_sec: f64,
    /// Stop after this many seconds (default: run until interrupted)
    #[arg(long)]
    pub duration: Option<u64>,
    /// Seed for the simulated world
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep deploying while the kill switch is on (shows the KillSwitchViolation alert)
    #[arg(long)]
    pub chaos: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the HQ root in
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ScrapeArgs {
    /// Exporter URL, e.g. http://127.0.0.1:9108/metrics
    pub url: String,
    /// Request timeout in seconds
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Largest body accepted, in bytes
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_bytes: usize,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the private key (PKCS#8 PEM, mode 0600)
    #[arg(long)]
    pub out: PathBuf,
    /// Signer id for keys.json
    #[arg(long, default_value = "operator")]
    pub id: String,
    /// Role for keys.json
    #[arg(long, default_value = "hq_admin")]
    pub role: String,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check rejects, hash chain, signatures, offsets, checkpoints and the local witness
    Verify(LedgerVerifyArgs),
    /// Per-branch counts by event, tokens and cost
    Stats(LedgerStatsArgs),
    /// RFC 6962 audit path for one entry
    Prove(LedgerProveArgs),
    /// Append a signed tree head to hq/ledger/checkpoints.jsonl
    Checkpoint,
    /// Append one chained, signed entry
    Append(LedgerAppendArgs),
    /// Write the Merkle tree as C2SP tlog-tiles (hash tiles and entry bundles) to a
    /// directory an auditor's tile tools can read
    Tiles(LedgerTilesArgs),
}

#[derive(Debug, Args)]
pub struct LedgerTilesArgs {
    /// Directory to write tile/… (and checkpoint) under; created if missing
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct LedgerStatsArgs {
    /// Only entries of this month (YYYY-MM)
    #[arg(long)]
    pub month: Option<String>,
}

#[derive(Debug, Args)]
pub struct LedgerVerifyArgs {
    /// Also prove the ledger extends this checkpoint note (C2SP tlog-checkpoint), e.g.
    /// a copy of hq/ledger/checkpoint an auditor kept; repeatable
    #[arg(long = "checkpoint", value_name = "FILE")]
    pub checkpoints: Vec<std::path::PathBuf>,
    /// Neither check nor update the local witness (the newest checkpoint this machine
    /// verified, kept in the user's data directory)
    #[arg(long)]
    pub no_witness: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["id", "index", "consistency"])))]
pub struct LedgerProveArgs {
    /// The entry's id (must be unique in the file; else use --index)
    #[arg(long)]
    pub id: Option<String>,
    /// The entry's leaf index (0-based among the file's non-empty complete lines)
    #[arg(long)]
    pub index: Option<u64>,
    /// Consistency proof (RFC 9162) from the tree of OLD leaves to the current tree
    /// (or --size N)
    #[arg(long, value_name = "OLD")]
    pub consistency: Option<u64>,
    /// Tree size (default: every complete line)
    #[arg(long)]
    pub size: Option<u64>,
}

#[derive(Debug, Args)]
pub struct LedgerAppendArgs {
    #[arg(long)]
    pub event: String,
    #[arg(long)]
    pub branch: String,
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub target: Option<String>,
    #[arg(long, default_value = "operator")]
    pub actor: String,
    #[arg(long)]
    pub tokens: Option<u64>,
    #[arg(long)]
    pub cost: Option<f64>,
    /// Extra field, k=v (repeatable)
    #[arg(long = "field", value_name = "K=V")]
    pub fields: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BillingArgs {
    /// Month to bill, YYYY-MM
    #[arg(long)]
    pub month: String,
    /// Output directory (default: the HQ root)
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The deploy TXN to roll back
    #[arg(long)]
    pub target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Args)]
pub struct KillswitchArgs {
    pub state: OnOff,
}

#[derive(Debug, Args)]
pub struct MaintenanceArgs {
    pub branch: String,
    pub state: OnOff,
}

#[derive(Debug, Subcommand)]
pub enum CeremonyCommand {
    /// List the available scenarios
    List(ScenarioDirsArgs),
    /// Run a rehearsal headless from an answer script
    Run(CeremonyRunArgs),
    /// Verify a transcript's hash chain and signatures
    Verify(CeremonyVerifyArgs),
    /// Validate scenario files (all known scenarios when DIR is omitted)
    Check(CeremonyCheckArgs),
}

#[derive(Debug, Args)]
pub struct ScenarioDirsArgs {
    /// Extra scenario directory (repeatable)
    #[arg(long = "scenarios", value_name = "DIR")]
    pub scenario_dirs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CeremonyRunArgs {
    #[arg(long)]
    pub scenario: String,
    /// Answer script (YAML, docs/formats.md)
    #[arg(long)]
    pub script: Option<PathBuf>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub dirs: ScenarioDirsArgs,
}

#[derive(Debug, Args)]
pub struct CeremonyVerifyArgs {
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct CeremonyCheckArgs {
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub dirs: ScenarioDirsArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}
