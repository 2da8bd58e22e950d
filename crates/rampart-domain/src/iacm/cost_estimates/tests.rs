//! The estimator on the infracost fixture plans (figures computed by hand from the
//! catalogue, the arithmetic in the comments) and on small plans, one rule each.

use serde_json::json;

use super::*;

fn fixture(name: &str) -> CostEstimate {
    let path = format!(
        "{}/../../../shared/fixtures/tfplan/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    estimate_plan_json(&bytes).unwrap()
}

fn estimate_of(plan: &Value) -> CostEstimate {
    estimate(
        &PlanView::read(plan).unwrap(),
        PriceCatalogue::builtin().unwrap(),
    )
}

fn resource<'a>(estimate: &'a CostEstimate, address: &str) -> &'a PricedResource {
    estimate
        .resources
        .iter()
        .find(|resource| resource.address == address)
        .unwrap_or_else(|| panic!("{address} is not priced: {estimate:#?}"))
}

fn usd(text: &str) -> Micros {
    Micros(
        Decimal::parse(text)
            .and_then(Decimal::ratio)
            .and_then(Ratio::to_micros)
            .unwrap()
            .0,
    )
}

/// A plan of the given changes, AWS provider in us-east-1 at the root.
fn plan(changes: Vec<Value>) -> Value {
    json!({
        "format_version": "1.2",
        "resource_changes": changes,
        "configuration": {"provider_config": {
            "aws": {"name": "aws", "expressions": {"region": {"constant_value": "us-east-1"}}}
        }}
    })
}

fn change(
    address: &str,
    resource_type: &str,
    actions: &[&str],
    before: Value,
    after: Value,
) -> Value {
    json!({
        "address": address, "mode": "managed", "type": resource_type, "name": "x",
        "provider_name": format!("registry.terraform.io/hashicorp/{}", resource_type.split('_').next().unwrap()),
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": {}}
    })
}

#[test]
fn infracost_example_plan() {
    let estimate = fixture("infracost-example_plan.json");
    // aws_instance m5.4xlarge in us-east-1 (provider region; the AZ is unknown until apply):
    //   compute       0.768 × 730                 = 560.64
    //   root volume   50 GB × 0.10 (gp2, assumed) =   5.00
    //   block volume  1000 GB io1 × 0.125         = 125.00
    //   its IOPS      800 × 0.065                 =  52.00
    //                                               742.64 per instance, two instances.
    for address in ["aws_instance.web_app", "aws_instance.zero_cost_instance"] {
        let instance = resource(&estimate, address);
        assert_eq!(instance.action, ChangeAction::Create);
        assert_eq!(instance.region.as_deref(), Some("us-east-1"));
        assert_eq!(instance.prior_monthly, None);
        assert_eq!(instance.proposed_monthly, Some(usd("742.64")));
        let monthly: Vec<(&str, Micros)> = instance
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.monthly))
            .collect();
        assert_eq!(
            monthly,
            [
                ("compute", usd("560.64")),
                ("root volume", usd("5")),
                ("block volume", usd("125")),
                ("block volume IOPS", usd("52"))
            ]
        );
        assert_eq!(
            instance.components[1].assumptions,
            ["volume_type is known only after apply: assumed gp2"]
        );
    }
    // 2 × 742.64 = 1485.28; nothing before.
    assert_eq!(estimate.prior_monthly, Micros::ZERO);
    assert_eq!(estimate.proposed_monthly, usd("1485.28"));
    assert_eq!(estimate.delta_monthly(), usd("1485.28"));
    // Two Lambda functions (requests, duration) and an S3 bucket (storage, two kinds of
    // requests) are usage-based: listed, not counted, not in `resources`.
    assert!(estimate.unpriced.is_empty(), "{:#?}", estimate.unpriced);
    assert_eq!(estimate.usage_based.len(), 2 + 2 + 3);
    assert!(
        estimate
            .resources
            .iter()
            .all(|resource| resource.resource_type == "aws_instance")
    );
    let duration = estimate
        .usage_based
        .iter()
        .find(|usage| usage.name == "duration (x86)")
        .unwrap();
    assert_eq!(duration.unit_price.to_string(), "0.0000166667");
}

