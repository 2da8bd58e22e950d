//! Script steps in a controlled environment. The delegate never runs a script itself:
//! it starts a helper — its own binary, `rampart delegate sandbox-exec` — in a fresh
//! process group, with an empty environment but the step's declared inputs and secrets,
//! in a fresh per-execution directory. The helper confines itself ([`confine`]) and
//! becomes `/bin/sh script`. The delegate meanwhile captures the combined output up to a
//! limit, enforces the wall-clock timeout, kills the whole process group when the script
//! ends (nothing it started outlives it: the seccomp filter forbids leaving the group),
//! masks every secret value in the output and removes the directory.
//!
//! Strength: [`Strength::Full`] needs Landlock ABI 4 (files and TCP) and seccomp; where
//! the kernel lacks either, [`probe`] says so and the delegate refuses script steps
//! unless its operator allowed [`Strength::Weak`] (resource limits, timeout, empty
//! environment, own user — no filesystem, network or system-call confinement). The
//! delegate reports the strength it runs at to the server.

pub mod confine;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use landlock::{ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

pub use confine::{Confinement, SETUP_FAILED_EXIT, SETUP_FAILED_PREFIX};

/// How strongly scripts are confined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// Landlock (files, TCP ports, scoping) and seccomp, plus everything of `Weak`.
    Full,
    /// Resource limits, the wall-clock timeout, an empty environment and (for a root
    /// delegate) an unprivileged user only.
    Weak,
}

/// What the running kernel offers the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSupport {
    /// Landlock with file and TCP rules (ABI ≥ 4).
    pub landlock: bool,
    /// Landlock scoping of signals and abstract sockets (ABI ≥ 6).
    pub landlock_scoping: bool,
    /// seccomp filters.
    pub seccomp: bool,
}

impl KernelSupport {
    /// The strength scripts can run at: full when the kernel has everything it needs,
    /// weak only when the operator allowed it, otherwise none (scripts refused).
    pub fn strength(self, allow_weak: bool) -> Option<Strength> {
        if self.landlock && self.seccomp {
            Some(Strength::Full)
        } else if allow_weak {
            Some(Strength::Weak)
        } else {
            None
        }
    }

    /// The sandbox mode as reported to the server and shown by `delegate list`.
    pub fn describe(self, allow_weak: bool) -> String {
        match self.strength(allow_weak) {
            Some(Strength::Full) => format!(
                "full (landlock{}, seccomp, rlimits)",
                if self.landlock_scoping {
                    " with scoping"
                } else {
                    ""
                }
            ),
            Some(Strength::Weak) => format!(
                "weak (rlimits only; kernel lacks {})",
                self.missing().join(" and ")
            ),
            None => format!("none (kernel lacks {})", self.missing().join(" and ")),
        }
    }

    fn missing(self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if !self.landlock {
            missing.push("landlock abi 4");
        }
        if !self.seccomp {
            missing.push("seccomp");
        }
        missing
    }
}

/// Ask the kernel (without restricting anything) what it supports.
pub fn probe() -> KernelSupport {
    let supports = |abi: ABI| {
        Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(AccessFs::from_all(abi))
            .and_then(|ruleset| ruleset.handle_access(AccessNet::from_all(abi)))
            .and_then(|ruleset| ruleset.create())
            .is_ok()
    };
    KernelSupport {
        landlock: supports(ABI::V4),
        landlock_scoping: supports(ABI::V6),
        seccomp: kernel_has_seccomp_filters(),
    }
}

/// The kernel lists `Seccomp_filters` in a process's status when it can filter system
/// calls (`CONFIG_SECCOMP_FILTER`).
fn kernel_has_seccomp_filters() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.starts_with("Seccomp_filters:"))
    })
}

/// Limits of one script execution: the task's own (the wire type, checked by
/// [`crate::scripts`]).
pub use rampart_api::platform::ScriptTaskLimits as Limits;

/// One script step as the delegate received it.
#[derive(Debug, Clone)]
pub struct Script {
    pub source: String,
    /// Declared inputs, by environment variable name.
    pub inputs: BTreeMap<String, String>,
    /// Secrets, by environment variable name; their values are masked in the output.
    pub secrets: BTreeMap<String, String>,
    /// TCP ports the script may connect to; `None`: no network.
    pub tcp_connect_ports: Option<Vec<u16>>,
    pub limits: Limits,
}

