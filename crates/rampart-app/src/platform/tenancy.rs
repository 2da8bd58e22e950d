//! Organisations and projects: create, list, read, update, delete (refused when not
//! empty unless forced by an account owner).

use rampart_domain::ErrorCode;
use rampart_domain::platform::tenancy::{Organization, Project, Scope};
use rampart_domain::{Description, Name, OrgId, Permission, ProjectId, Slug};
use rampart_store::{Page, StoreError};
use serde_json::json;

use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::{App, mint};

/// Input for a new organisation or project.
#[derive(Debug, Clone)]
pub struct NewScopeInput {
    pub identifier: String,
    pub name: String,
    pub description: Option<String>,
}

/// A partial update; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ScopePatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

impl ScopePatch {
    /// Applies the patch to a name and description; returns the fields that changed.
    pub(crate) fn apply(
        &self,
        name: &mut Name,
        description: &mut Description,
    ) -> AppResult<Vec<&'static str>> {
        let mut changed = Vec::new();
        if let Some(new_name) = &self.name {
            *name = Name::parse(new_name)?;
            changed.push("name");
        }
        if let Some(new_description) = &self.description {
            *description = Description::parse(new_description)?;
            changed.push("description");
        }
        Ok(changed)
    }
}

/// Forcing the delete of a non-empty container is for account admins only (not through
/// a token narrowed to a project).
fn check_force(ctx: &Ctx, what: &str) -> AppResult<()> {
    if !ctx.is_account_admin() {
        return Err(AppError::forbidden(
            ErrorCode::ForceRequiresAccountAdmin,
            format!("only an account admin may force-delete a non-empty {what}"),
        ));
    }
    Ok(())
}

/// A resolved scope from URL identifiers.
#[derive(Debug, Clone)]
pub enum ResolvedScope {
    Account,
    Org(Organization),
    Project(Organization, Project),
}

impl ResolvedScope {
    pub fn scope(&self) -> Scope {
        match self {
            ResolvedScope::Account => Scope::Account,
            ResolvedScope::Org(org) => Scope::Org(org.id),
            ResolvedScope::Project(org, project) => Scope::Project(org.id, project.id),
        }
    }
}

fn parse_slug(text: &str, field: &'static str) -> AppResult<Slug> {
    Slug::parse(text).map_err(|error| AppError::Invalid(error.for_field(field)))
}

fn duplicate(what: &'static str, identifier: &Slug) -> impl FnOnce(StoreError) -> AppError {
    let identifier = identifier.to_string();
    move |error| match error {
        StoreError::Conflict { .. } => AppError::conflict(
            ErrorCode::IdentifierTaken,
            format!("{what} identifier '{identifier}' is already in use"),
        ),
        other => other.into(),
    }
}

impl App {
    /// Resolves URL identifiers into a scope. An identifier that is not a valid slug
    /// cannot name anything, so it answers 404 like a missing one.
    pub async fn resolve_scope(
        &self,
        org: Option<&str>,
        project: Option<&str>,
    ) -> AppResult<ResolvedScope> {
        let Some(org_text) = org else {
            return Ok(ResolvedScope::Account);
        };
        let not_found_org = AppError::NotFound {
            what: "organization",
        };
        let org_slug = Slug::parse(org_text).map_err(|_| AppError::NotFound {
            what: "organization",
        })?;
        let organization = self
            .store()
            .org_by_identifier(&org_slug)
            .await?
            .ok_or(not_found_org)?;
        let Some(project_text) = project else {
            return Ok(ResolvedScope::Org(organization));
        };
        let project_slug =
            Slug::parse(project_text).map_err(|_| AppError::NotFound { what: "project" })?;
        let found = self
            .store()
            .project_by_identifier(organization.id, &project_slug)
            .await?
            .ok_or(AppError::NotFound { what: "project" })?;
        Ok(ResolvedScope::Project(organization, found))
    }

