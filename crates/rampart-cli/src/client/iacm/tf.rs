//! `rampart tf`: the Terraform/OpenTofu wrapper for CI pipelines and people. In a root
//! module's folder it drives a run on the server end to end with the stock CLI:
//!
//! - `plan`: starts a run, points the module's `http` backend at the workspace (an
//!   override file, so the module needs no backend block of its own) with the run's lock
//!   ID, runs `init`, `plan -out`, `show -json`, uploads the plan and its file, attaches
//!   them and prints what the plan changes, what the policy sets said and the cost change;
//! - `apply` / `destroy`: with `--run ID`, applies that run; without, plans first (like
//!   `terraform apply`). An approved run is applied — after `--wait-for-approval` if it
//!   needs one — with exactly the approved plan file: the server checks its digest, the
//!   state it was made on and the approvals before Terraform starts, and the run holds
//!   the workspace lock (`terraform apply -lock=false` writes under the run's lock ID);
//!   the result is reported, and the server links the state version written.
//!
//! The run's variables (the workspace's and its variable sets') reach Terraform only in
//! its environment (`TF_VAR_<key>`, or the environment variable itself), fetched from
//! the server for the run while it plans or applies. Terraform's own output goes to
//! standard error (progress) with every sensitive value masked, and is uploaded as the
//! run's `plan` or `apply` log (the server masks it again and seals it); standard output
//! carries the run's summary (or its JSON with `--output json`). Exit codes (CONTRACTS.md, never
//! changing meaning): 0 done or nothing to do, 2 needs approval, 3 blocked by policy,
//! 4 stale (the state changed since the plan), 1 any other error.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use rampart_api::iacm as wire;
use rampart_domain::iacm::variables::mask;
use rampart_domain::limits::RUN_LOG_BYTES_MAX;
use reqwest::Method;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use zeroize::Zeroizing;

use super::runs::print_detail;
use crate::cli::{ClientArgs, ProjectArgs};
use crate::client::{ApiRefusal, Client};

/// The exit codes of `rampart tf` (CONTRACTS.md).
pub mod exit {
    pub const NEEDS_APPROVAL: u8 = 2;
    pub const POLICY_BLOCKED: u8 = 3;
    pub const STALE: u8 = 4;
    /// `rampart tf drift` found drift (Terraform's `-detailed-exitcode` 2: changes).
    pub const DRIFTED: u8 = 2;
}

/// Ends `rampart tf` with a particular exit code (after printing the message).
#[derive(Debug)]
pub struct TfExit {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for TfExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TfExit {}

fn exit_with(code: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(TfExit {
        code,
        message: message.into(),
    })
}

#[derive(Debug, Subcommand)]
pub enum TfCommand {
    /// Plan a run: its policy results and cost change are printed. Exit 0: nothing to
    /// change or already approved; 2: needs approval (or an override); 3: blocked by
    /// policy; 1: another error.
    Plan {
        #[command(flatten)]
        target: TfTarget,
        /// Plan the destruction of everything the workspace manages (needs workspace:destroy).
        #[arg(long)]
        destroy: bool,
    },
    /// Apply a run (`--run`), or plan one and apply it once approved. Exit 0: applied
    /// or nothing to do; 2: needs approval; 3: blocked by policy; 4: the state changed
    /// since the plan; 1: another error.
    Apply {
        #[command(flatten)]
        target: TfTarget,
        #[command(flatten)]
        apply: ApplyArgs,
    },
    /// Plan and apply the destruction of everything the workspace manages (needs
    /// workspace:destroy); exit codes as for apply.
    Destroy {
        #[command(flatten)]
        target: TfTarget,
        #[command(flatten)]
        apply: ApplyArgs,
    },
    /// Check for drift: plan (changing nothing) and record what differs from the
    /// infrastructure. Exit 0: in sync; 2: drifted (as `terraform plan
    /// -detailed-exitcode`); 1: another error.
    Drift {
        #[command(flatten)]
        target: TfTarget,
        /// Only what changed outside Terraform (`-refresh-only`), not what the plan
        /// would change back to the configuration.
        #[arg(long)]
        refresh_only: bool,
    },
}

/// Where the run happens: the workspace on the server and the module on disk.
#[derive(Debug, Clone, Args)]
pub struct TfTarget {
    /// The workspace's identifier.
    #[arg(long, env = "RAMPART_WORKSPACE")]
    pub workspace: String,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The root module's folder (default: the current one).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// The terraform (or tofu) command to run (default: `terraform`, or `tofu` for an
    /// OpenTofu workspace, found on the PATH).
    #[arg(long)]
    pub terraform_bin: Option<PathBuf>,
    /// More arguments for `terraform plan`, after `--` (such as `-var name=value` or
    /// `-var-file=prod.tfvars`).
    #[arg(last = true)]
    pub plan_args: Vec<String>,
}

/// How an apply goes on.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The run to apply (default: plan a new one first).
    #[arg(long)]
    pub run: Option<String>,
    /// Wait until the run is approved instead of exiting with 2.
    #[arg(long)]
    pub wait_for_approval: bool,
    /// How long to wait for approval, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
}

