//! `script` tasks: a runbook's script step, checked and handed to the [`Sandbox`] on a
//! blocking thread; what the delegate reports is [`ScriptTaskOutput`] (how it ended,
//! the masked output, the sandbox it ran in). A delegate whose kernel cannot confine
//! scripts, and whose operator did not allow the weak sandbox, refuses them with
//! `sandbox_unavailable` — the runbook's author sees why on the step.

use std::path::Path;

use rampart_api::platform::{ScriptTask, ScriptTaskOutput};
use rampart_domain::sre::runbooks::is_variable_name;

use crate::sandbox::{Ending, Sandbox, Script, Seen};
use crate::{Failure, failure};

/// The most bytes of script text a task may carry.
pub const SCRIPT_BYTES_MAX: usize = 64 * 1024;
/// How often a running script's new output is passed on (see [`Scripts::run`]).
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// How this delegate runs script steps.
pub struct Scripts {
    sandbox: Option<Sandbox>,
    /// What the delegate reports of its sandbox (`full (landlock …)`, `weak (…)`,
    /// `none (…)`).
    description: String,
    /// A work root made for this run of the agent, removed when it ends.
    _temporary_root: Option<tempfile::TempDir>,
}

impl Scripts {
    /// `sandbox`: `None` when scripts are refused on this machine; `description`: the
    /// mode as [`crate::sandbox::KernelSupport::describe`] words it.
    pub fn new(sandbox: Option<Sandbox>, description: String) -> Self {
        Self {
            sandbox,
            description,
            _temporary_root: None,
        }
    }

    /// Keeps `root` (the sandbox's work root, made by [`temporary_work_root`]) until
    /// the agent ends.
    pub fn keeping(self, root: Option<tempfile::TempDir>) -> Self {
        Self {
            _temporary_root: root,
            ..self
        }
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// Runs a `script` task; the result's output (JSON) on success. While it runs,
    /// its output so far — masked, shaped like the final report with `ended`
    /// `running` — goes to `progress` every couple of seconds when it grew.
    pub async fn run(
        &self,
        arguments: &str,
        progress: &tokio::sync::watch::Sender<String>,
    ) -> Result<String, Failure> {
        let Some(sandbox) = self.sandbox.clone() else {
            return Err(failure(
                "sandbox_unavailable",
                format!(
                    "this delegate does not run scripts: its sandbox is {} (its operator may \
                     allow a weaker one with --allow-weak-sandbox)",
                    self.description
                ),
            ));
        };
        let task: ScriptTask = serde_json::from_str(arguments)
            .map_err(|error| failure("task_arguments_invalid", error.to_string()))?;
        let script = checked(task)?;
        let description = self.description.clone();
        let secrets: Vec<String> = script.secrets.values().cloned().collect();
        let seen = Seen::default();
        let watched = seen.clone();
        #[allow(
            clippy::disallowed_methods,
            reason = "a script's duration is measured by the delegate in real time"
        )]
        let started = std::time::Instant::now();
        let mut running = tokio::task::spawn_blocking(move || {
            sandbox
                .run_watched(&script, &watched)
                .map(|outcome| (outcome, started.elapsed()))
        });
        let mut passed_on = 0;
        let outcome = loop {
            tokio::select! {
                ended = &mut running => break ended,
                () = tokio::time::sleep(PROGRESS_EVERY) => {
                    let so_far = seen.snapshot();
                    if so_far.len() == passed_on {
                        continue;
                    }
                    passed_on = so_far.len();
                    let report = ScriptTaskOutput {
                        ended: "running".to_owned(),
                        exit_code: None,
                        signal: None,
                        // The tail may be the start of a secret: masked as if cut there.
                        output: crate::masking::mask(
                            &String::from_utf8_lossy(&so_far),
                            secrets.iter(),
                            true,
                        ),
                        output_truncated: false,
                        sandbox: description.clone(),
                        duration_ms: u64::try_from(started.elapsed().as_millis())
                            .unwrap_or(u64::MAX),
                    };
                    if let Ok(text) = serde_json::to_string(&report) {
                        progress.send_replace(text);
                    }
                }
            }
        }
        .map_err(|error| failure("sandbox_failed", error.to_string()))?
        .map_err(|error| failure("sandbox_failed", format!("{error:#}")))?;
        let (outcome, took) = outcome;
        let (exit_code, signal) = match outcome.ending {
            Ending::Exited { code } => (Some(code), None),
            Ending::Signalled { signal } => (None, Some(signal)),
            _ => (None, None),
        };
        let report = ScriptTaskOutput {
            ended: ending_name(outcome.ending).to_owned(),
            exit_code,
            signal,
            output: outcome.output,
            output_truncated: outcome.output_truncated,
            sandbox: description,
            duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        };
        let text = serde_json::to_string(&report)
            .map_err(|error| failure("result_unencodable", error.to_string()))?;
        match outcome.ending.failure_code() {
            None => Ok(text),
            // A script step is tried once: how it ended is final.
            Some(code) => Err(failure(code, text)),
        }
    }
}

