//! `oauth-client …`: an account's OAuth clients (DESIGN §4a). A new secret is printed once, as
//! the last line (`client_secret: …`), so a script can take it with `tail -n1`; it is never
//! logged.

use std::path::PathBuf;

use clap::Subcommand;

use crate::clock::{Clock, rfc3339};
use crate::db::DbConn;
use crate::oauth::clients::{self, NewClientKeys};

/// `oauth-client …`.
#[derive(Debug, Subcommand)]
pub enum OAuthClientCommand {
    /// Create a client. Without a JWKS option it authenticates with a secret, printed once as
    /// the last line; with one, by signed assertion (RFC 7523).
    Create {
        /// The account whose SCIM API the client opens.
        #[arg(long)]
        account: String,
        /// A name for the client, unique in the account (the actor in the provisioning log).
        #[arg(long)]
        label: String,
        /// The client's JWKS document (its public keys), stored now.
        #[arg(long, group = "jwks")]
        jwks_file: Option<PathBuf>,
        /// The https URL of the client's JWKS document, fetched and cached (re-fetched on rotation).
        #[arg(long, group = "jwks")]
        jwks_url: Option<String>,
        /// Days the first secret lives (default 730, at most 1095).
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// List an account's clients and their secrets (never the secrets themselves).
    List {
        /// The account.
        #[arg(long)]
        account: String,
    },
    /// A client's secrets.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Revoke a client: its access tokens stop working at once.
    Revoke {
        /// The account.
        #[arg(long)]
        account: String,
        /// The client id.
        #[arg(long)]
        client: String,
    },
    /// Rename a client.
    Relabel {
        /// The account.
        #[arg(long)]
        account: String,
        /// The client id.
        #[arg(long)]
        client: String,
        /// The new label, unique in the account.
        #[arg(long)]
        label: String,
    },
}

/// `oauth-client secret …`.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Add a secret (to rotate: add, update the identity provider, revoke the old one); printed
    /// once as the last line.
    Add {
        /// The account.
        #[arg(long)]
        account: String,
        /// The client id.
        #[arg(long)]
        client: String,
        /// Days the secret lives (default 730, at most 1095).
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// Revoke a secret: the access tokens issued against it stop working at once.
    Revoke {
        /// The account.
        #[arg(long)]
        account: String,
        /// The client id.
        #[arg(long)]
        client: String,
        /// The secret's id (from `oauth-client list`).
        #[arg(long)]
        secret: String,
    },
}

/// Runs an `oauth-client` command.
pub fn run(conn: &mut DbConn, cmd: OAuthClientCommand, clock: &dyn Clock) -> anyhow::Result<()> {
    let now = clock.now_naive();
    match cmd {
        OAuthClientCommand::Create {
            account,
            label,
            jwks_file,
            jwks_url,
            expires_in_days,
        } => {
            let keys = match (jwks_file, jwks_url) {
                (Some(file), _) => {
                    NewClientKeys::JwksDocument(crate::config::read_key_file(&file)?)
                }
                (None, Some(url)) => NewClientKeys::JwksUrl(url),
                (None, None) => NewClientKeys::Secret { expires_in_days },
            };
            let (client, secret) = clients::create(conn, &account, &label, keys, now)?;
            println!("created OAuth client {:?}", client.label);
            println!("client_id: {}", client.id);
            if let Some((row, secret)) = secret {
                println!("secret_id: {}", row.id);
                println!("secret expires: {}", rfc3339(row.expires_at));
                println!("client_secret: {secret}");
            }
        }
        OAuthClientCommand::List { account } => {
            for listing in clients::list(conn, &account, now)? {
                let c = &listing.client;
                let auth = match (&c.jwks_url, &c.jwks_document) {
                    (Some(url), _) => format!("jwks-url {url}"),
                    (None, Some(_)) => "jwks-file".to_owned(),
                    (None, None) => "secret".to_owned(),
                };
                let state = if c.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!("{}  {:<7}  {:<10}  {}", c.id, state, auth, c.label);
                for s in &listing.secrets {
                    let row = &s.secret;
                    let state = match (row.revoked_at, row.expires_at <= now) {
                        (Some(_), _) => "revoked",
                        (None, true) => "expired",
                        (None, false) if s.expiring => "expiring",
                        _ => "live",
                    };
                    println!(
                        "  secret {}  {}…  {:<8}  expires {}",
                        row.id,
                        row.prefix,
                        state,
                        rfc3339(row.expires_at)
                    );
                }
            }
        }
        OAuthClientCommand::Secret(SecretCommand::Add {
            account,
            client,
            expires_in_days,
        }) => {
            let (row, secret) = clients::add_secret(conn, &account, &client, expires_in_days, now)?;
            println!("secret_id: {}", row.id);
            println!("secret expires: {}", rfc3339(row.expires_at));
            println!("client_secret: {secret}");
        }
        OAuthClientCommand::Secret(SecretCommand::Revoke {
            account,
            client,
            secret,
        }) => {
            clients::revoke_secret(conn, &account, &client, &secret, now)?;
            println!("revoked secret {secret}");
        }
        OAuthClientCommand::Revoke { account, client } => {
            clients::revoke(conn, &account, &client, now)?;
            println!("revoked OAuth client {client}");
        }
        OAuthClientCommand::Relabel {
            account,
            client,
            label,
        } => {
            let row = clients::relabel(conn, &account, &client, &label, now)?;
            println!("relabelled OAuth client {} to {:?}", row.id, row.label);
        }
    }
    Ok(())
}
