//! The inside of the sandbox: what the helper process (`rampart delegate sandbox-exec`)
//! does to itself before it becomes the script. It runs single-threaded, started by the
//! delegate with an empty environment (but the step's declared inputs and secrets), in
//! a process group of its own, and in this order: resource limits → the unprivileged
//! user (when the delegate runs as root) → parent-death signal → `no_new_privs` →
//! Landlock (files, TCP ports, signal and abstract-socket scoping) → seccomp → `exec`
//! of `/bin/sh script`. A step that fails ends the helper with [`SETUP_FAILED_EXIT`]
//! before the script ever runs.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};
use nix::sys::resource::{Resource, setrlimit};
use nix::unistd::{Gid, Uid};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use serde::{Deserialize, Serialize};

use super::Strength;

/// The exit status of a helper that could not confine itself (the script never ran).
pub const SETUP_FAILED_EXIT: i32 = 125;
/// What a helper that could not confine itself writes before its reason.
pub const SETUP_FAILED_PREFIX: &str = "rampart sandbox: ";

/// The interpreter every script runs under.
pub const SHELL: &str = "/bin/sh";

/// Everything the helper needs to confine itself; built by the delegate
/// ([`super::Sandbox::run`]) and handed over as JSON on the helper's command line (it
/// holds no secret: inputs and secrets travel in the environment).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Confinement {
    pub strength: Strength,
    /// The per-execution directory: the only place the script may write.
    pub work_dir: PathBuf,
    /// The script file (read-only to the script).
    pub script: PathBuf,
    /// Hierarchies the script may read and execute (system paths).
    pub read_paths: Vec<PathBuf>,
    /// Device files the script may read and write (`/dev/null`…).
    pub device_paths: Vec<PathBuf>,
    /// TCP ports the script may connect to; `None`: no network at all.
    pub tcp_connect_ports: Option<Vec<u16>>,
    pub cpu_seconds: u64,
    pub memory_bytes: u64,
    /// Processes (and threads) the script's user may have at once.
    pub processes: u64,
    pub file_bytes: u64,
    /// The unprivileged user and group the script runs as (a root delegate drops to it).
    pub run_as: Option<(u32, u32)>,
}

/// Confine this process as `confinement` says and become the script; returns only when
/// a step failed (the caller reports it and exits with [`SETUP_FAILED_EXIT`]).
pub fn enter(confinement: &Confinement) -> anyhow::Error {
    match confine_and_exec(confinement) {
        Ok(never) => match never {},
        Err(error) => error,
    }
}

fn confine_and_exec(confinement: &Confinement) -> Result<Infallible> {
    set_limits(confinement)?;
    if let Some((uid, gid)) = confinement.run_as {
        nix::unistd::setgroups(&[]).context("dropping supplementary groups")?;
        nix::unistd::setgid(Gid::from_raw(gid)).context("changing to the script group")?;
        nix::unistd::setuid(Uid::from_raw(uid)).context("changing to the script user")?;
        if nix::unistd::setuid(Uid::from_raw(0)).is_ok() && uid != 0 {
            bail!("the script user could become root again");
        }
    }
    // Set after the user change, which clears it: the script dies with the delegate.
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .context("setting the parent-death signal")?;
    nix::sys::prctl::set_no_new_privs().context("setting no_new_privs")?;
    if confinement.strength == Strength::Full {
        restrict_files_and_network(confinement)?;
        for program in seccomp_programs(confinement.tcp_connect_ports.is_some())? {
            seccompiler::apply_filter(&program).context("installing the seccomp filter")?;
        }
    }
    #[allow(
        clippy::disallowed_methods,
        reason = "the sandbox helper becomes the script: the one place a script starts"
    )]
    let error = std::process::Command::new(SHELL)
        .arg(&confinement.script)
        .current_dir(&confinement.work_dir)
        .exec();
    Err(error).context("starting /bin/sh")
}

fn set_limits(confinement: &Confinement) -> Result<()> {
    let limits = [
        (Resource::RLIMIT_CORE, 0, 0),
        // The soft limit sends SIGXCPU, the hard one a second later SIGKILL.
        (
            Resource::RLIMIT_CPU,
            confinement.cpu_seconds,
            confinement.cpu_seconds.saturating_add(1),
        ),
        (
            Resource::RLIMIT_AS,
            confinement.memory_bytes,
            confinement.memory_bytes,
        ),
        (
            Resource::RLIMIT_NPROC,
            confinement.processes,
            confinement.processes,
        ),
        (
            Resource::RLIMIT_FSIZE,
            confinement.file_bytes,
            confinement.file_bytes,
        ),
        (Resource::RLIMIT_NOFILE, 256, 256),
    ];
    for (resource, soft, hard) in limits {
        setrlimit(resource, soft, hard).with_context(|| format!("setting {resource:?}"))?;
    }
    Ok(())
}

