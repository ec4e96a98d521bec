//! The `scalepol` command.

mod check;
mod check_live;
mod compile;
mod config;
mod duration;
mod engine;
mod explain;
mod files;
mod fmt;
mod import;
mod live;
mod prometheus;
mod scaler;
mod simulate;
mod tune;

use clap::{Parser, Subcommand, ValueEnum};
use scalepol_compiler::model::TargetKind;
use std::path::PathBuf;
use std::process::ExitCode;

// mimalloc: the parser allocates many small strings; this cuts check time by ~10%.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Policy-as-code for the autoscaling of ML inference services.
///
/// A `.scalepol` file declares how one service scales: its workload, GPU and
/// CPU pools, SLOs, budget, metrics, scale-up and scale-down dynamics,
/// schedules, rules and tests. scalepol checks it for mistakes before anything
/// reaches production.
///
/// Exit codes: 0 clean, 1 policy errors (or warnings under `--deny warnings`),
/// 2 usage or I/O errors.
/// The version and the commit it was built from (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("SCALEPOL_COMMIT"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "scalepol",
    version = VERSION,
    about,
    long_about,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The project configuration to use instead of the nearest
    /// `scalepol.toml` from the working directory upward (docs/config.md).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Read no `scalepol.toml`.
    #[arg(long, global = true, conflicts_with = "config")]
    isolated: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Check policies and report every mistake.
    ///
    /// PATHS are files or directories (searched recursively for *.scalepol,
    /// skipping what .gitignore or .ignore excludes),
    /// or `-` for standard input. With no PATHS, the current directory.
    ///
    /// Examples:
    ///   scalepol check policies/
    ///   scalepol check --format sarif policies/ > scalepol.sarif
    ///   scalepol check --deny warnings chat.scalepol
    ///   scalepol check --rules org.rules policies/
    Check {
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Treat warnings as errors for the exit code (`--deny warnings`).
        #[arg(long, value_name = "LEVEL")]
        deny: Option<DenyLevel>,
        /// Colour in human output: auto, always or never.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// The organisation's rules: levels per code, quotas across the
        /// policies checked together, and CEL guardrails (docs/guardrails.md).
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
        /// Apply the fixes the findings carry (each is an edit the checker
        /// is certain of), rewrite the files in place, then report what is
        /// left.
        #[arg(long)]
        fix: bool,
        /// Also run each Prometheus query once against this server: it must
        /// answer, return one series, name metrics that exist, and read a
        /// value in its declared unit's range (SP0808-SP0811).
        #[arg(long, value_name = "URL")]
        prometheus: Option<String>,
        /// A file holding a bearer token for `--prometheus`; else
        /// `SCALEPOL_PROMETHEUS_TOKEN`, if set.
        #[arg(long, value_name = "FILE", requires = "prometheus")]
        prometheus_token_file: Option<PathBuf>,
        /// PEM certificates of a private CA that signed an https
        /// Prometheus's certificate (the public roots are trusted anyway).
        #[arg(long, value_name = "FILE", requires = "prometheus")]
        prometheus_ca: Option<PathBuf>,
    },
    /// Format policies in the canonical layout.
    ///
    /// Rewrites files in place (atomically), keeping every comment. With
    /// `--check`, writes nothing and exits 1 if any file would change. A file
    /// with syntax errors is never rewritten. `-` formats standard input to
    /// standard output.
    Fmt {
        paths: Vec<PathBuf>,
        /// Report files that are not formatted instead of rewriting them.
        #[arg(long)]
        check: bool,
        /// Print what would change as a unified diff instead of rewriting
        /// (exit 1 when something would); implies `--check`.
        #[arg(long)]
        diff: bool,
    },
    /// Compile policies to the configs platforms run.
    ///
    /// One file per policy and target, validated against the platform's JSON
    /// Schema before anything is written; a failed compile writes nothing.
    /// With `--target all` (the default), each policy goes to every target
    /// its workload fits, skipping targets that cannot express it.
    ///
    /// Examples:
    ///   scalepol compile policies/ --out deploy/autoscaling
    ///   scalepol compile chat.scalepol --target keda -o -
    ///   scalepol compile policies/ --out deploy/autoscaling --check
    ///   scalepol compile policies/ --out deploy/autoscaling --check --diff
    ///   scalepol compile chat.scalepol --explain
    Compile {
        paths: Vec<PathBuf>,
        /// hpa, keda, kserve, vpa, aws, engine or all (all: every platform
        /// target; the engine artifact is written only when asked for).
        /// Default: scalepol.toml's `[compile] target`, else all.
        #[arg(long)]
        target: Option<String>,
        /// The directory to write to, or `-` for multi-document YAML on
        /// stdout. Default: scalepol.toml's `[compile] out`, else `-`.
        #[arg(long, short = 'o')]
        out: Option<String>,
        /// Exit 1 when the files in the output directory differ, are missing,
        /// or were generated for something the policies no longer produce
        /// (drift in CI). Nothing is written.
        #[arg(long)]
        check: bool,
        /// With `--check`: print the drift as a unified diff.
        #[arg(long)]
        diff: bool,
        /// Print how each feature of each policy lands on each target.
        #[arg(long)]
        explain: bool,
        /// Print only errors and drift: no approximation warnings, skipped
        /// targets or summary lines.
        #[arg(long, short = 'q')]
        quiet: bool,
        /// The Kubernetes version to compile for (fields such as tolerance
        /// need 1.33+). Default: scalepol.toml's `[compile] k8s-version`,
        /// else 1.36.
        #[arg(long, value_name = "MAJOR.MINOR")]
        k8s_version: Option<String>,
        /// The organisation's rules file: its guardrails hold the compiled
        /// policies (as in `check --rules`), and its guardrails and
        /// accelerator quotas are also written as Kubernetes
        /// ValidatingAdmissionPolicies (NAME.admission.yaml).
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
    },
    /// Turn existing autoscalers into policies: HPAs, KEDA ScaledObjects,
    /// KServe InferenceServices, VPAs, AWS Application Auto Scaling.
    ///
    /// A file may be a Helm or Kustomize stream (other objects are passed
    /// over) or AWS request files, a CloudFormation template or
    /// `describe-*` output. One policy per autoscaler. With one, the policy goes to stdout
    /// (or `--out FILE`); with several, `--out DIR` writes NAME.scalepol
    /// each. What has no equivalent is listed: such an import would scale
    /// differently, so it writes nothing and exits 1 unless `--lossy` (then
    /// the notes are kept as comments in the policy).
    ///
    /// Example:
    ///   scalepol import k8s/hpa.yaml > chat.scalepol
    Import {
        file: PathBuf,
        /// A file (one object) or a directory (several); `-` for stdout.
        #[arg(long, short = 'o', default_value = "-")]
        out: String,
        /// Write the policy even when some settings cannot be carried over
        /// (they are listed as notes and as comments in the policy);
        /// without it, such an import writes nothing and exits 1.
        #[arg(long)]
        lossy: bool,
    },
    /// Run the policies' `test` blocks through the decision engine.
    ///
    /// Each test is one decision from a steady state (the observation has
    /// held longer than every window and cooldown), at its `at` time or
    /// Monday 2026-01-05 12:00 UTC. Exit 1 when a test fails.
    ///
    /// With `--engine ARTIFACT`, the tests of one policy run against that
    /// engine artifact instead of the policy's own: does what is deployed
    /// still pass the policy's tests?
    Test {
        paths: Vec<PathBuf>,
        /// An engine artifact (`.json`) to run the policy's tests against.
        #[arg(long)]
        engine: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = engine::TestFormat::Human)]
        format: engine::TestFormat,
    },
    /// Decide replicas for a stream of observations (JSON Lines).
    ///
    /// Each line of stdin is `{"time": SECONDS, "replicas": N, "metrics":
    /// {"NAME": VALUE, ...}}` (a `null` value is a metric that could not be
    /// read); each line of stdout is the decision (docs/runtime.md). A bad
    /// line is reported with its number and the stream goes on. POLICY is a
    /// policy or an engine artifact (`.json`, from `compile --target engine`).
    Decide {
        policy: PathBuf,
        /// The pool to decide for (default: the first).
        #[arg(long)]
        pool: Option<String>,
    },
    /// Simulate a policy on a traffic trace, with cost and SLO, against
    /// static provisioning for the peak and the HPA defaults.
    ///
    /// Examples:
    ///   scalepol simulate policies/chat-llama3.scalepol --trace traces/azure_llm_2023_conv.csv
    ///   scalepol simulate chat.scalepol --trace series.csv --scale peak --report sim.html
    Simulate(Box<simulate::Args>),
    /// Search the policy's own parameters (floors, maxima, targets,
    /// tolerance, scale-up and scale-down) for the lowest simulated cost
    /// that meets its availability objective and budget on a trace.
    ///
    /// Prints the changes as a minimal edit of the file (comments and
    /// layout kept) with a before/after table; `--write` applies them.
    ///
    /// Examples:
    ///   scalepol tune policies/chat-llama3.scalepol --trace traces/azure_llm_2023_conv.csv
    ///   scalepol tune chat.scalepol --trace week.csv --holdout 30% --write
    Tune(Box<tune::TuneArgs>),
    /// Compare two versions of a policy on the same trace, decision by
    /// decision, with cost and SLO deltas; exit 1 when a gate fails.
    ///
    /// Examples:
    ///   scalepol diff old.scalepol new.scalepol --trace traces/azure_llm_2023_conv.csv
    ///   scalepol diff main.scalepol pr.scalepol --trace t.csv --max-cost-increase 5% --min-slo 99%
    Diff(Box<tune::DiffArgs>),
    /// Run the engine live: read the pool's metrics from Prometheus on each
    /// tick, decide, and print the decision or hand it to a command.
    ///
    /// Examples:
    ///   scalepol run chat.scalepol --prometheus http://127.0.0.1:9090
    ///   scalepol run chat.scalepol --actuator exec -- ./scale.sh
    Run(Box<live::Args>),
    /// Serve the engine to KEDA as an external scaler (gRPC), for
    /// ScaledObjects compiled with `target keda { scaler "ADDRESS" }`
    /// (docs/runtime.md).
    ///
    /// Examples:
    ///   scalepol scaler --engines out/ --prometheus http://prometheus:9090
    ///   scalepol scaler --engines /etc/scalepol/engines --state-dir /var/lib/scalepol --shards 3 --shard hostname
    Scaler(Box<scaler::Args>),
    /// Serve the language server protocol over stdio, for editors
    /// (docs/editors.md).
    Lsp {
        /// Talk over stdio (the only transport; accepted because clients
        /// such as vscode-languageclient pass it).
        #[arg(long)]
        stdio: bool,
        /// The editor's process id, as some clients pass it (unused: the
        /// session ends when the client closes stdin or sends `exit`).
        #[arg(
            long = "clientProcessId",
            alias = "client-process-id",
            value_name = "PID"
        )]
        client_process_id: Option<u32>,
    },
    /// Explain a diagnostic code, like `scalepol explain SP0203`.
    ///
    /// With no code, list every code with its summary.
    Explain { code: Option<String> },
    /// Print a shell completion script.
    ///
    /// Examples:
    ///   scalepol completions bash > /etc/bash_completion.d/scalepol
    ///   scalepol completions zsh > "${fpath[1]}/_scalepol"
    ///   scalepol completions fish > ~/.config/fish/completions/scalepol.fish
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff), like `scalepol man > scalepol.1`.
    Man,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    /// Source excerpts with labels and help.
    Human,
    /// One JSON document (see docs/json-output.md).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
    /// GitLab Code Quality JSON (`artifacts: reports: codequality`).
    Gitlab,
    /// JUnit XML, for CI test dashboards: a test case per finding that fails.
    Junit,
    /// Nothing: the exit code alone.
    Quiet,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum DenyLevel {
    Warnings,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Color {
    Auto,
    Always,
    Never,
}

/// The Kubernetes versions outputs are written for: autoscaling/v2 is
/// served from 1.23; 1.36 is the newest whose schemas are bundled.
const K8S_VERSIONS: std::ops::RangeInclusive<(u32, u32)> = (1, 23)..=(1, 36);

fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    let version = (a.parse().ok()?, b.parse().ok()?);
    K8S_VERSIONS.contains(&version).then_some(version)
}

