//! `rampart variable` and `rampart variable-set`: a workspace's variables or a variable
//! set's (list, set, delete), what a workspace's runs receive (`list --effective`), and
//! variable sets of an organisation or project (create, list, show, update, delete).
//! A value is given as an argument, or read from a file or standard input
//! (`--value-file -`) so that a secret stays out of the shell's history; a sensitive
//! value is never printed (the server never returns it).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use rampart_api::iacm as wire;

use super::policy_sets::AttachArgs;
use crate::cli::{ClientArgs, OrgScopeArgs, OutputFormat};
use crate::client::{Client, print};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CategoryArg {
    /// An input variable of the root module (`TF_VAR_<key>`).
    Terraform,
    /// An environment variable of the Terraform process.
    Env,
}

impl CategoryArg {
    fn as_str(self) -> &'static str {
        match self {
            Self::Terraform => "terraform",
            Self::Env => "env",
        }
    }
}

/// Whose variables: a workspace's (in --org/--project, both default `default`) or a
/// variable set's (of --org, or of --project in it).
#[derive(Debug, Clone, Args)]
pub struct HolderArgs {
    /// The workspace (identifier) whose variables these are.
    #[arg(long, env = "RAMPART_WORKSPACE", conflicts_with = "variable_set")]
    pub workspace: Option<String>,
    /// The variable set (identifier) whose variables these are.
    #[arg(long)]
    pub variable_set: Option<String>,
    /// The organisation (identifier).
    #[arg(long, default_value = "default")]
    pub org: String,
    /// The project (identifier): the workspace's (default `default`), or the variable
    /// set's (none: an organisation's set).
    #[arg(long)]
    pub project: Option<String>,
}