/// How a script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "ended")]
pub enum Ending {
    /// It exited with this status.
    Exited { code: i32 },
    /// A signal ended it (`SIGXCPU`: its CPU time ran out; `SIGXFSZ`: it wrote a file
    /// over the size limit).
    Signalled { signal: i32 },
    /// The wall-clock timeout ended it.
    TimedOut,
    /// It wrote more output than the limit; it was stopped there.
    OutputLimit,
    /// The helper could not confine itself; the script never ran.
    SandboxFailed,
}

impl Ending {
    /// A stable code for a failed script (`None`: it succeeded).
    pub fn failure_code(self) -> Option<&'static str> {
        match self {
            Ending::Exited { code: 0 } => None,
            Ending::Exited { .. } => Some("script_failed"),
            Ending::Signalled { signal } if signal == libc::SIGXCPU => Some("script_cpu_limit"),
            Ending::Signalled { signal } if signal == libc::SIGXFSZ => {
                Some("script_file_size_limit")
            }
            Ending::Signalled { .. } => Some("script_killed"),
            Ending::TimedOut => Some("script_timed_out"),
            Ending::OutputLimit => Some("script_output_limit"),
            Ending::SandboxFailed => Some("sandbox_failed"),
        }
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::Exited { code } => write!(f, "exited with status {code}"),
            Ending::Signalled { signal } => write!(
                f,
                "ended by {}",
                Signal::try_from(*signal)
                    .map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_owned())
            ),
            Ending::TimedOut => write!(f, "stopped at its wall-clock timeout"),
            Ending::OutputLimit => write!(f, "stopped at its output limit"),
            Ending::SandboxFailed => write!(f, "could not be confined, so it did not run"),
        }
    }
}

/// What one execution produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ending: Ending,
    /// Standard output and error interleaved, secrets masked, at most the limit.
    pub output: String,
    pub output_truncated: bool,
}

/// What the delegate's operator set for scripts (`rampart delegate run`).
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The `rampart` binary, started as the helper.
    pub helper: PathBuf,
    /// Where per-execution directories are made.
    pub work_root: PathBuf,
    pub strength: Strength,
    /// Hierarchies scripts may read and execute besides the system ones.
    pub extra_read_paths: Vec<PathBuf>,
    /// The user and group scripts run as when the delegate runs as root.
    pub root_runs_scripts_as: (u32, u32),
}

/// System hierarchies a script may read and execute. `/etc` only in part: its secrets
/// (`shadow`, keys) stay out of reach whatever the file modes say.
const SYSTEM_READ_PATHS: [&str; 27] = [
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/resolv.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/ssl/certs",
    "/etc/ca-certificates",
    "/etc/mime.types",
    "/etc/os-release",
    "/etc/python3",
];

const DEVICE_PATHS: [&str; 5] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

impl Sandbox {
    /// Run one script to its end; an error means it could not be started at all.
    pub fn run(&self, script: &Script) -> Result<Outcome> {
        self.run_watched(script, &Seen::default())
    }

