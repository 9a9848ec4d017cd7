//! Hugging Face's `GET /api/whoami-v2`: the answer's shape, read leniently (every field
//! optional, unknown fields ignored), and how it becomes a session.

use hf_auth_scopes::{
    tokens::{fine_grained_org_role, granted_mask, refusal, TokenGrant},
    Role,
};
use serde::Deserialize;

use crate::{session::SessionData, user::Org};

/// The answer of whoami-v2 for a token.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct WhoAmI {
    /// `user`, `org` or `app`: who owns the token.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<String>,
    /// The handle.
    pub name: Option<String>,
    pub fullname: Option<String>,
    pub avatar_url: Option<String>,
    pub is_pro: Option<bool>,
    pub can_pay: Option<bool>,
    #[serde(deserialize_with = "lenient_vec")]
    pub orgs: Vec<WhoAmIOrg>,
    #[serde(deserialize_with = "null_default")]
    pub auth: AuthInfo,
}

/// One of `orgs[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct WhoAmIOrg {
    /// The org's id (the `_id` of a fine-grained token's org entity).
    pub id: Option<String>,
    /// The org's handle (`name`, not `preferred_username` as in userinfo).
    pub name: Option<String>,
    pub role_in_org: Option<String>,
}

/// `auth`: what kind of token this is.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct AuthInfo {
    /// `access_token`, `oauth`, `app_token`, ...
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub access_token: Option<AccessTokenInfo>,
    /// When an OAuth token expires (RFC 3339).
    pub expires_at: Option<String>,
}

/// `auth.accessToken`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct AccessTokenInfo {
    /// `read`, `write`, `contributor`, `admin` or `fineGrained`.
    pub role: Option<String>,
    /// When the token expires (RFC 3339), if it does.
    pub expiration: Option<String>,
    pub fine_grained: Option<FineGrained>,
}

/// `auth.accessToken.fineGrained`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct FineGrained {
    pub can_read_gated_repos: bool,
    #[serde(deserialize_with = "lenient_vec")]
    pub global: Vec<String>,
    #[serde(deserialize_with = "lenient_vec")]
    pub scoped: Vec<Scoped>,
}

/// One of `fineGrained.scoped[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Scoped {
    #[serde(deserialize_with = "null_default")]
    pub entity: Entity,
    #[serde(deserialize_with = "lenient_vec")]
    pub permissions: Vec<String>,
}

/// The entity a scoped permission applies to.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Entity {
    #[serde(rename = "_id")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
}

