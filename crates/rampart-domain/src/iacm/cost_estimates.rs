//! Cost estimates of a Terraform/OpenTofu plan, offline: each resource change priced from
//! the dated catalogue compiled into the binary (`iacm/price_catalogue.json`, see
//! [`PriceCatalogue`]), prior (before) and proposed (after) monthly totals and their
//! delta, and — never silently zero — the resources that could not be priced and the
//! usage-based charges that no plan can know.
//!
//! # Entry points
//!
//! - [`estimate_plan_json`]: plan bytes (`terraform show -json PLANFILE`) → [`CostEstimate`].
//! - [`estimate`]: a [`PlanView`] (the parts of a parsed plan pricing reads) and a
//!   catalogue → [`CostEstimate`]. The plan store and the policy engine call this with the
//!   plan they already parsed; [`PlanView`] is built by a private reader today and will be
//!   built from the shared `iacm::plans::Plan` type once it exists.
//! - [`CostEstimate::to_json`]: the stable JSON shape below — what
//!   `rampart cost estimate --output json` prints and what policies see as `input.cost`.
//!
//! # Rules
//!
//! - Actions: `create` → proposed only; `delete` (and `forget`) → prior only; `update` and
//!   replace (`delete`+`create` either way) → both; `no-op` → both, unchanged; `read` and
//!   every data source → ignored.
//! - Monthly cost of a component: unit price × 730 hours for hourly prices, × size for
//!   per-GB-month prices, × a count where the type has one (cache nodes, Multi-AZ).
//! - Region: from the resource's own attributes (`availability_zone`, `location`, `zone`,
//!   `region`, … per type, zones mapped to their region) where known, else the literal
//!   `region` of the provider configuration that applies to the resource's module; else
//!   the resource is unpriced with a reason.
//! - A resource is either priced entirely or listed in `unpriced` with a reason and not
//!   counted in any total (a resource whose size is known before but not after would
//!   otherwise make the delta lie). Attached disks whose size is known only after apply
//!   are the exception: the machine is priced and the disk is listed in its
//!   `unpriced_parts`.
//! - Usage-based charges (requests, GB processed, storage of a bucket) are listed in
//!   `usage_based` with their unit price and never counted, not even as 0.
//! - Money is exact: prices are decimals, each component's monthly cost is computed as a
//!   fraction and rounded once, half away from zero, to the micro-dollar; totals are sums
//!   of those, so they equal the sum of their lines. Amounts are given as decimal strings
//!   (`"742.64"`, at least two decimals, no trailing zeros beyond) and as integers of
//!   micro-dollars (`…_micros`), which policies can compare without parsing.
//!
//! # The JSON shape (`input.cost`)
//!
//! ```json
//! {
//!   "currency": "USD",
//!   "catalogue_date": "2026-11-01",
//!   "prior_monthly": 40.561,          "prior_monthly_micros": 40561000,
//!   "proposed_monthly": 76.322,       "proposed_monthly_micros": 76322000,
//!   "delta_monthly": 35.761,          "delta_monthly_micros": 35761000,
//!   "counts": {"priced": 14, "free": 12, "partially_priced": 6, "unpriced": 0, "usage_based": 2},
//!   "resources": [{
//!     "address": "aws_instance.web", "type": "aws_instance", "action": "create",
//!     "region": "us-east-1", "free": false,
//!     "prior_monthly": null, "proposed_monthly": 3.796, "delta_monthly": 3.796,
//!     "prior_monthly_micros": null, "proposed_monthly_micros": 3796000, "delta_monthly_micros": 3796000,
//!     "components": [{"name": "compute", "unit": "hour", "unit_price": "0.0052",
//!                     "quantity": "1", "monthly": 3.796, "monthly_micros": 3796000,
//!                     "price_table": "aws_ec2_linux_on_demand", "assumptions": []}],
//!     "unpriced_parts": [{"component": "root volume", "reason": "unknown_until_apply",
//!                         "detail": "root_block_device is known only after apply"}]
//!   }],
//!   "unpriced": [{"address": "…", "type": "…", "action": "create",
//!                 "reason": "unknown_type", "detail": "…"}],
//!   "usage_based": [{"address": "aws_lambda_function.f", "type": "aws_lambda_function",
//!                    "action": "create", "name": "requests", "unit": "1M requests",
//!                    "unit_price": "0.20", "note": null}]
//! }
//! ```
//!
//! `action` is one of `create`, `delete`, `update`, `replace`, `no-op`, `forget`;
//! `components` and `unpriced_parts` describe the proposed side (the prior side for a
//! deletion); `reason` is one of [`UnpricedReason`]'s codes. Fields are only ever added.

mod catalogue;
mod money;
mod plan_reader;

