use axum::extract::State;
use hf_auth_runtime::hf_login;

#[hf_login(scopes = "read-repos")]
async fn list<S: Clone + Send + Sync + 'static>(State(_state): State<S>) {}

fn main() {
    let _app: axum::Router<u32> = axum::Router::new().route("/", axum::routing::get(list::<u32>));
}
