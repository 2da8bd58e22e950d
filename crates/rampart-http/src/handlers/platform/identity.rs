//! Users, personal tokens, service accounts and their tokens.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::Access;
use rampart_app::platform::identity::{
    NewServiceAccountInput, NewTokenInput, NewUserInput, TokenExpiry, UserPatch,
};
use rampart_app::platform::tenancy::ResolvedScope;
use rampart_app::{AppError, Ctx};
use rampart_domain::ErrorCode;
use rampart_domain::Permission as P;
use rampart_domain::platform::identity::{ApiToken, PrincipalId, ServiceAccount};
use rampart_domain::{ServiceAccountId, TokenId, UserId};

use super::auth::project_path;
use super::tenancy::org_of;
use crate::AppState;
use crate::convert;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::routes::{RouteSpec, RouteTable, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // My own tokens.
    table.add(
        r(
            M::GET,
            "/api/v1/tokens",
            Access::SelfService,
            "List my API tokens",
        )
        .page::<wire::Token>(),
        list_my_tokens,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/tokens",
            Access::SelfService,
            "Create a personal API token (secret shown once)",
        )
        .step_up()
        .body::<wire::TokenCreate>()
        .reply::<wire::TokenCreated>(201),
        create_my_token,
    );
    table.add(
        r(
            M::DELETE,
            "/api/v1/tokens/{token_id}",
            Access::SelfService,
            "Revoke one of my tokens",
        )
        .reply::<wire::Token>(200),
        revoke_my_token,
    );

    // Users.
    table.add(
        r(M::GET, "/api/v1/users", perm(P::UserView), "List users").page::<wire::User>(),
        list_users,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/users",
            perm(P::UserInvite),
            "Create a user",
        )
        .step_up()
        .body::<wire::UserCreate>()
        .reply::<wire::User>(201),
        create_user,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/users/{user_id}",
            perm(P::UserView),
            "Read a user",
        )
        .reply::<wire::User>(200),
        get_user,
    );
    table.add(
        r(
            M::PATCH,
            "/api/v1/users/{user_id}",
            perm(P::UserEdit),
            "Update a user",
        )
        .step_up()
        .body::<wire::UserUpdate>()
        .reply::<wire::User>(200),
        update_user,
    );
    table.add(
        r(
            M::DELETE,
            "/api/v1/users/{user_id}",
            perm(P::UserDelete),
            "Delete a user",
        ),
        delete_user,
    );

    // Service accounts and their tokens, at organisation and at project scope.
    for (base, item, tokens, token) in [
        (
            "/api/v1/orgs/{org}/service-accounts",
            "/api/v1/orgs/{org}/service-accounts/{service_account_id}",
            "/api/v1/orgs/{org}/service-accounts/{service_account_id}/tokens",
            "/api/v1/orgs/{org}/service-accounts/{service_account_id}/tokens/{token_id}",
        ),
        (
            "/api/v1/orgs/{org}/projects/{project}/service-accounts",
            "/api/v1/orgs/{org}/projects/{project}/service-accounts/{service_account_id}",
            "/api/v1/orgs/{org}/projects/{project}/service-accounts/{service_account_id}/tokens",
            "/api/v1/orgs/{org}/projects/{project}/service-accounts/{service_account_id}/tokens/{token_id}",
        ),
    ] {
        table.add(
            r(
                M::GET,
                base,
                perm(P::ServiceAccountView),
                "List service accounts",
            )
            .page::<wire::ServiceAccount>(),
            list_service_accounts,
        );
        table.add(
            r(
                M::POST,
                base,
                perm(P::ServiceAccountCreate),
                "Create a service account",
            )
            .body::<wire::ServiceAccountCreate>()
            .reply::<wire::ServiceAccount>(201),
            create_service_account,
        );
        table.add(
            r(
                M::GET,
                item,
                perm(P::ServiceAccountView),
                "Read a service account",
            )
            .reply::<wire::ServiceAccount>(200),
            get_service_account,
        );
        table.add(
            r(
                M::DELETE,
                item,
                perm(P::ServiceAccountDelete),
                "Delete a service account and its tokens",
            ),
            delete_service_account,
        );
        table.add(
            r(
                M::GET,
                tokens,
                perm(P::TokenView),
                "List a service account's tokens",
            )
            .page::<wire::Token>(),
            list_service_account_tokens,
        );
        table.add(
            r(
                M::POST,
                tokens,
                perm(P::TokenCreate),
                "Create a service account token (secret shown once)",
            )
            .step_up()
            .body::<wire::TokenCreate>()
            .reply::<wire::TokenCreated>(201),
            create_service_account_token,
        );
        table.add(
            r(
                M::DELETE,
                token,
                perm(P::TokenRevoke),
                "Revoke a service account token",
            )
            .reply::<wire::Token>(200),
            revoke_service_account_token,
        );
    }
}

