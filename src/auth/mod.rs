//! Who calls: API keys and the caller they identify (`keys`), people's OpenID Connect access
//! tokens (`oidc`), and the budgets a caller spends over time (`throttle`), in memory or shared by
//! every instance through Redis (`shared_budgets`).
pub mod keys;
pub mod oidc;
pub mod shared_budgets;
pub mod throttle;

/// What a key may do, each role including the ones before it (services::access applies it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Role {
    Viewer,
    Operator,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "VIEWER",
            Role::Operator => "OPERATOR",
            Role::Supervisor => "SUPERVISOR",
            Role::Admin => "ADMIN",
        }
    }

    pub fn parse(stored: &str) -> Option<Role> {
        [Role::Viewer, Role::Operator, Role::Supervisor, Role::Admin].into_iter().find(|r| r.as_str() == stored)
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The key's id; for a person with an access token a negative number of their own (derived
    /// from issuer and subject, `oidc::person_id`), so that budgets and four-eyes tell people
    /// apart; 0 for the command line.
    pub key_id: i64,
    /// The key's name, or the person's display name.
    pub key_name: String,
    pub role: Role,
    /// A province or regency code, or None for the whole country.
    pub scope: Option<String>,
    /// The person: a token's subject, or the owner of the key (None: a key of no one's).
    pub person: Option<String>,
}

impl Actor {
    /// The command line acts with the database's own authority: an admin without a key,
    /// audited under the name of the system user who ran it.
    pub fn command_line() -> Actor {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Actor { key_id: 0, key_name: format!("cli ({user})"), role: Role::Admin, scope: None, person: None }
    }

    /// Whether the caller may see full NIKs (everyone with a key but viewers).
    pub fn sees_nik(&self) -> bool {
        self.role != Role::Viewer
    }
}

/// The caller of a request, if any; passed to every service call.
pub type Caller = Option<Actor>;
