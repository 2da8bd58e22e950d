//! The README runs: every fenced shell block is executed against a real server, the way
//! the Rust book tests its listings, so that the README cannot go stale.
//!
//! The blocks run in order in one `bash` session (`set -euo pipefail`), as a newcomer
//! pastes them into one terminal: in a fresh folder holding the server's data directory
//! as `rampart-data/` and the test binary as `target/release/rampart`, with `terraform`
//! (the suite's Terraform 1.15) on the `PATH`. Only two things are substituted: the
//! server's address (`https://127.0.0.1:8443` → the test server's port) and the token
//! printed at first start (`rmp_pat_…` → the test server's). Every block must succeed;
//! `expect` annotations name output a block must print.
//!
//! Annotations are HTML comments on the lines before a block, visible in the README's
//! source only:
//!
//! - `<!-- readme-test: skip (reason) -->` — not run (starting the server itself,
//!   installing packages, the test suite); counted below, so a new block runs unless
//!   someone decides otherwise in two places;
//! - `<!-- readme-test: expect "text" -->` — the block's output contains `text` (`\"`
//!   for a quote);
//! - `<!-- readme-test: offline -->` — the server is stopped while the block runs (the
//!   offline key commands refuse while one runs), started again after;
//! - `<!-- readme-test: file PATH -->` — on a non-shell block (the Terraform
//!   configuration): written to `PATH` in the session folder before the blocks run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rampart_testkit::{Engine, Options, TestServer};

/// How many shell blocks the README marks `skip`. A new block is tested by default;
/// skipping one means changing this number too.
const SKIPPED_BLOCKS: usize = 6;

/// The most a whole README run may take.
const RUN_SECS_MAX: u64 = 600;

#[derive(Debug, Clone, PartialEq)]
enum Annotation {
    Skip(String),
    Expect(String),
    Offline,
    File(String),
}

#[derive(Debug, Clone)]
struct Block {
    /// The line of the opening fence (1-based).
    line: usize,
    /// The fence's language (`sh`, `toml`, `hcl`, …).
    language: String,
    text: String,
    annotations: Vec<Annotation>,
}

impl Block {
    fn is_shell(&self) -> bool {
        matches!(self.language.as_str(), "sh" | "bash" | "shell")
    }

    fn skip_reason(&self) -> Option<&str> {
        self.annotations.iter().find_map(|a| match a {
            Annotation::Skip(reason) => Some(reason.as_str()),
            _ => None,
        })
    }

    fn offline(&self) -> bool {
        self.annotations.contains(&Annotation::Offline)
    }
}

fn parse_annotation(text: &str, line: usize) -> Annotation {
    let text = text.trim();
    if let Some(reason) = text.strip_prefix("skip") {
        let reason = reason.trim();
        let reason = reason
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("README line {line}: a skip says why: skip (reason)"));
        return Annotation::Skip(reason.to_owned());
    }
    if let Some(expected) = text.strip_prefix("expect") {
        let expected = expected.trim();
        let expected = expected
            .strip_prefix('"')
            .and_then(|e| e.strip_suffix('"'))
            .unwrap_or_else(|| panic!("README line {line}: expect \"text\""));
        return Annotation::Expect(expected.replace("\\\"", "\""));
    }
    if text == "offline" {
        return Annotation::Offline;
    }
    if let Some(path) = text.strip_prefix("file ") {
        return Annotation::File(path.trim().to_owned());
    }
    panic!("README line {line}: unknown readme-test annotation {text:?}")
}

/// The README's fenced blocks with the annotations just before each.
fn blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut pending: Vec<Annotation> = Vec::new();
    let mut pending_line = 0;
    let mut open: Option<Block> = None;
    for (index, line) in readme.lines().enumerate() {
        let number = index + 1;
        if let Some(block) = open.as_mut() {
            if line.trim_end() == "```" {
                blocks.push(open.take().unwrap());
            } else {
                block.text.push_str(line);
                block.text.push('\n');
            }
            continue;
        }
        if let Some(language) = line.strip_prefix("```") {
            open = Some(Block {
                line: number,
                language: language.split_whitespace().next().unwrap_or("").to_owned(),
                text: String::new(),
                annotations: std::mem::take(&mut pending),
            });
            continue;
        }
        if let Some(rest) = line.trim().strip_prefix("<!-- readme-test:") {
            let text = rest
                .strip_suffix("-->")
                .unwrap_or_else(|| panic!("README line {number}: the annotation ends with -->"));
            pending.push(parse_annotation(text, number));
            pending_line = number;
            continue;
        }
        assert!(
            pending.is_empty() || line.trim().is_empty(),
            "README line {pending_line}: an annotation must come just before its block"
        );
    }
    assert!(open.is_none(), "README: a fenced block is not closed");
    assert!(pending.is_empty(), "README: an annotation at the end");
    blocks
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// What the test replaces in a block: the server's address and its first token.
fn substitute(text: &str, server: &TestServer) -> String {
    text.replace("https://127.0.0.1:8443", &server.url)
        .replace("rmp_pat_…", &server.admin_token)
}