use serde_json::{Value, json};

pub use catalogue::{CatalogueError, PriceCatalogue, PriceUnit};
use catalogue::{
    ComponentSpec, KeySpec, MultiplierSpec, PriceTable, QuantitySpec, ResourceSpec, WhenSpec,
};
pub use money::{Decimal, Micros, Ratio};
use plan_reader::ProviderSetting;
pub use plan_reader::{PlanReadError, PlanView, ResourceChangeView};

/// What a resource change does to what is deployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeAction {
    Create,
    Delete,
    Update,
    Replace,
    NoOp,
    /// Removed from the state but left running (`removed { lifecycle { destroy = false } }`):
    /// no longer part of this workspace's cost.
    Forget,
}

impl ChangeAction {
    /// The action of a change's `actions`; `Ok(None)` for `read` (nothing deployed).
    fn of(actions: &[&str]) -> Result<Option<Self>, String> {
        Ok(Some(match actions {
            ["create"] => Self::Create,
            ["delete"] => Self::Delete,
            ["update"] => Self::Update,
            ["delete", "create"] | ["create", "delete"] => Self::Replace,
            ["no-op"] => Self::NoOp,
            ["forget"] => Self::Forget,
            ["read"] => return Ok(None),
            other => return Err(other.join("+")),
        }))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Delete => "delete",
            Self::Update => "update",
            Self::Replace => "replace",
            Self::NoOp => "no-op",
            Self::Forget => "forget",
        }
    }

    fn has_prior(self) -> bool {
        !matches!(self, Self::Create)
    }

    fn has_proposed(self) -> bool {
        !matches!(self, Self::Delete | Self::Forget)
    }
}

/// Why a resource (or a part of one) could not be priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnpricedReason {
    /// The catalogue does not know the resource type.
    UnknownType,
    /// The catalogue has no prices for the resource's region.
    UnknownRegion,
    /// Neither the resource nor its provider configuration names a region literally.
    NoRegion,
    /// The catalogue has no price for the size or SKU (`instance_type`, `sku_name`, …).
    UnknownSku,
    /// A size the price depends on is not set or out of the catalogue's tiers.
    UnknownSize,
    /// A value the price depends on is known only after apply.
    UnknownUntilApply,
    /// No priced configuration applies (an engine or edition the catalogue lacks).
    UnsupportedConfiguration,
    /// The change's actions are not ones Terraform documents.
    UnknownAction,
    /// A quantity so large the arithmetic would overflow.
    OutOfRange,
}

impl UnpricedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownType => "unknown_type",
            Self::UnknownRegion => "unknown_region",
            Self::NoRegion => "no_region",
            Self::UnknownSku => "unknown_sku",
            Self::UnknownSize => "unknown_size",
            Self::UnknownUntilApply => "unknown_until_apply",
            Self::UnsupportedConfiguration => "unsupported_configuration",
            Self::UnknownAction => "unknown_action",
            Self::OutOfRange => "out_of_range",
        }
    }
}

/// A reason with the detail a person needs (`instance_type "x9.huge" has no price in us-east-1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unpriceable {
    pub reason: UnpricedReason,
    pub detail: String,
}

fn unpriceable(reason: UnpricedReason, detail: impl Into<String>) -> Unpriceable {
    Unpriceable {
        reason,
        detail: detail.into(),
    }
}

/// One priced part of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostComponent {
    pub name: String,
    pub unit: PriceUnit,
    pub unit_price: Decimal,
    /// Units bought per hour or month (GB, nodes × count), exact.
    pub quantity: Ratio,
    pub monthly: Micros,
    pub price_table: String,
    /// Defaults the catalogue applied (`volume_type known only after apply: assumed gp2`).
    pub assumptions: Vec<String>,
}

/// A part of a priced resource that could not be priced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnpricedPart {
    pub component: String,
    pub problem: Unpriceable,
}

/// A resource counted in the totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedResource {
    pub address: String,
    pub resource_type: String,
    pub action: ChangeAction,
    pub region: Option<String>,
    /// A type that costs nothing by itself (IAM, networks, random values).
    pub free: bool,
    pub prior_monthly: Option<Micros>,
    pub proposed_monthly: Option<Micros>,
    pub components: Vec<CostComponent>,
    pub unpriced_parts: Vec<UnpricedPart>,
}

impl PricedResource {
    pub fn delta_monthly(&self) -> Micros {
        Micros(
            self.proposed_monthly
                .unwrap_or_default()
                .0
                .saturating_sub(self.prior_monthly.unwrap_or_default().0),
        )
    }
}

