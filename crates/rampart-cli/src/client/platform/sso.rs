//! `rampart sso`: the account's single sign-on providers (OpenID Connect and SAML). An
//! OpenID Connect provider's configuration is a JSON file (the API's `oidc` object); the
//! client secret is not in it but in a Rampart secret it names (`rampart secret
//! create`). A SAML provider is its identity provider's metadata XML file, with the
//! other settings (the API's `saml` object) in an optional JSON file.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use rampart_api::platform as wire;

use crate::cli::{ClientArgs, OutputFormat};
use crate::client::sre::definitions::read_text;
use crate::client::{Client, print};

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// The configured providers, with the redirect URI to register at each.
    List,
    /// One provider's configuration.
    Show {
        /// The provider's name (as in its URLs).
        provider: String,
    },
    /// Add an OpenID Connect provider (`--oidc`) or a SAML one (`--saml-metadata`).
    Create {
        /// The provider's name in URLs (lowercase letters, digits, dashes).
        provider: String,
        /// What the sign-in button says.
        #[arg(long)]
        display_name: String,
        /// JSON file of the configuration (`-`: stdin): issuer, client_id, client_secret
        /// (`org/secret`), and optionally scopes, algorithms, email_claim, name_claim,
        /// groups_claim, group_mappings, create_users, ca_certificates_pem.
        #[arg(
            long,
            required_unless_present = "saml_metadata",
            conflicts_with = "saml_metadata"
        )]
        oidc: Option<PathBuf>,
        #[command(flatten)]
        saml: SamlArgs,
        /// Add it disabled (no sign-in until enabled).
        #[arg(long)]
        disabled: bool,
    },
    /// Change a provider: its display name, its whole configuration, or whether it is
    /// enabled.
    Update {
        /// The provider's name.
        provider: String,
        /// What the sign-in button says.
        #[arg(long)]
        display_name: Option<String>,
        /// JSON file of the whole new OpenID Connect configuration (`-`: stdin).
        #[arg(long, conflicts_with = "saml_metadata")]
        oidc: Option<PathBuf>,
        /// A SAML provider's whole new configuration.
        #[command(flatten)]
        saml: SamlArgs,
        /// Let people sign in through it again.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Stop sign-ins through it (refused while it is the last enabled provider and
        /// single sign-on is required).
        #[arg(long)]
        disable: bool,
    },
    /// Delete a provider and its links to users (the users stay).
    Delete {
        /// The provider's name.
        provider: String,
    },
}

/// A SAML provider's configuration, from files.
#[derive(Debug, clap::Args)]
pub struct SamlArgs {
    /// SAML: the identity provider's metadata XML file (`-`: stdin), with its signing
    /// certificate.
    #[arg(long)]
    saml_metadata: Option<PathBuf>,
    /// SAML: JSON file of the other settings (the API's `saml` object without
    /// idp_metadata_xml): sp_entity_id, name_id_format, email_attribute,
    /// name_attribute, groups_attribute, group_mappings, create_users,
    /// allow_idp_initiated. On update without it, the provider's current settings stay
    /// (only the metadata changes: a certificate rollover).
    #[arg(long, requires = "saml_metadata")]
    saml_settings: Option<PathBuf>,
}

impl SamlArgs {
    /// The SAML configuration the files give, if any; without a settings file, those of
    /// `current` (the provider's, on update) are kept.
    fn config(&self, current: Option<&wire::SamlConfig>) -> Result<Option<wire::SamlConfig>> {
        let Some(metadata) = &self.saml_metadata else {
            return Ok(None);
        };
        let mut settings = match (&self.saml_settings, current) {
            (Some(path), _) => serde_json::from_str::<serde_json::Value>(&read_text(path)?)
                .with_context(|| format!("{} is not JSON", path.display()))?,
            (None, Some(current)) => serde_json::to_value(current)?,
            (None, None) => serde_json::json!({}),
        };
        let Some(object) = settings.as_object_mut() else {
            bail!("the SAML settings must be a JSON object");
        };
        object.insert(
            "idp_metadata_xml".into(),
            serde_json::Value::String(read_text(metadata)?),
        );
        serde_json::from_value(settings)
            .map(Some)
            .context("the SAML settings are not the API's saml object")
    }
}