/// Files under `ctl/` are how the bash session asks the test to stop and start the
/// server around an offline block.
const DRIVER_PRELUDE: &str = r#"set -euo pipefail
readme_test_block() { printf '%s\n' "$1" > ctl/progress; }
readme_test_server() {
  : > "ctl/$1"
  while [ ! -e "ctl/$1.done" ]; do sleep 0.1; done
  rm -f "ctl/$1.done"
}
"#;

async fn readme_runs(engine: Engine) {
    if engine == Engine::Postgres && rampart_testkit::postgres_server_url().is_none() {
        eprintln!("skipped: RAMPART_TEST_DATABASE_URL is not set");
        return;
    }
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let blocks = blocks(&readme);
    let shell: Vec<&Block> = blocks.iter().filter(|b| b.is_shell()).collect();
    let skipped: Vec<&&Block> = shell.iter().filter(|b| b.skip_reason().is_some()).collect();
    assert_eq!(
        skipped.len(),
        SKIPPED_BLOCKS,
        "the README skips these blocks: {:#?}; a block runs unless it cannot (then change \
         SKIPPED_BLOCKS too)",
        skipped
            .iter()
            .map(|b| format!("line {}: {}", b.line, b.skip_reason().unwrap_or("")))
            .collect::<Vec<_>>()
    );
    for block in &blocks {
        assert!(
            block.is_shell()
                || block
                    .annotations
                    .iter()
                    .all(|a| matches!(a, Annotation::File(_))),
            "README line {}: only `file` annotates a {} block",
            block.line,
            block.language
        );
    }

    let session = tempfile::tempdir().unwrap();
    let root = session.path().to_path_buf();
    let data_dir = root.join("rampart-data");
    let mut server = TestServer::start_with(Options {
        engine: Some(engine),
        configure: Some(Box::new(move |config| config.server.data_dir = data_dir)),
        ..Options::default()
    })
    .await;

    // The session folder: the binary where `cargo build --release` puts it, Terraform on
    // the PATH, a home and a temporary folder of its own.
    for dir in [
        "target/release",
        "bin",
        "home",
        "tmp",
        "blocks",
        "out",
        "ctl",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_rampart"),
        root.join("target/release/rampart"),
    )
    .unwrap();
    // A wrapper, not a link: the suite's `terraform` finds its venv relative to itself.
    let terraform = root.join("bin/terraform");
    std::fs::write(
        &terraform,
        format!(
            "#!/bin/sh\nexec '{}' \"$@\"\n",
            rampart_testkit::terraform::terraform_path().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&terraform, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(root.join("home/.terraformrc"), "").unwrap();

    let mut driver = String::from(DRIVER_PRELUDE);
    for (index, block) in blocks.iter().enumerate() {
        for annotation in &block.annotations {
            if let Annotation::File(path) = annotation {
                let target = root.join(path);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::write(&target, substitute(&block.text, &server)).unwrap();
            }
        }
        if !block.is_shell() || block.skip_reason().is_some() {
            continue;
        }
        std::fs::write(
            root.join(format!("blocks/{index}.sh")),
            substitute(&block.text, &server),
        )
        .unwrap();
        if block.offline() {
            driver.push_str("readme_test_server stop\n");
        }
        driver.push_str(&format!(
            "readme_test_block {index}\nsource blocks/{index}.sh > out/{index}.txt 2>&1\n"
        ));
        if block.offline() {
            driver.push_str("readme_test_server start\n");
        }
    }
    driver.push_str("readme_test_block done\n");
    std::fs::write(root.join("driver.sh"), driver).unwrap();

    let mut command = tokio::process::Command::new("bash");
    command
        .arg("driver.sh")
        .current_dir(&root)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", root.join("bin").display()),
        )
        .env("HOME", root.join("home"))
        // The examples' `mktemp -d` folders go with the session.
        .env("TMPDIR", root.join("tmp"))
        .env("LANG", "C.UTF-8")
        // Terraform as in a CI job: no colours, no update check, no user configuration,
        // and `apply` approved as the reader would approve it by typing "yes".
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_CLI_ARGS", "-no-color")
        .env("TF_CLI_ARGS_apply", "-auto-approve")
        .env("TF_CLI_CONFIG_FILE", root.join("home/.terraformrc"))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(url) = &server.config.database.url {
        // The README's PostgreSQL section has the reader export it.
        command.env("RAMPART_DATABASE_URL", url);
    }
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        for (request, action) in [("stop", false), ("start", true)] {
            let file = root.join("ctl").join(request);
            if file.exists() {
                std::fs::remove_file(&file).unwrap();
                if action {
                    server.start_again().await;
                } else {
                    server.stop_in_place().await;
                }
                std::fs::write(root.join(format!("ctl/{request}.done")), "").unwrap();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(RUN_SECS_MAX),
            "the README did not finish in {RUN_SECS_MAX} s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let progress = std::fs::read_to_string(root.join("ctl/progress")).unwrap_or_default();
    let progress = progress.trim();
    if !status.success() || progress != "done" {
        let index: usize = progress.parse().unwrap_or(0);
        let block = &blocks[index];
        let output =
            std::fs::read_to_string(root.join(format!("out/{index}.txt"))).unwrap_or_default();
        panic!(
            "README block at line {} failed ({status}):\n{}\n--- its output\n{output}",
            block.line, block.text
        );
    }
    let mut ran = 0;
    for (index, block) in blocks.iter().enumerate() {
        if !block.is_shell() || block.skip_reason().is_some() {
            continue;
        }
        ran += 1;
        let output = std::fs::read_to_string(root.join(format!("out/{index}.txt"))).unwrap();
        // Tokens the examples made (`token create`, `reset-admin`, webhook credentials):
        // the log check looks for them in the server's logs too.
        for word in output.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("rmp_") && word.len() == 47 {
                rampart_testkit::remember_secret(word);
            }
        }
        for annotation in &block.annotations {
            if let Annotation::Expect(expected) = annotation {
                assert!(
                    output.contains(expected.as_str()),
                    "README block at line {}: expected {expected:?} in its output:\n{output}",
                    block.line
                );
            }
        }
    }
    eprintln!(
        "README ({engine:?}): {ran} shell blocks ran, {} skipped",
        skipped.len()
    );
    server.stop().await;
    // To read what each block printed: RAMPART_TEST_README_KEEP=1 keeps the session
    // folder (blocks/, out/, driver.sh).
    if std::env::var_os("RAMPART_TEST_README_KEEP").is_some() {
        eprintln!("README session kept in {}", session.keep().display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_readme_command_block_runs_on_sqlite() {
    readme_runs(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_readme_command_block_runs_on_postgres() {
    readme_runs(Engine::Postgres).await;
}

#[test]
fn annotations_attach_to_the_next_block_and_say_why() {
    let found = blocks(
        "text\n<!-- readme-test: skip (it starts the server) -->\n\n```sh\ncargo run\n```\n\
         <!-- readme-test: expect \"OK \\\"x\\\"\" -->\n<!-- readme-test: offline -->\n```sh\nverify\n```\n\
         <!-- readme-test: file infra/main.tf -->\n```hcl\nterraform {}\n```\n```toml\n```\n",
    );
    assert_eq!(found.len(), 4);
    assert_eq!(found[0].skip_reason(), Some("it starts the server"));
    assert_eq!(found[0].text, "cargo run\n");
    assert_eq!(
        found[1].annotations,
        [Annotation::Expect("OK \"x\"".into()), Annotation::Offline]
    );
    assert!(found[1].offline() && found[1].is_shell());
    assert_eq!(
        found[2].annotations,
        [Annotation::File("infra/main.tf".into())]
    );
    assert!(!found[3].is_shell() && found[3].annotations.is_empty());
    let unattached = std::panic::catch_unwind(|| {
        blocks("<!-- readme-test: skip (x) -->\nsome prose\n```sh\nx\n```\n")
    });
    assert!(unattached.is_err(), "an annotation away from its block");
    let no_reason = std::panic::catch_unwind(|| blocks("<!-- readme-test: skip -->\n```sh\n```\n"));
    assert!(no_reason.is_err(), "a skip without a reason");
}
