//! Zero egress at run time (the dependency half is `tidy.rs`'s
//! `no_server_crate_depends_on_an_outbound_client`): the suite's tests of the whole
//! outbound path — a page delivered by a delegate to an SMTP and a webhook receiver, a
//! runbook whose script and HTTP steps a delegate runs — run again under `strace`,
//! following every process they start (the server's tasks, the agent, its sandboxed
//! scripts, the receivers), and every `connect(2)`, and every datagram sent to an
//! address (`sendto`/`sendmsg`/`sendmmsg`), must stay on this machine: loopback, a Unix
//! socket or the kernel (netlink) — and no name lookup (port 53), not even through a
//! resolver on loopback, which would forward it. A server that phoned home, resolved a
//! name or reached a receiver itself would fail here.

use std::process::Command;

/// The traced tests, by their full names in this binary.
const TRACED: [&str; 2] = [
    "sre::contact_methods::pages_reach_contact_methods_through_a_delegate_on_sqlite",
    "sre::runbook_executions::runbooks_run_on_a_delegate_on_sqlite",
];

/// Where a traced `connect` or send went, when it left the machine (or asked a name
/// server).
fn outside(line: &str) -> Option<String> {
    let family = line.split("sa_family=").nth(1)?;
    if family.contains("htons(53)") {
        return Some(format!("a name server: {family}"));
    }
    let address = |marker: &str| {
        family
            .split(marker)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_owned)
    };
    if family.starts_with("AF_INET6") {
        let ip = address("inet_pton(AF_INET6, \"")?;
        let loopback = ip == "::1" || ip.starts_with("::ffff:127.");
        (!loopback).then_some(ip)
    } else if family.starts_with("AF_INET") {
        let ip = address("inet_addr(\"")?;
        (!ip.starts_with("127.")).then_some(ip)
    } else if ["AF_UNIX", "AF_UNSPEC", "AF_NETLINK"]
        .iter()
        .any(|local| family.starts_with(local))
    {
        None
    } else {
        Some(family.split(',').next().unwrap_or(family).to_owned())
    }
}

#[test]
#[allow(clippy::disallowed_methods)] // the test runs strace and this binary
fn the_outbound_path_connects_to_nothing_off_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("connects.log");
    let test_binary = std::env::current_exe().unwrap();
    // Bounded: strace waits for every process it follows, and one left behind must
    // fail the test, not hang the suite.
    let traced = Command::new("timeout")
        .args(["600", "strace", "-f", "-qq", "--seccomp-bpf"])
        .args([
            "-e",
            "trace=connect,sendto,sendmsg,sendmmsg",
            "-e",
            "signal=none",
        ])
        .arg("-o")
        .arg(&log)
        .arg(&test_binary)
        .arg("--exact")
        .args(TRACED)
        .args(["--test-threads", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("scripts/install-test-deps.sh installs strace");
    let stdout = String::from_utf8_lossy(&traced.stdout);
    assert!(
        traced.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&traced.stderr)
    );
    // Both tests ran (a filter that matched nothing would pass with no connects).
    assert!(stdout.contains("2 passed"), "{stdout}");
    let connects: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|line| line.contains("sa_family="))
        .map(str::to_owned)
        .collect();
    // The clients, the agent and the receivers' traffic all showed up.
    let loopback = connects
        .iter()
        .filter(|line| line.contains("inet_addr(\"127.0.0.1\")"))
        .count();
    assert!(
        loopback >= 5,
        "only {loopback} loopback connects traced: {connects:#?}"
    );
    let left: Vec<(String, &String)> = connects
        .iter()
        .filter_map(|line| outside(line).map(|to| (to, line)))
        .collect();
    assert!(left.is_empty(), "connections off this machine: {left:#?}");
}

#[test]
fn connects_off_the_machine_are_recognised() {
    let v4 = |ip: &str| {
        format!(
            "1 connect(3, {{sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr(\"{ip}\")}}, 16) = 0"
        )
    };
    assert_eq!(outside(&v4("127.0.0.1")), None);
    assert_eq!(outside(&v4("140.82.112.3")), Some("140.82.112.3".into()));
    let v6 = |ip: &str| {
        format!(
            "1 connect(3, {{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), \
             inet_pton(AF_INET6, \"{ip}\", &sin6_addr), sin6_scope_id=0}}, 28) = 0"
        )
    };
    assert_eq!(outside(&v6("::1")), None);
    assert_eq!(
        outside(&v6("2606:4700::1111")),
        Some("2606:4700::1111".into())
    );
    assert_eq!(
        outside("1 connect(3, {sa_family=AF_UNIX, sun_path=\"/run/x\"}, 110) = 0"),
        None
    );
    assert_eq!(
        outside("1 sendto(3, \"\", 0, 0, {sa_family=AF_NETLINK, nl_pid=0}, 12) = 0"),
        None
    );
    assert!(
        outside("1 connect(3, {sa_family=AF_PACKET, sll_protocol=htons(0)}, 20) = 0").is_some()
    );
    // A name lookup, even through a resolver on loopback.
    let dns = "1 sendto(5, \"q\", 30, 0, {sa_family=AF_INET, sin_port=htons(53), \
               sin_addr=inet_addr(\"127.0.0.53\")}, 16) = 30";
    assert!(outside(dns).is_some());
}
