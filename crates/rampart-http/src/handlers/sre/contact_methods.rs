//! The caller's contact methods in an organisation
//! (`/api/v1/orgs/{org}/contact-methods`): where delegates deliver the caller's pages.
//! Anyone who can see the organisation manages their own; nobody sees another's.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::sre as wire;
use rampart_app::sre::contact_methods::{ContactMethod, ContactMethodInput};
use rampart_app::{Access, Ctx};

use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, path_params};
use crate::routes::{RouteSpec, RouteTable};

const BASE: &str = "/api/v1/orgs/{org}/contact-methods";

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;
    table.add(
        r(
            M::GET,
            BASE,
            Access::SeeScope,
            "Your contact methods in this organisation (addresses shown to you only)",
        )
        .reply::<wire::ContactMethodList>(200),
        list_contact_methods,
    );
    table.add(
        r(
            M::POST,
            BASE,
            Access::SeeScope,
            "Add a contact method (email, Slack webhook or signed webhook): pages reach it through the project's delegates",
        )
        .body::<wire::ContactMethodCreate>()
        .reply::<wire::ContactMethodCreated>(201)
        .errors(&[409]),
        add_contact_method,
    );
    table.add(
        r(
            M::DELETE,
            "/api/v1/orgs/{org}/contact-methods/{contact_method}",
            Access::SeeScope,
            "Remove one of your contact methods",
        ),
        delete_contact_method,
    );
}

path_params! {
    /// `…/contact-methods/{contact_method}`
    pub struct ContactMethodPath { contact_method }
}

fn wire_contact_method(method: ContactMethod) -> wire::ContactMethod {
    wire::ContactMethod {
        id: method.id.to_string(),
        kind: method.kind.as_str().to_owned(),
        label: method.label,
        address: method.address,
        created_at: method.created_at.to_string(),
    }
}

pub async fn list_contact_methods(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
) -> ApiResult<Json<wire::ContactMethodList>> {
    let methods = state.app.contact_methods(&ctx, scope.scope()).await?;
    Ok(Json(wire::ContactMethodList {
        items: methods.into_iter().map(wire_contact_method).collect(),
    }))
}

pub async fn add_contact_method(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::ContactMethodCreate>,
) -> ApiResult<(StatusCode, Json<wire::ContactMethodCreated>)> {
    let (method, secret) = state
        .app
        .add_contact_method(
            &ctx,
            scope.scope(),
            ContactMethodInput {
                kind: body.kind,
                label: body.label,
                address: body.address,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire::ContactMethodCreated {
            contact_method: wire_contact_method(method),
            signing_secret: secret.map(|secret| secret.to_string()),
        }),
    ))
}

pub async fn delete_contact_method(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ContactMethodPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_contact_method(&ctx, scope.scope(), &path.contact_method)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
