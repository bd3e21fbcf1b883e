//! What each command does.
use std::{future::IntoFuture, io::Write, net::SocketAddr, time::Duration};

use anyhow::Context;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::net::TcpListener;

use crate::{
    config::{Cli, Command, UserCommand},
    db, graphql,
    http::{App, router},
    service::{auth, events::EventBus, plan_export, plan_sheet, reorganization, seed, submissions},
};

pub async fn run(mut cli: Cli) -> anyhow::Result<()> {
    match cli.command.take().unwrap_or(Command::Serve) {
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
            let db = db::connect_with(cli.migration_url(), &cli.pool()).await?;
            db::migrate(&db).await?;
            eprintln!("database is up to date");
            Ok(())
        }
        Command::Seed => {
            let db = db::connect_with(cli.migration_url(), &cli.pool()).await?;
            db::migrate(&db).await?;
            let report = seed::load(&db, seed::PLAN_768).await?;
            eprintln!("{report}");
            Ok(())
        }
        Command::ImportPlan {
            file,
            head,
            dry_run,
        } => {
            let extension = file
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let read = |path: &std::path::Path| {
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))
            };
            // A dry run writes nothing: not even a new database file.
            if let Some(missing) = db::sqlite_file(cli.migration_url()).filter(|f| !f.exists())
                && dry_run
            {
                anyhow::bail!(
                    "no database at {}: a dry run creates nothing (run `plantrack migrate` \
                     first, or drop --dry-run)",
                    missing.display()
                );
            }
            let db = db::connect_with(cli.migration_url(), &cli.pool()).await?;
            db::migrate(&db).await?;
            let report = if extension == "toml" {
                if head.is_some() {
                    anyhow::bail!("--head is for a spreadsheet; a TOML plan file has its own");
                }
                let source = String::from_utf8(read(&file)?)
                    .with_context(|| format!("{} is not UTF-8", file.display()))?;
                seed::import(&db, &source, dry_run).await?.to_string()
            } else {
                let sheet = plan_sheet::SheetFile::from_extension(&extension, read(&file)?)?;
                let head = match head {
                    Some(path) => Some(
                        String::from_utf8(read(&path)?)
                            .with_context(|| format!("{} is not UTF-8", path.display()))?,
                    ),
                    None => None,
                };
                seed::import_sheet(&db, &sheet, head.as_deref(), dry_run)
                    .await?
                    .to_string()
            };
            if dry_run {
                eprintln!("dry run, nothing written: {report}");
            } else {
                eprintln!("{report}");
            }
            Ok(())
        }
        Command::ExportPlan { plan, out } => {
            let db = db::connect_with(cli.migration_url(), &cli.pool()).await?;
            db::migrate(&db).await?;
            let file = plan_export::plan_file(&db, &plan).await?;
            let bytes = plan_sheet::write_workbook(&file)
                .map_err(|e| anyhow::anyhow!("writing the workbook: {e}"))?;
            std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "wrote plan {} ({} tasks) to {}",
                file.plan.code,
                file.sections.iter().map(|s| s.tasks.len()).sum::<usize>(),
                out.display()
            );
            Ok(())
        }
        Command::RecordSuccession { file } => {
            let source = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let db = db::connect_with(cli.migration_url(), &cli.pool()).await?;
            db::migrate(&db).await?;
            let report = reorganization::apply_file(&db, &source).await?;
            eprintln!("{report}");
            Ok(())
        }
        Command::ImportCommunes { file, from } => {
            let source = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let db = db::connect_with(cli.migration_url(), &cli.pool()).await?;
            db::migrate(&db).await?;
            let report = reorganization::import_communes(&db, &source, from).await?;
            eprintln!("{report}");
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
            let db = db::connect_with(cli.migration_url(), &cli.pool()).await?;
            db::migrate(&db).await?;
            seed::load(&db, seed::PLAN_768).await?;
            let new_agency = agency.clone();
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
                "added {} ({}) of agency {}",
                user.username, user.role, new_agency
            );
            Ok(())
        }
        Command::Serve => {
            let db = db::connect_with(&cli.database_url, &cli.pool())
                .await
                .with_context(|| "connecting to the database")?;
            prepare_database(&cli, &db).await?;
            let events = EventBus::for_database(&db, &cli.database_url)
                .await
                .context("listening for submission events")?;
            let notifications = events.clone();
            let app = App::new(db, events, cli.server.clone());
            let listener = TcpListener::bind(cli.server.bind)
                .await
                .with_context(|| format!("binding {}", cli.server.bind))?;
            let addr = listener.local_addr()?;
            println!("plantrack is serving; GraphiQL: http://{addr}/graphql");
            // The peer address reaches handlers: sign-ins are throttled per address.
            let service = router(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
            let stopping = app.clone();
            let server = axum::serve(listener, service).with_graceful_shutdown(async move {
                stop_requested().await;
                stopping.stop();
            });
            let grace = Duration::from_secs(cli.server.shutdown_grace_secs);
            tokio::select! {
                served = server.into_future() => served?,
                () = async { app.stopped().await; tokio::time::sleep(grace).await } => {
                    notifications.flush(NOTIFY_GRACE).await;
                    println!(
                        "plantrack stopped: requests still running after {} s were abandoned",
                        grace.as_secs()
                    );
                    return Ok(());
                }
            }
            notifications.flush(NOTIFY_GRACE).await;
            println!("plantrack stopped: requests in flight were answered");
            Ok(())
        }
    }
}