impl HolderArgs {
    /// The API path of the holder's variables.
    fn variables(&self) -> Result<String> {
        let org = &self.org;
        match (&self.workspace, &self.variable_set) {
            (Some(workspace), None) => Ok(format!(
                "/api/v1/orgs/{org}/projects/{}/workspaces/{workspace}/variables",
                self.project.as_deref().unwrap_or("default")
            )),
            (None, Some(set)) => Ok(format!(
                "{}/variable-sets/{set}/variables",
                OrgScopeArgs {
                    org: org.clone(),
                    project: self.project.clone(),
                }
                .base()
            )),
            _ => bail!("name the holder: --workspace or --variable-set"),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum VariableCommand {
    /// The variables of a workspace or a set (sensitive ones without values).
    List {
        #[command(flatten)]
        holder: HolderArgs,
        /// What the workspace's runs receive: its own variables and those of the sets
        /// that apply to it, each with where it comes from.
        #[arg(long, requires = "workspace")]
        effective: bool,
    },
    /// Create a variable or change it (what is not given stays as it is).
    Set {
        /// The variable's key (a Terraform variable name, or an environment variable name).
        key: String,
        /// Its value (prefer --value-file for a secret; leave both out to keep the value).
        value: Option<String>,
        /// Read the value from this file (`-`: standard input), without its final newline.
        #[arg(long, conflicts_with = "value")]
        value_file: Option<PathBuf>,
        /// Terraform variable or environment variable.
        #[arg(long, value_enum, default_value_t = CategoryArg::Terraform)]
        category: CategoryArg,
        /// The value is an HCL expression (a list, a map, a number).
        #[arg(long)]
        hcl: bool,
        /// Write-only from now on: never shown again, masked in run logs.
        #[arg(long)]
        sensitive: bool,
        /// What the variable is for.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        holder: HolderArgs,
    },
    /// Delete a variable.
    Delete {
        /// The variable's key.
        key: String,
        /// Terraform variable or environment variable.
        #[arg(long, value_enum, default_value_t = CategoryArg::Terraform)]
        category: CategoryArg,
        #[command(flatten)]
        holder: HolderArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum VariableSetCommand {
    /// The variable sets defined at the organisation or project.
    List {
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// A variable set and its variables (sensitive ones without values).
    Show {
        /// The set's identifier.
        variable_set: String,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Create a variable set (add variables with `rampart variable set --variable-set`).
    Create {
        /// The set's identifier (lowercase letters, digits, dashes).
        variable_set: String,
        /// Its display name (default: the identifier).
        #[arg(long)]
        name: Option<String>,
        /// What the set is for.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        attach: AttachArgs,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Change a variable set's name, description or attachment.
    Update {
        /// The set's identifier.
        variable_set: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        attach: AttachArgs,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Delete a variable set and its variables.
    Delete {
        /// The set's identifier.
        variable_set: String,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
}

const VARIABLE_COLUMNS: [&str; 6] = ["category", "key", "value", "sensitive", "hcl", "source"];
const SET_COLUMNS: [&str; 5] = [
    "identifier",
    "scope",
    "variable_count",
    "version",
    "updated_at",
];

/// Reads a value from a file or standard input, without its final newline.
fn read_value(path: &PathBuf) -> Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the value from standard input")?;
    } else {
        text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    }
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

fn print_variables(output: OutputFormat, variables: &[wire::Variable]) -> Result<()> {
    print(output, variables, &VARIABLE_COLUMNS)
}

fn print_set(output: OutputFormat, set: &wire::VariableSet) -> Result<()> {
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(set)?);
        return Ok(());
    }
    print(output, std::slice::from_ref(set), &SET_COLUMNS)?;
    let attach = match set.attach.kind.as_str() {
        "all" => "every workspace".to_owned(),
        kind => format!("{kind} {}", set.attach.values.join(", ")),
    };
    println!("applies to: {attach}");
    if let Some(variables) = &set.variables
        && !variables.is_empty()
    {
        print(output, variables, &VARIABLE_COLUMNS)?;
    }
    Ok(())
}

pub async fn variable(command: VariableCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    match command {
        VariableCommand::List { holder, effective } => {
            let mut path = holder.variables()?;
            if effective {
                path.push_str("/effective");
            }
            let variables: wire::VariableList = if holder.variable_set.is_some() {
                // A set's variables come with the set.
                let set: wire::VariableSet =
                    client.get(path.trim_end_matches("/variables")).await?;
                wire::VariableList {
                    items: set.variables.unwrap_or_default(),
                }
            } else {
                client.get(&path).await?
            };
            print_variables(args.output, &variables.items)
        }
        VariableCommand::Set {
            key,
            value,
            value_file,
            category,
            hcl,
            sensitive,
            description,
            holder,
        } => {
            let value = match (value, value_file) {
                (Some(value), _) => Some(value),
                (None, Some(path)) => Some(read_value(&path)?),
                (None, None) => None,
            };
            let body = wire::VariableWrite {
                value,
                hcl: hcl.then_some(true),
                sensitive: sensitive.then_some(true),
                description,
            };
            let path = format!("{}/{}/{key}", holder.variables()?, category.as_str());
            let variable: wire::Variable = client.put(&path, &body).await?;
            print_variables(args.output, std::slice::from_ref(&variable))
        }
        VariableCommand::Delete {
            key,
            category,
            holder,
        } => {
            let path = format!("{}/{}/{key}", holder.variables()?, category.as_str());
            client.delete(&path).await?;
            eprintln!("deleted {} variable {key}", category.as_str());
            Ok(())
        }
    }
}

pub async fn variable_set(command: VariableSetCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    match command {
        VariableSetCommand::List { scope } => {
            let sets: Vec<wire::VariableSet> = client
                .list_all(&format!("{}/variable-sets", scope.base()))
                .await?;
            print(args.output, &sets, &SET_COLUMNS)
        }
        VariableSetCommand::Show {
            variable_set,
            scope,
        } => {
            let set: wire::VariableSet = client
                .get(&format!("{}/variable-sets/{variable_set}", scope.base()))
                .await?;
            print_set(args.output, &set)
        }
        VariableSetCommand::Create {
            variable_set,
            name,
            description,
            attach,
            scope,
        } => {
            let body = wire::VariableSetCreate {
                name: name.unwrap_or_else(|| variable_set.clone()),
                identifier: variable_set,
                description,
                attach: attach.attach(),
            };
            let created: wire::VariableSet = client
                .post(&format!("{}/variable-sets", scope.base()), &body)
                .await?;
            print_set(args.output, &created)
        }
        VariableSetCommand::Update {
            variable_set,
            name,
            description,
            attach,
            scope,
        } => {
            let body = wire::VariableSetUpdate {
                name,
                description,
                attach: attach.attach(),
            };
            let updated: wire::VariableSet = client
                .patch(
                    &format!("{}/variable-sets/{variable_set}", scope.base()),
                    &body,
                )
                .await?;
            print_set(args.output, &updated)
        }
        VariableSetCommand::Delete {
            variable_set,
            scope,
        } => {
            client
                .delete(&format!("{}/variable-sets/{variable_set}", scope.base()))
                .await?;
            eprintln!("deleted variable set {variable_set}");
            Ok(())
        }
    }
}
