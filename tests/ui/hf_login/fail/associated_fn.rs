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

// Without `#[handlers]` on the `impl` block (see `pass/impl_block.rs`): the guard is a type
// that the signature names, so it must be declared at module level (a struct, its
// `RequirementSource` impl and its `inventory` registration), none of which an `impl` block may
// contain, and the attribute sees only the function, so it cannot tell that it is inside one to
// say so in one error. `#[handlers]` on the block generates them beside it.
