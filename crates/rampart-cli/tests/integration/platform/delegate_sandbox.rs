//! The script sandbox against escape attempts: each runs a real script through the
//! delegate's sandbox, whose helper is the real `rampart` binary, on this machine's
//! kernel (Landlock, seccomp), and checks what the script could not do — and that the
//! sandbox said so. Where a file mode alone would already stop the script (it runs as
//! `nobody` when the tests run as root), the target is made readable or writable by
//! everyone, so only the sandbox stands in the way.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use rampart_delegate::sandbox::{Ending, Limits, Outcome, Sandbox, Script, Strength, probe};
use rampart_delegate::scripts::prepare_work_root;

const LIMITS: Limits = Limits {
    wall_seconds: 20,
    cpu_seconds: 10,
    memory_bytes: 256 * 1024 * 1024,
    processes: 32,
    file_bytes: 1024 * 1024,
    output_bytes: 16 * 1024,
};

struct Fixture {
    sandbox: Sandbox,
    work_root: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let support = probe();
    assert_eq!(
        support.strength(false),
        Some(Strength::Full),
        "this machine's kernel must offer Landlock ABI 4 and seccomp: {}",
        support.describe(false)
    );
    let work_root = tempfile::tempdir().unwrap();
    prepare_work_root(work_root.path()).unwrap();
    Fixture {
        sandbox: Sandbox {
            helper: env!("CARGO_BIN_EXE_rampart").into(),
            work_root: work_root.path().to_path_buf(),
            strength: Strength::Full,
            extra_read_paths: Vec::new(),
            root_runs_scripts_as: (65534, 65534),
        },
        work_root,
    }
}

fn script(source: &str) -> Script {
    Script {
        source: source.to_owned(),
        inputs: BTreeMap::new(),
        secrets: BTreeMap::new(),
        tcp_connect_ports: None,
        limits: LIMITS,
    }
}

fn run(fixture: &Fixture, script: &Script) -> Outcome {
    let outcome = fixture.sandbox.run(script).unwrap();
    // Nothing of the execution is left behind.
    assert_eq!(
        std::fs::read_dir(fixture.work_root.path()).unwrap().count(),
        0,
        "the per-execution directory was removed"
    );
    outcome
}

