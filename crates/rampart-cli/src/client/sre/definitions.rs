//! What `rampart schedule` and `rampart escalation-policy` share: both are definitions
//! (an identifier, a name and a JSON document) listed, read, created and replaced from
//! a file, and deleted, under one collection of the project.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cli::{ClientArgs, OutputFormat, ProjectArgs};
use crate::client::{Client, print};

/// One operation on a definition collection.
pub enum DefinitionOp {
    List,
    Show {
        identifier: String,
    },
    Create {
        identifier: String,
        name: String,
        definition: std::path::PathBuf,
    },
    Update {
        identifier: String,
        name: Option<String>,
        definition: Option<std::path::PathBuf>,
    },
    Delete {
        identifier: String,
    },
}

/// A definition collection: its path under the project and how to name one.
pub struct Collection {
    /// `schedules`, `escalation-policies`.
    pub path: &'static str,
    /// `schedule`, `escalation policy`.
    pub noun: &'static str,
}

const COLUMNS: [&str; 4] = ["identifier", "name", "created_at", "updated_at"];

/// Reads a JSON document from `path` (`-`: standard input).
pub fn read_document(path: &Path) -> Result<Value> {
    let text = read_text(path)?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// A text file, or standard input for `-`.
pub fn read_text(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    }
}

pub async fn run(
    collection: &Collection,
    op: DefinitionOp,
    project: &ProjectArgs,
    args: &ClientArgs,
) -> Result<()> {
    let client = Client::new(args)?;
    let base = format!("{}/{}", project.base(), collection.path);
    match op {
        DefinitionOp::List => {
            let items: Vec<Value> = client.list_all(&base).await?;
            print(args.output, &items, &COLUMNS)
        }
        DefinitionOp::Show { identifier } => {
            let item: Value = client.get(&format!("{base}/{identifier}")).await?;
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&item)?);
                return Ok(());
            }
            print(args.output, std::slice::from_ref(&item), &COLUMNS)?;
            println!(
                "{}",
                serde_json::to_string_pretty(item.get("definition").unwrap_or(&Value::Null))?
            );
            Ok(())
        }
        DefinitionOp::Create {
            identifier,
            name,
            definition,
        } => {
            let body = serde_json::json!({
                "identifier": identifier,
                "name": name,
                "definition": read_document(&definition)?,
            });
            let created: Value = client.post(&base, &body).await?;
            print(args.output, &[created], &COLUMNS)
        }
        DefinitionOp::Update {
            identifier,
            name,
            definition,
        } => {
            if name.is_none() && definition.is_none() {
                bail!("nothing to change: give --name, --definition or both");
            }
            let path = format!("{base}/{identifier}");
            // The API replaces both; what is not given is kept as it is.
            let current: Value = client.get(&path).await?;
            let body = serde_json::json!({
                "name": match name {
                    Some(name) => Value::String(name),
                    None => current.get("name").cloned().unwrap_or(Value::Null),
                },
                "definition": match definition {
                    Some(file) => read_document(&file)?,
                    None => current.get("definition").cloned().unwrap_or(Value::Null),
                },
            });
            let updated: Value = client.put(&path, &body).await?;
            print(args.output, &[updated], &COLUMNS)
        }
        DefinitionOp::Delete { identifier } => {
            client.delete(&format!("{base}/{identifier}")).await?;
            eprintln!("deleted {} {identifier}", collection.noun);
            Ok(())
        }
    }
}