    /// [`Sandbox::run`], keeping in `seen` the output read so far (unmasked: whoever
    /// shows it masks it), for a delegate that streams it while the script runs.
    pub fn run_watched(&self, script: &Script, seen: &Seen) -> Result<Outcome> {
        let execution = tempfile::Builder::new()
            .prefix("rampart-script-")
            .tempdir_in(&self.work_root)
            .with_context(|| format!("making a directory under {}", self.work_root.display()))?;
        let work_dir = execution.path().join("work");
        let script_path = execution.path().join("script.sh");
        std::fs::create_dir(&work_dir).context("making the work directory")?;
        std::fs::write(&script_path, &script.source).context("writing the script")?;
        let run_as = nix::unistd::geteuid()
            .is_root()
            .then_some(self.root_runs_scripts_as);
        let processes = match run_as {
            Some(_) => script.limits.processes,
            // Without a user of its own the limit counts every process of the
            // delegate's user: allow what runs now plus the script's share.
            None => processes_of_current_user().saturating_add(script.limits.processes),
        };
        if let Some((uid, gid)) = run_as {
            for path in [execution.path(), work_dir.as_path(), script_path.as_path()] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid))
                    .with_context(|| format!("handing {} to the script user", path.display()))?;
            }
        }
        let confinement = Confinement {
            strength: self.strength,
            work_dir: work_dir.clone(),
            script: script_path,
            read_paths: SYSTEM_READ_PATHS
                .iter()
                .map(PathBuf::from)
                .chain(self.extra_read_paths.iter().cloned())
                .collect(),
            device_paths: DEVICE_PATHS.iter().map(PathBuf::from).collect(),
            tcp_connect_ports: script.tcp_connect_ports.clone(),
            cpu_seconds: script.limits.cpu_seconds,
            memory_bytes: script.limits.memory_bytes,
            processes,
            file_bytes: script.limits.file_bytes,
            run_as,
        };
        let outcome = self.supervise(script, &confinement, &work_dir, seen)?;
        // Files the script left are its own; the directory goes with them.
        drop(execution);
        Ok(outcome)
    }

    fn supervise(
        &self,
        script: &Script,
        confinement: &Confinement,
        work_dir: &Path,
        seen: &Seen,
    ) -> Result<Outcome> {
        let (mut reader, writer) = std::io::pipe().context("making the output pipe")?;
        let environment = script
            .inputs
            .iter()
            .chain(&script.secrets)
            .map(|(name, value)| (name.clone(), value.clone()))
            .chain([
                ("PATH".to_owned(), "/usr/local/bin:/usr/bin:/bin".to_owned()),
                ("HOME".to_owned(), work_dir.display().to_string()),
                ("TMPDIR".to_owned(), work_dir.display().to_string()),
                ("LANG".to_owned(), "C.UTF-8".to_owned()),
            ]);
        #[allow(
            clippy::disallowed_methods,
            reason = "the sandbox is where the delegate starts processes"
        )]
        let mut command = std::process::Command::new(&self.helper);
        command
            .args(["delegate", "sandbox-exec", "--confinement"])
            .arg(serde_json::to_string(confinement)?)
            .env_clear()
            .envs(environment)
            .current_dir(work_dir)
            .stdin(Stdio::null())
            .stdout(writer.try_clone().context("sharing the output pipe")?)
            .stderr(writer);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        #[allow(
            clippy::disallowed_methods,
            reason = "a script's wall-clock timeout is real time, kept by the delegate"
        )]
        let clock: fn() -> std::time::Instant = std::time::Instant::now;
        let started = clock();
        let mut child = command.spawn().context("starting the sandbox helper")?;
        // The command holds the pipe's writing ends until dropped: without this the
        // reader would never see the end of the output.
        drop(command);
        let group = Pid::from_raw(i32::try_from(child.id()).context("process id")?);
        let limit = usize::try_from(script.limits.output_bytes).unwrap_or(usize::MAX);
        let (done, output) = mpsc::channel();
        let seen = seen.clone();
        std::thread::spawn(move || {
            let _ = done.send(read_limited(&mut reader, limit, &seen));
        });
        let deadline = Duration::from_secs(script.limits.wall_seconds);
        let ending = loop {
            if let Some(status) = child.try_wait().context("waiting for the script")? {
                break ending_of(status);
            }
            if let Ok(read) = output.try_recv() {
                // The output ended early: either the limit (stop it now) or every
                // process closed it (wait for the exit).
                if read.1 {
                    kill_group(group, &mut child);
                    // The channel gave up its one message here: finish with it rather
                    // than waiting for another that never comes.
                    return Ok(finish(Ending::OutputLimit, read, script));
                }
                let status = wait_until(&mut child, started + deadline, clock);
                kill_group(group, &mut child);
                return Ok(finish(
                    status.map_or(Ending::TimedOut, ending_of),
                    read,
                    script,
                ));
            }
            if clock() >= started + deadline {
                kill_group(group, &mut child);
                break Ending::TimedOut;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        kill_group(group, &mut child);
        // Every writer is dead now, so the reader ends promptly.
        let read = output
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| (Vec::new(), false));
        Ok(finish(ending, read, script))
    }
}