const COLUMNS: [&str; 6] = [
    "name",
    "kind",
    "display_name",
    "enabled",
    "redirect_uri",
    "updated_at",
];

fn read_config(path: &std::path::Path) -> Result<wire::OidcConfig> {
    let text = read_text(path)?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not an OpenID Connect configuration", path.display()))
}

/// Prints one provider: a table row, then (as text) its configuration.
fn show(output: OutputFormat, provider: &wire::SsoProvider) -> Result<()> {
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(provider)?);
        return Ok(());
    }
    print(output, std::slice::from_ref(provider), &COLUMNS)?;
    println!();
    if let Some(oidc) = &provider.oidc {
        println!("{}", serde_json::to_string_pretty(oidc)?);
    }
    if let Some(saml) = &provider.saml {
        // The metadata is long and the administrator has it: what it said instead.
        let mut shown = serde_json::to_value(saml)?;
        if let Some(object) = shown.as_object_mut() {
            object.remove("idp_metadata_xml");
        }
        println!("{}", serde_json::to_string_pretty(&shown)?);
        if let Some(sp) = &provider.saml_service_provider {
            println!("{}", serde_json::to_string_pretty(sp)?);
        }
    }
    Ok(())
}

pub async fn sso(command: SsoCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    match command {
        SsoCommand::List => {
            let listed: wire::SsoProviderList = client.get("/api/v1/sso/providers").await?;
            print(args.output, &listed.items, &COLUMNS)
        }
        SsoCommand::Show { provider } => {
            let shown: wire::SsoProvider = client
                .get(&format!("/api/v1/sso/providers/{provider}"))
                .await?;
            show(args.output, &shown)
        }
        SsoCommand::Create {
            provider,
            display_name,
            oidc,
            saml,
            disabled,
        } => {
            let created: wire::SsoProvider = client
                .post(
                    "/api/v1/sso/providers",
                    &wire::SsoProviderCreate {
                        name: provider,
                        display_name,
                        enabled: Some(!disabled),
                        oidc: oidc.as_deref().map(read_config).transpose()?,
                        saml: saml.config(None)?,
                    },
                )
                .await?;
            show(args.output, &created)
        }
        SsoCommand::Update {
            provider,
            display_name,
            oidc,
            saml,
            enable,
            disable,
        } => {
            let enabled = match (enable, disable) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            // A new metadata file alone keeps the other settings (group mappings, entity
            // ID…): the API replaces the whole configuration.
            let current = if saml.saml_metadata.is_some() && saml.saml_settings.is_none() {
                let shown: wire::SsoProvider = client
                    .get(&format!("/api/v1/sso/providers/{provider}"))
                    .await?;
                shown.saml
            } else {
                None
            };
            let saml = saml.config(current.as_ref())?;
            if display_name.is_none() && oidc.is_none() && saml.is_none() && enabled.is_none() {
                bail!(
                    "nothing to change: give --display-name, --oidc, --saml-metadata, --enable \
                     or --disable"
                );
            }
            let updated: wire::SsoProvider = client
                .patch(
                    &format!("/api/v1/sso/providers/{provider}"),
                    &wire::SsoProviderUpdate {
                        display_name,
                        enabled,
                        oidc: oidc.as_deref().map(read_config).transpose()?,
                        saml,
                    },
                )
                .await?;
            show(args.output, &updated)
        }
        SsoCommand::Delete { provider } => {
            client
                .delete(&format!("/api/v1/sso/providers/{provider}"))
                .await?;
            eprintln!("deleted SSO provider {provider}");
            Ok(())
        }
    }
}