    pub async fn create_org(&self, ctx: &Ctx, input: NewScopeInput) -> AppResult<Organization> {
        let now = self.now();
        let org = Organization {
            id: mint(now, OrgId::mint)?,
            identifier: parse_slug(&input.identifier, "identifier")?,
            name: Name::parse(&input.name)?,
            description: Description::parse(input.description.as_deref().unwrap_or(""))?,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store().write().await?;
        tx.insert_org(&org)
            .await
            .map_err(duplicate("organization", &org.identifier))?;
        tx.commit(
            ctx.audit(now, "org.create", "org")
                .scope(Scope::Org(org.id))
                .resource_id(org.id)
                .details(json!({ "identifier": org.identifier.as_str() }))
                .build(),
        )
        .await?;
        Ok(org)
    }

    /// The organisations the caller can see.
    pub async fn list_orgs(
        &self,
        ctx: &Ctx,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Organization>> {
        let request = super::page_request(limit, cursor)?;
        let visible = |org: &Organization| {
            let scope = Scope::Org(org.id);
            crate::authorize(
                &ctx.actor,
                &ctx.access,
                crate::Access::Permission(Permission::OrgView),
                scope,
            )
            .is_ok()
        };
        super::filtered_page(
            request,
            |org| org.id.to_string(),
            visible,
            |page| async move { self.store().list_orgs(&page).await },
        )
        .await
    }

    pub async fn update_org(
        &self,
        ctx: &Ctx,
        mut org: Organization,
        patch: ScopePatch,
    ) -> AppResult<Organization> {
        let now = self.now();
        let changed = patch.apply(&mut org.name, &mut org.description)?;
        org.updated_at = now;
        let mut tx = self.store().write().await?;
        tx.update_org(&org).await?;
        tx.commit(
            ctx.audit(now, "org.update", "org")
                .scope(Scope::Org(org.id))
                .resource_id(org.id)
                .details(json!({ "changed": changed }))
                .build(),
        )
        .await?;
        Ok(org)
    }

    pub async fn delete_org(&self, ctx: &Ctx, org: &Organization, force: bool) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(org.id).await?;
        let contents = tx.org_content_count(org.id).await?;
        if contents > 0 && force {
            check_force(ctx, "organization")?;
        }
        if contents > 0 && !force {
            return Err(AppError::conflict(
                ErrorCode::OrgNotEmpty,
                format!(
                    "organization '{}' still holds {contents} projects or service accounts; \
                     delete them first or pass ?force=true",
                    org.identifier
                ),
            ));
        }
        tx.delete_org(org.id).await?;
        tx.commit(
            ctx.audit(now, "org.delete", "org")
                .scope(Scope::Org(org.id))
                .resource_id(org.id)
                .details(json!({ "identifier": org.identifier.as_str(), "forced": force, "contents": contents }))
                .build(),
        )
        .await?;
        Ok(())
    }

    pub async fn create_project(
        &self,
        ctx: &Ctx,
        org: &Organization,
        input: NewScopeInput,
    ) -> AppResult<Project> {
        let now = self.now();
        let project = Project {
            id: mint(now, ProjectId::mint)?,
            org_id: org.id,
            identifier: parse_slug(&input.identifier, "identifier")?,
            name: Name::parse(&input.name)?,
            description: Description::parse(input.description.as_deref().unwrap_or(""))?,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store().write().await?;
        tx.insert_project(&project)
            .await
            .map_err(duplicate("project", &project.identifier))?;
        tx.commit(
            ctx.audit(now, "project.create", "project")
                .scope(Scope::Project(org.id, project.id))
                .resource_id(project.id)
                .details(json!({ "identifier": project.identifier.as_str() }))
                .build(),
        )
        .await?;
        Ok(project)
    }

    /// The projects the caller holds `project:view` on, across organisations, at most
    /// `limit` (the web UI's home page: someone with a role on one project sees it there,
    /// though not its organisation's settings).
    pub async fn visible_projects(
        &self,
        ctx: &Ctx,
        limit: u32,
    ) -> AppResult<Vec<(Organization, Project)>> {
        let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut visible = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let request = super::page_request(Some(100), cursor.as_deref())?;
            let orgs = self.store().list_orgs(&request).await?;
            for org in orgs.items {
                let projects = self.list_projects(ctx, &org, Some(limit), None).await?;
                for project in projects.items {
                    visible.push((org.clone(), project));
                    if visible.len() >= wanted {
                        return Ok(visible);
                    }
                }
            }
            match orgs.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(visible),
            }
        }
    }

    /// The projects of `org` on which the caller holds `project:view`.
    pub async fn list_projects(
        &self,
        ctx: &Ctx,
        org: &Organization,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Project>> {
        let request = super::page_request(limit, cursor)?;
        let visible = |project: &Project| {
            let scope = Scope::Project(org.id, project.id);
            crate::authorize(
                &ctx.actor,
                &ctx.access,
                crate::Access::Permission(Permission::ProjectView),
                scope,
            )
            .is_ok()
        };
        let org_id = org.id;
        super::filtered_page(
            request,
            |project| project.id.to_string(),
            visible,
            |page| async move { self.store().list_projects(org_id, &page).await },
        )
        .await
    }

    pub async fn update_project(
        &self,
        ctx: &Ctx,
        mut project: Project,
        patch: ScopePatch,
    ) -> AppResult<Project> {
        let now = self.now();
        let changed = patch.apply(&mut project.name, &mut project.description)?;
        project.updated_at = now;
        let mut tx = self.store().write().await?;
        tx.update_project(&project).await?;
        tx.commit(
            ctx.audit(now, "project.update", "project")
                .scope(Scope::Project(project.org_id, project.id))
                .resource_id(project.id)
                .details(json!({ "changed": changed }))
                .build(),
        )
        .await?;
        Ok(project)
    }

    pub async fn delete_project(&self, ctx: &Ctx, project: &Project, force: bool) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_project(project.id).await?;
        let contents = tx.project_content_count(project.id).await?;
        if contents > 0 && force {
            check_force(ctx, "project")?;
        }
        if contents > 0 && !force {
            return Err(AppError::conflict(
                ErrorCode::ProjectNotEmpty,
                format!(
                    "project '{}' still holds {contents} service accounts or narrowed tokens; \
                     delete them first or pass ?force=true",
                    project.identifier
                ),
            ));
        }
        tx.delete_project(project.id).await?;
        tx.commit(
            ctx.audit(now, "project.delete", "project")
                .scope(Scope::Project(project.org_id, project.id))
                .resource_id(project.id)
                .details(json!({ "identifier": project.identifier.as_str(), "forced": force, "contents": contents }))
                .build(),
        )
        .await?;
        Ok(())
    }
}
