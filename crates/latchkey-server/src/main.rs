//! `latchkey serve` (the default), `latchkey migrate`, and the operators' `latchkey events`, `latchkey users …`
//! and `latchkey credits …`.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use latchkey_server::operators::{self, EventsRequest, UsersCommand};
use latchkey_server::{Application, Settings};
use tracing_subscriber::EnvFilter;

/// Latchkey: a self-hostable authentication service.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file (its values override the defaults; environment variables override it).
    #[arg(long, global = true, env = "LATCHKEY_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run migrations, then serve HTTP until SIGTERM or SIGINT (the default).
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Print security events, newest first (logins, token and key changes, throttling, …).
    Events {
        /// Only this account's events: its id (`usr_…`) or email address.
        #[arg(long)]
        user: Option<String>,
        /// Only events of this kind, e.g. `login`, `refresh_reuse_detected`, `throttled`.
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per line, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// List, show, disable, enable or delete accounts.
    Users {
        #[command(subcommand)]
        command: UsersArgs,
        /// JSON for scripts (one object per line) instead of text for people.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Grant credits or show an account's balance and ledger.
    Credits {
        #[command(subcommand)]
        command: CreditsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UsersArgs {
    /// The newest accounts.
    List {
        /// Only addresses containing this text, or matching it with `*` for any run of characters
        /// (`*@example.com`); case does not matter.
        #[arg(long, value_name = "PATTERN")]
        email: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One account, by id (`usr_…`) or email address.
    Show { user: String },
    /// Disable an account: its sessions, personal tokens and API keys end at once, and it cannot log in.
    Disable {
        /// Its id (`usr_…`) or email address.
        user: String,
        /// Why, for the record (kept with the account).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Let a disabled account log in again (its revoked sessions and credentials stay revoked).
    Enable {
        /// Its id (`usr_…`) or email address.
        user: String,
    },
    /// Delete an account and its owner's personal data, as the account's owner can.
    Delete {
        /// Its id (`usr_…`) or email address.
        user: String,
    },
}

impl From<UsersArgs> for UsersCommand {
    fn from(args: UsersArgs) -> Self {
        match args {
            UsersArgs::List { email, limit } => UsersCommand::List { email, limit },
            UsersArgs::Show { user } => UsersCommand::Show { user },
            UsersArgs::Disable { user, reason } => UsersCommand::Disable { user, reason },
            UsersArgs::Enable { user } => UsersCommand::Enable { user },
            UsersArgs::Delete { user } => UsersCommand::Delete { user },
        }
    }
}

#[derive(Debug, Subcommand)]
enum CreditsCommand {
    /// Add credits to an account (a negative amount takes them, never below zero), with a reason kept in the
    /// ledger: never personal data.
    Grant {
        /// The account's id (`usr_…`) or email address.
        user: String,
        /// Credits to add; negative for a correction.
        #[arg(allow_negative_numbers = true)]
        amount: i64,
        /// Why, kept in the ledger (1 to 500 characters).
        #[arg(long)]
        reason: String,
        /// Print the ledger entry as JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Print an account's balance and latest ledger entries, newest first.
    Show {
        /// The account's id (`usr_…`) or email address.
        user: String,
        /// At most this many entries.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object, for scripts.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => return fail(&error),
    };
    // Operators' commands print their results on stdout; their logs would only be noise there.
    let log_filter = match cli.command {
        Some(Command::Events { .. } | Command::Users { .. } | Command::Credits { .. }) => "warn",
        _ => settings.log.filter.as_str(),
    };
    init_tracing(log_filter);
    // actix runs its own worker threads; this runtime only drives start-up and the server future.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&error),
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(&settings).await,
            Command::Migrate => latchkey_server::migrate(&settings)
                .await
                .map(|()| tracing::info!("migrations are up to date"))
                .map_err(Box::from),
            Command::Events {
                user,
                kind,
                limit,
                json,
            } => {
                let request = EventsRequest {
                    user,
                    kind,
                    limit,
                    json,
                };
                operators::events(&settings, &request)
                    .await
                    .map(|output| print!("{output}"))
                    .map_err(Box::from)
            }
            Command::Users { command, json } => operators::users(&settings, &command.into(), json)
                .await
                .map(|output| print!("{output}"))
                .map_err(Box::from),
            Command::Credits { command } => credits(&settings, command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&*error),
    }
}

async fn credits(
    settings: &Settings,
    command: CreditsCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let output = match command {
        CreditsCommand::Grant {
            user,
            amount,
            reason,
            json,
        } => operators::credits::grant(settings, &user, amount, &reason, json).await?,
        CreditsCommand::Show { user, limit, json } => {
            operators::credits::show(settings, &user, limit, json).await?
        }
    };
    print!("{output}");
    Ok(())
}

async fn serve(settings: &Settings) -> Result<(), Box<dyn std::error::Error>> {
    let app = Application::build(settings).await?;
    tracing::info!(bind = %settings.server.bind, port = app.port(), "latchkey listening");
    app.run_until_stopped().await?;
    tracing::info!("latchkey stopped");
    Ok(())
}

fn init_tracing(filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn fail(error: &dyn std::error::Error) -> ExitCode {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
        source = source.and_then(std::error::Error::source);
    }
    // One line, even when a cause (a TOML parser's caret diagram) spans several.
    let message: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    eprintln!("latchkey: error: {}", message.join(" "));
    ExitCode::FAILURE
}
