use hf_auth_runtime::{handlers, HfUser};

#[handlers]
async fn me(user: HfUser) -> String {
    user.handle().to_owned()
}

fn main() {}