/// A resource not counted in any total, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnpricedResource {
    pub address: String,
    pub resource_type: String,
    /// `None` when the actions themselves are unknown.
    pub action: Option<ChangeAction>,
    pub problem: Unpriceable,
}

/// A charge that depends on use, listed with its unit price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageBasedCost {
    pub address: String,
    pub resource_type: String,
    pub action: ChangeAction,
    pub name: String,
    pub unit: String,
    pub unit_price: Decimal,
    pub note: Option<String>,
}

/// The estimate of one plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostEstimate {
    pub currency: String,
    pub catalogue_date: String,
    pub prior_monthly: Micros,
    pub proposed_monthly: Micros,
    pub resources: Vec<PricedResource>,
    pub unpriced: Vec<UnpricedResource>,
    pub usage_based: Vec<UsageBasedCost>,
}

impl CostEstimate {
    pub fn delta_monthly(&self) -> Micros {
        Micros(self.proposed_monthly.0.saturating_sub(self.prior_monthly.0))
    }

    /// The stable JSON shape of the module documentation (`input.cost`).
    pub fn to_json(&self) -> Value {
        let money = |amount: Option<Micros>| amount.map(Micros::to_json_number);
        let micros = |amount: Option<Micros>| amount.map(|amount| amount.0);
        fn problem(problem: &Unpriceable) -> (&'static str, &str) {
            (problem.reason.as_str(), problem.detail.as_str())
        }
        let resources: Vec<Value> = self
            .resources
            .iter()
            .map(|resource| {
                json!({
                    "address": resource.address,
                    "type": resource.resource_type,
                    "action": resource.action.as_str(),
                    "region": resource.region,
                    "free": resource.free,
                    "prior_monthly": money(resource.prior_monthly),
                    "proposed_monthly": money(resource.proposed_monthly),
                    "delta_monthly": resource.delta_monthly().to_json_number(),
                    "prior_monthly_micros": micros(resource.prior_monthly),
                    "proposed_monthly_micros": micros(resource.proposed_monthly),
                    "delta_monthly_micros": resource.delta_monthly().0,
                    "components": resource.components.iter().map(|component| json!({
                        "name": component.name,
                        "unit": component.unit.as_str(),
                        "unit_price": component.unit_price.to_string(),
                        "quantity": component.quantity.to_string(),
                        "monthly": component.monthly.to_json_number(),
                        "monthly_micros": component.monthly.0,
                        "price_table": component.price_table,
                        "assumptions": component.assumptions,
                    })).collect::<Vec<_>>(),
                    "unpriced_parts": resource.unpriced_parts.iter().map(|part| {
                        let (reason, detail) = problem(&part.problem);
                        json!({"component": part.component, "reason": reason, "detail": detail})
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        let unpriced: Vec<Value> = self
            .unpriced
            .iter()
            .map(|resource| {
                let (reason, detail) = problem(&resource.problem);
                json!({
                    "address": resource.address,
                    "type": resource.resource_type,
                    "action": resource.action.map(ChangeAction::as_str),
                    "reason": reason,
                    "detail": detail,
                })
            })
            .collect();
        let usage_based: Vec<Value> = self
            .usage_based
            .iter()
            .map(|usage| {
                json!({
                    "address": usage.address,
                    "type": usage.resource_type,
                    "action": usage.action.as_str(),
                    "name": usage.name,
                    "unit": usage.unit,
                    "unit_price": usage.unit_price.to_string(),
                    "note": usage.note,
                })
            })
            .collect();
        json!({
            "currency": self.currency,
            "catalogue_date": self.catalogue_date,
            "prior_monthly": self.prior_monthly.to_json_number(),
            "proposed_monthly": self.proposed_monthly.to_json_number(),
            "delta_monthly": self.delta_monthly().to_json_number(),
            "prior_monthly_micros": self.prior_monthly.0,
            "proposed_monthly_micros": self.proposed_monthly.0,
            "delta_monthly_micros": self.delta_monthly().0,
            "counts": {
                "priced": self.resources.iter().filter(|resource| !resource.free).count(),
                "free": self.resources.iter().filter(|resource| resource.free).count(),
                "partially_priced": self.resources.iter().filter(|resource| !resource.unpriced_parts.is_empty()).count(),
                "unpriced": self.unpriced.len(),
                "usage_based": self.usage_based.len(),
            },
            "resources": resources,
            "unpriced": unpriced,
            "usage_based": usage_based,
        })
    }
}

/// Why no estimate could be made at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CostEstimateError {
    #[error(transparent)]
    Plan(#[from] PlanReadError),
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
}

/// The parts of a plan document pricing reads; everything else (`planned_values`,
/// `prior_state`, the rest of `configuration`, usually most of the bytes) is skipped by
/// the parser without being built.
#[derive(serde::Deserialize)]
struct PricedParts {
    format_version: Option<Value>,
    resource_changes: Option<Value>,
    configuration: Option<ConfigurationParts>,
}

#[derive(serde::Deserialize)]
struct ConfigurationParts {
    provider_config: Option<Value>,
}

/// Prices a plan given as JSON bytes with the built-in catalogue.
pub fn estimate_plan_json(bytes: &[u8]) -> Result<CostEstimate, CostEstimateError> {
    let not_json = |error: serde_json::Error| PlanReadError::NotJson(error.to_string());
    // Read strictly (an array is not an object); a well-formed JSON value of the wrong
    // shape is told apart from a syntax error.
    let parts: PricedParts = match crate::json::from_slice(bytes) {
        Ok(parts) => parts,
        Err(error) if error.is_data() => {
            serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(not_json)?;
            let is_object = bytes.trim_ascii_start().starts_with(b"{");
            return Err(if is_object {
                PlanReadError::Shape(error.to_string())
            } else {
                PlanReadError::NotAnObject
            }
            .into());
        }
        Err(error) => return Err(not_json(error).into()),
    };
    let mut plan = serde_json::Map::new();
    let fields = [
        ("format_version", parts.format_version),
        ("resource_changes", parts.resource_changes),
        (
            "configuration",
            parts
                .configuration
                .map(|configuration| json!({"provider_config": configuration.provider_config})),
        ),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            plan.insert(name.to_owned(), value);
        }
    }
    let plan = Value::Object(plan);
    let view = PlanView::read(&plan)?;
    Ok(estimate(&view, PriceCatalogue::builtin()?))
}

// ---------------------------------------------------------------------------------------
// Reading attributes of one side of a change, with Terraform's unknown markers.

/// One side of a change: its values and (for `after`) the `after_unknown` mirror.
#[derive(Clone, Copy, Debug)]
struct Side<'a> {
    values: &'a Value,
    unknown: Option<&'a Value>,
}

enum Attribute<'a> {
    Known(&'a Value),
    Unknown,
    Absent,
}

fn step<'a>(value: &'a Value, segment: &str) -> Option<&'a Value> {
    match value {
        Value::Object(object) => object.get(segment),
        Value::Array(items) => segment
            .parse::<usize>()
            .ok()
            .and_then(|index| items.get(index)),
        _ => None,
    }
}

impl<'a> Side<'a> {
    fn get(self, path: &str) -> Attribute<'a> {
        let mut unknown = self.unknown;
        let mut value = Some(self.values);
        for segment in path.split('.') {
            if unknown.is_some_and(|marker| marker == &Value::Bool(true)) {
                return Attribute::Unknown;
            }
            unknown = unknown.and_then(|marker| step(marker, segment));
            value = value.and_then(|value| step(value, segment));
        }
        if unknown.is_some_and(|marker| marker == &Value::Bool(true)) {
            return Attribute::Unknown;
        }
        match value {
            None | Some(Value::Null) => Attribute::Absent,
            Some(value) => Attribute::Known(value),
        }
    }

    /// The sides of the elements of a list attribute (`ebs_block_device`).
    fn elements(self, path: &str) -> Result<Vec<Side<'a>>, Attribute<'a>> {
        match self.get(path) {
            Attribute::Known(Value::Array(items)) => {
                let unknown = self.unknown.and_then(|marker| {
                    path.split('.')
                        .try_fold(marker, |marker, segment| step(marker, segment))
                });
                Ok(items
                    .iter()
                    .enumerate()
                    .map(|(index, values)| Side {
                        values,
                        unknown: unknown.and_then(|marker| marker.get(index)),
                    })
                    .collect())
            }
            Attribute::Absent => Ok(Vec::new()),
            other => Err(other),
        }
    }
}

/// A scalar as the text a price key is made of (`db.t3.micro`, `1`, `true`).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn number_ratio(value: &Value) -> Option<Ratio> {
    let text = match value {
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.clone(),
        _ => return None,
    };
    Decimal::parse(&text)?.ratio()
}

