//! `rampart delegate`: a project's delegates (create, list, show, revoke, delete, ping,
//! tasks) and the agent itself — `register` exchanges the one-time registration token
//! for the delegate's credential and pins the server's task-signing key in a state file
//! (mode 0600), and `run` polls for tasks over HTTPS, checks each task's signed envelope
//! (signature by the pinned key, meant for this delegate, not expired, arguments as
//! signed, never seen before) before running it, and reports how it ended. A refused
//! task is reported as refused, with the reason.
//!
//! Task kinds run here: `ping` (answers with the agent's version, host and sandbox);
//! `webhook`, `notification`, `http_request` and `prometheus_query` go out through
//! [`rampart_delegate::outbound::Outbound`], to the places the delegate's operator
//! allows; `script` runs in [`rampart_delegate::sandbox`] — whose helper is this same
//! binary, `rampart delegate sandbox-exec` (hidden), started for each script.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use rampart_api::platform as wire;
use rampart_crypto::task_signature::{SeenNonces, SignedTask, TaskEnvelope, check_task};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cli::{ClientArgs, OutputFormat, ProjectArgs};
use crate::client::{ApiRefusal, Client, print};
use rampart_delegate::outbound::Outbound;
use rampart_delegate::sandbox::{self, Sandbox};
use rampart_delegate::scripts::{self, Scripts};

#[derive(Debug, Subcommand)]
pub enum DelegateCommand {
    /// The project's delegates, with their status, last heartbeat, version and tags.
    List {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// One delegate.
    Show {
        /// The delegate's name.
        name: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Create a delegate; prints its one-time registration token (valid 24 hours).
    Create {
        /// The delegate's name (lowercase letters, digits, dashes).
        name: String,
        /// A `key=value` tag tasks select it by (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Revoke a delegate: its next request is refused.
    Revoke {
        /// The delegate's name.
        name: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Delete a delegate (revoking it).
    Delete {
        /// The delegate's name.
        name: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Check that a delegate runs tasks: queue a ping and wait for its answer.
    Ping {
        /// The delegate's name.
        name: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 30)]
        wait: u64,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// The project's delegate tasks, newest first.
    Tasks {
        /// Only tasks in this status (queued, running, succeeded, failed, refused).
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Register this machine as a delegate with a registration token; writes the
    /// state file.
    Register {
        /// The one-time registration token `create` printed (from the environment
        /// rather than the command line, which other users can see; standard input
        /// when neither is given).
        #[arg(
            long,
            env = "RAMPART_DELEGATE_REGISTRATION_TOKEN",
            hide_env_values = true
        )]
        registration_token: Option<String>,
        /// Where the delegate keeps its credential and the pinned key.
        #[arg(
            long,
            env = "RAMPART_DELEGATE_STATE",
            default_value = "rampart-delegate.json"
        )]
        state: PathBuf,
    },
    /// Run the agent: poll for tasks and run them, until interrupted or revoked.
    Run {
        /// The state file `register` wrote.
        #[arg(
            long,
            env = "RAMPART_DELEGATE_STATE",
            default_value = "rampart-delegate.json"
        )]
        state: PathBuf,
        /// Stop after this many tasks (for checks and tests; default: never).
        #[arg(long)]
        max_tasks: Option<u64>,
        /// A URL prefix webhooks and notifications may be sent to (repeatable, or
        /// comma-separated in the environment); anything else is refused. Giving any
        /// replaces the default, Slack's incoming-webhook address.
        #[arg(
            long = "allow-url",
            env = "RAMPART_DELEGATE_ALLOW_URLS",
            value_delimiter = ',',
            default_value = "https://hooks.slack.com/services/"
        )]
        allow_urls: Vec<String>,
        /// The SMTP relay emails go through: smtp://host:port (STARTTLS when offered),
        /// smtp://host:port?tls=required, or smtps://host; credentials as
        /// smtp://user:password@host. Without it, email notifications fail.
        #[arg(long, env = "RAMPART_DELEGATE_SMTP_URL", hide_env_values = true)]
        smtp_url: Option<String>,
        /// The sender of emails (with --smtp-url), e.g. "Rampart <oncall@example.com>".
        #[arg(long, env = "RAMPART_DELEGATE_SMTP_FROM")]
        smtp_from: Option<String>,
        /// Where each script step gets its fresh work directory (default: a new
        /// directory under the system's temporary one, removed when the agent ends).
        /// Scripts of a root delegate run as --script-user, who must be able to pass
        /// through every directory above it.
        #[arg(long, env = "RAMPART_DELEGATE_WORK_DIR")]
        work_dir: Option<PathBuf>,
        /// Run script steps even where the kernel lacks Landlock (ABI 4) or seccomp,
        /// confined by resource limits, the timeout and an own user only. Without it
        /// such a delegate refuses script steps.
        #[arg(long, env = "RAMPART_DELEGATE_ALLOW_WEAK_SANDBOX")]
        allow_weak_sandbox: bool,
        /// The user and group (numeric `uid:gid`) scripts run as when the delegate
        /// runs as root.
        #[arg(
            long,
            env = "RAMPART_DELEGATE_SCRIPT_USER",
            default_value = "65534:65534"
        )]
        script_user: String,
        /// A directory scripts may read and execute besides the system ones (/usr,
        /// /bin, /lib, parts of /etc); repeatable.
        #[arg(
            long = "script-read-path",
            env = "RAMPART_DELEGATE_SCRIPT_READ_PATHS",
            value_delimiter = ','
        )]
        script_read_paths: Vec<PathBuf>,
    },
    /// (Internal) the sandbox helper the agent starts for each script: confines
    /// itself as told, then becomes `/bin/sh script`.
    #[command(hide = true)]
    SandboxExec {
        /// The confinement, as JSON (no secrets: those are in the environment).
        #[arg(long)]
        confinement: String,
    },
}