fn ending_name(ending: Ending) -> &'static str {
    match ending {
        Ending::Exited { .. } => "exited",
        Ending::Signalled { .. } => "signalled",
        Ending::TimedOut => "timed_out",
        Ending::OutputLimit => "output_limit",
        Ending::SandboxFailed => "sandbox_failed",
    }
}

/// The task's script, when its text, names and limits are ones the sandbox can take.
/// (The server checks the same when it queues the step; a delegate checks again.)
fn checked(task: ScriptTask) -> Result<Script, Failure> {
    let invalid = |reason: String| failure("task_arguments_invalid", reason);
    if task.script.len() > SCRIPT_BYTES_MAX || task.script.contains('\0') {
        return Err(invalid(format!(
            "the script must be at most {SCRIPT_BYTES_MAX} bytes, without NUL"
        )));
    }
    for (name, value) in task.inputs.iter().chain(&task.secrets) {
        if !is_variable_name(name) || value.contains('\0') {
            return Err(invalid(format!(
                "{name} is not an environment variable name (A-Z, 0-9, _) or its value holds NUL"
            )));
        }
    }
    let limits = task.limits;
    if [
        limits.wall_seconds,
        limits.cpu_seconds,
        limits.memory_bytes,
        limits.processes,
        limits.file_bytes,
        limits.output_bytes,
    ]
    .contains(&0)
    {
        return Err(invalid("every limit must be at least 1".to_owned()));
    }
    Ok(Script {
        source: task.script,
        inputs: task.inputs,
        secrets: task.secrets,
        tcp_connect_ports: task.tcp_connect_ports,
        limits,
    })
}

/// A fresh work root under the system's temporary directory, with a random name (a
/// predictable one in a shared directory could be planted by another user).
pub fn temporary_work_root() -> anyhow::Result<tempfile::TempDir> {
    use anyhow::Context;
    tempfile::Builder::new()
        .prefix("rampart-scripts-")
        .tempdir()
        .context("making a work directory for scripts")
}

/// Make `root` ready for per-execution directories: it exists, and — when scripts run
/// as another user (a root delegate) — that user may pass through it but not list it,
/// and may pass through every directory above it (or the scripts could not reach their
/// own work directory: refused now, not at the first script).
pub fn prepare_work_root(root: &Path) -> anyhow::Result<()> {
    use anyhow::{Context, bail};
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(root)
        .with_context(|| format!("making the script work directory {}", root.display()))?;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o711))
        .with_context(|| format!("setting the mode of {}", root.display()))?;
    if nix::unistd::geteuid().is_root() {
        let absolute = root
            .canonicalize()
            .with_context(|| format!("resolving {}", root.display()))?;
        for above in absolute.ancestors().skip(1) {
            let mode = std::fs::metadata(above)
                .with_context(|| format!("reading {}", above.display()))?
                .permissions()
                .mode();
            if mode & 0o001 == 0 {
                bail!(
                    "scripts run as an unprivileged user could not reach {}: {} does not let \
                     others pass (mode {:o}); give --work-dir a directory they can reach",
                    root.display(),
                    above.display(),
                    mode & 0o7777
                );
            }
        }
    }
    Ok(())
}
