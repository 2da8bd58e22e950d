//! `rampart policy-set`: an organisation's or project's policy sets — create one from
//! `.rego` files (found under the paths as `rampart policy eval` finds them, each module
//! named by its file name), list, show, change (new files replace every module), delete.
//! What sets decided about a plan, and overrides, are `rampart plan results|override`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use rampart_api::iacm as wire;

use crate::cli::{ClientArgs, OrgScopeArgs, OutputFormat};
use crate::client::{Client, print};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntityArg {
    Workspace,
    Plan,
    State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnforcementArg {
    Advisory,
    SoftMandatory,
    HardMandatory,
}

impl EntityArg {
    fn as_str(self) -> &'static str {
        match self {
            Self::Workspace => "workspace",
            Self::Plan => "plan",
            Self::State => "state",
        }
    }
}

impl EnforcementArg {
    fn as_str(self) -> &'static str {
        match self {
            Self::Advisory => "advisory",
            Self::SoftMandatory => "soft_mandatory",
            Self::HardMandatory => "hard_mandatory",
        }
    }
}

/// Where a set applies; none of the flags keeps (or, on create, means) every workspace.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AttachArgs {
    /// Apply to every workspace of the scope.
    #[arg(long, conflicts_with_all = ["attach_tag", "attach_workspace"])]
    pub attach_all: bool,
    /// Apply to workspaces with this tag (repeat for any of several).
    #[arg(long, conflicts_with = "attach_workspace")]
    pub attach_tag: Vec<String>,
    /// Apply to the workspace with this identifier (repeat for several).
    #[arg(long)]
    pub attach_workspace: Vec<String>,
}