/// The name of the backend override file the wrapper writes while it works.
const OVERRIDE_FILE: &str = "rampart_backend_override.tf";
/// How often a waiting apply asks whether the run is approved.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

pub async fn tf(command: TfCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let token = args
        .token
        .clone()
        .ok_or_else(|| anyhow!("RAMPART_TOKEN (or --token) is needed"))?;
    let (target, destroy, apply) = match command {
        TfCommand::Drift {
            target,
            refresh_only,
        } => {
            let wrapper = Wrapper::new(&client, args, &target, token).await?;
            let check = wrapper.drift(refresh_only).await?;
            print_drift(args.output, &check)?;
            if check.drifted > 0 {
                return Err(exit_with(
                    exit::DRIFTED,
                    format!("{} resources drifted (check {})", check.drifted, check.id),
                ));
            }
            return Ok(());
        }
        TfCommand::Plan { target, destroy } => (target, destroy, None),
        TfCommand::Apply { target, apply } => (target, false, Some(apply)),
        TfCommand::Destroy { target, apply } => (target, true, Some(apply)),
    };
    let wrapper = Wrapper::new(&client, args, &target, token).await?;
    let detail = match apply.as_ref().and_then(|apply| apply.run.clone()) {
        Some(run) => wrapper.run_detail(&run).await?,
        None => wrapper.plan(destroy).await?,
    };
    let Some(apply) = apply else {
        print_detail(args.output, &detail)?;
        return planned_exit(&detail);
    };
    let waits = apply.wait_for_approval
        && matches!(
            detail.run.status.as_str(),
            "needs_approval" | "policy_override"
        );
    if !waits
        && !matches!(
            detail.run.status.as_str(),
            "approved" | "planned_and_finished"
        )
    {
        // Nothing to apply now: show why, and exit as the status says.
        print_detail(args.output, &detail)?;
    }
    let detail = wrapper.await_approval(detail, &apply).await?;
    let detail = wrapper.apply(detail).await?;
    print_detail(args.output, &detail)
}

/// A drift check for a person (a table of drifted resources) or a script (JSON).
fn print_drift(output: crate::cli::OutputFormat, check: &wire::DriftCheck) -> Result<()> {
    if output == crate::cli::OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(check)?);
        return Ok(());
    }
    if check.drifted == 0 {
        println!("in sync: nothing drifted (check {})", check.id);
        return Ok(());
    }
    println!("{} resources drifted (check {}):", check.drifted, check.id);
    for resource in check.resources.iter().flatten() {
        println!(
            "  {:<16} {:<40} {}",
            resource.kind,
            resource.address,
            resource.actions.join(",")
        );
    }
    Ok(())
}

/// The exit of `tf plan` for the run's status.
fn planned_exit(detail: &wire::RunDetail) -> Result<()> {
    let run = &detail.run;
    match run.status.as_str() {
        "planned_and_finished" | "approved" => Ok(()),
        "policy_blocked" => Err(exit_with(
            exit::POLICY_BLOCKED,
            format!(
                "run {}: a hard-mandatory policy set blocks the plan",
                run.id
            ),
        )),
        "needs_approval" | "policy_override" => Err(exit_with(
            exit::NEEDS_APPROVAL,
            format!(
                "run {} needs {}; then `rampart tf apply --run {}`",
                run.id,
                if run.status == "policy_override" {
                    "a policy override and approval"
                } else {
                    "approval"
                },
                run.id
            ),
        )),
        other => bail!("run {} is {other}", run.id),
    }
}

