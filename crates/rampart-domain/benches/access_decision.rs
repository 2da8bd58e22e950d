//! Access decisions at scale: 10 000 role assignments and 1 000 user groups over 10
//! organisations × 10 projects, 5 000 users each in 3 groups. Times single decisions
//! (random principal, permission and resource) and reports p50/p99/max, since the goal is
//! a tail latency (p99 ≤ 5 µs per decision).
//!
//! Run: `cargo bench -p rampart-domain --bench access_decision`

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::hint::black_box;
use std::time::Instant;

use rampart_domain::platform::access::{
    AccessIndex, BuiltinRole, EffectiveAssignment, Grantee, ResourceGroupSpec, ResourceRef,
    ResourceSelector,
};
use rampart_domain::platform::identity::PrincipalId;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{OrgId, Permission, ProjectId, UserId};

/// A small deterministic generator (xorshift), so every run measures the same data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A distinct UUID per (kind, n).
fn id(kind: u8, n: usize) -> uuid::Uuid {
    uuid::Uuid::from_u128((u128::from(kind) << 64) | n as u128)
}

fn main() {
    const ASSIGNMENTS: usize = 10_000;
    const GROUPS: usize = 1_000;
    const USERS: usize = 5_000;
    const DECISIONS: usize = 200_000;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let orgs: Vec<OrgId> = (0..10).map(|n| OrgId::from_uuid(id(1, n))).collect();
    let scopes: Vec<Scope> = (0..100)
        .map(|n| Scope::Project(orgs[n / 10], ProjectId::from_uuid(id(2, n))))
        .collect();
    let users: Vec<PrincipalId> = (0..USERS)
        .map(|n| PrincipalId::User(UserId::from_uuid(id(3, n))))
        .collect();
    let groups: Vec<uuid::Uuid> = (0..GROUPS)
        .map(|n| uuid::Uuid::from_u128(n as u128 + 1))
        .collect();
    let roles = [
        BuiltinRole::Viewer,
        BuiltinRole::User,
        BuiltinRole::ProjectAdmin,
    ];
    let kinds = ["incident", "workspace", "service", "slo", "runbook"];

    let assignments: Vec<EffectiveAssignment> = (0..ASSIGNMENTS)
        .map(|n| {
            let scope = match rng.below(10) {
                0 => Scope::Org(orgs[rng.below(10)]),
                _ => scopes[rng.below(100)],
            };
            let grantee = if rng.below(2) == 0 {
                Grantee::Principal(users[rng.below(USERS)])
            } else {
                Grantee::Group(groups[rng.below(GROUPS)])
            };
            let selector = match rng.below(3) {
                0 => ResourceSelector::Types {
                    kinds: vec![kinds[rng.below(5)].to_owned()],
                    include_children: true,
                },
                _ => ResourceSelector::All {
                    include_children: true,
                },
            };
            let role = match scope {
                Scope::Org(_) => [BuiltinRole::Viewer, BuiltinRole::User][rng.below(2)],
                _ => roles[rng.below(3)],
            };
            EffectiveAssignment {
                id: uuid::Uuid::from_u128(1_000_000 + n as u128),
                grantee,
                scope,
                permissions: role.permissions(),
                resources: ResourceGroupSpec { scope, selector },
            }
        })
        .collect();
    let memberships: Vec<(uuid::Uuid, PrincipalId)> = users
        .iter()
        .flat_map(|user| {
            (0..3)
                .map(|_| (groups[rng.below(GROUPS)], *user))
                .collect::<Vec<_>>()
        })
        .collect();
    let build_started = Instant::now();
    let index = AccessIndex::new(assignments, memberships);
    let build = build_started.elapsed();

    let queries: Vec<(PrincipalId, Permission, ResourceRef)> = (0..DECISIONS)
        .map(|_| {
            let permission = Permission::ALL[rng.below(Permission::ALL.len())];
            let scope = scopes[rng.below(100)];
            (
                users[rng.below(USERS)],
                permission,
                ResourceRef::in_scope(scope, permission),
            )
        })
        .collect();
    // Warm up.
    for (principal, permission, resource) in queries.iter().take(10_000) {
        black_box(index.decide(*principal, *permission, resource));
    }
    let mut nanos: Vec<u64> = Vec::with_capacity(DECISIONS);
    let mut allowed = 0usize;
    for (principal, permission, resource) in &queries {
        let started = Instant::now();
        let decision = black_box(index.decide(*principal, *permission, black_box(resource)));
        nanos.push(started.elapsed().as_nanos() as u64);
        allowed += usize::from(decision.allowed);
    }
    nanos.sort_unstable();
    let at = |q: f64| nanos[((nanos.len() as f64 - 1.0) * q) as usize];
    println!(
        "access decision: {ASSIGNMENTS} assignments, {GROUPS} groups, {USERS} users; {DECISIONS} decisions ({allowed} allowed)"
    );
    println!("index build: {:.1} ms", build.as_secs_f64() * 1e3);
    println!(
        "per decision: p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
        at(0.50),
        at(0.99),
        at(0.999),
        nanos[nanos.len() - 1]
    );
}