/// A file everyone may read and a directory everyone may write, outside the sandbox.
fn open_targets() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let outside = tempfile::tempdir().unwrap();
    std::fs::set_permissions(outside.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let credential = outside.path().join("delegate.json");
    std::fs::write(&credential, r#"{"credential":"rmp_dlg_not_for_scripts"}"#).unwrap();
    std::fs::set_permissions(&credential, std::fs::Permissions::from_mode(0o666)).unwrap();
    let dir = outside.path().join("open");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    (outside, credential, dir)
}

#[test]
fn a_script_sees_its_inputs_and_its_directory_and_nothing_else() {
    let fixture = fixture();
    let (_outside, credential, open_dir) = open_targets();
    let mut task = script(
        r#"
echo "hello $GREETING as $(id -u)"
echo "token is $API_TOKEN"
env | sort | cut -d= -f1 | tr '\n' ' '; echo
echo kept > inside.txt && cat inside.txt
cat /etc/shadow >/dev/null 2>&1 && echo SHADOW-READ || echo shadow-refused
cat "$CREDENTIAL" 2>/dev/null || echo credential-refused
echo escaped > "$OPEN_DIR/escape.txt" 2>/dev/null && echo WROTE-OUTSIDE || echo write-refused
cat /proc/self/status >/dev/null 2>&1 && echo PROC-VISIBLE || echo proc-refused
echo escaped > /tmp/rampart-escape-$$ 2>/dev/null && echo WROTE-TMP || echo tmp-refused
"#,
    );
    task.inputs = BTreeMap::from([
        ("GREETING".to_owned(), "from the runbook".to_owned()),
        ("CREDENTIAL".to_owned(), credential.display().to_string()),
        ("OPEN_DIR".to_owned(), open_dir.display().to_string()),
    ]);
    task.secrets = BTreeMap::from([("API_TOKEN".to_owned(), "s3cr3t-t0ken-value".to_owned())]);
    let outcome = run(&fixture, &task);
    assert_eq!(
        outcome.ending,
        Ending::Exited { code: 0 },
        "{}",
        outcome.output
    );
    let output = &outcome.output;
    assert!(
        output.contains("hello from the runbook as 65534"),
        "{output}"
    );
    assert!(output.contains("token is ***"), "{output}");
    assert!(!output.contains("s3cr3t-t0ken-value"), "{output}");
    // An empty environment but the declared names and the sandbox's own.
    assert!(
        output.contains("API_TOKEN CREDENTIAL GREETING HOME LANG OPEN_DIR PATH PWD TMPDIR"),
        "{output}"
    );
    for line in [
        "kept",
        "shadow-refused",
        "credential-refused",
        "write-refused",
        "proc-refused",
        "tmp-refused",
    ] {
        assert!(output.lines().any(|l| l == line), "{line} in {output}");
    }
    assert!(!open_dir.join("escape.txt").exists());
}

#[test]
fn no_network_unless_declared_and_then_only_the_declared_port() {
    let fixture = fixture();
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    for listener in [&allowed, &other] {
        listener.set_nonblocking(true).unwrap();
    }
    let probe = |port: u16| {
        format!(
            "python3 -c \"import socket\ntry:\n  socket.create_connection(('127.0.0.1', {port}), 3); print('connected {port}')\nexcept OSError as e: print('refused {port}', e.errno)\""
        )
    };
    let allowed_port = allowed.local_addr().unwrap().port();
    let other_port = other.local_addr().unwrap().port();
    let source = format!(
        "{}\n{}\npython3 -c \"import socket; socket.socket(socket.AF_UNIX)\" 2>&1 | tail -1\n",
        probe(allowed_port),
        probe(other_port)
    );

    let closed = run(&fixture, &script(&source));
    assert!(
        closed.output.contains(&format!("refused {allowed_port}")),
        "{}",
        closed.output
    );
    assert!(
        closed.output.contains("PermissionError"),
        "{}",
        closed.output
    );
    assert!(
        allowed.accept().is_err(),
        "no connection reached the listener"
    );

    let mut declared = script(&source);
    declared.tcp_connect_ports = Some(vec![allowed_port]);
    let open = run(&fixture, &declared);
    assert!(
        open.output.contains(&format!("connected {allowed_port}")),
        "{}",
        open.output
    );
    assert!(
        open.output.contains(&format!("refused {other_port}")),
        "{}",
        open.output
    );
    assert!(
        other.accept().is_err(),
        "the undeclared port was not reached"
    );
}

#[test]
fn debugging_the_delegate_and_leaving_the_sandbox_are_refused() {
    let fixture = fixture();
    let mut task = script(
        r#"python3 - <<'EOF'
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def attempt(name, result):
    print(name, "refused" if result == -1 else "ALLOWED", os.strerror(ctypes.get_errno()))
attempt("ptrace", libc.ptrace(16, int(os.environ["DELEGATE_PID"]), 0, 0))
attempt("ptrace-parent", libc.ptrace(16, os.getppid(), 0, 0))
attempt("unshare", libc.unshare(0x10000000))
attempt("setsid", libc.setsid())
attempt("mount", libc.mount(b"none", b".", b"tmpfs", 0, None))
attempt("x32-ptrace", libc.syscall(0x40000000 + 521, 16, 1, 0, 0))
EOF"#,
    );
    task.inputs = BTreeMap::from([("DELEGATE_PID".to_owned(), std::process::id().to_string())]);
    let outcome = run(&fixture, &task);
    for call in [
        "ptrace",
        "ptrace-parent",
        "unshare",
        "setsid",
        "mount",
        "x32-ptrace",
    ] {
        assert!(
            outcome
                .output
                .lines()
                .any(|line| line.starts_with(&format!("{call} refused"))),
            "{call}: {}",
            outcome.output
        );
    }
}

#[test]
fn a_fork_bomb_stops_at_the_process_limit_and_the_timeout_and_leaves_nothing() {
    let fixture = fixture();
    // The script's own shell execs its sleep: a fork there would race the bomb for the
    // last process slots, and a lost race ends the script early with "Cannot fork".
    let mut bomb = script("bomb() { bomb | bomb & }; bomb; exec sleep 600");
    bomb.limits.wall_seconds = 4;
    bomb.limits.processes = 16;
    let outcome = run(&fixture, &bomb);
    assert_eq!(outcome.ending, Ending::TimedOut);
    assert_eq!(outcome.ending.failure_code(), Some("script_timed_out"));
    // No process of the script is left alive: the whole group was killed.
    assert_eq!(live_processes_running(fixture.work_root.path()), 0);
}

#[test]
fn a_memory_hog_an_endless_loop_a_flood_and_a_huge_file_are_stopped() {
    let fixture = fixture();
    let hog = run(
        &fixture,
        &script("python3 -c 'b = bytearray(1024 * 1024 * 1024); print(\"ALLOCATED\")'"),
    );
    assert_eq!(hog.ending.failure_code(), Some("script_failed"), "{hog:?}");
    assert!(hog.output.contains("MemoryError"), "{}", hog.output);

    let mut endless = script("while :; do :; done");
    endless.limits.cpu_seconds = 1;
    let looped = run(&fixture, &endless);
    assert_eq!(looped.ending.failure_code(), Some("script_cpu_limit"));

    let flood = run(&fixture, &script("yes 'flooding the delegate'"));
    assert_eq!(flood.ending, Ending::OutputLimit);
    assert!(flood.output_truncated);
    assert!(flood.output.len() <= 16 * 1024);
    assert!(flood.output.starts_with("flooding the delegate\n"));

    let huge = run(
        &fixture,
        &script("head -c 5000000 /dev/zero > big; echo status=$?; wc -c < big"),
    );
    assert!(huge.output.contains("status=153"), "{}", huge.output);
    assert!(huge.output.contains("1048576"), "{}", huge.output);
}

#[test]
fn output_is_masked_even_where_the_limit_cuts_a_secret() {
    let fixture = fixture();
    let mut task = script("printf 'abcdefgh'; printf '%s' \"$SECRET\"");
    task.secrets = BTreeMap::from([("SECRET".to_owned(), "0123456789".to_owned())]);
    task.limits.output_bytes = 12;
    let outcome = run(&fixture, &task);
    assert_eq!(outcome.ending, Ending::OutputLimit);
    assert_eq!(outcome.output, "abcdefgh***");
}

#[test]
fn a_slow_script_ends_at_its_wall_clock_timeout() {
    let fixture = fixture();
    let mut task = script("echo started; sleep 600");
    task.limits.wall_seconds = 1;
    let outcome = run(&fixture, &task);
    assert_eq!(outcome.ending, Ending::TimedOut);
    assert_eq!(outcome.output, "started\n");
}

/// Live (not zombie) processes whose command line names a file under `dir` (every
/// process of a script runs `/bin/sh <dir>/…/script.sh`), after giving the kernel a
/// moment to finish the kills.
fn live_processes_running(dir: &std::path::Path) -> usize {
    std::thread::sleep(Duration::from_millis(200));
    let dir = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|entry| {
            let mut status = String::new();
            let alive = std::fs::File::open(entry.path().join("status"))
                .and_then(|mut file| file.read_to_string(&mut status))
                .is_ok()
                && !status.lines().any(|line| line.starts_with("State:\tZ"));
            alive
                && std::fs::read(entry.path().join("cmdline"))
                    .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&dir))
        })
        .count()
}

#[test]
fn a_work_directory_the_script_user_cannot_reach_is_refused_at_start() {
    if !nix_is_root() {
        return;
    }
    let private = tempfile::tempdir().unwrap();
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let error = prepare_work_root(&private.path().join("scripts")).unwrap_err();
    assert!(
        error.to_string().contains("does not let others pass"),
        "{error:#}"
    );
}

/// The tests run as root on CI; a root delegate's scripts run as another user.
fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|metadata| std::os::unix::fs::MetadataExt::uid(&metadata) == 0)
        .unwrap_or(false)
}