/// Landlock: the system paths read-only, the devices read-write, the work directory
/// fully, nothing else; TCP connections only to the declared ports; signals and
/// abstract Unix sockets only within the sandbox. ABI 4 (files and TCP) is required —
/// [`super::probe`] refuses full strength without it — the scoping of ABI 6 is added
/// where the kernel has it.
fn restrict_files_and_network(confinement: &Confinement) -> Result<()> {
    let required = ABI::V4;
    let read = AccessFs::from_read(required);
    let read_write_file = AccessFs::from_file(required);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(required))?
        .handle_access(AccessNet::from_all(required))?
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(ABI::V5))?
        .scope(Scope::from_all(ABI::V6))?
        .create()?
        .set_compatibility(CompatLevel::HardRequirement);
    for path in &confinement.read_paths {
        if let Some(fd) = open_if_present(path)? {
            // Directory rights on a file are refused: a file gets the file ones.
            let rights = if path.is_dir() {
                read
            } else {
                read & AccessFs::from_file(required)
            };
            ruleset = ruleset.add_rule(PathBeneath::new(fd, rights))?;
        }
    }
    for path in &confinement.device_paths {
        if let Some(fd) = open_if_present(path)? {
            ruleset = ruleset.add_rule(PathBeneath::new(fd, read_write_file))?;
        }
    }
    ruleset = ruleset
        .add_rule(PathBeneath::new(
            PathFd::new(&confinement.script)?,
            AccessFs::ReadFile,
        ))?
        .add_rule(PathBeneath::new(
            PathFd::new(&confinement.work_dir)?,
            AccessFs::from_all(ABI::V5),
        ))?;
    for port in confinement.tcp_connect_ports.iter().flatten() {
        ruleset = ruleset.add_rule(NetPort::new(*port, AccessNet::ConnectTcp))?;
    }
    let status = ruleset
        .restrict_self()
        .context("enforcing the Landlock rules")?;
    if status.ruleset == RulesetStatus::NotEnforced {
        bail!("the kernel did not enforce the Landlock rules");
    }
    Ok(())
}

/// A path of the allow-list that this machine lacks is skipped (`/lib32` on most).
fn open_if_present(path: &Path) -> Result<Option<PathFd>> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(PathFd::new(path).with_context(|| {
        format!("opening {} for a Landlock rule", path.display())
    })?))
}

/// `clone` flags that make new namespaces.
const NAMESPACE_FLAGS: [u64; 8] = [
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWCGROUP as u64,
    0x80, // CLONE_NEWTIME
];

/// System calls a script never needs and an escape would: debugging other processes,
/// mounts and namespaces, kernel modules and keyrings, BPF and perf, `io_uring` (which
/// bypasses this filter), leaving the process group (which would escape the delegate's
/// kill), and rebooting or re-timing the machine.
const DENIED_SYSCALLS: [i64; 38] = [
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_kcmp,
    libc::SYS_pidfd_getfd,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_open_tree,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_setsid,
    libc::SYS_setpgid,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_acct,
];

/// The seccomp programs, most general last (the kernel runs every installed program and
/// takes the strictest answer): the first answers `clone3` with ENOSYS, so the C
/// library falls back to `clone`, whose flags the second can see; the second refuses
/// the calls of [`DENIED_SYSCALLS`], `clone` with namespace flags, and `socket` — for
/// every family but IPv4/IPv6 when the step declared network, for every family when it
/// did not. Both refuse any x32 system call (a second numbering of the same calls).
fn seccomp_programs(network: bool) -> Result<Vec<BpfProgram>> {
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .context("seccomp filters are built for x86_64, aarch64 and riscv64 only")?;
    let mut denied: BTreeMap<i64, Vec<SeccompRule>> = DENIED_SYSCALLS
        .iter()
        .map(|call| (*call, Vec::new()))
        .collect();
    let clone_rules = NAMESPACE_FLAGS
        .iter()
        .map(|flag| {
            Ok(SeccompRule::new(vec![SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(*flag),
                *flag,
            )?])?)
        })
        .collect::<Result<Vec<_>>>()?;
    denied.insert(libc::SYS_clone, clone_rules);
    let socket_rules = if network {
        vec![SeccompRule::new(vec![
            SeccompCondition::new(
                0,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Ne,
                libc::AF_INET as u64,
            )?,
            SeccompCondition::new(
                0,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Ne,
                libc::AF_INET6 as u64,
            )?,
        ])?]
    } else {
        Vec::new()
    };
    denied.insert(libc::SYS_socket, socket_rules);
    let deny = SeccompFilter::new(
        denied,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )?;
    [clone3, deny]
        .into_iter()
        .map(|filter| Ok(refuse_x32(BpfProgram::try_from(filter)?)))
        .collect()
}

/// Prefix a program with: a system call number carrying the x32 bit → EPERM. Jumps in
/// BPF are relative and forward, so prepending leaves the program's own jumps intact.
fn refuse_x32(program: BpfProgram) -> BpfProgram {
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    const LOAD_SYSCALL_NUMBER: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JUMP_IF_AT_LEAST: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const RETURN: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    if std::env::consts::ARCH != "x86_64" {
        return program;
    }
    let prefix = [
        seccompiler::sock_filter {
            code: LOAD_SYSCALL_NUMBER,
            jt: 0,
            jf: 0,
            k: 0,
        },
        seccompiler::sock_filter {
            code: JUMP_IF_AT_LEAST,
            jt: 0,
            jf: 1,
            k: X32_SYSCALL_BIT,
        },
        seccompiler::sock_filter {
            code: RETURN,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        },
    ];
    prefix.into_iter().chain(program).collect()
}
