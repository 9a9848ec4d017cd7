use hf_auth_runtime::hf_login;

#[hf_login]
fn upload() -> &'static str {
    "done"
}

fn main() {
    let _ = upload();
}
