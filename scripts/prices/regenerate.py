#!/usr/bin/env python3
"""Regenerate the price catalogue compiled into Rampart from the providers' public price APIs.

    scripts/prices/regenerate.py [--date YYYY-MM-DD] [--only TABLE ...] [--dry-run]

Reads crates/rampart-domain/src/iacm/price_catalogue.json, keeps how each resource type
is priced (`resources`, `free_types`) and the keys and regions of every price table, and
replaces each table's prices with the current on-demand list prices in USD from:

- AWS Price List bulk API (public, no credentials):
  https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<service>/current/<region>/index.json
  (the EC2 region files are several hundred MB: expect minutes and a few GB of memory);
- Azure Retail Prices API (public, no credentials):
  https://prices.azure.com/api/retail/prices?$filter=...  (paginated by NextPageLink);
- Google Cloud Billing Catalog API: https://cloudbilling.googleapis.com/v1/services/<id>/skus
  (public prices, but the API wants an API key: set GOOGLE_API_KEY).

It then sets every table's `date` and the catalogue's `date` to --date (default: today,
UTC) and writes the file back, sorted as before, so `git diff` shows exactly which prices
moved. A key the provider no longer lists is reported and keeps its old price (so a
vanished SKU is a visible decision, not a silent removal); `--strict` makes that an error.

IMPORTANT: this script was written without network access (the build machines have
none) and has not been run end to end; the filters follow the providers' documented
schemas as of 2026-11. On its first real run, read the diff: a price that moves by more
than --max-change (default 30 %) is reported. The server and the CLI never need network:
the catalogue is compiled into the binary.

After regenerating: `cargo test -p rampart-domain cost_estimates` (the fixture tests pin
hand-computed figures; update their arithmetic comments when prices move) and commit the
catalogue with the tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "crates/rampart-domain/src/iacm/price_catalogue.json"
HOURS_PER_MONTH = Decimal(730)


def fetch_json(url: str) -> dict:
    request = urllib.request.Request(url, headers={"User-Agent": "rampart-prices/1"})
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 (fixed https hosts)
        return json.load(response)


def plain(price: Decimal) -> str:
    """A decimal as the catalogue writes it: no exponent, no trailing zeros (but "0")."""
    text = format(price.normalize(), "f")
    return text if text else "0"


# ---------------------------------------------------------------------------------------
# AWS: one region file per service; products filtered by attributes, prices from the
# OnDemand terms. The cache keeps each (service, region) file for the run.

_aws_cache: dict[tuple[str, str], dict] = {}


def aws_offer(service: str, region: str) -> dict:
    if (service, region) not in _aws_cache:
        url = f"https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{service}/current/{region}/index.json"
        print(f"  fetching {url}", file=sys.stderr)
        _aws_cache[(service, region)] = fetch_json(url)
    return _aws_cache[(service, region)]


def aws_prices(service: str, region: str, family: str, match, key_of, unit_suffix: str | None = None) -> dict[str, Decimal]:
    """Key → USD price of the products of `family` for which match(attributes) holds."""
    offer = aws_offer(service, region)
    on_demand = offer.get("terms", {}).get("OnDemand", {})
    prices: dict[str, Decimal] = {}
    for sku, product in offer.get("products", {}).items():
        attributes = product.get("attributes", {})
        if product.get("productFamily") != family or not match(attributes):
            continue
        key = key_of(attributes)
        if key is None:
            continue
        for term in on_demand.get(sku, {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                if unit_suffix and not dimension.get("unit", "").endswith(unit_suffix):
                    continue
                # Tiered dimensions (beginRange > 0) are later tiers: keep the first.
                if dimension.get("beginRange", "0") not in ("0", ""):
                    continue
                usd = Decimal(dimension.get("pricePerUnit", {}).get("USD", "0"))
                if usd > 0 or key not in prices:
                    prices[key] = usd
    return prices


EBS_TYPES = {"gp2": "gp2", "gp3": "gp3", "io1": "io1", "io2": "io2", "st1": "st1", "sc1": "sc1", "standard": "standard"}
RDS_ENGINES = {"MySQL": ["mysql"], "MariaDB": ["mariadb"], "PostgreSQL": ["postgres"]}
AURORA_ENGINES = {"Aurora MySQL": ["aurora", "aurora-mysql"], "Aurora PostgreSQL": ["aurora-postgresql"]}
RDS_STORAGE = {"General Purpose": "gp2", "General Purpose-GP3": "gp3", "Provisioned IOPS": "io1", "Magnetic": "standard"}
ELB_FAMILIES = {"Load Balancer-Application": "application", "Load Balancer-Network": "network", "Load Balancer-Gateway": "gateway", "Load Balancer": "classic"}


def aws_table(name: str, region: str) -> dict[str, Decimal]:
    if name == "aws_ec2_linux_on_demand":
        return aws_prices("AmazonEC2", region, "Compute Instance",
                          lambda a: a.get("operatingSystem") == "Linux" and a.get("tenancy") == "Shared"
                          and a.get("preInstalledSw") == "NA" and a.get("capacitystatus") == "Used"
                          and a.get("licenseModel") == "No License required",
                          lambda a: a.get("instanceType"), "Hrs")
    if name == "aws_ebs_storage":
        return aws_prices("AmazonEC2", region, "Storage", lambda a: a.get("volumeApiName") in EBS_TYPES,
                          lambda a: EBS_TYPES.get(a.get("volumeApiName", "")), "GB-Mo")
    if name == "aws_ebs_provisioned_iops":
        return aws_prices("AmazonEC2", region, "System Operation",
                          lambda a: a.get("group") == "EBS IOPS" and a.get("volumeApiName") in ("io1", "io2"),
                          lambda a: a.get("volumeApiName"), "IOPS-Mo")
    if name in ("aws_rds_instance_single_az", "aws_aurora_instance"):
        engines = RDS_ENGINES if name == "aws_rds_instance_single_az" else AURORA_ENGINES
        found = aws_prices("AmazonRDS", region, "Database Instance",
                           lambda a: a.get("deploymentOption") == "Single-AZ" and a.get("databaseEngine") in engines
                           and a.get("databaseEdition", "") in ("", "Standard")
                           and "IO Optimized" not in a.get("storage", ""),
                           lambda a: a.get("databaseEngine") + "|" + a.get("instanceType", ""), "Hrs")
        result = {}
        for key, price in found.items():
            engine, instance_class = key.split("|", 1)
            for alias in engines[engine]:
                result[f"{alias}/{instance_class}"] = price
        return result
    if name == "aws_rds_storage":
        return aws_prices("AmazonRDS", region, "Database Storage",
                          lambda a: a.get("deploymentOption") == "Single-AZ" and a.get("volumeType") in RDS_STORAGE
                          and a.get("databaseEngine") in ("MySQL", "Any"),
                          lambda a: RDS_STORAGE.get(a.get("volumeType", "")), "GB-Mo")
    if name == "aws_elb_hour":
        result = {}
        for family, key in ELB_FAMILIES.items():
            found = aws_prices("AWSELB", region, family, lambda a: a.get("usagetype", "").endswith("LoadBalancerUsage"),
                               lambda a: key, "Hrs")
            result.update(found)
        return result
    if name == "aws_nat_gateway_hour":
        return aws_prices("AmazonEC2", region, "NAT Gateway", lambda a: a.get("usagetype", "").endswith("NatGateway-Hours"),
                          lambda a: "*", "Hrs")
    if name == "aws_public_ipv4_hour":
        return aws_prices("AmazonVPC", region, "VPC Public IPv4 Address",
                          lambda a: "PublicIPv4:InUseAddress" in a.get("usagetype", ""), lambda a: "*", "Hrs")
    if name == "aws_elasticache_node":
        return aws_prices("AmazonElastiCache", region, "Cache Instance", lambda a: a.get("cacheEngine") == "Redis",
                          lambda a: a.get("instanceType"), "Hrs")
    if name == "aws_eks_cluster_hour":
        return aws_prices("AmazonEKS", region, "Compute", lambda a: a.get("usagetype", "").endswith("AmazonEKS-Hours:perCluster"),
                          lambda a: "*", "Hours")
    if name == "aws_kms_key_month":
        return aws_prices("awskms", region, "Encryption Key", lambda a: "KMS-Keys" in a.get("usagetype", ""), lambda a: "*")
    if name == "aws_secret_month":
        return aws_prices("AWSSecretsManager", region, "Secret", lambda a: True, lambda a: "*")
    if name == "aws_route53_zone_month":
        # Route 53 is global: one file, same price whatever the region key.
        return aws_prices("AmazonRoute53", "global", "DNS Zone", lambda a: True, lambda a: "*")
    raise KeyError(name)


# ---------------------------------------------------------------------------------------
# Azure Retail Prices API.

def azure_items(filter_text: str) -> list[dict]:
    url = "https://prices.azure.com/api/retail/prices?api-version=2023-01-01-preview&$filter=" + urllib.parse.quote(filter_text)
    items: list[dict] = []
    while url:
        page = fetch_json(url)
        items.extend(page.get("Items", []))
        url = page.get("NextPageLink")
    return [item for item in items if item.get("type") == "Consumption" and item.get("currencyCode", "USD") == "USD"]


def azure_hourly(items: list[dict], key_of) -> dict[str, Decimal]:
    prices: dict[str, Decimal] = {}
    for item in items:
        if item.get("unitOfMeasure") not in ("1 Hour", "1/Hour"):
            continue
        key = key_of(item)
        if key is not None:
            prices[key] = Decimal(str(item["retailPrice"]))
    return prices


def azure_vm(region: str, windows: bool) -> dict[str, Decimal]:
    items = azure_items(f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' and priceType eq 'Consumption'")
    def key_of(item):
        sku, product = item.get("skuName", ""), item.get("productName", "")
        if "Spot" in sku or "Low Priority" in sku or ("Windows" in product) != windows:
            return None
        return item.get("armSkuName")
    return azure_hourly(items, key_of)


DISK_TIER_SIZES = {"P1": 4, "P2": 8, "P3": 16, "P4": 32, "P6": 64, "P10": 128, "P15": 256, "P20": 512, "P30": 1024, "P40": 2048, "P50": 4096,
                   "E1": 4, "E2": 8, "E3": 16, "E4": 32, "E6": 64, "E10": 128, "E15": 256, "E20": 512, "E30": 1024, "E40": 2048, "E50": 4096,
                   "S4": 32, "S6": 64, "S10": 128, "S15": 256, "S20": 512, "S30": 1024, "S40": 2048, "S50": 4096}
DISK_FAMILIES = {"P": "Premium_LRS", "E": "StandardSSD_LRS", "S": "Standard_LRS"}


def azure_disk_tiers(region: str) -> dict[str, list[dict]]:
    items = azure_items(f"serviceName eq 'Storage' and armRegionName eq '{region}' and contains(meterName, 'LRS Disk')")
    tiers: dict[str, dict[int, Decimal]] = {}
    for item in items:
        match = re.fullmatch(r"([PES]\d+) LRS Disk", item.get("meterName", ""))
        if not match or item.get("unitOfMeasure") != "1/Month" or match.group(1) not in DISK_TIER_SIZES:
            continue
        tier = match.group(1)
        tiers.setdefault(DISK_FAMILIES[tier[0]], {})[DISK_TIER_SIZES[tier]] = Decimal(str(item["retailPrice"]))
    return {family: [{"up_to": size, "price": plain(price)} for size, price in sorted(sizes.items())] for family, sizes in tiers.items()}


def vcores(sku: str) -> int | None:
    match = re.search(r"_[A-Z]+(\d+)", sku)
    return int(match.group(1)) if match else None


def azure_table(name: str, region: str, keys: list[str]) -> dict[str, Decimal]:
    if name == "azure_vm_linux":
        return azure_vm(region, windows=False)
    if name == "azure_vm_windows":
        return azure_vm(region, windows=True)
    if name == "azure_aks_uptime_sla_hour":
        found = azure_hourly(azure_items(f"serviceName eq 'Azure Kubernetes Service' and armRegionName eq '{region}'"),
                             lambda item: {"Standard": "Standard", "Premium": "Premium"}.get(item.get("skuName", "")))
        found["Free"] = Decimal(0)
        if "Standard" in found:
            found["Paid"] = found["Standard"]
        return found
    if name == "azure_postgresql_flexible_compute":
        items = azure_items(f"serviceName eq 'Azure Database for PostgreSQL' and armRegionName eq '{region}' and contains(productName, 'Flexible Server')")
        result = {}
        for key in keys:
            # B-series is priced per instance (meterName "B1MS"); GP/MO per vCore of the series.
            tier, _, size = key.partition("_Standard_")
            for item in items:
                if item.get("unitOfMeasure") != "1 Hour":
                    continue
                meter = item.get("meterName", "").replace(" ", "").lower()
                if tier == "B" and meter == size.lower():
                    result[key] = Decimal(str(item["retailPrice"]))
                elif tier in ("GP", "MO") and meter == "vcore":
                    series = re.sub(r"^[A-Z](\d+)", "", size)  # D2ds_v4 → ds_v4
                    product = item.get("productName", "").replace(" ", "").lower()
                    if series.replace("_", "").lower() in product.replace("series", "") and vcores("_" + size):
                        result[key] = Decimal(str(item["retailPrice"])) * vcores("_" + size)
        return result
    if name == "azure_postgresql_flexible_storage":
        items = azure_items(f"serviceName eq 'Azure Database for PostgreSQL' and armRegionName eq '{region}' and contains(productName, 'Flexible Server') and meterName eq 'Storage Data Stored'")
        return {"*": Decimal(str(item["retailPrice"])) for item in items if item.get("unitOfMeasure") == "1 GB/Month"}
    if name == "azure_lb_hour":
        found = azure_hourly(azure_items(f"serviceName eq 'Load Balancer' and armRegionName eq '{region}'"),
                             lambda item: {"Standard Overage LB Rules and Outbound Rules": None}.get(item.get("meterName"), item.get("skuName")))
        found["Basic"] = Decimal(0)
        return {key: price for key, price in found.items() if key in ("Basic", "Standard", "Gateway")}
    if name == "azure_nat_gateway_hour":
        items = azure_items(f"serviceName eq 'Virtual Network' and armRegionName eq '{region}' and productName eq 'NAT Gateway'")
        return azure_hourly(items, lambda item: "*" if item.get("meterName") == "Standard Gateway" else None)
    if name == "azure_redis_cache_hour":
        items = azure_items(f"serviceName eq 'Redis Cache' and armRegionName eq '{region}'")
        def key_of(item):
            match = re.fullmatch(r"([CP])(\d+)(?: Cache)?(?: Instance)?", item.get("meterName", "").strip())
            tier = item.get("skuName", "").split(" ")[0]
            return f"{tier}/{match.group(1)}/{match.group(2)}" if match and tier in ("Basic", "Standard", "Premium") else None
        # The Retail API prices Standard/Premium per instance of the pair in some regions: check the diff.
        return azure_hourly(items, key_of)
    if name == "azure_firewall_hour":
        items = azure_items(f"serviceName eq 'Azure Firewall' and armRegionName eq '{region}'")
        return azure_hourly(items, lambda item: item.get("skuName") if item.get("meterName", "").endswith("Deployment") else None)
    if name == "azure_public_ip_hour":
        items = azure_items(f"serviceName eq 'Virtual Network' and armRegionName eq '{region}' and productName eq 'IP Addresses'")
        return azure_hourly(items, lambda item: {"Standard IPv4 Static Public IP": "Standard", "Basic IPv4 Static Public IP": "Basic"}.get(item.get("meterName")))
    raise KeyError(name)


# ---------------------------------------------------------------------------------------
# Google Cloud Billing Catalog API. Machine types are billed per vCPU and per GB of memory.

GCP_SERVICES = {"compute": "6F81-5844-456A", "sql": "9662-B51E-5089", "gke": "CCD8-9BF1-090E", "redis": "5AF5-2C11-D467"}
# vCPUs billed, GB of memory (e2 shared-core machines bill a fraction of a core).
MACHINE_SHAPES = {
    "e2-micro": ("e2", Decimal("0.25"), Decimal(1)), "e2-small": ("e2", Decimal("0.5"), Decimal(2)), "e2-medium": ("e2", Decimal(1), Decimal(4)),
    "e2-standard-2": ("e2", 2, 8), "e2-standard-4": ("e2", 4, 16), "e2-standard-8": ("e2", 8, 32), "e2-highmem-2": ("e2", 2, 16),
    "n1-standard-1": ("n1", 1, Decimal("3.75")), "n1-standard-2": ("n1", 2, Decimal("7.5")), "n1-standard-4": ("n1", 4, 15),
    "n2-standard-2": ("n2", 2, 8), "n2-standard-4": ("n2", 4, 16), "n2-standard-8": ("n2", 8, 32), "n2d-standard-2": ("n2d", 2, 8),
    "c2-standard-4": ("c2", 4, 16),
}
_gcp_cache: dict[str, list[dict]] = {}


def gcp_skus(service: str) -> list[dict]:
    if service not in _gcp_cache:
        key = os.environ.get("GOOGLE_API_KEY")
        if not key:
            raise SystemExit("GOOGLE_API_KEY is needed for the Cloud Billing Catalog API")
        skus, token = [], ""
        while True:
            page = fetch_json(f"https://cloudbilling.googleapis.com/v1/services/{GCP_SERVICES[service]}/skus?key={key}&currencyCode=USD&pageSize=5000&pageToken={token}")
            skus.extend(page.get("skus", []))
            token = page.get("nextPageToken", "")
            if not token:
                break
        _gcp_cache[service] = skus
    return _gcp_cache[service]


def gcp_unit_price(sku: dict) -> Decimal:
    rates = sku["pricingInfo"][0]["pricingExpression"]["tieredRates"]
    money = rates[-1]["unitPrice"] if len(rates) == 1 else rates[1]["unitPrice"]  # skip a free first tier
    return Decimal(money.get("units", "0")) + Decimal(money.get("nanos", 0)) / Decimal(10**9)


def gcp_find(service: str, region: str, pattern: str) -> Decimal | None:
    for sku in gcp_skus(service):
        if region in sku.get("serviceRegions", []) and sku.get("category", {}).get("usageType") == "OnDemand" \
                and re.search(pattern, sku.get("description", "")):
            return gcp_unit_price(sku)
    return None


def gcp_table(name: str, region: str, keys: list[str]) -> dict[str, Decimal]:
    result: dict[str, Decimal] = {}
    if name == "gcp_compute_machine_hour":
        for key in keys:
            if key in ("f1-micro", "g1-small"):
                price = gcp_find("compute", region, rf"^{'Micro' if key == 'f1-micro' else 'Small'} Instance with burstable CPU")
            elif key in MACHINE_SHAPES:
                family, cpus, memory = MACHINE_SHAPES[key]
                label = {"e2": "E2", "n1": "N1 Predefined", "n2": "N2", "n2d": "N2D AMD", "c2": "Compute optimized"}[family]
                core = gcp_find("compute", region, rf"^{label} Instance Core running")
                ram = gcp_find("compute", region, rf"^{label} Instance Ram running")
                price = core * Decimal(cpus) + ram * Decimal(memory) if core is not None and ram is not None else None
            else:
                price = None
            if price is not None:
                result[key] = price.quantize(Decimal("0.000001"))
        return result
    if name == "gcp_persistent_disk":
        for key, pattern in {"pd-standard": r"^Storage PD Capacity", "pd-balanced": r"^Balanced PD Capacity",
                             "pd-ssd": r"^SSD backed PD Capacity", "pd-extreme": r"^Extreme PD Capacity"}.items():
            price = gcp_find("compute", region, pattern)
            if price is not None:
                result[key] = price
        return result
    if name == "gcp_cloud_sql_storage":
        for key, pattern in {"PD_SSD": r"^Cloud SQL.*Zonal - Standard storage", "PD_HDD": r"^Cloud SQL.*Zonal - Low cost storage"}.items():
            price = gcp_find("sql", region, pattern)
            if price is not None:
                result[key] = price
        return result
    if name == "gcp_cloud_sql_instance_hour":
        shared = {"db-f1-micro": r"^DB custom CORE.*Micro|^Cloud SQL.*: Zonal - micro", "db-g1-small": r"^Cloud SQL.*: Zonal - small"}
        core = gcp_find("sql", region, r"^Cloud SQL for (MySQL|PostgreSQL): Zonal - vCPU")
        ram = gcp_find("sql", region, r"^Cloud SQL for (MySQL|PostgreSQL): Zonal - RAM")
        for key in keys:
            if key in shared:
                price = gcp_find("sql", region, shared[key])
            elif (match := re.fullmatch(r"db-custom-(\d+)-(\d+)", key)) and core is not None and ram is not None:
                price = core * int(match.group(1)) + ram * Decimal(match.group(2)) / 1024
            elif (match := re.fullmatch(r"db-n1-standard-(\d+)", key)) and core is not None and ram is not None:
                price = core * int(match.group(1)) + ram * Decimal("3.75") * int(match.group(1))
            else:
                price = None
            if price is not None:
                result[key] = price.quantize(Decimal("0.000001"))
        return result
    if name == "gcp_gke_cluster_hour":
        price = gcp_find("gke", region, r"^Regional Kubernetes Clusters|^Zonal Kubernetes Clusters")
        return {"*": price} if price is not None else {}
    if name == "gcp_external_ip_hour":
        price = gcp_find("compute", region, r"^External IP Charge on a Standard VM|^Static Ip Charge")
        return {"EXTERNAL": price, "INTERNAL": Decimal(0)} if price is not None else {}
    if name == "gcp_forwarding_rule_hour":
        price = gcp_find("compute", region, r"^Network Load Balancing: Forwarding Rule Minimum Service Charge")
        return {"*": price} if price is not None else {}
    raise KeyError(name)


def gcp_redis_tiers(region: str, old: dict[str, list[dict]]) -> dict[str, list[dict]]:
    new = {}
    for tier, bands in old.items():
        label = "Basic" if tier == "BASIC" else "Standard"
        updated = []
        for index, band in enumerate(bands, start=1):
            price = gcp_find("redis", region, rf"^Redis Capacity {label} M{index}\b")
            updated.append({"up_to": band["up_to"], "price": plain(price) if price is not None else band["price"]})
        new[tier] = updated
    return new


# ---------------------------------------------------------------------------------------

def regenerate(catalogue: dict, date: str, only: set[str], strict: bool, max_change: Decimal) -> list[str]:
    problems: list[str] = []
    for name, table in catalogue["price_tables"].items():
        if only and name not in only:
            continue
        print(f"{name}", file=sys.stderr)
        if "tiers" in table:
            for region, old in table["tiers"].items():
                fresh = azure_disk_tiers(region) if name.startswith("azure_") else gcp_redis_tiers(region, old)
                for key in sorted(set(old) - set(fresh)):
                    problems.append(f"{name} {region} {key}: not listed any more, old tiers kept")
                table["tiers"][region] = {**old, **fresh}
        else:
            for region, old_prices in table["regions"].items():
                keys = sorted(old_prices)
                if name.startswith("aws_"):
                    fetched = aws_table(name, region)
                elif name.startswith("azure_"):
                    fetched = azure_table(name, region, keys)
                else:
                    fetched = gcp_table(name, region, keys)
                for key in keys:
                    if key not in fetched:
                        problems.append(f"{name} {region} {key}: not listed any more, old price kept")
                        continue
                    old, new = Decimal(old_prices[key]), fetched[key]
                    if old and abs(new - old) / old > max_change:
                        problems.append(f"{name} {region} {key}: {old} → {new} (check the filter)")
                    old_prices[key] = plain(new)
        table["date"] = date
        # Prices now come from the API: a hand-made approximation note no longer applies.
        if "APPROXIMATE" in table.get("note", ""):
            kept = [part for part in table["note"].split("; ") if not part.startswith("APPROXIMATE")]
            if kept:
                table["note"] = "; ".join(kept)
            else:
                del table["note"]
    # Usage-based prices (`usage` of a resource) are reference prices kept by hand: their
    # `usage_date` moves only when someone has checked them.
    catalogue["date"] = date
    if strict and problems:
        raise SystemExit("\n".join(problems))
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--date", default=dt.datetime.now(dt.timezone.utc).date().isoformat())
    parser.add_argument("--only", nargs="*", default=[], help="regenerate only these price tables")
    parser.add_argument("--dry-run", action="store_true", help="print the new catalogue instead of writing it")
    parser.add_argument("--strict", action="store_true", help="fail when a key is no longer listed")
    parser.add_argument("--max-change", type=Decimal, default=Decimal("0.30"), help="report price moves beyond this fraction")
    args = parser.parse_args()
    catalogue = json.loads(CATALOGUE.read_text())
    problems = regenerate(catalogue, args.date, set(args.only), args.strict, args.max_change)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    text = json.dumps(catalogue, indent=1, ensure_ascii=False) + "\n"
    if args.dry_run:
        sys.stdout.write(text)
    else:
        CATALOGUE.write_text(text)
        print(f"wrote {CATALOGUE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