/// `rampart delegate sandbox-exec`: runs before any runtime starts (the helper must be
/// one thread when it confines itself); returns only on failure, with the exit status.
pub fn sandbox_exec(confinement: &str) -> i32 {
    let error = match serde_json::from_str::<sandbox::Confinement>(confinement) {
        Ok(confinement) => sandbox::confine::enter(&confinement),
        Err(error) => anyhow::Error::new(error).context("reading the confinement"),
    };
    eprintln!("{}{error:#}", sandbox::SETUP_FAILED_PREFIX);
    sandbox::SETUP_FAILED_EXIT
}

/// How this agent runs script steps: probes the kernel, says so on standard error.
fn scripts(
    work_dir: Option<PathBuf>,
    allow_weak: bool,
    script_user: &str,
    read_paths: Vec<PathBuf>,
) -> Result<Scripts> {
    let support = sandbox::probe();
    let description = support.describe(allow_weak);
    eprintln!("script sandbox: {description}");
    let Some(strength) = support.strength(allow_weak) else {
        return Ok(Scripts::new(None, description));
    };
    let (uid, gid) = script_user
        .split_once(':')
        .and_then(|(uid, gid)| Some((uid.parse().ok()?, gid.parse().ok()?)))
        .with_context(|| format!("--script-user {script_user} is not uid:gid"))?;
    let (work_root, temporary) = match work_dir {
        Some(dir) => (dir, None),
        None => {
            let temporary = scripts::temporary_work_root()?;
            (temporary.path().to_path_buf(), Some(temporary))
        }
    };
    scripts::prepare_work_root(&work_root)?;
    let helper = std::env::current_exe().context("finding this binary for the sandbox helper")?;
    Ok(Scripts::new(
        Some(Sandbox {
            helper,
            work_root,
            strength,
            extra_read_paths: read_paths,
            root_runs_scripts_as: (uid, gid),
        }),
        description,
    )
    .keeping(temporary))
}

const COLUMNS: [&str; 7] = [
    "name",
    "status",
    "tags",
    "version",
    "last_heartbeat_at",
    "last_ip",
    "sandbox",
];
const TASK_COLUMNS: [&str; 7] = [
    "id",
    "kind",
    "status",
    "attempts",
    "delegate_id",
    "error_code",
    "updated_at",
];

/// What `register` keeps for `run` (mode 0600: it holds the credential).
#[derive(Serialize, Deserialize)]
struct DelegateState {
    url: String,
    ca_cert: Option<PathBuf>,
    delegate_id: String,
    name: String,
    project: String,
    credential: String,
    task_signing_public_key: String,
}

