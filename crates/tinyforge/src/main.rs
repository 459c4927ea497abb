//! The `tinyforge` binary: `tinyforge serve` runs the platform (API, edge proxy, deployer,
//! reconciler) on one SQLite data dir.

mod api;
mod config;
mod serve;

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
    /// Run tinyforge: API on --listen, edge proxy on --http, state in --data-dir.
    Serve(config::ServeArgs),
}

fn main() -> anyhow::Result<()> {
    // One TLS provider for the whole process (ring; no aws-lc, no OpenSSL).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let settings = args.resolve()?;
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve::run(settings))
        }
    }
}
