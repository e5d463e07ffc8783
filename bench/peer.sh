#!/usr/bin/env bash
# rebalance against PyTorch on the same data, model, optimizer and class weights.
#
#   bash bench/peer.sh [CONFIG] [--set key=value]...     (default CONFIG: configs/quickstart.toml)
#
# Builds the release binary if needed, exports the config's data, trains with rebalance three
# times, then runs bench/torch_reference.py (python3 with torch and numpy: `pip install torch
# numpy`) and prints the rebalance/PyTorch ratios.
#
# Environment:
#   PYTHON=...         the interpreter (default python3)
#   BIN=...            a prebuilt `rebalance` binary; nothing is built (for a machine without cargo)
#   BACKEND=...        rebalance's backend (default: the config's), e.g. wgpu or cuda
#   TORCH_DEVICE=...   PyTorch's device (default cpu), e.g. cuda
set -euo pipefail
cd "$(dirname "$0")/.."

config="configs/quickstart.toml"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
    config="$1"
    shift
fi
python="${PYTHON:-python3}"
"$python" -c "import torch, numpy" 2>/dev/null || {
    echo "error: $python cannot import torch and numpy; pip install torch numpy (or set PYTHON)" >&2
    exit 1
}
bin="${BIN:-}"
if [ -z "$bin" ]; then
    cargo build --release --quiet
    bin="target/release/rebalance"
fi
backend=()
if [ -n "${BACKEND:-}" ]; then
    backend=(--backend "$BACKEND")
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Runs a rebalance command quietly; on failure, shows its output and stops.
quiet() {
    if ! "$@" >"$work/log" 2>&1; then
        cat "$work/log" >&2
        exit 1
    fi
}

quiet "$bin" data --config "$config" "$@" --export "$work/data"
reports=()
for r in 1 2 3; do
    quiet "$bin" train --config "$config" "$@" "${backend[@]}" --out "$work/run$r"
    reports+=("$work/run$r/report.json")
done
"$python" bench/torch_reference.py --run "$work/run1" --data "$work/data" \
    --device "${TORCH_DEVICE:-cpu}" --rebalance-reports "${reports[@]:1}"
