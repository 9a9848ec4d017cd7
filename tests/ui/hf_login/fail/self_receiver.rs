use hf_auth_runtime::hf_login;

struct Repos;

impl Repos {
    #[hf_login]
    async fn upload(&self) {}
}

fn main() {
    let _ = Repos.upload();
}