/// When the reader of standard output goes away (`scalepol explain | head`),
/// the print macros panic on the closed pipe: end quietly with exit code 2
/// (an I/O error) instead of a panic message. Any other panic keeps the
/// default report.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("Broken pipe") || text.contains("os error 32") {
            std::process::exit(2);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    if let Err(e) = config::load(cli.config.as_deref(), cli.isolated) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let project = config::current();
    let code = match cli.command {
        Command::Check {
            paths,
            format,
            deny,
            color,
            rules,
            fix,
            prometheus,
            prometheus_token_file,
            prometheus_ca,
        } => {
            if fix {
                let code = check::fix(&paths);
                if code == 2 {
                    return ExitCode::from(2);
                }
            }
            let rules = rules.or_else(|| project.rules.clone());
            let deny = deny.is_some() || project.deny_warnings;
            let live = prometheus.as_deref().map(|url| check_live::Options {
                url,
                token_file: prometheus_token_file.as_deref(),
                ca: prometheus_ca.as_deref(),
            });
            check::run(&check::Args {
                paths: &paths,
                format,
                deny_warnings: deny,
                color,
                rules: rules.as_deref(),
                live,
            })
        }
        Command::Fmt { paths, check, diff } => fmt::run(&paths, check || diff, diff),
        Command::Compile {
            paths,
            target,
            out,
            check,
            diff,
            explain,
            k8s_version,
            quiet,
            rules,
        } => {
            let from_file = &project.compile;
            let k8s_version = k8s_version
                .or_else(|| from_file.k8s_version.clone())
                .unwrap_or_else(|| "1.36".to_string());
            let target = target
                .or_else(|| from_file.target.clone())
                .unwrap_or_else(|| "all".to_string());
            let out = out
                .or_else(|| {
                    from_file
                        .out
                        .as_ref()
                        .map(|p| p.to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| "-".to_string());
            let Some(kubernetes) = parse_version(&k8s_version) else {
                eprintln!(
                    "error: --k8s-version {k8s_version}: give MAJOR.MINOR from 1.23 (autoscaling/v2) to 1.36 (the newest known), like 1.36"
                );
                return ExitCode::from(2);
            };
            let target = match target.as_str() {
                "all" => None,
                t => match TargetKind::ALL.iter().find(|(n, _)| *n == t) {
                    Some((_, k)) => Some(*k),
                    None => {
                        eprintln!(
                            "error: unknown target `{t}`: hpa, keda, kserve, vpa, aws, engine or all"
                        );
                        return ExitCode::from(2);
                    }
                },
            };
            compile::run(compile::Args {
                rules: rules.as_deref(),
                paths: &paths,
                target,
                out: &out,
                check: check || diff,
                diff,
                explain,
                kubernetes,
                quiet,
            })
        }
        Command::Import { file, out, lossy } => import::run(&file, &out, lossy),
        Command::Test {
            paths,
            engine,
            format,
        } => engine::test(&paths, engine.as_deref(), format),
        Command::Decide { policy, pool } => engine::decide(&policy, pool.as_deref()),
        Command::Simulate(a) => simulate::run(&a),
        Command::Tune(a) => tune::tune(&a),
        Command::Diff(a) => tune::diff(&a),
        Command::Run(a) => live::run(&a),
        Command::Scaler(a) => scaler::run(&a),
        Command::Lsp { .. } => {
            scalepol_lsp::serve_stdio();
            0
        }
        Command::Explain { code } => explain::run(code.as_deref()),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "scalepol", &mut std::io::stdout());
            0
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
                Ok(()) => 0,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 2,
                Err(e) => {
                    eprintln!("error: {e}");
                    2
                }
            }
        }
    };
    ExitCode::from(code)
}
