use hf_auth_runtime::{handlers, hf_login, HfUser};

struct Api;

#[handlers]
impl Api {
    #[hf_login(scopes = "write_repos")]
    async fn upload(user: HfUser) -> String {
        user.handle().to_owned()
    }
}

fn main() {
    let _ = Api::upload;
}