pub async fn delegate(command: DelegateCommand, args: &ClientArgs) -> Result<()> {
    match command {
        DelegateCommand::Register {
            registration_token,
            state,
        } => return register(args, registration_token, &state).await,
        DelegateCommand::Run {
            state,
            max_tasks,
            allow_urls,
            smtp_url,
            smtp_from,
            work_dir,
            allow_weak_sandbox,
            script_user,
            script_read_paths,
        } => {
            let outbound = Outbound::new(
                crate::client::outbound_tls_config()?,
                &allow_urls,
                smtp_url.as_deref(),
                smtp_from.as_deref(),
            )?;
            let scripts = scripts(
                work_dir,
                allow_weak_sandbox,
                &script_user,
                script_read_paths,
            )?;
            return run(&state, max_tasks, &outbound, &scripts).await;
        }
        DelegateCommand::SandboxExec { confinement } => {
            // main() runs the helper before any runtime; here only if called oddly.
            std::process::exit(sandbox_exec(&confinement));
        }
        _ => {}
    }
    let client = Client::new(args)?;
    match command {
        DelegateCommand::List { project } => {
            let delegates: Vec<wire::Delegate> = client
                .list_all(&format!("{}/delegates", project.base()))
                .await?;
            print(args.output, &delegates, &COLUMNS)
        }
        DelegateCommand::Show { name, project } => {
            let shown: wire::Delegate = client
                .get(&format!("{}/delegates/{name}", project.base()))
                .await?;
            print(args.output, &[shown], &COLUMNS)
        }
        DelegateCommand::Create {
            name,
            tags,
            project,
        } => {
            let created: wire::DelegateCreated = client
                .post(
                    &format!("{}/delegates", project.base()),
                    &wire::DelegateCreate { name, tags },
                )
                .await?;
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&created)?);
                return Ok(());
            }
            // The token alone on standard output, so it can be piped or saved.
            eprintln!(
                "created delegate {} (pending); its registration token, shown once and valid \
                 until {}, is for `rampart delegate register` on the delegate's machine:",
                created.delegate.name,
                created
                    .delegate
                    .registration_expires_at
                    .as_deref()
                    .unwrap_or("-")
            );
            println!("{}", created.registration_token);
            Ok(())
        }
        DelegateCommand::Revoke { name, project } => {
            let revoked: wire::Delegate = client
                .post_empty(&format!("{}/delegates/{name}/revoke", project.base()))
                .await?;
            print(args.output, &[revoked], &COLUMNS)
        }
        DelegateCommand::Delete { name, project } => {
            client
                .delete(&format!("{}/delegates/{name}", project.base()))
                .await?;
            eprintln!("deleted delegate {name}");
            Ok(())
        }
        DelegateCommand::Ping {
            name,
            wait,
            project,
        } => {
            let queued: wire::DelegateTask = client
                .post(
                    &format!("{}/delegates/{name}/ping", project.base()),
                    &wire::DelegatePing::default(),
                )
                .await?;
            eprintln!("ping {} queued; waiting for delegate {name}", queued.id);
            let path = format!("{}/delegate-tasks/{}", project.base(), queued.id);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
            loop {
                let task: wire::DelegateTask = client.get(&path).await?;
                let done = matches!(task.status.as_str(), "succeeded" | "failed" | "refused");
                if done || tokio::time::Instant::now() >= deadline {
                    if args.output == OutputFormat::Json {
                        println!("{}", serde_json::to_string_pretty(&task)?);
                    } else {
                        print(args.output, std::slice::from_ref(&task), &TASK_COLUMNS)?;
                        if let Some(result) = &task.result {
                            println!("{result}");
                        }
                    }
                    if task.status != "succeeded" {
                        bail!(
                            "delegate {name} did not answer the ping (task {}: {})",
                            task.id,
                            task.status
                        );
                    }
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        DelegateCommand::Tasks { status, project } => {
            let query = status.map(|s| format!("?status={s}")).unwrap_or_default();
            let tasks: Vec<wire::DelegateTask> = client
                .list_all(&format!("{}/delegate-tasks{query}", project.base()))
                .await?;
            print(args.output, &tasks, &TASK_COLUMNS)
        }
        DelegateCommand::Register { .. }
        | DelegateCommand::Run { .. }
        | DelegateCommand::SandboxExec { .. } => Ok(()),
    }
}

async fn register(
    args: &ClientArgs,
    registration_token: Option<String>,
    state_path: &Path,
) -> Result<()> {
    let token = Zeroizing::new(match registration_token {
        Some(token) => token,
        None => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the registration token from standard input")?;
            line.trim().to_owned()
        }
    });
    if token.is_empty() {
        bail!("no registration token: set RAMPART_DELEGATE_REGISTRATION_TOKEN or pipe it in");
    }
    let client = Client::new(&ClientArgs {
        token: None,
        ..args.clone()
    })?;
    let registered: wire::DelegateRegistered = client
        .post(
            "/api/v1/delegate/register",
            &wire::DelegateRegister {
                registration_token: token.to_string(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
        )
        .await?;
    let state = DelegateState {
        url: args.url.clone(),
        ca_cert: args
            .ca_cert
            .as_ref()
            .map(|path| std::path::absolute(path).unwrap_or_else(|_| path.clone())),
        delegate_id: registered.delegate.id.clone(),
        name: registered.delegate.name.clone(),
        project: registered.project.clone(),
        credential: registered.credential.clone(),
        task_signing_public_key: registered.task_signing_public_key.clone(),
    };
    write_private(state_path, &serde_json::to_vec_pretty(&state)?)?;
    eprintln!(
        "registered delegate {} of {} (state in {}, readable by this user only)",
        state.name,
        state.project,
        state_path.display()
    );
    Ok(())
}

/// Writes `bytes` to `path` readable and writable by the owner only, replacing it.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("writing {}", temporary.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn read_state(path: &Path) -> Result<DelegateState> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).with_context(|| {
        format!(
            "reading {} (run `rampart delegate register`)",
            path.display()
        )
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "{} is readable by other users; it holds the delegate's credential (chmod 600 it)",
            path.display()
        );
    }
    serde_json::from_slice(&std::fs::read(path)?)
        .with_context(|| format!("reading {}", path.display()))
}