fn wait_until(
    child: &mut Child,
    deadline: std::time::Instant,
    clock: fn() -> std::time::Instant,
) -> Option<std::process::ExitStatus> {
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if clock() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kill everything in the script's process group until no live process is left in it,
/// and reap the helper. (Orphans of the script are reparented outside the delegate, so
/// their zombies do not count.)
fn kill_group(group: Pid, child: &mut Child) {
    for _ in 0..400 {
        if killpg(group, Signal::SIGKILL).is_err() {
            break;
        }
        let _ = child.try_wait();
        if !group_has_live_members(group) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.wait();
}

/// Whether a process of `group` that is not a zombie exists (from `/proc/<pid>/stat`:
/// `pid (comm) state ppid pgrp …`).
fn group_has_live_members(group: Pid) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        let Some((_, after_command)) = stat.rsplit_once(')') else {
            return false;
        };
        let mut fields = after_command.split_whitespace();
        let state = fields.next();
        let group_of_process = fields.nth(1);
        state != Some("Z") && group_of_process == Some(group.as_raw().to_string().as_str())
    })
}

fn ending_of(status: std::process::ExitStatus) -> Ending {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Ending::Exited { code },
        (None, Some(signal)) => Ending::Signalled { signal },
        (None, None) => Ending::Signalled { signal: 0 },
    }
}

fn finish(ending: Ending, (bytes, over_limit): (Vec<u8>, bool), script: &Script) -> Outcome {
    let text = String::from_utf8_lossy(&bytes);
    let ending = match ending {
        // The writer may have died of the closed pipe before the limit was noticed.
        _ if over_limit => Ending::OutputLimit,
        Ending::Exited { code }
            if code == SETUP_FAILED_EXIT && text.starts_with(SETUP_FAILED_PREFIX) =>
        {
            Ending::SandboxFailed
        }
        other => other,
    };
    Outcome {
        ending,
        output: crate::masking::mask(&text, script.secrets.values(), over_limit),
        output_truncated: over_limit,
    }
}

/// The output of a running script read so far, shared with whoever streams it.
#[derive(Clone, Debug, Default)]
pub struct Seen(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Seen {
    /// A copy of the output so far.
    pub fn snapshot(&self) -> Vec<u8> {
        self.0.lock().map(|kept| kept.clone()).unwrap_or_default()
    }

    fn extend(&self, bytes: &[u8]) {
        if let Ok(mut kept) = self.0.lock() {
            kept.extend_from_slice(bytes);
        }
    }
}

/// Read to the end or to `limit` bytes (each piece also added to `seen` as it comes);
/// `true` when there was more.
fn read_limited(reader: &mut impl Read, limit: usize, seen: &Seen) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buffer = [0_u8; 8192];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) | Err(_) => return (kept, false),
            Ok(read) => {
                let room = limit.saturating_sub(kept.len());
                let piece = buffer.get(..read.min(room)).unwrap_or_default();
                kept.extend_from_slice(piece);
                seen.extend(piece);
                if read > room {
                    return (kept, true);
                }
            }
        }
    }
}

/// Processes and threads of the delegate's user now (the process limit is per user).
fn processes_of_current_user() -> u64 {
    let uid = nix::unistd::getuid().as_raw();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|entry| {
            std::os::unix::fs::MetadataExt::uid(&match entry.metadata() {
                Ok(metadata) => metadata,
                Err(_) => return false,
            }) == uid
        })
        .map(|entry| {
            std::fs::read_dir(entry.path().join("task")).map_or(1, |tasks| tasks.count() as u64)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_follows_the_kernel_and_the_operator() {
        let full = KernelSupport {
            landlock: true,
            landlock_scoping: false,
            seccomp: true,
        };
        assert_eq!(full.strength(false), Some(Strength::Full));
        let old = KernelSupport {
            landlock: false,
            ..full
        };
        assert_eq!(old.strength(false), None);
        assert_eq!(old.strength(true), Some(Strength::Weak));
        assert_eq!(old.describe(false), "none (kernel lacks landlock abi 4)");
    }
}
