//! Calls to functions that do not exist, found when a policy set is prepared.
//!
//! regorus 0.14.1 resolves a called name only when the call is evaluated, so a module
//! calling `http.send` (left out of the build: no network), `net.lookup_ip_addr` or a
//! misspelt `sprintff` would compile and fail at its first evaluation ("could not find
//! function"). OPA refuses such a module at compile time; so does Rampart, with
//! [`find_unknown_call`] over the parsed modules of a set.
//!
//! Every call expression of every rule is visited (heads, bodies, `else` bodies, default
//! values, comprehensions, `every`, `some … in`, `with` modifiers), and its name is
//! resolved as regorus' interpreter resolves it when it calls it
//! (`Interpreter::eval_call_impl` in 0.14.1), in the same order:
//! 1. a leading import alias of the caller's package is replaced by the import's target
//!    when that target is a function (or a default function) of the set;
//! 2. a name replaced by a `with` modifier;
//! 3. a function rule of the set: the name as written when it starts with `data.`,
//!    otherwise under the caller's package;
//! 4. a default rule (regorus indexes every prefix of a default rule's path);
//! 5. an extension ([`crate::range::EXTENSION_NAMES`]), `print`, a builtin of the build
//!    (`regorus::unstable::BUILTINS`).
//!
//! A name found by none of these is exactly one whose call would fail with "could not find
//! function". Where regorus' rule is not reproduced exactly, the check accepts more, never
//! less: a `with` target counts in every package, a call whose function is not a plain
//! path (which regorus refuses when it evaluates it) is left to the evaluation.

use std::collections::{BTreeMap, BTreeSet};

use regorus::unstable::{BUILTINS, Expr, Literal, Module, Query, Ref, Rule, RuleHead};
use regorus::utils::{FunctionTable, gather_functions, get_path_string};

/// A call to a function that no module, builtin or extension defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownCall {
    /// The module's path, as given to the engine.
    pub(crate) path: String,
    /// Where the call starts, 1-based.
    pub(crate) line: u32,
    pub(crate) column: u32,
    /// The function's name as written (`http.send`, `lib.f`).
    pub(crate) name: String,
}

impl UnknownCall {
    /// What the policy author reads.
    pub(crate) fn message(&self) -> String {
        // OPA's builtins that reach the network, left out of the build on purpose.
        let network = matches!(self.name.as_str(), "http.send" | "net.lookup_ip_addr");
        if network {
            format!(
                "unknown function {} (network builtins are not available)",
                self.name
            )
        } else {
            format!("unknown function {}", self.name)
        }
    }
}

/// The first call to an unknown function in `modules` (the engine's parsed modules, which
/// must have compiled), in the order of `paths` (the modules' paths as given), then of
/// lines and columns; `None` when every call resolves.
pub(crate) fn find_unknown_call(
    modules: &[Ref<Module>],
    paths: &[&str],
) -> anyhow::Result<Option<UnknownCall>> {
    let known = KnownFunctions::of(modules)?;
    let mut unknown = Vec::new();
    for module in modules {
        let package = get_path_string(&module.package.refr, Some("data"))?;
        for_each_call(module, |function| {
            // A function that is not a plain path cannot be resolved by regorus either;
            // its evaluation says so.
            let Ok(name) = get_path_string(function, None) else {
                return;
            };
            if !known.resolves(&package, function, &name) {
                let span = name_start(function).span();
                unknown.push(UnknownCall {
                    path: span.source.file().clone(),
                    line: span.line,
                    column: span.col,
                    name,
                });
            }
        });
    }
    let order = |call: &UnknownCall| {
        let module = paths
            .iter()
            .position(|path| *path == call.path)
            .unwrap_or(usize::MAX);
        (module, call.line, call.column)
    };
    Ok(unknown.into_iter().min_by_key(order))
}

/// What a called name can resolve to in a set of modules.
struct KnownFunctions {
    /// Function rules by full path (`data.lib.f`), as regorus gathers them.
    functions: FunctionTable,
    /// Full paths of default rules, and whether each is a function's.
    default_rules: Vec<(String, bool)>,
    /// Import targets (`data.lib`) by package (`data.p`) and alias (`lib`).
    imports: BTreeMap<(String, String), String>,
    /// Names replaced by a `with` modifier somewhere in the set: as written, through the
    /// modifier's package imports, and under its package.
    with_targets: BTreeSet<String>,
}

