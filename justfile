# Each recipe is one plain cargo command, also shown in README.md.

# Run every test: unit, property, tensor (flex backend) and doc tests.
test:
    cargo test --workspace --features rebalance/ndarray,rebalance/wgpu

# Check formatting, lint and the doc links with warnings as errors.
lint:
    cargo fmt --all -- --check && cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --workspace --all-targets --features rebalance/ndarray,rebalance/wgpu -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --exclude rebalance-testing

# Train the quickstart config (release build).
train:
    cargo run --release -- train --config configs/quickstart.toml

# Every weighting scheme side by side over 3 seeds (release build).
compare:
    cargo run --release -- compare --config configs/compare.toml

# Training throughput per backend, data pipeline and peak memory, as ratios (release build).
bench:
    cargo run --release -- bench

# rebalance against PyTorch on the same data and model (needs python3 with torch and numpy).
peer:
    bash bench/peer.sh
