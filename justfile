# Each recipe is one plain cargo command, also shown in README.md.

# Run every test: unit, property, tensor (flex backend) and doc tests.
test:
    cargo test --workspace

# Check formatting and lint with warnings as errors.
lint:
    cargo fmt --all -- --check && cargo clippy --workspace --all-targets -- -D warnings
