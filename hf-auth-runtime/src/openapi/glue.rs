// The utoipa-facing half of `openapi`, included once per supported utoipa major version (the
// including module names that version `utoipa` and gives `operations`). The decisions are in
// `openapi/mod.rs`; this only writes them into the document.

use utoipa::openapi::{
    security::{
        AuthorizationCode, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityRequirement,
        SecurityScheme,
    },
    OpenApi,
};

use super::{Found, Index};

/// Adds hf-auth's security schemes to a utoipa document, and to each operation whose handler
/// carries `#[hf_login]` or `#[require_org]` its security requirement (see [`super`] for what
/// and how operations are matched). As a modifier: `#[openapi(modifiers(&HfAuthSecurity))]`;
/// on a document built otherwise (utoipa-axum's `OpenApiRouter::split_for_parts`), call
/// [`add_security`].
#[derive(Debug, Clone, Copy, Default)]
pub struct HfAuthSecurity;

impl utoipa::Modify for HfAuthSecurity {
    fn modify(&self, openapi: &mut OpenApi) {
        add_security(openapi);
    }
}

/// What [`HfAuthSecurity`] does, on a document you hold: adds the security schemes
/// `hf_oauth` and `hf_token`, and each guarded operation's requirement. Calling it twice
/// gives the same document.
pub fn add_security(openapi: &mut OpenApi) {
    let index = Index::from_registry();
    for item in openapi.paths.paths.values_mut() {
        for operation in operations(item) {
            let Some(id) = operation.operation_id.as_deref() else {
                continue;
            };
            let requirement = match index.find(id) {
                None => continue,
                Some(Found::One(requirement)) => requirement,
                Some(Found::Ambiguous(routes)) => {
                    super::warn_ambiguous(id, &routes);
                    continue;
                }
            };
            operation.security = Some(
                super::alternatives(requirement)
                    .into_iter()
                    .map(|(scheme, scopes)| SecurityRequirement::new(scheme, scopes.iter().copied()))
                    .collect(),
            );
            if let Some(note) = super::note(requirement) {
                match &mut operation.description {
                    Some(d) if d.contains(&note) => {}
                    Some(d) if !d.is_empty() => {
                        d.push_str("\n\n");
                        d.push_str(&note);
                    }
                    d => *d = Some(note),
                }
            }
            operation
                .extensions
                .get_or_insert_with(Default::default)
                .insert(super::EXTENSION.to_owned(), super::extension(requirement));
        }
    }
    let scopes = Scopes::from_iter(super::scheme_scopes(&index));
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        super::OAUTH2_SCHEME,
        SecurityScheme::OAuth2(OAuth2::with_description(
            [Flow::AuthorizationCode(AuthorizationCode::new(
                super::AUTHORIZE_URL,
                super::TOKEN_URL,
                scopes,
            ))],
            super::OAUTH2_DESCRIPTION,
        )),
    );
    components.add_security_scheme(
        super::TOKEN_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(super::TOKEN_DESCRIPTION))
                .build(),
        ),
    );
}