/// A value where `null` reads as its default.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A list whose elements that do not parse are skipped; anything but a list reads as empty.
fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let serde_json::Value::Array(raw) = serde_json::Value::deserialize(d)? else {
        return Ok(Vec::new());
    };
    Ok(raw
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// Why a whoami answer gives no session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// The token belongs to an org or an app.
    Refused(&'static str),
    /// The answer lacks the user's id or handle.
    Incomplete,
    /// The token's expiration has passed.
    Expired,
}

/// Builds the session of a token from whoami's answer. `default_expiry` (unix seconds) is used
/// when whoami tells no expiration.
pub(crate) fn session_of(
    who: WhoAmI,
    token: &str,
    now: u64,
    default_expiry: u64,
) -> Result<SessionData, Unusable> {
    if let Some(why) = refusal(who.kind.as_deref(), who.auth.kind.as_deref()) {
        return Err(Unusable::Refused(why));
    }
    let (Some(sub), Some(handle)) = (who.id, who.name) else {
        return Err(Unusable::Incomplete);
    };
    let access = who.auth.access_token.unwrap_or_default();
    // A fine-grained token acts in the orgs it names, each with at most the role its
    // permissions there reach (`None`: a classic token, in every org with the user's role).
    let mut org_caps: Option<Vec<(&Entity, Role)>> = None;
    let scope_mask = match (access.role.as_deref(), &access.fine_grained) {
        (Some("fineGrained"), fine) => {
            let fine = fine.as_ref();
            let own = |e: &Entity| {
                e.kind.as_deref() == Some("user")
                    && (e.id.as_deref() == Some(sub.as_str())
                        || e.name.as_deref() == Some(handle.as_str()))
            };
            let permissions: Vec<&str> = fine
                .into_iter()
                .flat_map(|f| {
                    f.global.iter().chain(
                        f.scoped
                            .iter()
                            .filter(|s| own(&s.entity))
                            .flat_map(|s| s.permissions.iter()),
                    )
                })
                .map(String::as_str)
                .collect();
            org_caps = Some(
                fine.into_iter()
                    .flat_map(|f| f.scoped.iter())
                    .filter(|s| s.entity.kind.as_deref() == Some("org"))
                    .filter_map(|s| {
                        let permissions: Vec<&str> =
                            s.permissions.iter().map(String::as_str).collect();
                        Some((&s.entity, fine_grained_org_role(&permissions)?))
                    })
                    .collect(),
            );
            granted_mask(&TokenGrant::FineGrained {
                permissions: &permissions,
                can_read_gated_repos: fine.is_some_and(|f| f.can_read_gated_repos),
            })
        }
        (role, _) => granted_mask(&TokenGrant::Classic(role.unwrap_or(""))),
    };
    let expiry = access
        .expiration
        .as_deref()
        .or(who.auth.expires_at.as_deref())
        .and_then(parse_rfc3339);
    if expiry.is_some_and(|e| e <= now) {
        return Err(Unusable::Expired);
    }
    let expires_at = expiry.unwrap_or(default_expiry);
    let orgs = who
        .orgs
        .iter()
        .filter_map(|o| {
            let role = o.role_in_org.as_deref().and_then(Role::parse);
            let role = match &org_caps {
                None => role,
                Some(caps) => {
                    let cap = org_cap(caps, o)?;
                    role.map(|r| r.min(cap))
                }
            };
            Some(Org {
                handle: o.name.clone()?,
                role,
                sub: None,
            })
        })
        .collect();
    Ok(SessionData {
        sub,
        handle,
        name: who.fullname,
        avatar: who.avatar_url,
        is_pro: who.is_pro,
        can_pay: who.can_pay,
        orgs,
        scopes: hf_auth_scopes::ScopeSet::from_mask(scope_mask),
        access_token: token.to_owned(),
        expires_at,
        refresh_token: None,
        session_ends_at: expires_at,
        end_link: Default::default(),
    })
}

/// The most a fine-grained token may act as in the org `org`: the cap of the `scoped[]` org
/// entity with the org's id; else, where the entity or the org has no id to compare, of the
/// one with its name; `None` when the token names the org nowhere (an entity whose id differs
/// is another org, whatever its name says).
fn org_cap(caps: &[(&Entity, Role)], org: &WhoAmIOrg) -> Option<Role> {
    let by_id = caps.iter().find(|(e, _)| match (&e.id, &org.id) {
        (Some(entity), Some(id)) => entity == id,
        _ => false,
    });
    let by_name = || {
        caps.iter().find(|(e, _)| {
            (e.id.is_none() || org.id.is_none())
                && e.name.is_some()
                && e.name.as_deref() == org.name.as_deref()
        })
    };
    by_id.or_else(by_name).map(|(_, cap)| *cap)
}

/// Unix seconds of an RFC 3339 time such as `2025-01-31T12:00:00.000Z` or `...+02:00`; `None`
/// when it does not parse.
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let rb = rest.as_bytes();
            if rb.len() != 6 || !matches!(rb[0], b'+' | b'-') || rb[3] != b':' {
                return None;
            }
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            let o = oh * 3600 + om * 60;
            if rb[0] == b'+' {
                o
            } else {
                -o
            }
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let t = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    u64::try_from(t).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hf_auth_scopes::{mask_of, tokens};
    use serde_json::json;

    fn who(v: serde_json::Value) -> WhoAmI {
        serde_json::from_value(v).unwrap()
    }

    fn user(auth: serde_json::Value) -> serde_json::Value {
        json!({
            "type": "user", "id": "abc123", "name": "alice", "fullname": "Alice A.",
            "avatarUrl": "https://a/x.png", "isPro": true, "canPay": false,
            "orgs": [
                {"type": "org", "id": "o1", "name": "acme", "roleInOrg": "admin"},
                {"type": "org", "id": "o2", "name": "friends", "roleInOrg": "owner-ish"},
                {"type": "org", "id": "o3"},
                "not an object"
            ],
            "auth": auth,
        })
    }

    #[test]
    fn classic_read_token_session() {
        let s = session_of(
            who(user(json!({"type": "access_token", "accessToken": {"displayName": "ci", "role": "read"}}))),
            "hf_tok",
            100,
            400,
        )
        .unwrap();
        assert_eq!((s.sub.as_str(), s.handle.as_str()), ("abc123", "alice"));
        assert_eq!(s.name.as_deref(), Some("Alice A."));
        assert_eq!(s.is_pro, Some(true));
        assert_eq!(s.scopes.mask(), tokens::CLASSIC_READ);
        assert_eq!(s.access_token, "hf_tok");
        assert_eq!((s.expires_at, s.session_ends_at), (400, 400));
        assert_eq!(s.refresh_token, None);
        assert_eq!(s.orgs.len(), 2, "the org without a name is skipped");
        assert_eq!(s.orgs[0].handle, "acme");
        assert_eq!(s.orgs[0].role, Some(Role::Admin));
        assert_eq!(s.orgs[1].role, None, "an unknown role reads as none");
    }

    #[test]
    fn fine_grained_counts_only_global_and_own_entity() {
        let auth = json!({"type": "access_token", "accessToken": {
            "role": "fineGrained",
            "expiration": "1970-01-01T00:10:00.000Z",
            "fineGrained": {
                "canReadGatedRepos": true,
                "global": ["discussion.write"],
                "scoped": [
                    {"entity": {"_id": "abc123", "type": "user", "name": "alice"}, "permissions": ["repo.content.read"]},
                    {"entity": {"_id": "o1", "type": "org", "name": "acme"}, "permissions": ["repo.write", "org.write"]},
                    {"entity": {"_id": "zzz", "type": "user", "name": "mallory"}, "permissions": ["job.write"]}
                ]
            }
        }});
        let s = session_of(who(user(auth)), "t", 100, 400).unwrap();
        assert_eq!(
            s.scopes.mask(),
            tokens::FINE_GRAINED_BASE
                | mask_of(&["write-discussions", "read-repos", "gated-repos"])
        );
        assert_eq!(s.expires_at, 600, "the token's own expiration wins");
    }

    #[test]
    fn oauth_tokens_are_refused_telling_to_use_a_user_token() {
        let auth = json!({"type": "oauth", "expiresAt": "2999-01-01T01:00:00Z"});
        let refused = session_of(who(user(auth)), "hf_oauth_x", 100, 400);
        assert_eq!(
            refused.err(),
            Some(Unusable::Refused(tokens::OAUTH_REFUSAL))
        );
        assert!(tokens::OAUTH_REFUSAL.contains("use a user access token"));
    }

    fn fine_grained(scoped: serde_json::Value) -> serde_json::Value {
        json!({"type": "access_token", "accessToken": {
            "role": "fineGrained",
            "fineGrained": {"canReadGatedRepos": false, "global": [], "scoped": scoped}
        }})
    }

    fn roles(s: &SessionData) -> Vec<(&str, Option<Role>)> {
        s.orgs.iter().map(|o| (o.handle.as_str(), o.role)).collect()
    }

    #[test]
    fn fine_grained_tokens_act_only_in_the_orgs_they_name() {
        // alice is admin of acme (o1) and has an unknown role in friends (o2).
        let own = json!({"entity": {"_id": "abc123", "type": "user", "name": "alice"}, "permissions": ["repo.content.read"]});
        let nothing = session_of(who(user(fine_grained(json!([own])))), "t", 0, 9).unwrap();
        assert_eq!(roles(&nothing), [], "no org entity: no org");

        let read = json!([own, {"entity": {"_id": "o1", "type": "org", "name": "acme"}, "permissions": ["repo.content.read"]}]);
        let s = session_of(who(user(fine_grained(read))), "t", 0, 9).unwrap();
        assert_eq!(roles(&s), [("acme", Some(Role::Read))], "capped at read");

        let write = json!([{"entity": {"_id": "o1", "type": "org", "name": "acme"}, "permissions": ["repo.write"]}]);
        let s = session_of(who(user(fine_grained(write))), "t", 0, 9).unwrap();
        assert_eq!(roles(&s), [("acme", Some(Role::Write))]);

        let admin = json!([
            {"entity": {"_id": "o1", "type": "org", "name": "acme"}, "permissions": ["org.write"]},
            {"entity": {"_id": "o2", "type": "org", "name": "friends"}, "permissions": ["repo.write"]},
        ]);
        let s = session_of(who(user(fine_grained(admin))), "t", 0, 9).unwrap();
        assert_eq!(
            roles(&s),
            [("acme", Some(Role::Admin)), ("friends", None)],
            "the user's own role, never above it"
        );

        // No permission on the org, or an entity of another type or id, names nothing.
        let none = json!([
            {"entity": {"_id": "o1", "type": "org", "name": "acme"}, "permissions": []},
            {"entity": {"_id": "o2", "type": "user", "name": "friends"}, "permissions": ["repo.write"]},
            {"entity": {"_id": "zz", "type": "org", "name": "acme"}, "permissions": ["org.write"]},
        ]);
        let s = session_of(who(user(fine_grained(none))), "t", 0, 9).unwrap();
        assert_eq!(roles(&s), []);

        // Matched by name where there is no id to compare.
        let by_name =
            json!([{"entity": {"type": "org", "name": "acme"}, "permissions": ["repo.write"]}]);
        let s = session_of(who(user(fine_grained(by_name))), "t", 0, 9).unwrap();
        assert_eq!(roles(&s), [("acme", Some(Role::Write))]);
    }

    #[test]
    fn classic_tokens_keep_every_org_at_the_user_s_role() {
        for role in ["read", "write"] {
            let auth = json!({"type": "access_token", "accessToken": {"role": role}});
            let s = session_of(who(user(auth)), "t", 0, 9).unwrap();
            assert_eq!(
                roles(&s),
                [("acme", Some(Role::Admin)), ("friends", None)],
                "{role}"
            );
        }
    }

    #[test]
    fn expired_token_is_unusable() {
        let auth = json!({"type": "access_token", "accessToken": {"role": "write", "expiration": "1970-01-01T00:00:50Z"}});
        assert_eq!(
            session_of(who(user(auth)), "t", 100, 400).err().unwrap(),
            Unusable::Expired
        );
    }

    #[test]
    fn org_and_app_tokens_are_refused() {
        let org = json!({"type": "org", "id": "o1", "name": "acme", "auth": {"type": "access_token", "accessToken": {"role": "write"}}});
        assert!(matches!(
            session_of(who(org), "t", 0, 1),
            Err(Unusable::Refused(_))
        ));
        let app = json!({"type": "app", "id": "a1", "name": "bot", "scope": {"entities": [], "role": "read"}});
        assert!(matches!(
            session_of(who(app), "t", 0, 1),
            Err(Unusable::Refused(_))
        ));
        let as_user = user(json!({"type": "app_token_as_user"}));
        assert!(matches!(
            session_of(who(as_user), "t", 0, 1),
            Err(Unusable::Refused(_))
        ));
    }

    #[test]
    fn lenient_shapes() {
        // Nulls, missing sections and wrong types inside lists do not fail the parse.
        let w: WhoAmI = serde_json::from_str(
            r#"{"type":"user","id":"i","name":"n","orgs":null,"auth":{"accessToken":{"role":"read","fineGrained":null}},"new":1}"#,
        )
        .unwrap();
        let s = session_of(w, "t", 0, 9).unwrap();
        assert!(s.orgs.is_empty());
        let w: WhoAmI =
            serde_json::from_str(r#"{"type":"user","id":"i","name":"n","orgs":"many"}"#).unwrap();
        assert!(session_of(w, "t", 0, 9).unwrap().orgs.is_empty());
        assert_eq!(s.scopes.mask(), tokens::CLASSIC_READ);
        let w: WhoAmI =
            serde_json::from_str(r#"{"type":"user","id":"i","name":"n","auth":null}"#).unwrap();
        assert_eq!(
            session_of(w, "t", 0, 9).unwrap().scopes.mask(),
            tokens::BASE
        );
        let w: WhoAmI = serde_json::from_str(r#"{"type":"user"}"#).unwrap();
        assert_eq!(
            session_of(w, "t", 0, 9).err().unwrap(),
            Unusable::Incomplete
        );
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_never_panics(
            chars in proptest::collection::vec(proptest::char::any(), 0..40),
            at in 0usize..30,
            c in proptest::char::any(),
        ) {
            let s: String = chars.into_iter().collect();
            let _ = parse_rfc3339(&s);
            // One character of a valid time replaced by any other.
            let mut t: Vec<char> = "2025-01-31T12:00:00.123+02:00".chars().collect();
            t[at % 29] = c;
            let t: String = t.into_iter().collect();
            let _ = parse_rfc3339(&t);
        }

        #[test]
        fn odd_shapes_never_panic_and_only_users_pass(
            kind in proptest::sample::select(vec![json!("user"), json!("org"), json!("app"), json!(null), json!(7)]),
            role in proptest::sample::select(vec![json!("read"), json!("write"), json!("fineGrained"), json!(null), json!(["x"])]),
            expiration in proptest::sample::select(vec![json!("2999-01-01T00:00:00Z"), json!("1970-01-01T00:00:00Z"), json!("soon"), json!(null), json!(5)]),
            fine in proptest::sample::select(vec![
                json!(null),
                json!({"scoped": null, "global": [1, "repo.write"]}),
                json!({"scoped": [{"entity": null, "permissions": ["repo.write"]}, 3], "canReadGatedRepos": true}),
                json!({"scoped": [{"entity": {"_id": "i", "type": "user"}, "permissions": null}]}),
            ]),
            orgs in proptest::sample::select(vec![json!(null), json!([]), json!([{"name": "a", "roleInOrg": 3}, null, {"name": null}]), json!("x")]),
        ) {
            let v = json!({
                "type": kind, "id": "i", "name": "n", "orgs": orgs,
                "auth": {"type": "access_token", "accessToken": {"role": role, "expiration": expiration, "fineGrained": fine}},
            });
            if let Ok(w) = serde_json::from_value::<WhoAmI>(v) {
                if let Ok(s) = session_of(w, "t", 1000, 2000) {
                    proptest::prop_assert_eq!(kind, json!("user"));
                    proptest::prop_assert!(s.expires_at > 1000);
                }
            }
        }
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2025-01-31T12:00:00.123Z"),
            Some(1_738_324_800)
        );
        assert_eq!(
            parse_rfc3339("2025-01-31T14:00:00+02:00"),
            Some(1_738_324_800)
        );
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        for bad in [
            "",
            "2025-01-31",
            "2025-13-01T00:00:00Z",
            "2025-01-31T12:00:00",
            "2025-01-31T12:00:00.Z",
            "x025-01-31T12:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