path_params! {
    /// `/users/{user_id}`
    pub struct UserPath { user_id }
}

path_params! {
    /// `/tokens/{token_id}` (my own tokens)
    pub struct TokenPath { token_id }
}

path_params! {
    /// `…/service-accounts/{service_account_id}` and its tokens
    pub struct ServiceAccountPath { service_account_id }
}

path_params! {
    /// `…/service-accounts/{service_account_id}/tokens/{token_id}`
    pub struct ServiceAccountTokenPath { service_account_id, token_id }
}

/// An id in a path that does not parse cannot name anything: 404.
fn parse_id<T: std::str::FromStr>(text: &str, what: &'static str) -> Result<T, AppError> {
    text.parse().map_err(|_| AppError::NotFound { what })
}

pub async fn list_users(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::User>>> {
    let page = state
        .app
        .list_users(params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page.items.iter().map(convert::user).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiJson(body): ApiJson<wire::UserCreate>,
) -> ApiResult<(StatusCode, Json<wire::User>)> {
    let user = state
        .app
        .create_user(
            &ctx,
            NewUserInput {
                email: body.email,
                display_name: body.display_name,
                password: body.password,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(convert::user(&user))))
}

pub async fn get_user(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<UserPath>,
) -> ApiResult<Json<wire::User>> {
    let user = state
        .app
        .user(parse_id::<UserId>(&path.user_id, "user")?)
        .await?;
    Ok(Json(convert::user(&user)))
}

pub async fn update_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiPath(path): ApiPath<UserPath>,
    ApiJson(body): ApiJson<wire::UserUpdate>,
) -> ApiResult<Json<wire::User>> {
    let user = state
        .app
        .update_user(
            &ctx,
            parse_id::<UserId>(&path.user_id, "user")?,
            UserPatch {
                display_name: body.display_name,
                disabled: body.disabled,
            },
        )
        .await?;
    Ok(Json(convert::user(&user)))
}

pub async fn delete_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiPath(path): ApiPath<UserPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_user(&ctx, parse_id::<UserId>(&path.user_id, "user")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn token_page(
    state: &AppState,
    owner: PrincipalId,
    params: &ListParams,
) -> ApiResult<Json<ListResponse<wire::Token>>> {
    let page = state
        .app
        .list_tokens(owner, params.limit, params.cursor.as_deref())
        .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for token in &page.items {
        items.push(wire_token(state, token).await?);
    }
    Ok(Json(ListResponse {
        items,
        next_cursor: page.next_cursor,
    }))
}

async fn wire_token(state: &AppState, token: &ApiToken) -> ApiResult<wire::Token> {
    let path = match token.project_id {
        Some(id) => project_path(state, id).await?,
        None => None,
    };
    Ok(convert::token(token, path))
}

/// Reads a token request: expiry is mandatory (exactly one of the two forms), and
/// `org` + `project` narrow it.
async fn token_input(
    state: &AppState,
    body: wire::TokenCreate,
    default_project: Option<rampart_domain::platform::tenancy::Project>,
) -> Result<NewTokenInput, AppError> {
    let expiry = match (body.expires_in_days, body.expires_at.as_deref()) {
        (Some(days), None) => TokenExpiry::InDays(days),
        (None, Some(at)) => TokenExpiry::At(at.parse().map_err(|_| {
            AppError::bad_request(
                ErrorCode::InvalidExpiresAt,
                "expires_at must be an RFC 3339 instant",
            )
        })?),
        (None, None) => {
            return Err(AppError::bad_request(
                ErrorCode::ExpiryRequired,
                "every token must expire: give expires_in_days or expires_at",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(AppError::bad_request(
                ErrorCode::ConflictingExpiry,
                "give expires_in_days or expires_at, not both",
            ));
        }
    };
    let project = match (body.org.as_deref(), body.project.as_deref()) {
        (None, None) => default_project,
        (Some(org), Some(project)) => match state.app.resolve_scope(Some(org), Some(project)).await
        {
            Ok(ResolvedScope::Project(_, project)) => Some(project),
            Ok(_) | Err(AppError::NotFound { .. }) => {
                return Err(AppError::bad_request(
                    ErrorCode::InvalidProject,
                    "the project to narrow the token to does not exist",
                ));
            }
            Err(other) => return Err(other),
        },
        _ => {
            return Err(AppError::bad_request(
                ErrorCode::InvalidProject,
                "narrowing a token needs both org and project",
            ));
        }
    };
    Ok(NewTokenInput {
        name: body.name,
        expiry,
        project,
        allowed_cidrs: body.allowed_cidrs,
    })
}

async fn create_token_for(
    state: &AppState,
    ctx: &Ctx,
    owner: PrincipalId,
    body: wire::TokenCreate,
    default_project: Option<rampart_domain::platform::tenancy::Project>,
) -> ApiResult<(StatusCode, Json<wire::TokenCreated>)> {
    let input = token_input(state, body, default_project).await?;
    let created = state.app.create_token(ctx, owner, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(wire::TokenCreated {
            token: wire_token(state, &created.token).await?,
            secret: created.secret.expose().to_owned(),
        }),
    ))
}

pub async fn list_my_tokens(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Token>>> {
    token_page(&state, ctx.actor.principal, &params).await
}

pub async fn create_my_token(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiJson(body): ApiJson<wire::TokenCreate>,
) -> ApiResult<(StatusCode, Json<wire::TokenCreated>)> {
    create_token_for(&state, &ctx, ctx.actor.principal, body, None).await
}

pub async fn revoke_my_token(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiPath(path): ApiPath<TokenPath>,
) -> ApiResult<Json<wire::Token>> {
    let token = state
        .app
        .revoke_token(
            &ctx,
            ctx.actor.principal,
            parse_id::<TokenId>(&path.token_id, "token")?,
        )
        .await?;
    Ok(Json(wire_token(&state, &token).await?))
}

fn scope_parts(
    scope: &ResolvedScope,
) -> ApiResult<(
    &rampart_domain::platform::tenancy::Organization,
    Option<&rampart_domain::platform::tenancy::Project>,
)> {
    let org = org_of(scope)?;
    let project = match scope {
        ResolvedScope::Project(_, project) => Some(project),
        _ => None,
    };
    Ok((org, project))
}

async fn service_account_in_scope(
    state: &AppState,
    scope: &ResolvedScope,
    id: &str,
) -> ApiResult<ServiceAccount> {
    let (org, project) = scope_parts(scope)?;
    Ok(state
        .app
        .service_account_in(
            parse_id::<ServiceAccountId>(id, "service account")?,
            org,
            project,
        )
        .await?)
}

pub async fn list_service_accounts(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::ServiceAccount>>> {
    let (org, project) = scope_parts(&scope)?;
    let page = state
        .app
        .list_service_accounts(org, project, params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|account| convert::service_account(account, org, project))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_service_account(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::ServiceAccountCreate>,
) -> ApiResult<(StatusCode, Json<wire::ServiceAccount>)> {
    let (org, project) = scope_parts(&scope)?;
    let account = state
        .app
        .create_service_account(
            &ctx,
            org,
            project,
            NewServiceAccountInput {
                name: body.name,
                description: body.description,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(convert::service_account(&account, org, project)),
    ))
}

pub async fn get_service_account(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServiceAccountPath>,
) -> ApiResult<Json<wire::ServiceAccount>> {
    let id = path.service_account_id;
    let account = service_account_in_scope(&state, &scope, &id).await?;
    let (org, project) = scope_parts(&scope)?;
    Ok(Json(convert::service_account(&account, org, project)))
}

pub async fn delete_service_account(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServiceAccountPath>,
) -> ApiResult<StatusCode> {
    let id = path.service_account_id;
    let account = service_account_in_scope(&state, &scope, &id).await?;
    state.app.delete_service_account(&ctx, &account).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_service_account_tokens(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServiceAccountPath>,
    ApiQuery(list): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Token>>> {
    let id = path.service_account_id;
    let account = service_account_in_scope(&state, &scope, &id).await?;
    token_page(&state, PrincipalId::ServiceAccount(account.id), &list).await
}

pub async fn create_service_account_token(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServiceAccountPath>,
    ApiJson(body): ApiJson<wire::TokenCreate>,
) -> ApiResult<(StatusCode, Json<wire::TokenCreated>)> {
    let id = path.service_account_id;
    let account = service_account_in_scope(&state, &scope, &id).await?;
    // A project service account's tokens are narrowed to its project by default.
    let default_project = match &scope {
        ResolvedScope::Project(_, project) => Some(project.clone()),
        _ => None,
    };
    create_token_for(
        &state,
        &ctx,
        PrincipalId::ServiceAccount(account.id),
        body,
        default_project,
    )
    .await
}

pub async fn revoke_service_account_token(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServiceAccountTokenPath>,
) -> ApiResult<Json<wire::Token>> {
    let id = path.service_account_id;
    let account = service_account_in_scope(&state, &scope, &id).await?;
    let token_id = path.token_id;
    let token = state
        .app
        .revoke_token(
            &ctx,
            PrincipalId::ServiceAccount(account.id),
            parse_id::<TokenId>(&token_id, "token")?,
        )
        .await?;
    Ok(Json(wire_token(&state, &token).await?))
}