struct Wrapper<'a> {
    client: &'a Client,
    url: String,
    ca_cert: Option<PathBuf>,
    target: &'a TfTarget,
    terraform: PathBuf,
    token: String,
    /// While an apply runs: the run credential, which Terraform uses for the state
    /// instead of `token` (a governed workspace accepts the write from nothing else).
    run_credential: Mutex<Option<Zeroizing<String>>>,
    /// The backend override `terraform init` last ran with in this process: an apply
    /// right after its plan, with the same override, needs no second init.
    initialized: Mutex<Option<String>>,
    /// The run's variables as Terraform's environment (name, value), once fetched.
    environment: Mutex<Vec<(String, Zeroizing<String>)>>,
    /// The run's sensitive values, masked in everything Terraform prints.
    secrets: Mutex<Vec<Zeroizing<String>>>,
    /// What Terraform printed in this phase (masked), uploaded as the run's log.
    log: Mutex<Vec<u8>>,
}

/// Locks one of the wrapper's buffers (a poisoned one is still usable: a panic while
/// holding it left whole lines).
fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<'a> Wrapper<'a> {
    /// Checks the workspace's provisioner version (when it pins one) against the
    /// binary found.
    async fn new(
        client: &'a Client,
        args: &ClientArgs,
        target: &'a TfTarget,
        token: String,
    ) -> Result<Self> {
        let workspace: wire::Workspace = client
            .get(&format!(
                "{}/{}",
                target.project.workspaces(),
                target.workspace
            ))
            .await?;
        let terraform = target.terraform_bin.clone().unwrap_or_else(|| {
            PathBuf::from(if workspace.provisioner == "opentofu" {
                "tofu"
            } else {
                "terraform"
            })
        });
        let wrapper = Self {
            client,
            url: args.url.trim_end_matches('/').to_owned(),
            ca_cert: args.ca_cert.clone(),
            target,
            terraform,
            token,
            run_credential: Mutex::new(None),
            initialized: Mutex::new(None),
            environment: Mutex::new(Vec::new()),
            secrets: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
        };
        if workspace.provisioner_version.is_empty() {
            // Nothing pinned: no version to compare (and a Terraform process saved).
            return Ok(wrapper);
        }
        let version = wrapper.capture(&["version", "-json"]).await?;
        let version: serde_json::Value =
            serde_json::from_slice(&version).context("reading `terraform version -json`")?;
        let found = version
            .get("terraform_version")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        if workspace.provisioner_version != found {
            bail!(
                "the workspace runs {} {}, but {} is {found}",
                workspace.provisioner,
                workspace.provisioner_version,
                wrapper.terraform.display()
            );
        }
        Ok(wrapper)
    }

    fn runs(&self) -> String {
        format!(
            "{}/{}/runs",
            self.target.project.workspaces(),
            self.target.workspace
        )
    }

    fn plan_file(&self, run: &str) -> PathBuf {
        self.target
            .dir
            .join(".rampart")
            .join(format!("{run}.tfplan"))
    }

    async fn run_detail(&self, run: &str) -> Result<wire::RunDetail> {
        self.client.get(&format!("{}/{run}", self.runs())).await
    }

    /// Starts a run, plans it with Terraform, uploads and attaches the plan.
    async fn plan(&self, destroy: bool) -> Result<wire::RunDetail> {
        let created: wire::RunDetail = self
            .client
            .post(
                &self.runs(),
                &wire::RunCreate {
                    is_destroy: destroy,
                },
            )
            .await?;
        let run = created.run.id.clone();
        eprintln!("run {run}: planning");
        match self.plan_and_attach(&created.run, destroy).await {
            Ok(detail) => Ok(detail),
            Err(error) => {
                // What Terraform said is the first thing a reader of the run wants.
                self.upload_log(&run, "plan").await;
                // The run cannot go on without its plan: it is errored.
                let _: Result<wire::RunDetail> = self
                    .client
                    .post_empty(&format!("{}/{run}/plan-failed", self.runs()))
                    .await;
                Err(error.context(format!("run {run} errored: planning failed")))
            }
        }
    }

    async fn plan_and_attach(&self, run: &wire::Run, destroy: bool) -> Result<wire::RunDetail> {
        let plan_file = self.plan_file(&run.id);
        std::fs::create_dir_all(plan_file.parent().unwrap_or(Path::new(".")))
            .context("creating .rampart in the module's folder")?;
        self.load_variables(&run.id).await?;
        let backend = BackendOverride::write(self)?;
        self.init(&backend).await?;
        let out = format!("-out={}", plan_file.display());
        let mut plan_args = vec!["plan", "-input=false", out.as_str()];
        if destroy {
            plan_args.push("-destroy");
        }
        plan_args.extend(self.target.plan_args.iter().map(String::as_str));
        self.stream(&plan_args).await?;
        let plan_path = plan_file.to_string_lossy().into_owned();
        let json = self.capture(&["show", "-json", &plan_path]).await?;
        drop(backend);
        let file = std::fs::read(&plan_file)
            .with_context(|| format!("reading {}", plan_file.display()))?;
        eprintln!("run {}: uploading the plan", run.id);
        let plans = format!(
            "{}/{}/plans",
            self.target.project.workspaces(),
            self.target.workspace
        );
        let plan: wire::Plan = self
            .client
            .send_bytes(Method::POST, &plans, json, "application/json")
            .await?;
        let _: wire::Plan = self
            .client
            .send_bytes(
                Method::PUT,
                &format!("{plans}/{}/file", plan.id),
                file,
                "application/octet-stream",
            )
            .await?;
        self.upload_log(&run.id, "plan").await;
        self.client
            .post(
                &format!("{}/{}/plan", self.runs(), run.id),
                &wire::RunPlanAttach { plan: plan.id },
            )
            .await
    }

    /// A drift check: `terraform plan -detailed-exitcode` (or `-refresh-only`) with the
    /// workspace's variables, changing nothing; the plan is uploaded and recorded as
    /// the check.
    async fn drift(&self, refresh_only: bool) -> Result<wire::DriftCheck> {
        let plan_file = self.target.dir.join(".rampart").join("drift.tfplan");
        std::fs::create_dir_all(plan_file.parent().unwrap_or(Path::new(".")))
            .context("creating .rampart in the module's folder")?;
        self.load_variables_from(&format!(
            "{}/{}/drift-checks/variables",
            self.target.project.workspaces(),
            self.target.workspace
        ))
        .await?;
        let backend = BackendOverride::write(self)?;
        self.init(&backend).await?;
        let out = format!("-out={}", plan_file.display());
        let mut plan_args = vec!["plan", "-input=false", "-detailed-exitcode", out.as_str()];
        if refresh_only {
            plan_args.push("-refresh-only");
        }
        plan_args.extend(self.target.plan_args.iter().map(String::as_str));
        let status = self.stream_status(&plan_args).await?;
        // 0: no changes, 2: changes; anything else is Terraform's failure.
        if !matches!(status.code(), Some(0 | 2)) {
            bail!("`terraform plan` failed ({status})");
        }
        let plan_path = plan_file.to_string_lossy().into_owned();
        let json = self.capture(&["show", "-json", &plan_path]).await?;
        drop(backend);
        let _ = std::fs::remove_file(&plan_file);
        let plans = format!(
            "{}/{}/plans",
            self.target.project.workspaces(),
            self.target.workspace
        );
        let plan: wire::Plan = self
            .client
            .send_bytes(Method::POST, &plans, json, "application/json")
            .await?;
        self.client
            .post(
                &format!(
                    "{}/{}/drift-checks",
                    self.target.project.workspaces(),
                    self.target.workspace
                ),
                &wire::DriftCheckCreate {
                    plan: plan.id,
                    mode: Some(if refresh_only { "refresh_only" } else { "plan" }.into()),
                },
            )
            .await
    }

    /// Waits (when asked) until the run is approved; exits 2 or 3 otherwise.
    async fn await_approval(
        &self,
        mut detail: wire::RunDetail,
        apply: &ApplyArgs,
    ) -> Result<wire::RunDetail> {
        let mut waited = Duration::ZERO;
        loop {
            match detail.run.status.as_str() {
                "approved" => return Ok(detail),
                "needs_approval" | "policy_override" if apply.wait_for_approval => {
                    if waited.as_secs() >= apply.timeout {
                        return Err(exit_with(
                            exit::NEEDS_APPROVAL,
                            format!(
                                "run {} was not approved within {} s",
                                detail.run.id, apply.timeout
                            ),
                        ));
                    }
                    eprintln!(
                        "run {}: {} ({} of {} approvals), waiting…",
                        detail.run.id,
                        detail.run.status,
                        detail.valid_approvals,
                        detail.approvals_required
                    );
                    tokio::time::sleep(POLL_INTERVAL).await;
                    waited += POLL_INTERVAL;
                    detail = self.run_detail(&detail.run.id).await?;
                }
                "planned_and_finished" => return Ok(detail),
                _ => {
                    planned_exit(&detail)?;
                    bail!(
                        "run {} is {}: there is nothing to apply",
                        detail.run.id,
                        detail.run.status
                    );
                }
            }
        }
    }

    /// The verified apply of an approved run, with exactly its approved plan file.
    async fn apply(&self, detail: wire::RunDetail) -> Result<wire::RunDetail> {
        if detail.run.status == "planned_and_finished" {
            eprintln!("run {}: no changes; nothing to apply", detail.run.id);
            return Ok(detail);
        }
        let run = detail.run.id.clone();
        let plan_file = self.plan_file(&run);
        if !plan_file.exists() {
            // Planned elsewhere (another CI job): the server's copy, checked below.
            let plan = detail
                .run
                .plan_id
                .clone()
                .ok_or_else(|| anyhow!("run {run} has no plan"))?;
            let bytes = self
                .client
                .get_bytes(&format!(
                    "{}/{}/plans/{plan}/file",
                    self.target.project.workspaces(),
                    self.target.workspace
                ))
                .await?;
            std::fs::create_dir_all(plan_file.parent().unwrap_or(Path::new(".")))?;
            std::fs::write(&plan_file, bytes)?;
        }
        let bytes = std::fs::read(&plan_file)
            .with_context(|| format!("reading {}", plan_file.display()))?;
        let sha256 = rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(&bytes));
        let started: Result<wire::RunApplyTicket> = self
            .client
            .post(
                &format!("{}/{run}/apply", self.runs()),
                &wire::RunApplyStart {
                    plan_file_sha256: sha256,
                },
            )
            .await;
        let ticket = started.map_err(|error| match ApiRefusal::code_of(&error) {
            Some("run_stale") => exit_with(exit::STALE, format!("{error:#}")),
            Some("approval_expired") => exit_with(exit::NEEDS_APPROVAL, format!("{error:#}")),
            _ => error,
        })?;
        eprintln!("run {run}: applying (the run holds the workspace lock)");
        *locked(&self.run_credential) = Some(Zeroizing::new(ticket.credential));
        let backend = BackendOverride::write(self)?;
        let plan_path = plan_file.to_string_lossy().into_owned();
        locked(&self.log).clear();
        let applied = match self.load_variables(&run).await {
            Ok(()) => match self.init(&backend).await {
                Ok(()) => {
                    self.stream(&["apply", "-input=false", "-lock=false", &plan_path])
                        .await
                }
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        drop(backend);
        // Revoked by the server when the run finishes; forgotten here now.
        *locked(&self.run_credential) = None;
        self.upload_log(&run, "apply").await;
        let outcome = if applied.is_ok() {
            "succeeded"
        } else {
            "failed"
        };
        let finished: wire::RunDetail = self
            .client
            .post(
                &format!("{}/{run}/apply-result", self.runs()),
                &wire::RunApplyResult {
                    outcome: outcome.into(),
                },
            )
            .await?;
        applied?;
        Ok(finished)
    }

    /// `terraform init` for `backend` (the override written), unless this process ran
    /// it for the same override already (nothing else in the folder changes between a
    /// plan and its apply in one `rampart tf apply`), or an earlier invocation did and
    /// nothing Terraform reads at init changed since ([`InitStamp`]).
    async fn init(&self, backend: &BackendOverride) -> Result<()> {
        if locked(&self.initialized).as_deref() == Some(backend.text.as_str()) {
            return Ok(());
        }
        let stamp = InitStamp::new(self, backend);
        if !stamp.fresh() {
            *locked(&self.initialized) = None;
            stamp.forget();
            self.stream(&["init", "-input=false", "-reconfigure"])
                .await?;
            stamp.record();
        }
        *locked(&self.initialized) = Some(backend.text.clone());
        Ok(())
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.terraform);
        let credential = locked(&self.run_credential);
        command
            .args(args)
            .current_dir(&self.target.dir)
            // The token reaches Terraform only in its environment, never on a command
            // line or in a file.
            .env(
                "TF_HTTP_PASSWORD",
                credential
                    .as_deref()
                    .map_or(self.token.as_str(), String::as_str),
            )
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        // The run's variables, in this child's environment only (over any of ours).
        for (name, value) in locked(&self.environment).iter() {
            command.env(name, value.as_str());
        }
        command
    }

    /// Fetches the run's variables (the server hands them only to the run's executor:
    /// who started it while it plans, who holds its lock while it applies).
    async fn load_variables(&self, run: &str) -> Result<()> {
        self.load_variables_from(&format!("{}/{run}/variables", self.runs()))
            .await
    }

    /// Fetches variables from `path` into Terraform's environment and the masks.
    async fn load_variables_from(&self, path: &str) -> Result<()> {
        let variables: wire::RunVariables = self
            .client
            .get(path)
            .await
            .context("fetching the variables for Terraform")?;
        let mut environment = Vec::with_capacity(variables.items.len());
        let mut secrets = Vec::new();
        for variable in variables.items {
            let value = Zeroizing::new(variable.value);
            if variable.sensitive {
                secrets.push(value.clone());
            }
            environment.push((variable.environment_name, value));
        }
        if !environment.is_empty() {
            eprintln!("{} variables for Terraform", environment.len());
        }
        *locked(&self.environment) = environment;
        *locked(&self.secrets) = secrets;
        Ok(())
    }

    /// `text` with the run's sensitive values masked.
    fn masked(&self, text: &str) -> String {
        let secrets = locked(&self.secrets);
        mask(text, secrets.iter().map(|secret| secret.as_str()))
    }

    /// Uploads what Terraform printed in this phase as the run's log (its end, when
    /// longer than the server keeps); the next phase's log starts afresh. A failed
    /// upload is reported and does not fail the run.
    async fn upload_log(&self, run: &str, phase: &str) {
        let mut log = std::mem::take(&mut *locked(&self.log));
        if log.is_empty() {
            // Uploaded already (a later step failed), or Terraform never ran.
            return;
        }
        if log.len() > RUN_LOG_BYTES_MAX {
            const NOTE: &[u8] = b"[rampart: the start of this log was cut to fit]\n";
            let keep = RUN_LOG_BYTES_MAX - NOTE.len();
            log = [NOTE, log.get(log.len() - keep..).unwrap_or_default()].concat();
        }
        let uploaded: Result<wire::RunLog> = self
            .client
            .send_bytes(
                Method::PUT,
                &format!("{}/{run}/logs/{phase}", self.runs()),
                log,
                "text/plain; charset=utf-8",
            )
            .await;
        if let Err(error) = uploaded {
            eprintln!("run {run}: the {phase} log was not uploaded: {error:#}");
        }
    }

    /// Copies one of Terraform's output streams, line by line and masked, to our
    /// standard error and to the phase's log.
    async fn relay(&self, stream: impl AsyncRead + Unpin) -> Result<()> {
        let mut lines = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            if lines.read_until(b'\n', &mut line).await? == 0 {
                return Ok(());
            }
            let text = self.masked(&String::from_utf8_lossy(&line));
            eprint!("{text}");
            locked(&self.log).extend_from_slice(text.as_bytes());
        }
    }

    /// Runs Terraform with its output (masked) on our standard error — progress for a
    /// person or a CI log — and in the phase's log; fails unless it exits with 0.
    async fn stream(&self, args: &[&str]) -> Result<()> {
        let status = self.stream_status(args).await?;
        if !status.success() {
            bail!(
                "`{} {}` failed ({status})",
                self.terraform.display(),
                args.join(" ")
            );
        }
        Ok(())
    }

    /// Runs Terraform like [`Self::stream`] and returns how it exited. A failure makes
    /// the next invocation run `init` again (whatever was stale, it re-checks).
    async fn stream_status(&self, args: &[&str]) -> Result<std::process::ExitStatus> {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", self.terraform.display()))?;
        let stdout = child.stdout.take().context("Terraform's standard output")?;
        let stderr = child.stderr.take().context("Terraform's standard error")?;
        let (out, err, status) = tokio::join!(self.relay(stdout), self.relay(stderr), child.wait());
        out?;
        err?;
        let status = status?;
        // `plan -detailed-exitcode` says "changes" with 2: not a failure.
        if !matches!(status.code(), Some(0 | 2)) {
            InitStamp::forget_in(&self.target.dir);
        }
        Ok(status)
    }

    /// Runs Terraform and returns its standard output.
    async fn capture(&self, args: &[&str]) -> Result<Vec<u8>> {
        let output = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .await
            .with_context(|| format!("starting {}", self.terraform.display()))?;
        if !output.status.success() {
            bail!(
                "`{} {}` failed ({}): {}",
                self.terraform.display(),
                args.join(" "),
                output.status,
                self.masked(String::from_utf8_lossy(&output.stderr).trim())
            );
        }
        Ok(output.stdout)
    }
}

