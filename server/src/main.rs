//! `gpu-deploy-llm`: parses the command line and runs the chosen command.

use clap::Parser;
use server::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    server::cli::init_logging();
    match cli.command {
        Command::Serve(args) => server::cli::serve(args).await,
        Command::Simulate(args) => server::cli::simulate(args).await,
        Command::Test(args) => {
            let code = server::cli::test(args).await?;
            std::process::exit(code);
        }
    }
}
