//! The command line (brief 3.1). Every command has `--help` that says what it does.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A terminal operations console for moving customers from a legacy system onto a new
/// platform: plan waves, drive batches that copy, validate and can roll back, and watch it live.
///
/// With no command, opens the console. With no config found, it creates (once) and opens the
/// demo workspace in the data directory.
#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "Terminal operations console for migrating customers from a legacy system onto a new platform",
    long_about
)]
pub struct Cli {
    /// Workspace config file (TOML). Default: $CUTOVER_CONFIG, then ~/.config/cutover/cutover.toml,
    /// then the demo workspace.
    #[arg(long, global = true, env = "CUTOVER_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Open the state database read-only: every write action is hidden and refused.
    #[arg(long, global = true)]
    pub readonly: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the demo workspace (config, legacy, platform and state databases) in the data
    /// directory, plan it, and print where it is.
    Demo(DemoArgs),
    /// Load a file export into a SQLite database.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Read customers and their metrics from the source through the mapping, run the audit,
    /// assign segments, and build waves and batches. Idempotent: customers migrated or in flight
    /// are not touched; new, fixed and failed customers are (re)queued.
    Plan {
        /// Print the plan summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Drive batches without the console, in priority order. Progress goes to stderr. Exits 0
    /// when the work asked for was attempted (failed customers are reported, not fatal).
    Run(RunArgs),
    /// Print a snapshot of the state: customers by status, segments, runner, alerts.
    Status {
        /// Print JSON (the documented contract) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Roll back one customer, a batch, a wave or everything, and verify the platform against
    /// the backup checksums. Shows what it will touch first and asks for confirmation unless
    /// --yes; --dry-run only shows it. The next `plan` requeues the customers rolled back.
    Rollback(RollbackArgs),
    /// Re-check migrated customers against the source by row counts and checksums. Exits 1 on
    /// any mismatch.
    Validate {
        /// Only this customer (legacy id).
        #[arg(long, value_name = "ID")]
        customer: Option<String>,
    },
    /// End-of-run summary per entity: source rows, target rows, rejected, checksum mismatches,
    /// time.
    ///
    /// `--daily` and `--weekly` report a period instead: progress per wave and against the
    /// calendar, failures, quarantines and rollbacks, throughput and batch durations (p50,
    /// p95), retries and dead letters, alerts opened, escalated and resolved, milestones done
    /// and overdue, KPIs against targets. A past period's waves and KPIs come from the daily
    /// snapshot stored then.
    Report {
        #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
        format: ReportFormat,
        /// The report of one day (today unless `--date`).
        #[arg(long, conflicts_with = "weekly")]
        daily: bool,
        /// The day (YYYY-MM-DD) for `--daily`.
        #[arg(long, value_name = "DATE", requires = "daily")]
        date: Option<String>,
        /// The report of an ISO week, Monday to Sunday (this week unless `--week`).
        #[arg(long)]
        weekly: bool,
        /// The week (YYYY-Www, like 2026-W49) for `--weekly`.
        #[arg(long, value_name = "WEEK", requires = "weekly")]
        week: Option<String>,
    },
    /// Score every customer's health now: each configured component's value, the weighted
    /// score, its level and the trend against the previous score, stored as history.
    Health {
        /// Print the run's summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure our code against what the database does on its own, both in one run, and print
    /// the ratio (see BENCHMARKS.md). Works in a scratch schema or file, never on a workspace.
    #[command(subcommand)]
    Bench(BenchCmd),
    /// List success plans with milestone progress, the longest overdue first: owner, type,
    /// status, completed of total, the next milestone due and how many are overdue. `plans new`
    /// opens one for a customer; `plans set` moves one through draft, active, on hold,
    /// completed, cancelled.
    #[command(args_conflicts_with_subcommands = true)]
    Plans {
        #[command(subcommand)]
        cmd: Option<PlansCmd>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Only these: `owner:NAME`, `type:KIND`, `status:STATUS`, or text matched against
        /// title, customer and owner (words combine).
        #[arg(long, value_name = "FILTER", default_value = "")]
        filter: String,
    },
    /// A customer's validation certificate: per entity the source's and the platform's counts
    /// and checksums at validation, every step with its time, worker and outcome, any rollback
    /// with its operator and role, and a SHA-256 over the record. `--verify FILE` checks an
    /// archived one (exit 1 when it was changed).
    Certificate(CertificateArgs),
    /// The programme calendar (`[programme]`): today's day of the programme, each wave's
    /// window as dates and whether it is early, on time or behind with the customers a day it
    /// needs, then the programme day by day.
    Calendar {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Read it for this date instead of today (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
    },
    /// Customer communications: per wave and notice, when it goes and how many customers it
    /// is due to, sent, delivered, failed (dead-lettered) and held, with the reach (delivered
    /// ÷ due). `comms preview` prints one notice as a customer gets it.
    #[command(args_conflicts_with_subcommands = true)]
    Comms {
        #[command(subcommand)]
        cmd: Option<CommsCmd>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Count for this date instead of today (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
    },
    /// The programme's KPIs against their targets: completion (with its projection to the
    /// programme's last day), data integrity, rollback time, throughput, notice reach, alerts
    /// within their service level, and the workspace's own `[[kpi]]` queries; each met, at
    /// risk or missed, with its trend from the daily snapshots. A failing query exits 2
    /// naming its key.
    Kpi {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Judge for this date instead of today (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
    },
    /// Do once what a console or `cutover run` does every minute: put the notices due today
    /// into the outbox, store today's snapshot (waves, KPIs), send yesterday's daily report
    /// when `[report] daily_at` has passed, and deliver what is due. For cron, or a workspace
    /// with no console up.
    Tick {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Open alerts in triage order with each one's tier, owner and where it stands against its
    /// tier's service level (time left to acknowledge or resolve, or how late), then the
    /// service-level figures per tier and severity: alerts whose acknowledge and resolve
    /// deadlines were met or breached.
    Alerts {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Only alerts past a deadline.
        #[arg(long)]
        breached: bool,
        /// Only this CSM's alerts (the customer's owner, or whoever took the alert).
        #[arg(long, value_name = "NAME")]
        owner: Option<String>,
        /// List at most this many.
        #[arg(long, value_name = "N", default_value_t = 500)]
        limit: i64,
    },
    /// List every batch: id (what `rollback --batch` takes), wave, state, customers
    /// planned and migrated, rows written (from the backups), started, finished, worker.
    Batches {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List quarantined customers: id, name, wave, the rule that held each, its detail, and
    /// since when. Fix the data at the source and run `cutover plan` to release them.
    Quarantine {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a workspace before a migration night without writing anything: load the config,
    /// open each database read-only, prepare every mapping, owner, health and KPI query on its
    /// database and list the canonical columns each mapping returns and lacks, the audit rules
    /// that apply and those that cannot, the notify targets' secrets, and the operator's role.
    /// Exits 0 when every check passes, 1 on a failed one, 2 on a bad config.
    Doctor {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also reach each notify target with a HEAD request.
        #[arg(long)]
        network: bool,
    },
    /// Expose the workspace's metrics in the Prometheus text format at
    /// http://ADDR/metrics until interrupted: customers by segment, tier and status, migrated
    /// per minute, batch and step durations (histograms), steps redone, dead letters, open
    /// alerts by severity and level, the runner state. Reads the state database only
    /// (read-only), per scrape.
    Serve {
        /// Where to listen (loopback unless you say otherwise; port 0 picks a free one).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9184")]
        metrics: std::net::SocketAddr,
    },
    /// Where this installation keeps things: the config file in use, the data directory,
    /// the log directory, and the state, source and platform database URLs with passwords
    /// masked. Reads the config; opens no database.
    Info {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script for cutover to stdout, e.g.
    /// `cutover completions bash > /etc/bash_completion.d/cutover` (the Debian package ships
    /// them).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, e.g. `cutover man | man -l -`.
    Man,
    /// Pause the runner: every worker stops at its next step boundary and waits.
    Pause,
    /// Resume a paused runner, or release a halted one (it stays idle until work is started).
    Resume,
    /// Halt everything: no worker claims or continues work until resumed.
    Halt {
        /// Why (recorded in the audit log).
        #[arg(long, default_value = "halted from the command line")]
        reason: String,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many customers to generate (about 5 in 7 active).
    #[arg(long, default_value_t = 700)]
    pub customers: usize,
    /// Random seed: the same seed and as-of date give the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Replace an existing demo workspace.
    #[arg(long)]
    pub force: bool,
    /// The as-of date the data is generated around (YYYY-MM-DD). Default: today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Directory to write to. Default: the demo directory under the data directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Pause between pipeline steps written into the demo config, in ms, so progress can be
    /// watched.
    #[arg(long, default_value_t = 150)]
    pub step_delay_ms: u64,
    /// Put the state database here instead of `state.db` in the directory, e.g.
    /// `postgres://host/cutover` for a workspace several operators share. It must be empty.
    #[arg(long, value_name = "URL")]
    pub state_url: Option<String>,
    /// Put the platform (target) database here instead of `platform.db` in the directory.
    /// It must not hold platform rows yet.
    #[arg(long, value_name = "URL")]
    pub target_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PlansCmd {
    /// Open a plan for a customer from a shipped template (onboarding, recovery, expansion),
    /// starting today; an onboarding lasts as long as the customer's tier's onboarding. A
    /// customer's plan of the same template is found, not doubled.
    New {
        /// The customer's legacy id.
        #[arg(long, value_name = "ID")]
        customer: String,
        /// The template.
        #[arg(long, value_name = "NAME")]
        template: String,
        /// Its owner (default: the customer's owning CSM, else you).
        #[arg(long, value_name = "NAME")]
        owner: Option<String>,
        /// Start it as a draft (activate it with `plans set ID active`).
        #[arg(long)]
        draft: bool,
    },
    /// Move a plan to a status: a draft is activated or cancelled; an active plan is put
    /// on hold, completed or cancelled; a plan on hold resumes or is cancelled; a completed
    /// one may be reopened. Recorded in the audit log with the reason.
    Set {
        /// The plan's id (`cutover plans` lists them).
        plan: i64,
        /// draft, active, on_hold, completed or cancelled.
        status: String,
        /// Why (recorded in the audit log).
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CommsCmd {
    /// Print a notice as a customer would get it: a `[[communication]]` entry's name or a
    /// shipped template (announcement, guide, reminder, starts, moved, survey, moved_back,
    /// crisis), its placeholders filled from the state.
    Preview {
        /// The customer's legacy id.
        #[arg(long, value_name = "ID")]
        customer: String,
        /// The notice.
        #[arg(long, value_name = "NAME")]
        notice: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Load a CSV export (with a header row) into a SQLite table of TEXT columns, byte for byte;
    /// the mapping then casts and cleans.
    Csv {
        /// The CSV file.
        file: PathBuf,
        /// Table to create.
        #[arg(long, value_name = "NAME")]
        table: String,
        /// SQLite database file to load into (created if missing).
        #[arg(long, value_name = "PATH")]
        into: PathBuf,
        /// Drop the table first if it exists.
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Only batches of this segment.
    #[arg(long, value_name = "NAME")]
    pub segment: Option<String>,
    /// Stop after this many batches.
    #[arg(long, value_name = "K")]
    pub batches: Option<usize>,
    /// Rebuild the unclaimed batches with this many customers each before running (not with
    /// --dry-run, which writes nothing).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Show which batches would run, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// A customer's legacy id.
    #[arg(long, value_name = "ID")]
    pub customer: Option<String>,
    /// A batch id (as `cutover batches` and the console list them, e.g. VIP-0001).
    #[arg(long, value_name = "ID")]
    pub batch: Option<String>,
    /// A wave: every customer of this segment (its name, as `status` shows it, e.g. VIP).
    #[arg(long, value_name = "NAME")]
    pub segment: Option<String>,
    /// Halt the runner and roll back every customer the migration touched.
    #[arg(long)]
    pub all: bool,
    /// Print what the rollback would touch (customers, platform rows per entity, batches,
    /// waves, customers already told they moved, an estimate from measured rollbacks) and
    /// change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print it as JSON.
    #[arg(long, requires = "dry_run")]
    pub json: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct CertificateArgs {
    /// The customer's legacy id.
    #[arg(long, value_name = "ID", required_unless_present = "verify")]
    pub customer: Option<String>,
    /// Print it as JSON (what to archive).
    #[arg(long)]
    pub json: bool,
    /// Check an archived certificate's digest against its content.
    #[arg(long, value_name = "FILE", conflicts_with = "customer")]
    pub verify: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Each query of the console's poll on the workspace's state, and the whole snapshot:
    /// p50, p95 and max over `--runs`.
    Poll {
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Rows per list, as the console asks (its default is `tui::app::LIST_LIMIT`).
        #[arg(long, default_value_t = cutover_list_limit())]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// A full frame of the console (`Terminal::draw` on a test backend) from the workspace's
    /// real snapshot: p50, p95 and max over `--runs`.
    Frame {
        #[arg(long, default_value_t = 200)]
        width: u16,
        #[arg(long, default_value_t = 50)]
        height: u16,
        #[arg(long, default_value_t = 500)]
        runs: usize,
        #[arg(long)]
        json: bool,
    },
    /// The platform insert path (multi-row VALUES on SQLite, UNNEST arrays on PostgreSQL)
    /// against a server-side `INSERT … SELECT` of the same payment rows.
    Copy {
        /// The database to measure on (`sqlite://…` or `postgres://…`); a scratch schema
        /// (PostgreSQL) or a file in the temp directory (SQLite) is used and removed.
        #[arg(long, value_name = "URL", default_value = "sqlite://bench.db")]
        url: String,
        /// Payment rows to copy.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// `cutover plan` on a generated export with no index (two tables as `sqlite3 .import`
    /// leaves them: customers and purchases) in a scratch directory, planned twice (a new state,
    /// then a re-plan), against one `GROUP BY` aggregate over the same purchases. Needs no
    /// workspace.
    Plan {
        /// Customers in the export.
        #[arg(long, default_value_t = 23_570)]
        customers: usize,
        /// Purchase rows in the export.
        #[arg(long, default_value_t = 69_659)]
        purchases: usize,
        /// Rounds, each a new state planned twice and the aggregate timed after it; the
        /// figures printed are the medians over them.
        #[arg(long, default_value_t = 3, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        rounds: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The whole pipeline (backup, copy, validate, every step recorded) over `--batches`
    /// batches of the workspace, against the database copying the same customers' rows on its
    /// own: SQLite attaches the legacy file and runs each mapping as one `INSERT INTO …
    /// SELECT`; PostgreSQL copies the same platform rows table to table three times: into
    /// bare tables, into tables with the platform's indexes, and into tables with its indexes
    /// and foreign keys (what any loader writing into that schema pays). On a SQLite platform
    /// it then reads the platform's rows back (up to 100,000 a table) through sqlx's `Any`
    /// driver and its native one. This migrates real customers: use a demo workspace.
    Pipeline {
        /// Batches to run.
        #[arg(long, default_value_t = 40)]
        batches: usize,
        /// Rebuild the unclaimed batches with this many customers each first.
        #[arg(long, value_name = "N")]
        batch_size: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

const fn cutover_list_limit() -> i64 {
    cutover_tui::app::LIST_LIMIT
}