/// What the last `terraform init` in a folder ran with (`.rampart/init-stamp`): the
/// backend override and the Terraform binary. Init is skipped when the stamp matches,
/// `.terraform` holds an initialised backend, and no Terraform file of the folder (its
/// modules included; the override excepted, its text is in the stamp) or the lock file
/// changed after the stamp was written. A failed Terraform command removes the stamp,
/// so what was stale is re-checked by the next init.
struct InitStamp {
    path: PathBuf,
    dir: PathBuf,
    text: String,
}

impl InitStamp {
    /// Files scanned at most; a bigger folder is always initialised.
    const SCAN_MAX: usize = 10_000;

    fn new(wrapper: &Wrapper<'_>, backend: &BackendOverride) -> Self {
        Self {
            path: Self::path_in(&wrapper.target.dir),
            dir: wrapper.target.dir.clone(),
            text: format!("{}\n{}", wrapper.terraform.display(), backend.text),
        }
    }

    fn path_in(dir: &Path) -> PathBuf {
        dir.join(".rampart").join("init-stamp")
    }

    fn fresh(&self) -> bool {
        let Ok(stamped) = std::fs::metadata(&self.path).and_then(|meta| meta.modified()) else {
            return false;
        };
        if !self
            .dir
            .join(".terraform")
            .join("terraform.tfstate")
            .is_file()
            || std::fs::read_to_string(&self.path).ok().as_deref() != Some(self.text.as_str())
        {
            return false;
        }
        let mut pending = vec![self.dir.clone()];
        let mut scanned = 0usize;
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return false;
            };
            for entry in entries {
                scanned += 1;
                let Ok(entry) = entry else { return false };
                if scanned > Self::SCAN_MAX {
                    return false;
                }
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let Ok(kind) = entry.file_type() else {
                    return false;
                };
                if kind.is_dir() {
                    if !matches!(name.as_ref(), ".terraform" | ".rampart" | ".git") {
                        pending.push(entry.path());
                    }
                    continue;
                }
                let read_at_init = (name.ends_with(".tf") || name.ends_with(".tf.json"))
                    && name != OVERRIDE_FILE
                    || name == ".terraform.lock.hcl";
                if read_at_init
                    && entry
                        .metadata()
                        .and_then(|meta| meta.modified())
                        .is_ok_and(|modified| modified >= stamped)
                {
                    return false;
                }
            }
        }
        true
    }

    fn record(&self) {
        if let Some(parent) = self.path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(&self.path, &self.text);
    }

    fn forget(&self) {
        let _ = std::fs::remove_file(&self.path);
    }

    fn forget_in(dir: &Path) {
        let _ = std::fs::remove_file(Self::path_in(dir));
    }
}

