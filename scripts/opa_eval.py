#!/usr/bin/env python3
"""The reference answer: what the real OPA decides for a set of Rego modules and plans.

Runs OPA in-process through PyPI's opa-golib-python-bindings (OPA's Go library behind
ctypes; scripts/install-test-deps.sh unpacks it into target/test-deps/opa). Used by the
policy differential test (crates/rampart-cli/tests/integration/iacm/policy_engine.rs) and
the policy benchmark (crates/rampart-policy/benches/policy_eval.rs).

    opa_eval.py [--input-shape hcp|plan] [--rampart BIN] POLICY_DIR PLAN.json…

    --rampart BIN: give the hcp shape the plan's cost estimate as input.cost, from
    `BIN cost estimate --output json PLAN` (what `rampart policy eval` adds itself)
        prints {"PLAN.json": {"modules": [{"path", "package", "deny", "warn"}]}, …}
        in the form of `rampart policy eval --output json` (messages sorted; a message
        that is not a string is compact JSON with sorted keys; `true` is one message
        naming the rule).
    opa_eval.py --bench N [--input-shape hcp|plan] POLICY_DIR PLAN.json
        evaluates every module N times (one query over the modules' common package root,
        so the input crosses into Go once per evaluation, as in a server) and prints
        {"evaluations": N, "median_ms": …, "p90_ms": …, "min_ms": …}.
"""

import json
import os
import subprocess
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "target", "test-deps", "opa"))

from opa_bindings import OpaEngine, OpaUndefinedError  # noqa: E402

PACKAGE = re.compile(r"^package\s+([A-Za-z0-9_.]+)", re.MULTILINE)


def rego_files(root):
    """The .rego files under root, as `rampart policy eval` finds them (sorted walk,
    _test.rego skipped)."""
    if os.path.isfile(root):
        return [root]
    found = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if os.path.isdir(path):
            found.extend(rego_files(path))
        elif name.endswith(".rego") and not name.endswith("_test.rego"):
            found.append(path)
    return found


def build_input(shape, plan, cost=None):
    # The same documents as rampart_policy::build_input with no context: the hcp shape
    # carries the plan's cost estimate as input.cost when one is given.
    if shape != "hcp":
        return plan
    document = {"plan": plan}
    if cost is not None:
        document["cost"] = cost
    return document


def cost_of(rampart, plan_path):
    # The estimate `rampart policy eval` adds by itself, from `rampart cost estimate`.
    if rampart is None:
        return None
    output = subprocess.run(
        [rampart, "cost", "estimate", "--output", "json", plan_path],
        check=True, capture_output=True, text=True,
    )
    return json.loads(output.stdout)


def message_text(value):
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def messages(value, rule):
    if value is None or value is False:
        return []
    if value is True:
        return [f"{rule} is true"]
    if isinstance(value, list):
        return sorted(message_text(item) for item in value)
    return [message_text(value)]


def load(files):
    engine = OpaEngine()
    modules = []
    for path in files:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        engine.add_policy(path, source)
        modules.append((path, PACKAGE.search(source).group(1)))
    return engine, modules


def document(engine, path, input_document):
    try:
        return engine.eval_document(path, input_document)
    except OpaUndefinedError:
        return None


def decide(engine, modules, input_document):
    report = []
    for path, package in modules:
        deny = document(engine, f"{package}.deny", input_document)
        warn = document(engine, f"{package}.warn", input_document)
        report.append({
            "path": path,
            "package": package,
            "deny": messages(deny, f"data.{package}.deny"),
            "warn": messages(warn, f"data.{package}.warn"),
        })
    return {"modules": report}


def common_root(packages):
    parts = [package.split(".") for package in packages]
    root = []
    for segment in zip(*parts):
        if len(set(segment)) != 1:
            break
        root.append(segment[0])
    return ".".join(root)


def main(argv):
    shape = "hcp"
    bench = 0
    rampart = None
    args = []
    iterator = iter(argv)
    for arg in iterator:
        if arg == "--input-shape":
            shape = next(iterator)
        elif arg == "--bench":
            bench = int(next(iterator))
        elif arg == "--rampart":
            rampart = next(iterator)
        else:
            args.append(arg)
    if len(args) < 2 or shape not in ("hcp", "plan"):
        print(__doc__, file=sys.stderr)
        return 2
    engine, modules = load(rego_files(args[0]))
    plans = args[1:]
    if bench:
        with open(plans[0], encoding="utf-8") as handle:
            input_document = build_input(shape, json.load(handle))
        root = common_root([package for _, package in modules])
        document(engine, root, input_document)  # warm-up: OPA prepares the query
        timings = []
        for _ in range(bench):
            started = time.perf_counter()
            document(engine, root, input_document)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        print(json.dumps({
            "evaluations": bench,
            "median_ms": round(statistics.median(timings), 3),
            "p90_ms": round(timings[int(len(timings) * 0.9) - 1], 3),
            "min_ms": round(timings[0], 3),
        }))
        return 0
    results = {}
    for plan_path in plans:
        with open(plan_path, encoding="utf-8") as handle:
            plan = json.load(handle)
        cost = cost_of(rampart, plan_path) if shape == "hcp" else None
        results[plan_path] = decide(engine, modules, build_input(shape, plan, cost))
    print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
