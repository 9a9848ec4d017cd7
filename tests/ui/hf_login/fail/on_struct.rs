use hf_auth_runtime::hf_login;

#[hf_login(scopes = "read-repos")]
struct Upload;

fn main() {
    let _ = Upload;
}
