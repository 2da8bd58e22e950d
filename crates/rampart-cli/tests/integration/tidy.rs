//! Tidy checks: the rules of the code's shape that a compiler does not enforce, checked
//! on the source tree so that they stay true (the way rust-analyzer's `tidy.rs` does):
//! every module says what it owns, the layers only depend downwards, the app hands no
//! store row to the HTTP layer, the documentation names every crate and every top-level
//! command, and every error code the suite expects is in the catalogue.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use rampart_domain::ErrorCode;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// Every `.rs` file of every crate's `src/`.
fn source_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for krate in std::fs::read_dir(workspace_root().join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    files.sort();
    assert!(files.len() > 50, "found only {} source files", files.len());
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn every_module_starts_with_a_doc_comment() {
    let mut missing = Vec::new();
    for file in source_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        // Inner attributes (`#![…]`) may come first; then the module's `//!` doc.
        let first = text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with("#!["));
        if !first.is_some_and(|line| line.starts_with("//!")) {
            missing.push(relative(&file));
        }
    }
    assert!(
        missing.is_empty(),
        "modules without a `//!` doc saying what they own: {missing:#?}"
    );
}

#[test]
fn the_app_hands_no_store_type_to_the_layers_above() {
    let mut offenders = Vec::new();
    let mut app_files = Vec::new();
    rust_files(
        &workspace_root().join("crates/rampart-app/src"),
        &mut app_files,
    );
    for file in app_files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if (line.starts_with("pub use rampart_store") || line.starts_with("pub type"))
                && line.contains("rampart_store")
            {
                offenders.push(format!("{}:{}: {line}", relative(&file), number + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "rampart-app re-exports store types (entities belong in rampart-domain): {offenders:#?}"
    );
}

/// The crates each crate may depend on (normal dependencies): the layers of
/// ARCHITECTURE.md, downwards only.
const ALLOWED_DEPENDENCIES: &[(&str, &[&str])] = &[
    ("rampart-domain", &[]),
    ("rampart-crypto", &["rampart-domain"]),
    ("rampart-api", &[]),
    ("rampart-policy", &[]),
    (
        "rampart-delegate",
        &["rampart-domain", "rampart-crypto", "rampart-api"],
    ),
    ("rampart-store", &["rampart-domain", "rampart-crypto"]),
    (
        "rampart-app",
        &[
            "rampart-domain",
            "rampart-crypto",
            "rampart-store",
            "rampart-policy",
        ],
    ),
    (
        "rampart-http",
        &[
            "rampart-domain",
            "rampart-crypto",
            "rampart-app",
            "rampart-api",
        ],
    ),
    (
        "rampart-cli",
        &[
            "rampart-domain",
            "rampart-crypto",
            "rampart-store",
            "rampart-app",
            "rampart-api",
            "rampart-http",
            "rampart-policy",
            "rampart-delegate",
        ],
    ),
    (
        "rampart-testkit",
        &[
            "rampart-cli",
            "rampart-store",
            "rampart-app",
            "rampart-domain",
        ],
    ),
];

fn workspace_metadata() -> serde_json::Value {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn no_crate_depends_upwards() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED_DEPENDENCIES.iter().copied().collect();
    let metadata = workspace_metadata();
    let mut problems = Vec::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        let Some(allowed) = allowed.get(name) else {
            problems.push(format!(
                "{name} is not in ALLOWED_DEPENDENCIES: place it in a layer"
            ));
            continue;
        };
        for dependency in package["dependencies"].as_array().unwrap() {
            let dependency_name = dependency["name"].as_str().unwrap();
            let normal = dependency["kind"].is_null();
            if normal
                && dependency_name.starts_with("rampart-")
                && !allowed.contains(&dependency_name)
            {
                problems.push(format!("{name} depends on {dependency_name}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "dependencies against the layers: {problems:#?}"
    );
}

/// The top-level commands of `rampart --help`.
fn top_level_commands() -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    let commands: Vec<String> = help
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|command| *command != "help")
        .map(str::to_owned)
        .collect();
    assert!(commands.len() >= 10, "could not read the commands: {help}");
    commands
}

#[test]
fn readme_and_architecture_name_every_crate_and_top_level_command() {
    let root = workspace_root();
    let metadata = workspace_metadata();
    let crates: Vec<String> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| package["name"].as_str().unwrap().to_owned())
        .collect();
    let commands = top_level_commands();
    let mut missing = Vec::new();
    for document in ["README.md", "ARCHITECTURE.md"] {
        let text = std::fs::read_to_string(root.join(document)).unwrap();
        for name in &crates {
            if !text.contains(name.as_str()) {
                missing.push(format!("{document} does not name the crate {name}"));
            }
        }
        for command in &commands {
            let named = text.contains(&format!("rampart {command}"))
                || text.contains(&format!("`{command}`"))
                || text.contains(&format!("`{command} "));
            if !named {
                missing.push(format!(
                    "{document} does not name the command `rampart {command}`"
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// Error codes the suite expects: `code(), "…"` and `["code"], "…"` in the test sources.
fn expected_codes() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(
        &workspace_root().join("crates/rampart-cli/tests"),
        &mut files,
    );
    let mut codes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for marker in ["code(), \"", "[\"code\"], \"", "code(),\n"] {
            for (index, _) in text.match_indices(marker) {
                let rest = text[index + marker.len()..].trim_start();
                let rest = rest.strip_prefix('"').unwrap_or(rest);
                let code: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if !code.is_empty() {
                    codes.insert(code);
                }
            }
        }
    }
    codes
}

#[test]
fn every_error_code_the_suite_expects_is_catalogued() {
    let codes = expected_codes();
    assert!(codes.len() > 30, "found only {codes:?}");
    let unknown: Vec<&String> = codes
        .iter()
        .filter(|code| !ErrorCode::is_known(code))
        .collect();
    assert!(
        unknown.is_empty(),
        "codes the tests expect but the catalogue (rampart-domain error_code.rs) lacks: {unknown:?}"
    );
}

/// The server connects out to nothing but its database: outbound work (notifications,
/// webhooks, runbook steps) is a task that a delegate pulls. So no crate the server is
/// built from — every crate but the CLI, which also holds the delegate agent — may
/// depend, directly or through others, on an HTTP or mail client. Single sign-on is the
/// one exception (the identity provider's endpoints): `reqwest` reaches the application
/// layer (and the HTTP layer above it) for `rampart-app`'s `platform/sso.rs` alone, and
/// no other source file of a server crate names it.
#[test]
fn no_server_crate_depends_on_an_outbound_client() {
    const SERVER_CRATES: &[&str] = &[
        "rampart-domain",
        "rampart-crypto",
        "rampart-policy",
        "rampart-store",
        "rampart-app",
        "rampart-api",
        "rampart-http",
    ];
    const CLIENTS: &[&str] = &[
        "reqwest",
        "ureq",
        "isahc",
        "surf",
        "attohttpc",
        "curl",
        "hyper-rustls",
        "hyper-tls",
        "lettre",
        "openidconnect",
        "oauth2",
    ];
    // This machine's platform only: the other platforms' crates are not downloaded.
    let rustc = Command::new("rustc").arg("-vV").output().unwrap();
    let host = String::from_utf8(rustc.stdout)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .unwrap();
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            (
                package["id"].as_str().unwrap(),
                package["name"].as_str().unwrap(),
            )
        })
        .collect();
    // Each package's normal (not dev, not build) dependencies.
    let edges: BTreeMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let normal = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dep| {
                    dep["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|kind| kind["kind"].is_null())
                })
                .map(|dep| dep["pkg"].as_str().unwrap())
                .collect();
            (node["id"].as_str().unwrap(), normal)
        })
        .collect();
    let mut problems = Vec::new();
    for server_crate in SERVER_CRATES {
        let (root, _) = names
            .iter()
            .find(|(_, name)| *name == server_crate)
            .unwrap_or_else(|| panic!("{server_crate} is not in the workspace"));
        let mut seen = std::collections::BTreeSet::new();
        let mut stack = vec![*root];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            let sso_exception =
                names[id] == "reqwest" && matches!(*server_crate, "rampart-app" | "rampart-http");
            if sso_exception {
                // reqwest's own stack (hyper-rustls…) comes with it.
                continue;
            }
            if CLIENTS.contains(&names[id]) {
                problems.push(format!("{server_crate} depends on {}", names[id]));
            }
            stack.extend(edges.get(id).into_iter().flatten().copied());
        }
    }
    for server_crate in SERVER_CRATES {
        let mut files = Vec::new();
        rust_files(
            &workspace_root()
                .join("crates")
                .join(server_crate)
                .join("src"),
            &mut files,
        );
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            if text.contains("reqwest") && !file.ends_with("rampart-app/src/platform/sso.rs") {
                problems.push(format!("{} names reqwest", file.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "a server crate can connect out: {problems:#?}"
    );
}