/// The backend override file, present while Terraform runs for the wrapper and removed
/// when dropped: the workspace's `http` backend and the CA to trust. The same for every
/// run (so one `init` serves them all): the apply's run credential writes under the
/// lock its run holds without the lock ID on the address.
struct BackendOverride {
    path: PathBuf,
    text: String,
}

impl BackendOverride {
    fn write(wrapper: &Wrapper<'_>) -> Result<Self> {
        let project = &wrapper.target.project;
        let address = format!(
            "{}/tf/v1/{}/{}/{}",
            wrapper.url, project.org, project.project, wrapper.target.workspace
        );
        let ca = match &wrapper.ca_cert {
            Some(path) => {
                let pem = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                format!(
                    "    client_ca_certificate_pem = <<EOT\n{}\nEOT\n",
                    pem.trim_end()
                )
            }
            None => String::new(),
        };
        let text = format!(
            "# Written by `rampart tf` while it runs; removed afterwards.\n\
             terraform {{\n  backend \"http\" {{\n    address        = \"{address}\"\n    \
             lock_address   = \"{address}/lock\"\n    unlock_address = \"{address}/lock\"\n    \
             username       = \"rampart\"\n{ca}  }}\n}}\n"
        );
        let path = wrapper.target.dir.join(OVERRIDE_FILE);
        std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
        Ok(Self { path, text })
    }
}

impl Drop for BackendOverride {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
