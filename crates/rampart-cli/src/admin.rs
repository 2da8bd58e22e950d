//! `rampart admin …`: operator commands that run on the server's host with the root key
//! and talk to the store directly (no server needed).

use std::path::PathBuf;

use anyhow::{Result, bail};
use rampart_app::{Clock, SystemClock, bootstrap};

use crate::config::{Config, ENV_ROOT_KEY, process_env};
use crate::setup;

fn load(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
) -> Result<(Config, Option<String>)> {
    let env = process_env();
    let mut config = Config::load(config_file.as_deref(), &env)?;
    if let Some(dir) = data_dir {
        config.server.data_dir = dir;
    }
    Ok((config, env.get(ENV_ROOT_KEY).cloned()))
}

/// `admin init`: returns the owner's token, to be printed as the only line on stdout.
pub async fn init(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    admin_email: &str,
) -> Result<String> {
    let (config, env_root_key) = load(config_file, data_dir)?;
    let clock = SystemClock;
    setup::ensure_data_dir(&config.server.data_dir)?;
    let store = setup::open_store(&config, &clock).await?;
    if bootstrap::is_initialized(&store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        store.close().await;
        bail!(
            "already initialised: {} holds an installation; use `rampart admin reset-admin` to recover access",
            config.server.data_dir.display()
        );
    }
    let root_key = setup::root_key(&config.server.data_dir, env_root_key.as_deref(), true)?;
    let token = bootstrap::initialize(
        &store,
        &root_key,
        clock.now(),
        admin_email,
        config.auth.token_lifetime_days_max,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.close().await;
    Ok(token.expose().to_owned())
}

/// `admin reset-admin`: returns a new owner token.
pub async fn reset_admin(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    email: Option<&str>,
) -> Result<String> {
    let (config, env_root_key) = load(config_file, data_dir)?;
    let clock = SystemClock;
    let root_key = setup::root_key(&config.server.data_dir, env_root_key.as_deref(), false)?;
    let store = setup::open_store(&config, &clock).await?;
    if !bootstrap::is_initialized(&store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        bail!("not initialised: run `rampart admin init` first");
    }
    let token = bootstrap::reset_admin(
        &store,
        &root_key,
        clock.now(),
        email,
        config.auth.token_lifetime_days_max,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.close().await;
    Ok(token.expose().to_owned())
}