#[test]
fn infracost_terraform_v0_14_plan_with_modules() {
    let estimate = fixture("infracost-terraform_v0.14_plan.json");
    // 12 aws_instance t3.nano in us-east-1 (6 at the root, 6 in module.instances):
    //   6 no-op, each 0.0052 × 730 = 3.796 + an 8 GB gp2 root volume 8 × 0.10 = 0.80 → 4.596
    //   6 create, each 3.796; their root volumes are known only after apply (listed as
    //   unpriced parts, not counted).
    // 2 aws_db_instance db.t3.micro MySQL, 5 GB gp2, single-AZ, in module.db.module.db_N
    // (region from the provider configuration of module.db, two modules up):
    //   0.017 × 730 = 12.41 + 5 × 0.115 = 0.575 → 12.985; db_1 is an update (both sides),
    //   db_2 a create.
    // prior    = 6 × 4.596 + 12.985                      = 27.576 + 12.985 = 40.561
    // proposed = 6 × 4.596 + 6 × 3.796 + 2 × 12.985     = 27.576 + 22.776 + 25.97 = 76.322
    // delta    = 35.761
    assert_eq!(estimate.prior_monthly, usd("40.561"));
    assert_eq!(estimate.proposed_monthly, usd("76.322"));
    assert_eq!(estimate.delta_monthly(), usd("35.761"));

    let kept = resource(
        &estimate,
        "module.instances.aws_instance.module_instance_named[\"test.1\"]",
    );
    assert_eq!(
        (kept.action, kept.prior_monthly, kept.proposed_monthly),
        (ChangeAction::NoOp, Some(usd("4.596")), Some(usd("4.596")))
    );
    let created = resource(&estimate, "aws_instance.instance_counted[1]");
    assert_eq!(
        (
            created.action,
            created.prior_monthly,
            created.proposed_monthly
        ),
        (ChangeAction::Create, None, Some(usd("3.796")))
    );
    assert!(
        created
            .unpriced_parts
            .iter()
            .any(|part| part.component == "root volume"
                && part.problem.reason == UnpricedReason::UnknownUntilApply)
    );
    let database = resource(
        &estimate,
        "module.db.module.db_1.module.db_instance.aws_db_instance.this[0]",
    );
    assert_eq!(
        (database.action, database.region.as_deref()),
        (ChangeAction::Update, Some("us-east-1"))
    );
    assert_eq!(database.delta_monthly(), Micros::ZERO);

    // IAM roles, option/parameter/subnet groups, default VPCs, random values: free.
    // Data sources are ignored. Nothing unpriced.
    assert!(estimate.unpriced.is_empty(), "{:#?}", estimate.unpriced);
    assert_eq!(
        estimate
            .resources
            .iter()
            .filter(|resource| !resource.free)
            .count(),
        14
    );
    assert!(
        !estimate
            .resources
            .iter()
            .any(|resource| resource.address.contains("data."))
    );
}