/// How long a stopping server waits for the live events of its last changes to be sent.
const NOTIFY_GRACE: Duration = Duration::from_secs(5);

/// Resolves on Ctrl-C or SIGTERM (what systemd and container runtimes send): the server
/// then stops accepting and answers the requests in flight before it exits.
async fn stop_requested() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Migrates and seeds through the owner's connection (the migration URL), lets the
/// serving role act as the application role, and says loudly when the serving role
/// escapes row-level security.
async fn prepare_database(cli: &Cli, db: &DatabaseConnection) -> anyhow::Result<()> {
    let separate_owner = cli.migration_url() != cli.database_url;
    let owner = if separate_owner {
        db::connect_with(cli.migration_url(), &cli.pool())
            .await
            .context("connecting with the migration URL")?
    } else {
        db.clone()
    };
    db::migrate(&owner).await.context("migrating")?;
    let report = seed::load(&owner, seed::PLAN_768).await?;
    if report.plan_loaded {
        tracing::info!("loaded the built-in plan 768/QĐ-UBND");
    } else if report.tasks_added > 0 {
        tracing::info!(
            tasks = report.tasks_added,
            "added the sections the built-in plan 768/QĐ-UBND lacked"
        );
    }
    let folded = submissions::fold_unindexed_reports(&owner).await?;
    if folded > 0 {
        tracing::info!(reports = folded, "indexed older reports for search");
    }
    // The first admin belongs to the built-in plan's issuer (its code may be another
    // province's too: it is written with its jurisdiction).
    let issuer = seed::built_in_issuer(&owner).await?;
    if let Some(password) = auth::ensure_first_admin(&owner, &issuer).await? {
        println!(
            "created the first user: admin / {password}  (shown once; sign in and change it: \
             mutation {{ changePassword(oldPassword: \"…\", newPassword: \"…\") }})"
        );
    }
    if db.get_database_backend() == DbBackend::Postgres {
        if separate_owner {
            let serving_role = db::current_role(db).await?;
            db::grant_app_role(&owner, &serving_role)
                .await
                .with_context(|| format!("granting the application role to {serving_role}"))?;
        }
        if db::bypasses_row_security(db).await? {
            tracing::warn!(
                "the server's database role owns the tables or bypasses row-level security: \
                 the database does not enforce the tenancy rule. Serve with a role that owns \
                 nothing and migrate with PLANTRACK_MIGRATION_DATABASE_URL (see README)"
            );
        }
    }
    if separate_owner {
        owner.close().await?;
    }
    Ok(())
}
