//! Reference apps and black-box tests of hf-auth live in `examples/` and `tests/`.
