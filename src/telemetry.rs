//! Tracing setup, in one place.
use tracing_subscriber::{EnvFilter, fmt};

/// Logs to stderr; `RUST_LOG` filters (default: info for plantrack, warn elsewhere).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,plantrack=info,tower_http=info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