#[test]
fn infracost_azure_firewall_plan() {
    let estimate = fixture("infracost-azure_firewall_plan.json");
    // azurerm_firewall in eastus: Premium 1.75 × 730 = 1277.50 (two: one in a virtual hub),
    // Standard in a virtual hub 1.25 × 730 = 912.50; a Standard public IP in westeurope
    // 0.005 × 730 = 3.65.  1277.50 × 2 + 912.50 + 3.65 = 3471.15
    assert_eq!(
        resource(&estimate, "azurerm_firewall.premium").proposed_monthly,
        Some(usd("1277.50"))
    );
    assert_eq!(
        resource(&estimate, "azurerm_firewall.standard_virtual_hub").proposed_monthly,
        Some(usd("912.50"))
    );
    assert_eq!(
        resource(&estimate, "azurerm_public_ip.example")
            .region
            .as_deref(),
        Some("westeurope")
    );
    assert_eq!(estimate.proposed_monthly, usd("3471.15"));
    // Two firewalls leave sku_tier to the provider (known only after apply), and the
    // virtual hub is not in the catalogue: listed with their reasons, never zero.
    let unpriced: Vec<(&str, UnpricedReason)> = estimate
        .unpriced
        .iter()
        .map(|u| (u.address.as_str(), u.problem.reason))
        .collect();
    assert_eq!(
        unpriced,
        [
            (
                "azurerm_firewall.non_usage",
                UnpricedReason::UnknownUntilApply
            ),
            (
                "azurerm_firewall.standard",
                UnpricedReason::UnknownUntilApply
            ),
            ("azurerm_virtual_hub.example", UnpricedReason::UnknownType),
        ]
    );
    assert!(estimate.unpriced[0].problem.detail.contains("sku_tier"));
    // Each of the five firewalls has a usage-based data-processing charge.
    assert_eq!(
        estimate
            .usage_based
            .iter()
            .filter(|usage| usage.resource_type == "azurerm_firewall")
            .count(),
        5
    );
}

#[test]
fn infracost_plan_with_target_resizes_an_instance() {
    let estimate = fixture("infracost-plan_with_target.json");
    // t3.micro → t3.small in us-east-1b, 10 GB gp2 root volume on both sides:
    // prior    0.0104 × 730 = 7.592  + 10 × 0.10 = 1.00 →  8.592
    // proposed 0.0208 × 730 = 15.184 + 1.00             → 16.184; delta 7.592
    assert_eq!(estimate.prior_monthly, usd("8.592"));
    assert_eq!(estimate.proposed_monthly, usd("16.184"));
    assert_eq!(estimate.delta_monthly(), usd("7.592"));
}

#[test]
fn each_action_counts_the_sides_it_has() {
    let small = json!({"instance_type": "t3.micro", "availability_zone": "us-east-1a"});
    let large = json!({"instance_type": "t3.large", "availability_zone": "us-east-1a"});
    let estimate = estimate_of(&plan(vec![
        change(
            "aws_instance.created",
            "aws_instance",
            &["create"],
            Value::Null,
            small.clone(),
        ),
        change(
            "aws_instance.deleted",
            "aws_instance",
            &["delete"],
            small.clone(),
            Value::Null,
        ),
        change(
            "aws_instance.updated",
            "aws_instance",
            &["update"],
            small.clone(),
            large.clone(),
        ),
        change(
            "aws_instance.replaced",
            "aws_instance",
            &["delete", "create"],
            small.clone(),
            large.clone(),
        ),
        change(
            "aws_instance.replaced_first",
            "aws_instance",
            &["create", "delete"],
            small.clone(),
            large.clone(),
        ),
        change(
            "aws_instance.kept",
            "aws_instance",
            &["no-op"],
            small.clone(),
            small.clone(),
        ),
        change(
            "aws_instance.forgotten",
            "aws_instance",
            &["forget"],
            small.clone(),
            Value::Null,
        ),
        change(
            "aws_instance.read",
            "aws_instance",
            &["read"],
            Value::Null,
            small.clone(),
        ),
    ]));
    // t3.micro 0.0104 × 730 = 7.592; t3.large 0.0832 × 730 = 60.736.
    let (micro, large_monthly) = (usd("7.592"), usd("60.736"));
    let sides: Vec<(&str, ChangeAction, Option<Micros>, Option<Micros>)> = estimate
        .resources
        .iter()
        .map(|r| {
            (
                r.address.as_str(),
                r.action,
                r.prior_monthly,
                r.proposed_monthly,
            )
        })
        .collect();
    assert_eq!(
        sides,
        [
            (
                "aws_instance.created",
                ChangeAction::Create,
                None,
                Some(micro)
            ),
            (
                "aws_instance.deleted",
                ChangeAction::Delete,
                Some(micro),
                None
            ),
            (
                "aws_instance.updated",
                ChangeAction::Update,
                Some(micro),
                Some(large_monthly)
            ),
            (
                "aws_instance.replaced",
                ChangeAction::Replace,
                Some(micro),
                Some(large_monthly)
            ),
            (
                "aws_instance.replaced_first",
                ChangeAction::Replace,
                Some(micro),
                Some(large_monthly)
            ),
            (
                "aws_instance.kept",
                ChangeAction::NoOp,
                Some(micro),
                Some(micro)
            ),
            (
                "aws_instance.forgotten",
                ChangeAction::Forget,
                Some(micro),
                None
            ),
        ]
    );
    // prior: 6 sides × 7.592 = 45.552; proposed: 7.592 × 2 + 60.736 × 3 = 197.392.
    assert_eq!(estimate.prior_monthly, usd("45.552"));
    assert_eq!(estimate.proposed_monthly, usd("197.392"));
    assert_eq!(estimate.to_json()["delta_monthly"], 151.84);
    assert_eq!(estimate.to_json()["delta_monthly_micros"], 151_840_000);
}

