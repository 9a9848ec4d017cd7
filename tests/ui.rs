//! Compile-time behaviour of `#[hf_login]` and `#[require_org]`: every accepted form compiles
//! (`pass/`), every mistake gives the reviewed message in its `.stderr` (`fail/`, one mistake
//! per file). Regenerate snapshots with `TRYBUILD=overwrite cargo test --test ui`, then read the
//! diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/*/pass/*.rs");
    t.compile_fail("tests/ui/*/fail/*.rs");
    t.pass("tests/ui/axum_macros/*.rs");
}