/// The nonces of tasks this delegate ran (`<state>.nonces`), kept until they expire.
fn read_nonces(path: &Path) -> Result<SeenNonces> {
    #[allow(clippy::disallowed_methods)] // the agent's own clock decides expiry
    let now = jiff::Timestamp::now().as_second();
    match std::fs::read(path) {
        Ok(bytes) => Ok(SeenNonces::from_entries(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("reading {}", path.display()))?,
            now,
        )),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(SeenNonces::default()),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_nonces(path: &Path, seen: &SeenNonces) -> Result<()> {
    write_private(path, &serde_json::to_vec(&seen.entries())?)
}

/// The poll's wait, seconds (the server answers 204 when nothing came).
const POLL_WAIT_SECS: u64 = 25;

async fn run(
    state_path: &Path,
    max_tasks: Option<u64>,
    outbound: &Outbound,
    scripts: &Scripts,
) -> Result<()> {
    let state = read_state(state_path)?;
    let public_key = rampart_crypto::digest::from_hex(&state.task_signing_public_key)
        .context("the state file's task-signing key is not hex")?;
    let client = Client::new(&ClientArgs {
        url: state.url.clone(),
        token: Some(state.credential.clone()),
        ca_cert: state.ca_cert.clone(),
        output: OutputFormat::Json,
    })?;
    let nonces_path = state_path.with_extension("nonces");
    let mut seen = read_nonces(&nonces_path)?;
    let mut done = 0u64;
    eprintln!(
        "delegate {} of {} polling {}",
        state.name, state.project, state.url
    );
    let mut failures = 0u32;
    while max_tasks.is_none_or(|max| done < max) {
        let polled: Result<Option<wire::DelegateWork>> = client
            .get_optional(&format!(
                "/api/v1/delegate/tasks/next?wait={POLL_WAIT_SECS}&sandbox={}",
                crate::client::query_value(scripts.description())
            ))
            .await;
        let work = match polled {
            Ok(Some(work)) => work,
            Ok(None) => continue,
            Err(error) => {
                if let Some(refusal) = error.downcast_ref::<ApiRefusal>()
                    && refusal.status == 401
                {
                    bail!("the server refused this delegate: {refusal}");
                }
                failures += 1;
                let backoff = Duration::from_secs(u64::from(failures.min(6)) * 5);
                eprintln!(
                    "polling failed ({error:#}); again in {}s",
                    backoff.as_secs()
                );
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        failures = 0;
        // What a running script has printed so far goes to the server as it comes
        // (each report also extends the task's lease); the last report wins.
        let (progress, mut updates) = tokio::sync::watch::channel(String::new());
        let progress_path = format!("/api/v1/delegate/tasks/{}/progress", work.envelope.task_id);
        let forward = async {
            while updates.changed().await.is_ok() {
                let output = updates.borrow_and_update().clone();
                let body = wire::DelegateTaskProgress {
                    attempt: work.attempt,
                    output,
                };
                if let Err(error) = crate::client::call_no_content(
                    &client,
                    reqwest::Method::POST,
                    &progress_path,
                    &body,
                )
                .await
                {
                    eprintln!(
                        "reporting progress of {} failed: {error:#}",
                        work.envelope.task_id
                    );
                }
            }
            std::future::pending::<()>().await;
        };
        let report = tokio::select! {
            biased;
            report = handle(
                &state,
                &public_key,
                &mut seen,
                &nonces_path,
                &work,
                (outbound, scripts, &progress),
            ) => report,
            () = forward => unreachable!("forwarding progress never ends on its own"),
        };
        eprintln!(
            "task {} ({}): {}{}",
            work.envelope.task_id,
            work.envelope.kind,
            report.outcome,
            report
                .error_code
                .as_deref()
                .map(|code| format!(" ({code})"))
                .unwrap_or_default()
        );
        let reported: Result<wire::DelegateTaskReported> = client
            .post(
                &format!("/api/v1/delegate/tasks/{}/result", work.envelope.task_id),
                &report,
            )
            .await;
        if let Err(error) = reported {
            eprintln!("reporting task {} failed: {error:#}", work.envelope.task_id);
        }
        done += 1;
    }
    Ok(())
}

/// Checks a task's envelope and runs it; what to report.
async fn handle(
    state: &DelegateState,
    public_key: &[u8],
    seen: &mut SeenNonces,
    nonces_path: &Path,
    work: &wire::DelegateWork,
    (outbound, scripts, progress): (&Outbound, &Scripts, &tokio::sync::watch::Sender<String>),
) -> wire::DelegateTaskResult {
    let envelope = &work.envelope;
    let signed = SignedTask {
        envelope: TaskEnvelope {
            task_id: envelope.task_id.clone(),
            kind: envelope.kind.clone(),
            arguments_sha256: envelope.arguments_sha256.clone(),
            delegate_id: envelope.delegate_id.clone(),
            expires_at: envelope.expires_at,
            nonce: envelope.nonce.clone(),
        },
        signature: work.signature.clone(),
    };
    let result = |outcome: &str, output: Option<String>, error_code: Option<String>| {
        wire::DelegateTaskResult {
            attempt: work.attempt,
            outcome: outcome.to_owned(),
            output,
            error_code,
            permanent: false,
        }
    };
    #[allow(clippy::disallowed_methods)] // the agent's own clock decides expiry
    let now = jiff::Timestamp::now().as_second();
    if let Err(refusal) = check_task(
        &signed,
        work.arguments.as_bytes(),
        public_key,
        &state.delegate_id,
        now,
        seen,
    ) {
        return result(
            "refused",
            Some(refusal.to_string()),
            Some(refusal.code().to_owned()),
        );
    }
    // The nonce is kept on disk before the task runs: a restarted agent refuses the
    // same envelope replayed while it is still valid.
    if let Err(error) = write_nonces(nonces_path, seen) {
        return result(
            "failed",
            Some(format!("{error:#}")),
            Some("nonce_store_unwritable".into()),
        );
    }
    match envelope.kind.as_str() {
        "ping" => result(
            "succeeded",
            Some(
                serde_json::json!({
                    "echo": serde_json::from_str::<serde_json::Value>(&work.arguments)
                        .ok()
                        .and_then(|arguments| arguments.get("echo").cloned()),
                    "delegate": state.name,
                    "version": env!("CARGO_PKG_VERSION"),
                    "os": std::env::consts::OS,
                    "arch": std::env::consts::ARCH,
                    "sandbox": scripts.description(),
                })
                .to_string(),
            ),
            None,
        ),
        kind @ ("webhook" | "notification" | "http_request" | "prometheus_query" | "script") => {
            let done = match kind {
                "webhook" => outbound.webhook(&work.arguments).await,
                "notification" => outbound.notification(&work.arguments).await,
                "http_request" => outbound.http_request(&work.arguments).await,
                "prometheus_query" => outbound.prometheus_query(&work.arguments).await,
                _ => scripts.run(&work.arguments, progress).await,
            };
            match done {
                Ok(output) => result("succeeded", Some(output), None),
                Err(failure) => wire::DelegateTaskResult {
                    permanent: failure.permanent,
                    ..result("failed", Some(failure.explanation), Some(failure.code))
                },
            }
        }
        other => result(
            "failed",
            Some(format!("this delegate cannot run tasks of kind {other}")),
            Some("task_kind_unsupported".into()),
        ),
    }
}
