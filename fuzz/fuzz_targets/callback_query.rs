#![no_main]
//! Any callback query string: parsing never panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        hf_auth_runtime::__internal::fuzzing::callback_query(query);
    }
});
