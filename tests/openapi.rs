//! Guarded handlers documented with utoipa (`axum_extras`) and routed with utoipa-axum: both
//! orders of `#[hf_login]` / `#[require_org]` and `#[utoipa::path]` compile, the routes stay
//! guarded, and `HfAuthSecurity` writes each guarded operation's security into the document.
//! The same cases run twice in one build: utoipa 5 with utoipa-axum 0.2 (`v5`), and utoipa 6
//! with utoipa-axum 0.3 (`v6`, the crates renamed and brought in as `utoipa`, the name the
//! generated code uses).

macro_rules! cases {
    ($version:ident) => {
        use axum::{
            extract::{Path, State},
            http::{header, Method, StatusCode},
            Router,
        };
        use hf_auth_runtime::{
            hf_login, openapi::$version as hf_openapi, require_org, testing, HfAuth, HfUser,
            MockUser,
        };
        use serde_json::{json, Value};
        use utoipa::OpenApi as _;
        use utoipa_axum::{router::OpenApiRouter, routes};

        use crate::common::oneshot::call;

        /// Ours above utoipa's: utoipa-gen reads the parameters as written (the guard is a
        /// parameter of its own, `_`, which it skips).
        #[hf_login(scopes = "read-repos")]
        #[utoipa::path(get, path = "/repos/{id}", responses((status = 200, body = String)))]
        async fn repo(Path(id): Path<u32>, user: HfUser) -> String {
            format!("{id} {}", user.handle())
        }

        /// utoipa's above ours, with a stack of ours.
        #[utoipa::path(post, path = "/orgs/{org}/settings", responses((status = 200)))]
        #[require_org(param = "org", role = "admin")]
        #[hf_login(scopes = "write-repos", accept = "token")]
        async fn org_settings(Path(org): Path<String>, user: HfUser) -> String {
            format!("{} administers {org}", user.handle())
        }

        /// Ours above utoipa's on a handler with no parameter but its state.
        #[require_org("acme", role = "write")]
        #[hf_login(accept = "session")]
        #[utoipa::path(get, path = "/acme", responses((status = 200)))]
        async fn acme(State(greeting): State<&'static str>) -> &'static str {
            greeting
        }

        /// Not guarded: nothing is added.
        #[utoipa::path(get, path = "/health", responses((status = 200)))]
        async fn health() -> &'static str {
            "ok"
        }

        fn routes() -> (Router, utoipa::openapi::OpenApi) {
            OpenApiRouter::new()
                .routes(routes!(repo))
                .routes(routes!(org_settings))
                .routes(routes!(acme))
                .routes(routes!(health))
                .with_state("hello acme")
                .split_for_parts()
        }

        fn document() -> Value {
            let (_, mut api) = routes();
            hf_openapi::add_security(&mut api);
            serde_json::to_value(&api).unwrap()
        }

        #[test]
        fn guarded_operations_get_their_security() {
            let doc = document();
            let op = |path: &str, method: &str| doc["paths"][path][method].clone();

            // Any credential: the sign-in's scopes, or a token granting them.
            let repo = op("/repos/{id}", "get");
            assert_eq!(
                repo["security"],
                json!([{"hf_oauth": ["read-repos"]}, {"hf_token": ["read-repos"]}])
            );
            // utoipa still read the handler's own parameters.
            assert_eq!(repo["parameters"][0]["name"], "id");
            assert_eq!(repo["parameters"][0]["in"], "path");
            assert_eq!(repo["x-hf-auth"]["accept"], "any");
            assert!(repo.get("description").is_none(), "{repo}");

            // Tokens only, and an org named by the path.
            let settings = op("/orgs/{org}/settings", "post");
            assert_eq!(settings["security"], json!([{"hf_token": ["write-repos"]}]));
            assert_eq!(settings["parameters"][0]["name"], "org");
            assert_eq!(
                settings["x-hf-auth"]["org_params"],
                json!([{"param": "org", "role": "admin"}])
            );
            assert!(settings["description"]
                .as_str()
                .unwrap()
                .contains("named by the path parameter `org` with role `admin` or higher"));

            // Sessions only, an org, no scope.
            let acme = op("/acme", "get");
            assert_eq!(acme["security"], json!([{"hf_oauth": []}]));
            assert_eq!(
                acme["x-hf-auth"]["orgs"],
                json!([{"org": "acme", "role": "write"}])
            );
            assert!(acme["description"]
                .as_str()
                .unwrap()
                .contains("organization `acme` with role `write` or higher"));

            // Not guarded: untouched.
            let health = op("/health", "get");
            assert!(health.get("security").is_none(), "{health}");
            assert!(health.get("x-hf-auth").is_none(), "{health}");

            let schemes = &doc["components"]["securitySchemes"];
            let flow = &schemes["hf_oauth"]["flows"]["authorizationCode"];
            assert_eq!(schemes["hf_oauth"]["type"], "oauth2");
            assert_eq!(
                flow["authorizationUrl"],
                "https://huggingface.co/oauth/authorize"
            );
            assert_eq!(flow["tokenUrl"], "https://huggingface.co/oauth/token");
            assert_eq!(
                flow["scopes"]["write-repos"],
                "read and write the user's repos"
            );
            assert_eq!(
                flow["scopes"].as_object().unwrap().len(),
                hf_auth_runtime::SCOPES.len()
            );
            assert_eq!(schemes["hf_token"]["type"], "http");
            assert_eq!(schemes["hf_token"]["scheme"], "bearer");
            let said = schemes["hf_token"]["description"].as_str().unwrap_or_default();
            assert!(
                said.contains("user access token") && said.contains("OAuth access tokens"),
                "{said}"
            );
            assert_eq!(schemes["hf_token"].as_object().unwrap().len(), 3);
        }

        #[test]
        fn adding_twice_changes_nothing() {
            let (_, mut api) = routes();
            hf_openapi::add_security(&mut api);
            let once = serde_json::to_value(&api).unwrap();
            hf_openapi::add_security(&mut api);
            assert_eq!(serde_json::to_value(&api).unwrap(), once);
        }

        #[test]
        fn as_a_modifier() {
            // utoipa's `modifiers(...)` takes a name, not a path.
            use hf_openapi::HfAuthSecurity;

            #[derive(utoipa::OpenApi)]
            #[openapi(paths(repo, health), modifiers(&HfAuthSecurity))]
            struct ApiDoc;

            let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
            assert_eq!(
                doc["paths"]["/repos/{id}"]["get"]["security"][0],
                json!({"hf_oauth": ["read-repos"]})
            );
            assert!(doc["paths"]["/health"]["get"].get("security").is_none());
            assert!(doc["components"]["securitySchemes"]["hf_token"].is_object());
        }

        /// Whatever the order of the attributes, the route is guarded.
        #[tokio::test]
        async fn guarded_in_both_orders() {
            let auth = HfAuth::builder()
                .scopes("openid profile read-repos write-repos")
                .mock_user(MockUser::default())
                .build()
                .await
                .expect("the test app starts");
            let (router, _) = routes();
            let app = auth.attach(router);
            let json = [("accept", "application/json")];

            for (method, path) in [
                (Method::GET, "/repos/7"),
                (Method::POST, "/orgs/acme/settings"),
                (Method::GET, "/acme"),
            ] {
                let answer = call(&app, method.clone(), path, &json, "").await;
                assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            }
            assert_eq!(
                call(&app, Method::GET, "/health", &json, "").await.status,
                StatusCode::OK
            );

            let reader = testing::session_cookie(
                &auth,
                &MockUser::new("alice").scopes("openid read-repos"),
            );
            let cookie = [("accept", "application/json"), ("cookie", reader.as_str())];
            let answer = call(&app, Method::GET, "/repos/7", &cookie, "").await;
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.body, "7 alice");
            // Signed in, but not in acme: refused.
            let answer = call(&app, Method::GET, "/acme", &cookie, "").await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN);
            let writer = testing::session_cookie(
                &auth,
                &MockUser::new("bob").org("acme", hf_auth_runtime::Role::Write),
            );
            let answer = call(
                &app,
                Method::GET,
                "/acme",
                &[(header::COOKIE.as_str(), writer.as_str())],
                "",
            )
            .await;
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.body, "hello acme");
        }
    };
}

mod common;

mod v5 {
    use ::utoipa;
    use ::utoipa_axum;
    cases!(utoipa5);
}

mod v6 {
    use ::utoipa6 as utoipa;
    use ::utoipa_axum_03 as utoipa_axum;
    cases!(utoipa6);
}
