#![no_main]
//! Any Cookie header: decoding never panics and never yields a session.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert!(!hf_auth_runtime::__internal::fuzzing::session_from_cookie_header(data));
});