#[test]
fn data_sources_and_unknown_actions() {
    let mut data = change(
        "data.aws_instance.x",
        "aws_instance",
        &["read"],
        Value::Null,
        json!({"instance_type": "t3.micro"}),
    );
    data["mode"] = "data".into();
    let mut data_no_op = data.clone();
    data_no_op["change"]["actions"] = json!(["no-op"]);
    let strange = change(
        "aws_instance.strange",
        "aws_instance",
        &["delete", "update"],
        json!({}),
        json!({}),
    );
    let estimate = estimate_of(&plan(vec![data, data_no_op, strange]));
    assert!(estimate.resources.is_empty());
    assert_eq!(estimate.unpriced.len(), 1);
    assert_eq!(
        estimate.unpriced[0].problem.reason,
        UnpricedReason::UnknownAction
    );
    assert_eq!(estimate.unpriced[0].action, None);
}

#[test]
fn values_known_only_after_apply_make_a_resource_unpriced_never_zero() {
    let mut unknown_size = change(
        "aws_instance.x",
        "aws_instance",
        &["create"],
        Value::Null,
        json!({"availability_zone": "us-east-1a"}),
    );
    unknown_size["change"]["after_unknown"] = json!({"instance_type": true});
    // An update whose new size is unknown: neither side is counted, or the delta would lie.
    let mut unknown_update = change(
        "aws_db_instance.y",
        "aws_db_instance",
        &["update"],
        json!({"engine": "mysql", "instance_class": "db.t3.micro", "allocated_storage": 20}),
        json!({"engine": "mysql", "instance_class": "db.t3.micro"}),
    );
    unknown_update["change"]["after_unknown"] = json!({"allocated_storage": true});
    let estimate = estimate_of(&plan(vec![unknown_size, unknown_update]));
    assert_eq!(estimate.prior_monthly, Micros::ZERO);
    assert_eq!(estimate.proposed_monthly, Micros::ZERO);
    let reasons: Vec<(&str, UnpricedReason, &str)> = estimate
        .unpriced
        .iter()
        .map(|u| {
            (
                u.address.as_str(),
                u.problem.reason,
                u.problem.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "aws_instance.x",
                UnpricedReason::UnknownUntilApply,
                "instance_type is known only after apply"
            ),
            (
                "aws_db_instance.y",
                UnpricedReason::UnknownUntilApply,
                "allocated_storage is known only after apply"
            ),
        ]
    );
    assert_eq!(estimate.to_json()["counts"]["unpriced"], 2);
}

