//! `gpu-deploy-llm`: parses the command line and runs the chosen command.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use server::cli::broker;
use server::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    server::cli::init_logging(&cli.log_format);
    match cli.command {
        Command::Serve(args) => server::cli::serve(*args).await,
        Command::Simulate(args) => server::cli::simulate(args).await,
        Command::Test(args) => exit(server::cli::test(*args).await),
        Command::Status(a) => exit(server::cli::glance::status(a).await),
        Command::Inventory(a) => exit(broker::inventory(a).await),
        Command::Sessions(a) => exit(server::cli::glance::sessions(a).await),
        Command::Session(a) => exit(broker::session(a).await),
        Command::Cleanup(a) => exit(broker::cleanup(a).await),
        Command::Done(a) => exit(broker::done(a).await),
        Command::Extend(a) => exit(broker::extend(a).await),
        Command::Costs(a) => exit(broker::costs(a).await),
        Command::Models(a) => exit(broker::models(a).await),
        Command::Engines(a) => exit(Ok(server::cli::engines(a))),
        Command::Bench(a) => exit(server::cli::bench(a).await),
        Command::Benchmarks(a) => exit(server::cli::benchmarks(a).await),
        Command::Runs(a) => exit(server::cli::runs(a).await),
        Command::Logs(a) => exit(server::cli::logs(a).await),
        Command::Orphans(a) => exit(broker::orphans(a).await),
        Command::Deploy(a) => exit(server::cli::deploy(*a).await),
        Command::Deployments(a) => exit(server::cli::deployments(a).await),
        Command::Stop(a) => exit(server::cli::stop(a).await),
        Command::Keys(a) => exit(server::cli::keys(a).await),
        Command::Tune(a) => exit(server::cli::tune(a).await),
        Command::Campaign(a) => exit(server::cli::campaign(*a).await),
    }
}

/// Exits with the command's code; an error is printed by `main`'s caller as usual.
fn exit(code: anyhow::Result<i32>) -> anyhow::Result<()> {
    std::process::exit(code?)
}
