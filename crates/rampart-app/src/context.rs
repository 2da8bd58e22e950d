//! Who is acting and from where: the authenticated [`Actor`] and the request's
//! [`RequestMeta`], carried together as [`Ctx`] into every use case.

use std::sync::Arc;

use jiff::Timestamp;
use rampart_domain::Permission;
use rampart_domain::platform::access::AccessIndex;
use rampart_domain::platform::identity::{ApiToken, PrincipalId};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{OrgId, ProjectId, RunId, TokenId, WorkspaceId};

/// How the actor proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Token,
    Session,
    /// The server itself (bootstrap, operator commands run on the host).
    System,
    /// The server acting for a principal that configured it to (a runbook's trigger
    /// acting as the runbook's service account), with that principal's rights only.
    Automation,
}

impl AuthMethod {
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Token => "token",
            AuthMethod::Session => "session",
            AuthMethod::System => "system",
            AuthMethod::Automation => "automation",
        }
    }
}

/// An authenticated principal.
#[derive(Clone, Debug)]
pub struct Actor {
    pub principal: PrincipalId,
    pub auth_method: AuthMethod,
    pub token_id: Option<TokenId>,
    /// The project (and its organisation) a narrowed token is limited to.
    pub narrowed_to: Option<(OrgId, ProjectId)>,
    /// When the presented token expires: nothing it creates may outlive it.
    pub token_expires_at: Option<Timestamp>,
    /// The installation's owner (protected from deletion and demotion). Rights come from
    /// role assignments, not from this flag.
    pub is_account_owner: bool,
    /// Set for session authentication: the session row id, for logout.
    pub session_id: Option<rampart_domain::SessionId>,
    /// Set when the token is a run credential: all it may do is read and write this
    /// workspace's state for this run's apply.
    pub run_credential: Option<RunCredential>,
    /// Set for session authentication: how the session was signed in (`password`, or
    /// `oidc:<provider>` for single sign-on).
    pub session_method: Option<String>,
    /// Set for session authentication: when the user last proved who they are (sign-in
    /// or re-authentication), which step-up routes need to be recent.
    pub authenticated_at: Option<Timestamp>,
}

/// What a run credential is bound to (see [`Actor::run_credential`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunCredential {
    pub run_id: RunId,
    pub workspace_id: WorkspaceId,
    /// The workspace's identifier, which the access decision compares.
    pub workspace: String,
}

impl RunCredential {
    /// The only permissions a run credential ever uses.
    pub const PERMISSIONS: [Permission; 2] = [
        Permission::WorkspaceAccessState,
        Permission::WorkspaceWriteState,
    ];
}

impl Actor {
    pub(crate) fn from_token(
        token: &ApiToken,
        narrowed_to: Option<(OrgId, ProjectId)>,
        is_account_owner: bool,
        run_credential: Option<RunCredential>,
    ) -> Self {
        Self {
            principal: token.owner,
            auth_method: AuthMethod::Token,
            token_id: Some(token.id),
            narrowed_to,
            token_expires_at: Some(token.expires_at),
            is_account_owner,
            session_id: None,
            run_credential,
            session_method: None,
            authenticated_at: None,
        }
    }

    /// The server acting for `principal` (see [`AuthMethod::Automation`]).
    pub fn automation(principal: PrincipalId) -> Self {
        Self {
            principal,
            auth_method: AuthMethod::Automation,
            token_id: None,
            narrowed_to: None,
            token_expires_at: None,
            is_account_owner: false,
            session_id: None,
            run_credential: None,
            session_method: None,
            authenticated_at: None,
        }
    }

    /// The server acting on its own behalf (operator commands on the host).
    pub fn system() -> Self {
        Self {
            principal: PrincipalId::User(rampart_domain::UserId::from_uuid(uuid::Uuid::nil())),
            auth_method: AuthMethod::System,
            token_id: None,
            narrowed_to: None,
            token_expires_at: None,
            is_account_owner: true,
            session_id: None,
            run_credential: None,
            session_method: None,
            authenticated_at: None,
        }
    }

    pub fn actor_text(&self) -> String {
        match self.auth_method {
            AuthMethod::System => "system".into(),
            _ => self.principal.to_text(),
        }
    }

    /// The project a narrowed token is limited to.
    pub fn narrowed_to_project(&self) -> Option<ProjectId> {
        self.narrowed_to.map(|(_, project)| project)
    }

    pub fn is_system(&self) -> bool {
        self.auth_method == AuthMethod::System
    }
}

/// Facts about the request, for audit and rate limits.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    /// The client IP as decided by the edge (socket peer unless a trusted proxy).
    pub client_ip: String,
    pub request_id: String,
}

/// The context of a use case: who, from where, and what they may do.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub actor: Actor,
    pub meta: RequestMeta,
    /// The actor's role assignments, read for this request.
    pub access: Arc<AccessIndex>,
}

impl Ctx {
    pub fn new(actor: Actor, meta: RequestMeta, access: Arc<AccessIndex>) -> Self {
        Self {
            actor,
            meta,
            access,
        }
    }

    /// The system actor (operator commands on the host): holds everything.
    pub fn system() -> Self {
        Self::new(Actor::system(), RequestMeta::default(), Arc::default())
    }

    /// What the actor holds at `scope`, limited by a narrowed token.
    pub fn permissions_at(&self, scope: Scope) -> rampart_domain::platform::access::PermissionSet {
        if self.actor.is_system() {
            return Permission::ALL.iter().copied().collect();
        }
        if let Some((_, project)) = self.actor.narrowed_to
            && scope.project_id() != Some(project)
        {
            return rampart_domain::platform::access::PermissionSet::EMPTY;
        }
        let held = self.access.permissions_at(self.actor.principal, scope);
        match self.actor.run_credential {
            Some(_) => held.intersection(&RunCredential::PERMISSIONS.into_iter().collect()),
            None => held,
        }
    }

    /// An account admin (not through a token narrowed to a project).
    pub fn is_account_admin(&self) -> bool {
        self.permissions_at(Scope::Account)
            .contains(Permission::AccountManage)
    }
}
