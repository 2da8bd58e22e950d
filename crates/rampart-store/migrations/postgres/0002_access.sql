-- Access control: user groups, custom roles, resource groups, role assignments.
-- `scope_key` is 'account', an organisation id or a project id: the scope as one
-- non-null value, so that identifiers can be unique per scope on both engines.
CREATE TABLE user_groups (
    id TEXT PRIMARY KEY,
    org_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    scope_key TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope_key, identifier)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- Custom roles; the built-in roles live in code and are never stored.
CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    org_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    scope_key TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    -- Space-separated `resource:action` permissions.
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope_key, identifier)
);

-- Custom resource groups; "all resources in scope" is built in.
CREATE TABLE resource_groups (
    id TEXT PRIMARY KEY,
    org_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    scope_key TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    -- 'all' | 'types' | 'specific'
    selector_kind TEXT NOT NULL,
    include_children BIGINT NOT NULL,
    -- Space-separated types, or `type=id` pairs for 'specific'.
    selector_items TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope_key, identifier)
);

CREATE TABLE role_assignments (
    id TEXT PRIMARY KEY,
    org_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    scope_key TEXT NOT NULL,
    -- 'user' | 'group' | 'service_account'
    principal_kind TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    -- A built-in role identifier (`_viewer`, …) or a custom role id.
    role TEXT NOT NULL,
    -- NULL: the built-in "all resources in scope".
    resource_group_id TEXT REFERENCES resource_groups (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX role_assignments_principal ON role_assignments (principal_kind, principal_id);
CREATE INDEX role_assignments_scope ON role_assignments (scope_key);
