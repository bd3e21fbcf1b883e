//! What each command does.
use std::{io::Write, net::SocketAddr};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::{
    config::{Cli, Command, UserCommand},
    db, graphql,
    http::{App, router},
    service::{auth, events::EventBus, seed},
};

/// The agency the first admin account belongs to: the built-in plan's issuer.
const FIRST_ADMIN_AGENCY: &str = "ubnd-tinh";

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::ExportSchema { out } => {
            let sdl = graphql::sdl();
            if out.as_os_str() == "-" {
                std::io::stdout().write_all(sdl.as_bytes())?;
            } else {
                std::fs::write(&out, sdl).with_context(|| format!("writing {}", out.display()))?;
                eprintln!("wrote {}", out.display());
            }
            Ok(())
        }
        Command::Migrate => {
            let db = db::connect(&cli.database_url, cli.db_max_connections).await?;
            db::migrate(&db).await?;
            eprintln!("database is up to date");
            Ok(())
        }
        Command::Seed => {
            let db = db::connect(&cli.database_url, cli.db_max_connections).await?;
            db::migrate(&db).await?;
            let report = seed::load(&db, seed::PLAN_768).await?;
            eprintln!("{report:?}");
            Ok(())
        }
        Command::User(UserCommand::Add {
            username,
            agency,
            role,
            display_name,
        }) => {
            let password = match std::env::var("PLANTRACK_PASSWORD") {
                Ok(password) => password,
                Err(_) => {
                    eprintln!("password for {username} (one line on standard input):");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let db = db::connect(&cli.database_url, cli.db_max_connections).await?;
            db::migrate(&db).await?;
            seed::load(&db, seed::PLAN_768).await?;
            let new = auth::NewUser {
                username,
                display_name,
                agency_code: agency,
                role,
                password,
            };
            let user = auth::create_user(&db, None, new)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "added {} ({}) of agency id {}",
                user.username, user.role, user.agency_id
            );
            Ok(())
        }
        Command::Serve => {
            let db = db::connect(&cli.database_url, cli.db_max_connections)
                .await
                .with_context(|| "connecting to the database")?;
            db::migrate(&db).await.context("migrating")?;
            let report = seed::load(&db, seed::PLAN_768).await?;
            if report.plan_loaded {
                tracing::info!("loaded the built-in plan 768/QĐ-UBND");
            }
            if let Some(password) = auth::ensure_first_admin(&db, FIRST_ADMIN_AGENCY).await? {
                println!(
                    "created the first user: admin / {password}  (shown once; sign in and change it: \
                     mutation {{ changePassword(oldPassword: \"…\", newPassword: \"…\") }})"
                );
            }
            let events = EventBus::for_database(&db, &cli.database_url)
                .await
                .context("listening for submission events")?;
            let app = App::new(db, events, cli.server.clone());
            let listener = TcpListener::bind(cli.server.bind)
                .await
                .with_context(|| format!("binding {}", cli.server.bind))?;
            let addr = listener.local_addr()?;
            println!("plantrack is serving; GraphiQL: http://{addr}/graphql");
            // The peer address reaches handlers: sign-ins are throttled per address.
            let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, service)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
            Ok(())
        }
    }
}
