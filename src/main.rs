use clap::Parser;
use plantrack::{config::Cli, startup, telemetry};

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match telemetry::init(cli.log_json, cli.otlp_endpoint.as_deref()) {
        Ok(telemetry) => {
            let result = startup::run(cli).await;
            // Sends the last spans; it blocks, so not on an async worker.
            let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
            result
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line, causes included, whatever RUST_BACKTRACE says.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
