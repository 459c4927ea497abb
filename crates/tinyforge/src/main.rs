//! The `tinyforge` binary: `tinyforge serve` runs the platform (API, edge proxy, deployer,
//! reconciler) on one SQLite data dir.

mod api;
mod cli;
mod config;
mod serve;
mod ui;

use clap::{Parser, Subcommand};

/// tinyforge: webhooks, schedules and clicks → health-gated, zero-downtime deploys.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run tinyforge: API on --listen, edge proxy on --http/--https, state in --data-dir.
    Serve(Box<config::ServeArgs>),
    /// Workloads: list, get, create, delete, deploy, rollback, logs.
    Workloads {
        #[command(flatten)]
        client: cli::Client,
        #[command(subcommand)]
        cmd: cli::Workloads,
    },
    /// Triggers: list, create, bind, unbind.
    Triggers {
        #[command(flatten)]
        client: cli::Client,
        #[command(subcommand)]
        cmd: cli::Triggers,
    },
    /// Webhook deliveries: list, replay.
    Deliveries {
        #[command(flatten)]
        client: cli::Client,
        #[command(subcommand)]
        cmd: cli::Deliveries,
    },
    /// Print shell completions (bash, zsh, fish, …).
    Completions { shell: clap_complete::Shell },
}

fn main() -> anyhow::Result<()> {
    // One TLS provider for the whole process (ring; no aws-lc, no OpenSSL).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let rt = || tokio::runtime::Builder::new_multi_thread().enable_all().build();
    match cli.command {
        Command::Serve(args) => {
            let settings = (*args).resolve()?;
            rt()?.block_on(serve::run(settings))
        }
        Command::Workloads { client, cmd } => rt()?.block_on(cli::workloads(&client, cmd)),
        Command::Triggers { client, cmd } => rt()?.block_on(cli::triggers(&client, cmd)),
        Command::Deliveries { client, cmd } => rt()?.block_on(cli::deliveries(&client, cmd)),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "tinyforge", &mut std::io::stdout());
            Ok(())
        }
    }
}
