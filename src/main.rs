use clap::Parser;
use plantrack::{config::Cli, startup, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(cli.log_json);
    startup::run(cli).await
}
