-- A principal holds a role at a scope (over a resource group, or all resources) at most
-- once: granting it again answers 409 role_already_assigned instead of adding a
-- duplicate that revoking would only half undo. Duplicates made before this migration
-- are folded into the oldest assignment (the same rights; the others' ids disappear).
DELETE FROM role_assignments WHERE id IN (
    SELECT later.id FROM role_assignments later
    JOIN role_assignments earlier
      ON earlier.scope_key = later.scope_key
     AND earlier.principal_kind = later.principal_kind
     AND earlier.principal_id = later.principal_id
     AND earlier.role = later.role
     AND COALESCE(earlier.resource_group_id, '') = COALESCE(later.resource_group_id, '')
     AND (earlier.created_at < later.created_at
          OR (earlier.created_at = later.created_at AND earlier.id < later.id))
);
CREATE UNIQUE INDEX role_assignments_once ON role_assignments
    (scope_key, principal_kind, principal_id, role, COALESCE(resource_group_id, ''));
