use hf_auth_runtime::{hf_login, HfUser};

struct Api;

impl Api {
    #[hf_login(scopes = "read-repos")]
    async fn me(user: HfUser) -> String {
        user.handle().to_owned()
    }
}

fn main() {
    let _ = Api::me;
}

// Not fixed (issue 16.5), and recorded here so that a change shows as a reviewed diff: the
// guard is a type that the signature names, so it must be declared at module level (a struct,
// its `RequirementSource` impl and its `inventory` registration), none of which an `impl`
// block may contain; a requirement holds strings (org handles, extra scopes), so it cannot be
// a runtime type's const generics either; and the attribute sees only the function, so it
// cannot tell that it is inside an `impl` to say so in one error. Make the handler a free
// function.
