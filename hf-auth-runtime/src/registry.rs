//! Every handler annotated with `#[hf_login]` or `#[require_org]` registers its requirement
//! here (through `inventory`), so the app can check at start-up that it asks for every scope its
//! routes need, and print the Space metadata those routes need.

use std::collections::BTreeSet;

use hf_auth_scopes::{implied_by, ScopeSet, ALWAYS_GRANTED_IN_SPACES};

use crate::{error::ConfigError, requirement::Requirement};

/// A handler's requirement, as the macros register it.
#[derive(Debug)]
pub struct RouteRequirement {
    /// The handler's name.
    pub handler: &'static str,
    /// `module_path!()` where the handler is defined.
    pub module_path: &'static str,
    /// `file!()` where the handler is defined.
    pub file: &'static str,
    /// `line!()` of the handler.
    pub line: u32,
    /// What the handler requires.
    pub requirement: &'static Requirement,
}

inventory::collect!(RouteRequirement);

/// What [`HfAuthBuilder::build`](crate::HfAuthBuilder::build) does when the configured scopes
/// do not cover the scopes some route requires.
///
/// The check sees every handler annotated with `#[hf_login]` or `#[require_org]` that is linked
/// into the program, whether or not a router routes it: the registry cannot know which are. When
/// a linked handler is not routed (a shared crate's handlers, a test binary), narrow the check
/// with `Warn` or `Off` (in code or with `HF_AUTH_SCOPE_CHECK`), or configure the scopes.
/// In mock mode without configured scopes the app asks for every declared scope, so the check
/// passes there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScopeCheck {
    /// Refuse to start, listing the handlers and the missing scopes (the default).
    #[default]
    Deny,
    /// Log a warning naming them, and start.
    Warn,
    /// Do not check.
    Off,
}

/// Every registered route requirement, sorted by handler, each handler once.
///
/// A handler can be registered twice from one place: `#[axum::debug_handler]` above our
/// attribute keeps a copy of the function, attribute included, for its checks.
pub fn route_requirements() -> Vec<&'static RouteRequirement> {
    let mut all: Vec<_> = inventory::iter::<RouteRequirement>.into_iter().collect();
    all.sort_by_key(|r| (r.module_path, r.handler, r.line, r.file));
    all.dedup_by_key(|r| (r.module_path, r.handler, r.line, r.file));
    all
}

/// `scopes` followed by every other scope the registered handlers declare (known and extra),
/// each once: what mock mode asks for when no scopes are configured.
pub(crate) fn with_declared_scopes(mut scopes: Vec<String>) -> Vec<String> {
    let declared: BTreeSet<&'static str> = route_requirements()
        .iter()
        .flat_map(|r| r.requirement.scopes.iter().copied())
        .collect();
    for s in declared {
        if !scopes.iter().any(|c| c == s) {
            scopes.push(s.to_owned());
        }
    }
    scopes
}

pub(crate) fn check_scopes(configured: &[String], check: ScopeCheck) -> Result<(), ConfigError> {
    if check == ScopeCheck::Off {
        return Ok(());
    }
    let configured_set = ScopeSet::from_names(configured.iter().map(String::as_str));
    let mut lines = Vec::new();
    for r in route_requirements() {
        let missing = configured_set.missing(r.requirement.scopes);
        if !missing.is_empty() {
            lines.push(format!(
                "  {}::{} ({}:{}) requires {}",
                r.module_path,
                r.handler,
                r.file,
                r.line,
                missing.join(" ")
            ));
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    let report = lines.join("\n");
    match check {
        ScopeCheck::Deny => Err(ConfigError::ScopesNotCovered(report)),
        ScopeCheck::Warn => {
            tracing::warn!(
                configured = %configured.join(" "),
                "OAUTH_SCOPES does not cover the scopes these routes require; signed-in users will get 403 there:\n{report}"
            );
            Ok(())
        }
        ScopeCheck::Off => Ok(()),
    }
}

/// The scopes the registered routes need, beyond `openid` and `profile` (which every Space
/// gets), without scopes that another listed scope includes.
pub fn required_scopes() -> Vec<&'static str> {
    let mut all = BTreeSet::new();
    for r in route_requirements() {
        all.extend(r.requirement.scopes.iter().copied());
    }
    let listed = all.clone();
    all.into_iter()
        .filter(|s| !ALWAYS_GRANTED_IN_SPACES.contains(s))
        .filter(|s| implied_by(s).is_none_or(|w| !listed.contains(w)))
        .collect()
}

/// The Space README metadata (YAML front-matter lines) that the registered routes need:
///
/// ```
/// let yaml = hf_auth_runtime::space_metadata();
/// assert!(yaml.starts_with("hf_oauth: true"));
/// ```
pub fn space_metadata() -> String {
    let mut out = String::from("hf_oauth: true\n");
    let scopes = required_scopes();
    if !scopes.is_empty() {
        out.push_str("hf_oauth_scopes:\n");
        for s in scopes {
            out.push_str("  - ");
            out.push_str(s);
            out.push('\n');
        }
    }
    out
}
