//! Entry points for the project's own fuzz targets and benchmarks, behind the features
//! `fuzzing` and `bench-hooks`. They reach crate-private parts (the session codec, the ID-token
//! verifier) so those can be measured and fuzzed on their own. Not a public API: hidden from
//! the documentation, and free to change in any release.

#[cfg(feature = "bench-hooks")]
pub mod bench;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
