#!/usr/bin/env bash
# rebalance against PyTorch on the same data, model, optimizer and class weights.
#
#   bash bench/peer.sh [CONFIG] [--set key=value]...     (default CONFIG: configs/quickstart.toml)
#
# Builds the release binary if needed, exports the config's data, trains with rebalance three
# times, then runs bench/torch_reference.py (python3 with torch and numpy: `pip install torch
# numpy`; PYTHON=... picks another interpreter) and prints the rebalance/PyTorch ratios.
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
cargo build --release --quiet
bin="target/release/rebalance"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bin" data --config "$config" "$@" --export "$work/data" >/dev/null 2>&1
reports=()
for r in 1 2 3; do
    "$bin" train --config "$config" "$@" --out "$work/run$r" >/dev/null 2>&1
    reports+=("$work/run$r/report.json")
done
"$python" bench/torch_reference.py --run "$work/run1" --data "$work/data" \
    --rebalance-reports "${reports[@]:1}"