// ---------------------------------------------------------------------------------------
// Regions.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cloud {
    Aws,
    Azure,
    Google,
    Other,
}

impl Cloud {
    fn of(resource_type: &str) -> Self {
        if resource_type.starts_with("aws_") {
            Self::Aws
        } else if resource_type.starts_with("azurerm_") {
            Self::Azure
        } else if resource_type.starts_with("google_") {
            Self::Google
        } else {
            Self::Other
        }
    }

    /// A zone becomes its region; Azure's display names become region names.
    fn normalise(self, location: &str) -> String {
        match self {
            // us-east-1b → us-east-1
            Self::Aws => {
                let trimmed =
                    location.trim_end_matches(|character: char| character.is_ascii_lowercase());
                if trimmed.len() < location.len()
                    && trimmed.ends_with(|character: char| character.is_ascii_digit())
                {
                    trimmed.to_owned()
                } else {
                    location.to_owned()
                }
            }
            // West Europe → westeurope
            Self::Azure => location
                .chars()
                .filter(|character| !character.is_whitespace())
                .collect::<String>()
                .to_lowercase(),
            // us-central1-a → us-central1
            Self::Google => match location.rsplit_once('-') {
                Some((region, zone))
                    if zone.len() == 1
                        && region.ends_with(|character: char| character.is_ascii_digit()) =>
                {
                    region.to_owned()
                }
                _ => location.to_owned(),
            },
            Self::Other => location.to_owned(),
        }
    }