#[test]
fn every_reason_a_resource_is_unpriced_is_listed() {
    let mut no_region_plan = plan(vec![change(
        "aws_nat_gateway.somewhere",
        "aws_nat_gateway",
        &["create"],
        Value::Null,
        json!({}),
    )]);
    no_region_plan["configuration"]["provider_config"]["aws"]["expressions"]["region"] =
        json!({"references": ["var.region"]});
    let estimate = estimate_of(&no_region_plan);
    assert_eq!(
        estimate.unpriced[0].problem.reason,
        UnpricedReason::NoRegion
    );
    assert!(
        estimate.unpriced[0].problem.detail.contains("expression"),
        "{:?}",
        estimate.unpriced[0]
    );

    let estimate = estimate_of(&plan(vec![
        change(
            "aws_instance.unknown_size",
            "aws_instance",
            &["create"],
            Value::Null,
            json!({"instance_type": "x9.mega"}),
        ),
        change(
            "aws_instance.far_away",
            "aws_instance",
            &["create"],
            Value::Null,
            json!({"instance_type": "t3.micro", "availability_zone": "ap-south-2a"}),
        ),
        change(
            "aws_sagemaker_domain.new_kind",
            "aws_sagemaker_domain",
            &["create"],
            Value::Null,
            json!({}),
        ),
        change(
            "google_compute_instance.no_region",
            "google_compute_instance",
            &["create"],
            Value::Null,
            json!({"machine_type": "e2-micro"}),
        ),
        change(
            "google_sql_database_instance.mssql",
            "google_sql_database_instance",
            &["create"],
            Value::Null,
            json!({"region": "us-central1", "database_version": "SQLSERVER_2019_STANDARD", "settings": [{"tier": "db-custom-2-7680"}]}),
        ),
        change(
            "aws_instance.t3_micro",
            "aws_instance",
            &["create"],
            Value::Null,
            json!({"instance_type": "t3.micro"}),
        ),
    ]));
    let reasons: Vec<(&str, &str)> = estimate
        .unpriced
        .iter()
        .map(|u| (u.address.as_str(), u.problem.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("aws_instance.unknown_size", "unknown_sku"),
            ("aws_instance.far_away", "unknown_region"),
            ("aws_sagemaker_domain.new_kind", "unknown_type"),
            ("google_compute_instance.no_region", "no_region"),
            (
                "google_sql_database_instance.mssql",
                "unsupported_configuration"
            ),
        ]
    );
    assert!(estimate.unpriced[0].problem.detail.contains("x9.mega"));
    // Only the t3.micro is counted: 0.0104 × 730 = 7.592.
    assert_eq!(estimate.proposed_monthly, usd("7.592"));
    let json = estimate.to_json();
    assert_eq!(json["unpriced"][1]["reason"], "unknown_region");
    assert_eq!(json["unpriced"][1]["action"], "create");
}

#[test]
fn a_module_resource_takes_the_region_of_its_nearest_configured_provider() {
    let mut eks = change(
        "module.k8s.module.inner.aws_eks_cluster.main",
        "aws_eks_cluster",
        &["create"],
        Value::Null,
        json!({"name": "main"}),
    );
    eks["module_address"] = "module.k8s.module.inner".into();
    let mut in_root = change(
        "aws_eks_cluster.root",
        "aws_eks_cluster",
        &["create"],
        Value::Null,
        json!({"name": "root"}),
    );
    in_root["module_address"] = Value::Null;
    let mut plan = plan(vec![eks, in_root]);
    plan["configuration"]["provider_config"]["module.k8s:aws"] = json!({"name": "aws", "module_address": "module.k8s", "expressions": {"region": {"constant_value": "eu-west-1"}}});
    plan["configuration"]["provider_config"]["module.k8s.module.inner:aws"] =
        json!({"name": "aws", "module_address": "module.k8s.module.inner"});
    let estimate = estimate_of(&plan);
    let regions: Vec<Option<&str>> = estimate
        .resources
        .iter()
        .map(|r| r.region.as_deref())
        .collect();
    assert_eq!(regions, [Some("eu-west-1"), Some("us-east-1")]);
    // The EKS control plane is 0.10 per hour in both: 73.00 each.
    assert_eq!(estimate.proposed_monthly, usd("146"));
}