impl KnownFunctions {
    fn of(modules: &[Ref<Module>]) -> anyhow::Result<KnownFunctions> {
        let mut known = KnownFunctions {
            functions: gather_functions(modules)?,
            default_rules: Vec::new(),
            imports: BTreeMap::new(),
            with_targets: BTreeSet::new(),
        };
        for module in modules {
            let package = get_path_string(&module.package.refr, Some("data"))?;
            for import in &module.imports {
                // The alias regorus keys an import by: `as`, else the last component.
                let alias = match (&import.r#as, import.refr.as_ref()) {
                    (Some(alias), _) => alias.text().to_owned(),
                    (None, Expr::RefDot { field, .. }) => field.0.text().to_owned(),
                    (None, Expr::RefBrack { index, .. }) => match index.as_ref() {
                        Expr::String { value, .. } => value.as_string()?.as_ref().to_owned(),
                        _ => continue,
                    },
                    _ => continue,
                };
                if let Ok(target) = get_path_string(&import.refr, None) {
                    known.imports.insert((package.clone(), alias), target);
                }
            }
            for rule in &module.policy {
                if let Rule::Default { refr, args, .. } = rule.as_ref()
                    && let Ok(path) = get_path_string(refr, Some(&package))
                {
                    known.default_rules.push((path, !args.is_empty()));
                }
            }
        }
        for module in modules {
            let package = get_path_string(&module.package.refr, Some("data"))?;
            for_each_with_target(module, |target| {
                let Ok(name) = get_path_string(target, None) else {
                    return;
                };
                if let Some(imported) = known.through_imports(&package, &name, |_| true) {
                    known.with_targets.insert(imported);
                }
                known.with_targets.insert(format!("{package}.{name}"));
                known.with_targets.insert(name);
            });
        }
        Ok(known)
    }

    /// Whether a call to `function` (written `name`) from a module of `package` finds
    /// something to call.
    fn resolves(&self, package: &str, function: &Expr, name: &str) -> bool {
        let name = self
            .through_imports(package, name, |target| {
                self.functions.contains_key(target) || self.is_default_function(target)
            })
            .unwrap_or_else(|| name.to_owned());
        if self.with_targets.contains(&name)
            || self.with_targets.contains(&format!("{package}.{name}"))
        {
            return true;
        }
        let full_path = if name.starts_with("data.") {
            name.clone()
        } else {
            format!("{package}.{name}")
        };
        if self.functions.contains_key(&full_path) {
            return true;
        }
        let in_package = get_path_string(function, Some(package)).unwrap_or_default();
        if self.is_default_rule_prefix(&name) || self.is_default_rule_prefix(&in_package) {
            return true;
        }
        crate::range::EXTENSION_NAMES.contains(&name.as_str())
            || name == "print"
            || BUILTINS.contains_key(name.as_str())
    }

    /// `name` with its leading import alias (of `package`) replaced by the import's
    /// target, when `accept` takes the result.
    fn through_imports(
        &self,
        package: &str,
        name: &str,
        accept: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let root_end = name.find(['.', '[']).unwrap_or(name.len());
        let (alias, rest) = name.split_at(root_end);
        if alias.is_empty() || alias == "data" {
            return None;
        }
        let target = self.imports.get(&(package.to_owned(), alias.to_owned()))?;
        let rewritten = format!("{target}{rest}");
        accept(&rewritten).then_some(rewritten)
    }

    fn is_default_function(&self, path: &str) -> bool {
        self.default_rules
            .iter()
            .any(|(rule, function)| *function && rule == path)
    }