    /// Provider configuration settings that name a region.
    fn provider_settings(self) -> &'static [&'static str] {
        match self {
            Self::Aws => &["region"],
            Self::Google => &["region", "zone"],
            Self::Azure | Self::Other => &[],
        }
    }
}

fn region_of(
    view: &PlanView<'_>,
    change: &ResourceChangeView<'_>,
    spec: &ResourceSpec,
    side: Side<'_>,
) -> Result<String, Unpriceable> {
    let cloud = Cloud::of(change.resource_type);
    let mut known_after_apply = Vec::new();
    for attribute in &spec.region {
        match side.get(attribute) {
            Attribute::Known(Value::String(location)) if !location.is_empty() => {
                return Ok(cloud.normalise(location));
            }
            Attribute::Unknown => known_after_apply.push(attribute.as_str()),
            _ => {}
        }
    }
    for setting in cloud.provider_settings() {
        match view.provider_setting(change, setting) {
            ProviderSetting::Literal(location) => return Ok(cloud.normalise(location)),
            ProviderSetting::NotLiteral => {
                return Err(unpriceable(
                    UnpricedReason::NoRegion,
                    format!(
                        "the provider configuration's {setting} is an expression, not known offline"
                    ),
                ));
            }
            ProviderSetting::Absent => {}
        }
    }
    if known_after_apply.is_empty() {
        Err(unpriceable(
            UnpricedReason::NoRegion,
            "neither the resource nor its provider configuration names a region",
        ))
    } else {
        Err(unpriceable(
            UnpricedReason::UnknownUntilApply,
            format!(
                "{} is known only after apply and the provider configuration names no region",
                known_after_apply.join(", ")
            ),
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Components.

enum ComponentOutcome {
    Priced(CostComponent),
    NotApplicable,
    Failed(Unpriceable),
}

fn known_after_apply(path: &str) -> Unpriceable {
    unpriceable(
        UnpricedReason::UnknownUntilApply,
        format!("{path} is known only after apply"),
    )
}

fn applies(when: &WhenSpec, side: Side<'_>) -> Result<bool, Unpriceable> {
    let value = match side.get(&when.attribute) {
        Attribute::Unknown => return Err(known_after_apply(&when.attribute)),
        Attribute::Known(value) => Some(value.clone()),
        Attribute::Absent => when.default.clone().map(Value::String),
    };
    if let Some(wanted) = when.non_empty {
        let non_empty = match &value {
            Some(Value::Array(items)) => !items.is_empty(),
            Some(Value::Object(fields)) => !fields.is_empty(),
            Some(Value::String(text)) => !text.is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        };
        return Ok(non_empty == wanted);
    }
    let text = value.as_ref().and_then(scalar_text).unwrap_or_default();
    if !when.equals.is_empty() {
        return Ok(when.equals.contains(&text));
    }
    Ok(when
        .prefix
        .iter()
        .any(|prefix| text.starts_with(prefix.as_str())))
}

fn price_key(
    key: Option<&KeySpec>,
    side: Side<'_>,
    assumptions: &mut Vec<String>,
) -> Result<String, Unpriceable> {
    let Some(key) = key else {
        return Ok("*".to_owned());
    };
    if let Some(constant) = &key.constant {
        return Ok(constant.clone());
    }
    let paths: Vec<&str> = key
        .attribute
        .iter()
        .map(String::as_str)
        .chain(key.attributes.iter().map(String::as_str))
        .collect();
    let mut parts = Vec::with_capacity(paths.len());
    for path in &paths {
        let missing = match side.get(path) {
            Attribute::Known(value) => match scalar_text(value) {
                Some(text) => {
                    parts.push(text);
                    continue;
                }
                None => unpriceable(
                    UnpricedReason::UnknownSku,
                    format!("{path} is not a single value"),
                ),
            },
            Attribute::Unknown => known_after_apply(path),
            Attribute::Absent => {
                unpriceable(UnpricedReason::UnknownSku, format!("{path} is not set"))
            }
        };
        match (&key.default, paths.len()) {
            (Some(default), 1) => {
                assumptions.push(format!("{}: assumed {default}", missing.detail));
                return Ok(default.clone());
            }
            _ => return Err(missing),
        }
    }
    Ok(parts.join("/"))
}

fn quantity(
    spec: Option<&QuantitySpec>,
    side: Side<'_>,
    assumptions: &mut Vec<String>,
) -> Result<Ratio, Unpriceable> {
    let Some(spec) = spec else {
        return Ok(Ratio::whole(1));
    };
    let path = &spec.attribute;
    let raw = match side.get(path) {
        Attribute::Known(value) => number_ratio(value).ok_or_else(|| {
            unpriceable(
                UnpricedReason::UnknownSize,
                format!("{path} is not a plain non-negative number"),
            )
        })?,
        Attribute::Unknown => return Err(known_after_apply(path)),
        Attribute::Absent => match spec.default.and_then(Decimal::ratio) {
            Some(default) => {
                assumptions.push(format!("{path} is not set: assumed {default}"));
                default
            }
            None => {
                return Err(unpriceable(
                    UnpricedReason::UnknownSize,
                    format!("{path} is not set"),
                ));
            }
        },
    };
    match spec.divide_by.and_then(Decimal::ratio) {
        Some(divisor) => raw
            .divided_by(divisor)
            .ok_or_else(|| unpriceable(UnpricedReason::OutOfRange, format!("{path} / {divisor}"))),
        None => Ok(raw),
    }
}

fn multiplier(
    spec: Option<&MultiplierSpec>,
    side: Side<'_>,
    assumptions: &mut Vec<String>,
) -> Result<Ratio, Unpriceable> {
    let Some(spec) = spec else {
        return Ok(Ratio::whole(1));
    };
    let paths: Vec<&String> = spec
        .attribute
        .iter()
        .chain(spec.attributes.iter())
        .collect();
    for path in &paths {
        match side.get(path) {
            Attribute::Known(value) => {
                return match &spec.factors {
                    Some(factors) => scalar_text(value)
                        .and_then(|text| factors.get(&text))
                        .and_then(|factor| Decimal::parse(factor))
                        .and_then(Decimal::ratio)
                        .ok_or_else(|| {
                            unpriceable(
                                UnpricedReason::UnsupportedConfiguration,
                                format!("{path} = {value} has no price"),
                            )
                        }),
                    None => number_ratio(value).ok_or_else(|| {
                        unpriceable(
                            UnpricedReason::UnknownSize,
                            format!("{path} is not a plain non-negative number"),
                        )
                    }),
                };
            }
            Attribute::Unknown => return Err(known_after_apply(path)),
            Attribute::Absent => {}
        }
    }
    let names = paths
        .iter()
        .map(|path| path.as_str())
        .collect::<Vec<_>>()
        .join(" or ");
    match spec.default.and_then(Decimal::ratio) {
        Some(default) => {
            if spec.factors.is_none() {
                assumptions.push(format!("{names} is not set: assumed {default}"));
            }
            Ok(default)
        }
        None => Err(unpriceable(
            UnpricedReason::UnknownSize,
            format!("{names} is not set"),
        )),
    }
}

/// The unit price for a key and quantity in a table's region: a plain price, or the
/// price of the tier the quantity falls in (per unit, or for the whole tier).
fn unit_price(
    table: &PriceTable,
    region: &str,
    key: &str,
    quantity: Ratio,
) -> Result<Option<(Decimal, bool)>, Unpriceable> {
    if let Some(prices) = table.regions.get(region) {
        return Ok(prices.get(key).map(|price| (*price, true)));
    }
    let Some(tiers) = table.tiers.get(region).and_then(|tiers| tiers.get(key)) else {
        return Ok(None);
    };
    match tiers.iter().find(|tier| quantity.is_at_most(tier.up_to)) {
        Some(tier) => Ok(Some((tier.price, table.per_unit))),
        None => Err(unpriceable(
            UnpricedReason::UnknownSize,
            format!("{quantity} is beyond the largest {key} tier"),
        )),
    }
}

fn price_component(
    catalogue: &PriceCatalogue,
    component: &ComponentSpec,
    side: Side<'_>,
    region: &str,
    name: String,
) -> ComponentOutcome {
    match try_price_component(catalogue, component, side, region, name) {
        Ok(Some(priced)) => ComponentOutcome::Priced(priced),
        Ok(None) => ComponentOutcome::NotApplicable,
        Err(problem) => ComponentOutcome::Failed(problem),
    }
}

fn try_price_component(
    catalogue: &PriceCatalogue,
    component: &ComponentSpec,
    side: Side<'_>,
    region: &str,
    name: String,
) -> Result<Option<CostComponent>, Unpriceable> {
    if let Some(when) = &component.when
        && !applies(when, side)?
    {
        return Ok(None);
    }
    let Some(table) = catalogue.price_tables.get(&component.table) else {
        return Err(unpriceable(
            UnpricedReason::UnknownType,
            format!("price table {} is missing", component.table),
        ));
    };
    if !table.has_region(region) {
        return Err(unpriceable(
            UnpricedReason::UnknownRegion,
            format!(
                "the catalogue has no {} prices for region {region}",
                component.name
            ),
        ));
    }
    let mut assumptions = Vec::new();
    let key = price_key(component.key.as_ref(), side, &mut assumptions)?;
    let quantity = quantity(component.quantity.as_ref(), side, &mut assumptions)?;
    let multiplier = multiplier(component.multiplier.as_ref(), side, &mut assumptions)?;
    let Some((price, per_unit)) = unit_price(table, region, &key, quantity)? else {
        if component
            .key
            .as_ref()
            .is_some_and(|key| key.other_keys.as_deref() == Some("free"))
        {
            return Ok(None);
        }
        return Err(unpriceable(
            UnpricedReason::UnknownSku,
            format!("{} {key:?} has no price in {region}", component.name),
        ));
    };
    let hours = match table.unit {
        PriceUnit::Hour => Ratio::whole(catalogue.hours_per_month),
        PriceUnit::Month | PriceUnit::GbMonth | PriceUnit::IopsMonth => Ratio::whole(1),
    };
    let billed_quantity = if per_unit { quantity } else { Ratio::whole(1) };
    let out_of_range = || {
        unpriceable(
            UnpricedReason::OutOfRange,
            format!("{} is too large to price", component.name),
        )
    };
    let units = billed_quantity.times(multiplier).ok_or_else(out_of_range)?;
    let monthly = price
        .ratio()
        .and_then(|price| price.times(hours))
        .and_then(|amount| amount.times(units))
        .and_then(Ratio::to_micros)
        .ok_or_else(out_of_range)?;
    Ok(Some(CostComponent {
        name,
        unit: table.unit,
        unit_price: price,
        quantity: units,
        monthly,
        price_table: component.table.clone(),
        assumptions,
    }))
}

/// One side of a resource, priced.
struct SidePrice {
    region: String,
    monthly: Micros,
    components: Vec<CostComponent>,
    unpriced_parts: Vec<UnpricedPart>,
}

fn price_side(
    catalogue: &PriceCatalogue,
    view: &PlanView<'_>,
    change: &ResourceChangeView<'_>,
    spec: &ResourceSpec,
    side: Side<'_>,
) -> Result<SidePrice, Unpriceable> {
    let region = region_of(view, change, spec, side)?;
    let mut components = Vec::new();
    let mut unpriced_parts = Vec::new();
    let mut required_components = 0_usize;
    let mut record = |outcome: ComponentOutcome,
                      component: &ComponentSpec,
                      name: &str|
     -> Result<(), Unpriceable> {
        match outcome {
            ComponentOutcome::Priced(priced) => components.push(priced),
            ComponentOutcome::NotApplicable => {}
            ComponentOutcome::Failed(problem) if component.optional => {
                unpriced_parts.push(UnpricedPart {
                    component: name.to_owned(),
                    problem,
                })
            }
            ComponentOutcome::Failed(problem) => return Err(problem),
        }
        Ok(())
    };
    for component in &spec.components {
        if !component.optional {
            required_components += 1;
        }
        match &component.each {
            None => record(
                price_component(catalogue, component, side, &region, component.name.clone()),
                component,
                &component.name,
            )?,
            Some(list) => match side.elements(list) {
                Ok(elements) => {
                    let numbered = elements.len() > 1;
                    for (index, element) in elements.into_iter().enumerate() {
                        let name = if numbered {
                            format!("{} {}", component.name, index + 1)
                        } else {
                            component.name.clone()
                        };
                        record(
                            price_component(catalogue, component, element, &region, name.clone()),
                            component,
                            &name,
                        )?;
                    }
                }
                Err(Attribute::Unknown) => record(
                    ComponentOutcome::Failed(known_after_apply(list)),
                    component,
                    &component.name,
                )?,
                Err(_) => record(
                    ComponentOutcome::Failed(unpriceable(
                        UnpricedReason::UnknownSize,
                        format!("{list} is not a list"),
                    )),
                    component,
                    &component.name,
                )?,
            },
        }
    }
    if components.is_empty() && required_components > 0 {
        return Err(unpriceable(
            UnpricedReason::UnsupportedConfiguration,
            "no price in the catalogue applies to this configuration",
        ));
    }
    let monthly = components.iter().fold(Micros::ZERO, |total, component| {
        Micros(total.0.saturating_add(component.monthly.0))
    });
    Ok(SidePrice {
        region,
        monthly,
        components,
        unpriced_parts,
    })
}

// ---------------------------------------------------------------------------------------
// The estimate.

/// Prices every managed resource change of a plan (see the module documentation).
pub fn estimate(view: &PlanView<'_>, catalogue: &PriceCatalogue) -> CostEstimate {
    let mut result = CostEstimate {
        currency: catalogue.currency.clone(),
        catalogue_date: catalogue.date.clone(),
        prior_monthly: Micros::ZERO,
        proposed_monthly: Micros::ZERO,
        resources: Vec::new(),
        unpriced: Vec::new(),
        usage_based: Vec::new(),
    };
    for change in &view.resource_changes {
        if change.mode != "managed" {
            continue;
        }
        let unpriced = |action: Option<ChangeAction>, problem: Unpriceable| UnpricedResource {
            address: change.address.to_owned(),
            resource_type: change.resource_type.to_owned(),
            action,
            problem,
        };
        let action = match ChangeAction::of(&change.actions) {
            Ok(Some(action)) => action,
            Ok(None) => continue,
            Err(actions) => {
                result.unpriced.push(unpriced(
                    None,
                    unpriceable(
                        UnpricedReason::UnknownAction,
                        format!("actions {actions} are not known"),
                    ),
                ));
                continue;
            }
        };
        let before = change.before.map(|values| Side {
            values,
            unknown: None,
        });
        let after = change.after.map(|values| Side {
            values,
            unknown: change.after_unknown,
        });
        if catalogue.free_types.contains(change.resource_type) {
            result.resources.push(PricedResource {
                address: change.address.to_owned(),
                resource_type: change.resource_type.to_owned(),
                action,
                region: None,
                free: true,
                prior_monthly: action.has_prior().then_some(Micros::ZERO),
                proposed_monthly: action.has_proposed().then_some(Micros::ZERO),
                components: Vec::new(),
                unpriced_parts: Vec::new(),
            });
            continue;
        }
        let Some(spec) = catalogue.resource(change.resource_type) else {
            result.unpriced.push(unpriced(
                Some(action),
                unpriceable(
                    UnpricedReason::UnknownType,
                    format!("the catalogue has no prices for {}", change.resource_type),
                ),
            ));
            continue;
        };
        if action.has_proposed() {
            for usage in &spec.usage {
                result.usage_based.push(UsageBasedCost {
                    address: change.address.to_owned(),
                    resource_type: change.resource_type.to_owned(),
                    action,
                    name: usage.name.clone(),
                    unit: usage.unit.clone(),
                    unit_price: usage.price,
                    note: usage.note.clone(),
                });
            }
        }
        if spec.components.is_empty() {
            continue;
        }
        let price = |wanted: bool,
                     side: Option<Side<'_>>,
                     name: &str|
         -> Result<Option<SidePrice>, Unpriceable> {
            if !wanted {
                return Ok(None);
            }
            let side = side.ok_or_else(|| {
                unpriceable(
                    UnpricedReason::UnsupportedConfiguration,
                    format!("the plan has no {name} values"),
                )
            })?;
            price_side(catalogue, view, change, spec, side).map(Some)
        };
        let sides = price(action.has_prior(), before, "before")
            .and_then(|prior| Ok((prior, price(action.has_proposed(), after, "after")?)));
        let (prior, proposed) = match sides {
            Ok(sides) => sides,
            Err(problem) => {
                result.unpriced.push(unpriced(Some(action), problem));
                continue;
            }
        };
        result.prior_monthly = Micros(
            result
                .prior_monthly
                .0
                .saturating_add(prior.as_ref().map_or(0, |side| side.monthly.0)),
        );
        result.proposed_monthly = Micros(
            result
                .proposed_monthly
                .0
                .saturating_add(proposed.as_ref().map_or(0, |side| side.monthly.0)),
        );
        let prior_monthly = prior.as_ref().map(|side| side.monthly);
        let proposed_monthly = proposed.as_ref().map(|side| side.monthly);
        let Some(shown) = proposed.or(prior) else {
            continue;
        };
        result.resources.push(PricedResource {
            address: change.address.to_owned(),
            resource_type: change.resource_type.to_owned(),
            action,
            region: Some(shown.region),
            free: false,
            prior_monthly,
            proposed_monthly,
            components: shown.components,
            unpriced_parts: shown.unpriced_parts,
        });
    }
    result
}

#[cfg(test)]
mod tests;