#[test]
fn a_plan_with_no_changes_costs_nothing_and_says_so() {
    let estimate = estimate_plan_json(br#"{"format_version": "1.2", "terraform_version": "1.15.5", "planned_values": {"root_module": {}}}"#).unwrap();
    let json = estimate.to_json();
    assert_eq!(json["prior_monthly"], 0.0);
    assert_eq!(json["proposed_monthly"], 0.0);
    assert_eq!(json["delta_monthly"], 0.0);
    assert_eq!(json["currency"], "USD");
    assert_eq!(json["resources"], json!([]));
    assert_eq!(json["unpriced"], json!([]));
    assert_eq!(json["usage_based"], json!([]));
}

#[test]
fn what_is_not_a_plan_is_an_error_not_an_empty_estimate() {
    assert!(matches!(
        estimate_plan_json(b"{"),
        Err(CostEstimateError::Plan(PlanReadError::NotJson(_)))
    ));
    for not_an_object in [&b"[\"1.2\", [], {}]"[..], b"42", b"\"plan\""] {
        assert!(
            matches!(
                estimate_plan_json(not_an_object),
                Err(CostEstimateError::Plan(PlanReadError::NotAnObject))
            ),
            "{}",
            String::from_utf8_lossy(not_an_object)
        );
    }
    assert!(matches!(
        estimate_plan_json(br#"{"format_version": "1.2", "format_version": "1.2"}"#),
        Err(CostEstimateError::Plan(PlanReadError::Shape(_)))
    ));
    assert!(matches!(
        estimate_plan_json(br#"{"version": 4, "serial": 1, "resources": []}"#),
        Err(CostEstimateError::Plan(PlanReadError::NoFormatVersion))
    ));
}

#[test]
fn counts_factors_tiers_and_variants() {
    let azure = |address: &str, resource_type: &str, after: Value| {
        let mut change = change(address, resource_type, &["create"], Value::Null, after);
        change["provider_name"] = "registry.terraform.io/hashicorp/azurerm".into();
        change
    };
    let estimate = estimate_of(&plan(vec![
        // Multi-AZ doubles instance and storage: (0.018 × 730 + 100 × 0.115) × 2 = (13.14 + 11.50) × 2 = 49.28
        change(
            "aws_db_instance.pg",
            "aws_db_instance",
            &["create"],
            Value::Null,
            json!({"engine": "postgres", "instance_class": "db.t3.micro", "allocated_storage": 100, "storage_type": "gp2", "multi_az": true}),
        ),
        // Three cache nodes: 0.017 × 730 × 3 = 37.23
        change(
            "aws_elasticache_cluster.c",
            "aws_elasticache_cluster",
            &["create"],
            Value::Null,
            json!({"node_type": "cache.t3.micro", "num_cache_nodes": 3}),
        ),
        // 100 GB Premium SSD is billed as P10 (128 GB): 19.71 a month.
        azure(
            "azurerm_managed_disk.d",
            "azurerm_managed_disk",
            json!({"location": "East US", "storage_account_type": "Premium_LRS", "disk_size_gb": 100}),
        ),
        // The legacy VM resource: Windows when it has a Windows profile (0.188 × 730 = 137.24), else Linux (0.096 × 730 = 70.08).
        azure(
            "azurerm_virtual_machine.win",
            "azurerm_virtual_machine",
            json!({"location": "eastus", "vm_size": "Standard_D2s_v3", "os_profile_windows_config": [{"provision_vm_agent": true}]}),
        ),
        azure(
            "azurerm_virtual_machine.linux",
            "azurerm_virtual_machine",
            json!({"location": "eastus", "vm_size": "Standard_D2s_v3", "os_profile_linux_config": [{}], "os_profile_windows_config": []}),
        ),
        // 5 GB Memorystore Basic falls in band M2: 5 × 0.027 × 730 = 98.55
        change(
            "google_redis_instance.r",
            "google_redis_instance",
            &["create"],
            Value::Null,
            json!({"region": "us-central1", "tier": "BASIC", "memory_size_gb": 5}),
        ),
        // PostgreSQL flexible server, 32 GiB = 32768 MB: 0.0207 × 730 + 32 × 0.115 = 15.111 + 3.68 = 18.791
        azure(
            "azurerm_postgresql_flexible_server.p",
            "azurerm_postgresql_flexible_server",
            json!({"location": "eastus", "sku_name": "B_Standard_B1ms", "storage_mb": 32768}),
        ),
    ]));
    let monthly = |address: &str| resource(&estimate, address).proposed_monthly.unwrap();
    assert_eq!(monthly("aws_db_instance.pg"), usd("49.28"));
    assert_eq!(monthly("aws_elasticache_cluster.c"), usd("37.23"));
    assert_eq!(monthly("azurerm_managed_disk.d"), usd("19.71"));
    assert_eq!(
        resource(&estimate, "azurerm_managed_disk.d")
            .region
            .as_deref(),
        Some("eastus")
    );
    assert_eq!(monthly("azurerm_virtual_machine.win"), usd("137.24"));
    assert_eq!(monthly("azurerm_virtual_machine.linux"), usd("70.08"));
    assert_eq!(monthly("google_redis_instance.r"), usd("98.55"));
    assert_eq!(
        monthly("azurerm_postgresql_flexible_server.p"),
        usd("18.791")
    );
    assert!(estimate.unpriced.is_empty(), "{:#?}", estimate.unpriced);
    // The total is exactly the sum of the lines.
    let sum = estimate
        .resources
        .iter()
        .map(|r| r.proposed_monthly.unwrap().0)
        .sum::<i64>();
    assert_eq!(estimate.proposed_monthly.0, sum);
}

#[test]
fn the_json_shape_is_stable() {
    let estimate = estimate_of(&plan(vec![
        change("aws_eip.ip", "aws_eip", &["create"], Value::Null, json!({})),
        change(
            "aws_lambda_function.f",
            "aws_lambda_function",
            &["create"],
            Value::Null,
            json!({}),
        ),
        change(
            "aws_iam_role.r",
            "aws_iam_role",
            &["create"],
            Value::Null,
            json!({}),
        ),
    ]));
    let json = estimate.to_json();
    let keys = |value: &Value| {
        value
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&json),
        [
            "catalogue_date",
            "counts",
            "currency",
            "delta_monthly",
            "delta_monthly_micros",
            "prior_monthly",
            "prior_monthly_micros",
            "proposed_monthly",
            "proposed_monthly_micros",
            "resources",
            "unpriced",
            "usage_based"
        ]
    );
    assert_eq!(
        json["counts"],
        json!({"priced": 1, "free": 1, "partially_priced": 0, "unpriced": 0, "usage_based": 2})
    );
    // 0.005 × 730 = 3.65
    assert_eq!(
        json["resources"][0],
        json!({
            "address": "aws_eip.ip", "type": "aws_eip", "action": "create", "region": "us-east-1", "free": false,
            "prior_monthly": null, "proposed_monthly": 3.65, "delta_monthly": 3.65,
            "prior_monthly_micros": null, "proposed_monthly_micros": 3_650_000, "delta_monthly_micros": 3_650_000,
            "components": [{"name": "public IPv4 address", "unit": "hour", "unit_price": "0.005", "quantity": "1",
                            "monthly": 3.65, "monthly_micros": 3_650_000, "price_table": "aws_public_ipv4_hour", "assumptions": []}],
            "unpriced_parts": []
        })
    );
    assert_eq!(json["resources"][1]["free"], true);
    assert_eq!(
        json["usage_based"][0],
        json!({"address": "aws_lambda_function.f", "type": "aws_lambda_function", "action": "create",
               "name": "requests", "unit": "1M requests", "unit_price": "0.20", "note": null})
    );
}