    /// Whether `path` is the path of a default rule or a prefix of one (regorus indexes
    /// every prefix, and a call to one falls through to the default rules).
    fn is_default_rule_prefix(&self, path: &str) -> bool {
        !path.is_empty()
            && self.default_rules.iter().any(|(rule, _)| {
                rule.strip_prefix(path)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
    }
}

/// The first component of a function's name (`http` of `http.send`), where the name
/// starts: a call's span starts at its parenthesis, a reference's at its last dot.
fn name_start(mut function: &Expr) -> &Expr {
    while let Expr::RefDot { refr, .. } | Expr::RefBrack { refr, .. } = function {
        function = refr;
    }
    function
}

/// A node still to visit: the walk keeps its own stack, so deeply nested expressions
/// cannot exhaust the thread's.
enum Node<'a> {
    Expr(&'a Expr),
    Query(&'a Query),
}

/// Calls `visit` with the function (`http.send`) of every call expression in `module`.
fn for_each_call(module: &Module, mut visit: impl FnMut(&Expr)) {
    walk(module, |expr| {
        if let Expr::Call { fcn, .. } = expr {
            visit(fcn);
        }
    });
}

/// Calls `visit` with the target (`http.send` in `with http.send as …`) of every `with`
/// modifier in `module`.
fn for_each_with_target(module: &Module, mut visit: impl FnMut(&Expr)) {
    let mut pending: Vec<Node<'_>> = roots(module);
    while let Some(node) = pending.pop() {
        match node {
            Node::Expr(expr) => push_children(expr, &mut pending),
            Node::Query(query) => {
                for stmt in &query.stmts {
                    for modifier in &stmt.with_mods {
                        visit(&modifier.refr);
                    }
                }
                push_statements(query, &mut pending);
            }
        }
    }
}

/// Calls `visit` with every expression of `module`, each once.
fn walk(module: &Module, mut visit: impl FnMut(&Expr)) {
    let mut pending: Vec<Node<'_>> = roots(module);
    while let Some(node) = pending.pop() {
        match node {
            Node::Expr(expr) => {
                visit(expr);
                push_children(expr, &mut pending);
            }
            Node::Query(query) => push_statements(query, &mut pending),
        }
    }
}

/// The expressions and queries of `module`'s rules: heads, bodies (`else` ones included),
/// values, default values.
fn roots(module: &Module) -> Vec<Node<'_>> {
    let mut roots = Vec::new();
    for rule in &module.policy {
        match rule.as_ref() {
            Rule::Spec { head, bodies, .. } => {
                match head {
                    RuleHead::Compr { refr, assign, .. } => {
                        roots.push(Node::Expr(refr));
                        roots.extend(assign.iter().map(|assign| Node::Expr(&assign.value)));
                    }
                    RuleHead::Set { refr, key, .. } => {
                        roots.push(Node::Expr(refr));
                        roots.extend(key.iter().map(|key| Node::Expr(key)));
                    }
                    RuleHead::Func {
                        refr, args, assign, ..
                    } => {
                        roots.push(Node::Expr(refr));
                        roots.extend(args.iter().map(|arg| Node::Expr(arg)));
                        roots.extend(assign.iter().map(|assign| Node::Expr(&assign.value)));
                    }
                }
                for body in bodies {
                    roots.extend(body.assign.iter().map(|assign| Node::Expr(&assign.value)));
                    roots.push(Node::Query(&body.query));
                }
            }
            Rule::Default {
                refr, args, value, ..
            } => {
                roots.push(Node::Expr(refr));
                roots.extend(args.iter().map(|arg| Node::Expr(arg)));
                roots.push(Node::Expr(value));
            }
        }
    }
    roots
}

/// The expressions and queries of `query`'s statements, their `with` modifiers included.
fn push_statements<'a>(query: &'a Query, pending: &mut Vec<Node<'a>>) {
    for stmt in &query.stmts {
        match &stmt.literal {
            Literal::SomeVars { .. } => {}
            Literal::SomeIn {
                key,
                value,
                collection,
                ..
            } => {
                pending.extend(key.iter().map(|key| Node::Expr(key)));
                pending.push(Node::Expr(value));
                pending.push(Node::Expr(collection));
            }
            Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => {
                pending.push(Node::Expr(expr));
            }
            Literal::Every { domain, query, .. } => {
                pending.push(Node::Expr(domain));
                pending.push(Node::Query(query));
            }
        }
        for modifier in &stmt.with_mods {
            pending.push(Node::Expr(&modifier.refr));
            pending.push(Node::Expr(&modifier.r#as));
        }
    }
}

/// The sub-expressions and queries of `expr`.
fn push_children<'a>(expr: &'a Expr, pending: &mut Vec<Node<'a>>) {
    match expr {
        Expr::String { .. }
        | Expr::RawString { .. }
        | Expr::Number { .. }
        | Expr::Bool { .. }
        | Expr::Null { .. }
        | Expr::Var { .. } => {}
        Expr::Array { items, .. } | Expr::Set { items, .. } => {
            pending.extend(items.iter().map(|item| Node::Expr(item)));
        }
        Expr::Object { fields, .. } => {
            for (_, key, value) in fields {
                pending.push(Node::Expr(key));
                pending.push(Node::Expr(value));
            }
        }
        Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
            pending.push(Node::Expr(term));
            pending.push(Node::Query(query));
        }
        Expr::ObjectCompr {
            key, value, query, ..
        } => {
            pending.push(Node::Expr(key));
            pending.push(Node::Expr(value));
            pending.push(Node::Query(query));
        }
        Expr::Call { fcn, params, .. } => {
            pending.push(Node::Expr(fcn));
            pending.extend(params.iter().map(|param| Node::Expr(param)));
        }
        Expr::UnaryExpr { expr, .. } => pending.push(Node::Expr(expr)),
        Expr::RefDot { refr, .. } => pending.push(Node::Expr(refr)),
        Expr::RefBrack { refr, index, .. } => {
            pending.push(Node::Expr(refr));
            pending.push(Node::Expr(index));
        }
        Expr::BinExpr { lhs, rhs, .. }
        | Expr::BoolExpr { lhs, rhs, .. }
        | Expr::ArithExpr { lhs, rhs, .. }
        | Expr::AssignExpr { lhs, rhs, .. } => {
            pending.push(Node::Expr(lhs));
            pending.push(Node::Expr(rhs));
        }
        Expr::Membership {
            key,
            value,
            collection,
            ..
        } => {
            pending.extend(key.iter().map(|key| Node::Expr(key)));
            pending.push(Node::Expr(value));
            pending.push(Node::Expr(collection));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{
        PolicyError, PolicyInput, PolicyLimits, PolicyModule, PreparedPolicySet, RegoSyntax,
    };

    /// Modules as (path, source).
    type Sources<'a> = &'a [(&'a str, &'a str)];

    fn modules(sources: &[(&str, &str)]) -> Vec<PolicyModule> {
        sources
            .iter()
            .map(|(path, source)| PolicyModule {
                path: (*path).to_owned(),
                source: (*source).to_owned(),
            })
            .collect()
    }

    fn prepare(
        syntax: RegoSyntax,
        sources: &[(&str, &str)],
    ) -> Result<PreparedPolicySet, PolicyError> {
        PreparedPolicySet::prepare(syntax, &modules(sources), PolicyLimits::default())
    }

    /// The error of a one-module set, as the API shows it (`path:line:column: message`).
    fn refusal(source: &str) -> String {
        match prepare(RegoSyntax::V1, &[("p.rego", source)]) {
            Ok(_) => format!("prepared: {source}"),
            Err(error) => format!("{} {error}", error.code()),
        }
    }

    #[test]
    fn a_call_to_a_function_that_does_not_exist_is_refused_with_its_place() {
        // (module, the refusal). Each unknown call sits somewhere else in a rule.
        let cases: &[(&str, &str)] = &[
            (
                "package net\n\ndeny contains \"x\" if http.send({\"method\": \"get\", \"url\": \"http://x\"})\n",
                "policy_invalid p.rego:3:22: unknown function http.send (network builtins are not available)",
            ),
            (
                "package net\n\ndeny contains ip if {\n  some ip in net.lookup_ip_addr(\"example.com\")\n}\n",
                "policy_invalid p.rego:4:14: unknown function net.lookup_ip_addr (network builtins are not available)",
            ),
            (
                "package t\n\ndeny contains msg if {\n  some r in input.resources\n  msg := sprintff(\"%s\", [r.name])\n}\n",
                "policy_invalid p.rego:5:10: unknown function sprintff",
            ),
            // In a rule head, a function's body, an `else` body.
            (
                "package t\ndeny contains foo.bar(1) if true\n",
                "policy_invalid p.rego:2:15: unknown function foo.bar",
            ),
            (
                "package t\nf(x) := y if { y := upperr(x) }\ndeny contains f(\"a\") if true\n",
                "policy_invalid p.rego:2:21: unknown function upperr",
            ),
            (
                "package t\nlabel := \"a\" if { input.x } else := lowerr(\"B\")\ndeny contains label if true\n",
                "policy_invalid p.rego:2:37: unknown function lowerr",
            ),
            // Inside a comprehension inside `every`, and in `not`.
            (
                "package t\ndeny contains \"x\" if {\n  every r in input.rs {\n    count([n | some n in r.names; startswith(n, \"a\"); not is_fine(n)]) == 0\n  }\n}\n",
                "policy_invalid p.rego:4:59: unknown function is_fine",
            ),
            // In a `with` modifier's value.
            (
                "package t\nallow if input.x\ndeny contains \"x\" if { not allow with input as make_input(1) }\n",
                "policy_invalid p.rego:3:48: unknown function make_input",
            ),
            // An import whose target defines no such function, and a package's own name.
            (
                "package t\nimport data.lib\ndeny contains \"x\" if lib.missing(1)\n",
                "policy_invalid p.rego:3:22: unknown function lib.missing",
            ),
            (
                "package t\ndeny contains \"x\" if data.t.nothing(1)\n",
                "policy_invalid p.rego:2:22: unknown function data.t.nothing",
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(refusal(source), *expected, "{source}");
        }
    }

    #[test]
    fn the_first_unknown_call_of_a_set_is_named_in_the_modules_order() {
        let error = prepare(
            RegoSyntax::V1,
            &[
                ("a.rego", "package a\ndeny contains \"a\" if true\n"),
                (
                    "b.rego",
                    "package b\ndeny contains \"b\" if {\n  y(2)\n  x(1)\n}\n",
                ),
                ("c.rego", "package c\ndeny contains \"c\" if z(1)\n"),
            ],
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "b.rego:3:3: unknown function y");
        // Saving one module alone checks its calls too.
        let alone = PreparedPolicySet::validate_module(
            RegoSyntax::V0,
            &PolicyModule {
                path: "old.rego".to_owned(),
                source: "package old\ndeny[msg] { msg := concatt(\",\", input.xs) }\n".to_owned(),
            },
        )
        .unwrap_err();
        assert_eq!(alone.to_string(), "old.rego:2:20: unknown function concatt");
    }

    #[test]
    fn every_function_that_exists_is_accepted_and_called() {
        // (modules, the `deny` of the first module for the input below). Each set is
        // evaluated too: a call the check accepts is one regorus can make.
        let input = json!({"names": ["alpha", "beta"], "n": 3});
        let cases: &[(Sources, &[&str])] = &[
            // A function of the same package, in the same module and in another one.
            (
                &[
                    (
                        "a.rego",
                        "package t\nshout(s) := upper(s)\ndeny contains shout(n) if { some n in input.names; short(n) }\n",
                    ),
                    (
                        "b.rego",
                        "package t\nshort(s) if count(s) < 5\nwarn contains \"b\" if false\n",
                    ),
                ],
                &["BETA"],
            ),
            // Another package's function through data., through an import, an alias.
            (
                &[
                    (
                        "a.rego",
                        "package t\nimport data.lib\nimport data.lib.deep as d\ndeny contains data.lib.tag(n) if some n in input.names\ndeny contains lib.tag(\"x\") if true\ndeny contains d.twice(input.n) if true\n",
                    ),
                    (
                        "lib.rego",
                        "package lib\ntag(s) := concat(\":\", [\"tag\", s])\nwarn contains \"lib\" if false\n",
                    ),
                    (
                        "deep.rego",
                        "package lib.deep\ntwice(n) := sprintf(\"%d\", [n * 2])\nwarn contains \"deep\" if false\n",
                    ),
                ],
                &["6", "tag:alpha", "tag:beta", "tag:x"],
            ),
            // Builtins in comprehensions, `every`, `some … in`, a function with an output
            // argument, an `else`, a default function, the checked ranges, print.
            (
                &[(
                    "a.rego",
                    "package t\n\
                     default size(_) := \"none\"\n\
                     size(s) := \"small\" if count(s) < 5\n\
                     kind := \"many\" if { count(input.names) > 5 } else := lower(\"FEW\")\n\
                     deny contains msg if {\n\
                       every n in input.names { is_string(n); startswith(n, [p | some p in [\"a\", \"b\"]][_]) }\n\
                       some i in numbers.range(1, input.n)\n\
                       some j in numbers.range_step(0, 4, 2)\n\
                       print(\"i\", i)\n\
                       i == 2\n\
                       upper(\"x\", u)\n\
                       msg := sprintf(\"%s %s %s %d %d %s\", [kind, size(\"abcdefgh\"), size(\"ab\"), i, j, u])\n\
                     }\n",
                )],
                &[
                    "few none small 2 0 X",
                    "few none small 2 2 X",
                    "few none small 2 4 X",
                ],
            ),
            // `with` replacing a function of the set and a builtin.
            (
                &[(
                    "a.rego",
                    "package t\n\
                     f(x) := x + 1\n\
                     g(x) := x * 10\n\
                     now := time.now_ns()\n\
                     deny contains sprintf(\"%d\", [y]) if { y := f(1) with f as g }\n\
                     deny contains sprintf(\"%d\", [t]) if { t := now with time.now_ns as 7 }\n",
                )],
                &["10", "7"],
            ),
        ];
        for (sources, expected) in cases {
            let set = prepare(RegoSyntax::V1, sources)
                .unwrap_or_else(|error| panic!("{error} in {sources:?}"));
            let outcomes = set
                .evaluate(&PolicyInput::from_json(input.clone()))
                .unwrap_or_else(|error| panic!("{error} in {sources:?}"));
            assert_eq!(outcomes[0].deny, *expected, "{sources:?}");
        }
    }
}