impl AttachArgs {
    pub(crate) fn attach(&self) -> Option<wire::PolicySetAttach> {
        let (kind, values) = if !self.attach_tag.is_empty() {
            ("tags", self.attach_tag.clone())
        } else if !self.attach_workspace.is_empty() {
            ("workspaces", self.attach_workspace.clone())
        } else if self.attach_all {
            ("all", Vec::new())
        } else {
            return None;
        };
        Some(wire::PolicySetAttach {
            kind: kind.to_owned(),
            values,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum PolicySetCommand {
    /// The policy sets defined at the organisation or project.
    List {
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// A policy set and its modules (`--output json` includes their sources).
    Show {
        /// The set's identifier.
        policy_set: String,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Create a policy set from the `.rego` files under PATHS (validated by the server).
    Create {
        /// The set's identifier (lowercase letters, digits, dashes).
        policy_set: String,
        /// Files or directories of `.rego` modules (`_test.rego` skipped).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Its display name (default: the identifier).
        #[arg(long)]
        name: Option<String>,
        /// What the set is for.
        #[arg(long)]
        description: Option<String>,
        /// What it checks: a plan on upload, a workspace on create/update, a state on write.
        #[arg(long, value_enum)]
        entity: EntityArg,
        /// What a failure does: reported, blocks until overridden, or blocks.
        #[arg(long, value_enum, default_value_t = EnforcementArg::Advisory)]
        enforcement: EnforcementArg,
        /// The Rego syntax of the modules.
        #[arg(long, value_enum, default_value_t = crate::cli::RegoSyntaxArg::V1)]
        rego_syntax: crate::cli::RegoSyntaxArg,
        /// The input document: HCP Terraform's (`input.plan`, …, `input.cost`) or the
        /// subject itself (conftest's).
        #[arg(long, value_enum, default_value_t = crate::cli::InputShapeArg::Hcp)]
        input_shape: crate::cli::InputShapeArg,
        #[command(flatten)]
        attach: AttachArgs,
        /// Create it disabled (kept, not evaluated).
        #[arg(long)]
        disabled: bool,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Change a policy set; PATHS, when given, replace every module.
    Update {
        /// The set's identifier.
        policy_set: String,
        /// Files or directories of `.rego` modules that replace the set's modules.
        paths: Vec<PathBuf>,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// A new enforcement: reported, blocks until overridden, or blocks.
        #[arg(long, value_enum)]
        enforcement: Option<EnforcementArg>,
        #[command(flatten)]
        attach: AttachArgs,
        /// Evaluate it again.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Keep it without evaluating it.
        #[arg(long)]
        disable: bool,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Delete a policy set (what it decided stays with the plans).
    Delete {
        /// The set's identifier.
        policy_set: String,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
}

const COLUMNS: [&str; 8] = [
    "identifier",
    "scope",
    "entity",
    "enforcement",
    "enabled",
    "version",
    "module_count",
    "updated_at",
];

/// The modules under `paths`, named by their file names (unique in a set).
fn modules(paths: &[PathBuf]) -> Result<Vec<wire::PolicyModule>> {
    let files = crate::iacm::policy_eval::rego_files(paths)?;
    if files.is_empty() {
        bail!("no .rego module under the given paths");
    }
    let mut modules: Vec<wire::PolicyModule> = Vec::with_capacity(files.len());
    for file in files {
        let name = file
            .file_name()
            .and_then(|name| name.to_str())
            .with_context(|| format!("{} has no usable file name", file.display()))?
            .to_owned();
        if modules.iter().any(|module| module.name == name) {
            bail!(
                "two modules are named {name}: in a policy set, modules are named by their file names"
            );
        }
        let source = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        modules.push(wire::PolicyModule { name, source });
    }
    Ok(modules)
}

fn print_set(output: OutputFormat, set: &wire::PolicySet) -> Result<()> {
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(set)?);
        return Ok(());
    }
    print(output, std::slice::from_ref(set), &COLUMNS)?;
    let attach = match set.attach.kind.as_str() {
        "all" => "every workspace".to_owned(),
        kind => format!("{kind} {}", set.attach.values.join(", ")),
    };
    println!("applies to: {attach}");
    if let Some(modules) = &set.modules {
        let names: Vec<&str> = modules.iter().map(|module| module.name.as_str()).collect();
        println!("modules: {}", names.join(", "));
    }
    Ok(())
}

pub async fn policy_set(command: PolicySetCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    match command {
        PolicySetCommand::List { scope } => {
            let sets: Vec<wire::PolicySet> = client
                .list_all(&format!("{}/policy-sets", scope.base()))
                .await?;
            print(args.output, &sets, &COLUMNS)
        }
        PolicySetCommand::Show { policy_set, scope } => {
            let set: wire::PolicySet = client
                .get(&format!("{}/policy-sets/{policy_set}", scope.base()))
                .await?;
            print_set(args.output, &set)
        }
        PolicySetCommand::Create {
            policy_set,
            paths,
            name,
            description,
            entity,
            enforcement,
            rego_syntax,
            input_shape,
            attach,
            disabled,
            scope,
        } => {
            let body = wire::PolicySetCreate {
                name: name.unwrap_or_else(|| policy_set.clone()),
                identifier: policy_set,
                description,
                entity: entity.as_str().to_owned(),
                enforcement: Some(enforcement.as_str().to_owned()),
                rego_syntax: Some(rego_syntax.syntax().as_str().to_owned()),
                input_shape: Some(input_shape.shape().as_str().to_owned()),
                attach: attach.attach(),
                enabled: Some(!disabled),
                modules: modules(&paths)?,
            };
            let created: wire::PolicySet = client
                .post(&format!("{}/policy-sets", scope.base()), &body)
                .await?;
            print_set(args.output, &created)
        }
        PolicySetCommand::Update {
            policy_set,
            paths,
            name,
            description,
            enforcement,
            attach,
            enable,
            disable,
            scope,
        } => {
            let body = wire::PolicySetUpdate {
                name,
                description,
                enforcement: enforcement.map(|value| value.as_str().to_owned()),
                rego_syntax: None,
                input_shape: None,
                attach: attach.attach(),
                enabled: (enable || disable).then_some(enable),
                modules: if paths.is_empty() {
                    None
                } else {
                    Some(modules(&paths)?)
                },
            };
            let updated: wire::PolicySet = client
                .patch(&format!("{}/policy-sets/{policy_set}", scope.base()), &body)
                .await?;
            print_set(args.output, &updated)
        }
        PolicySetCommand::Delete { policy_set, scope } => {
            client
                .delete(&format!("{}/policy-sets/{policy_set}", scope.base()))
                .await?;
            eprintln!("deleted policy set {policy_set}");
            Ok(())
        }
    }
}
