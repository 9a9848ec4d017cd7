#![no_main]
//! Any `_target_url`: the result is a path that stays on the site and is a valid header value.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(target) = std::str::from_utf8(data) else {
        return;
    };
    let out = hf_auth_runtime::safe_return_path(Some(target));
    assert!(out.starts_with('/') && !out.starts_with("//"), "{target:?} -> {out:?}");
    assert!(!out.contains('\\') && out.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    let base = url::Url::parse("https://app.example/").unwrap();
    let resolved = base.join(out).unwrap();
    assert_eq!(resolved.host_str(), Some("app.example"), "{target:?} -> {out:?}");
});
