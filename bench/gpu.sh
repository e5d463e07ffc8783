#!/usr/bin/env bash
# The GPU measurements: rebalance on wgpu (and CUDA, where the binary has it) against PyTorch on
# CUDA, for the MLP and for ResNet-32, as one script for a machine with an NVIDIA GPU, PyTorch
# and no network (the `device` machine of this project's sessions).
#
#   BIN=path/to/rebalance bash bench/gpu.sh [BACKENDS] [--set key=value]...   (default BACKENDS: wgpu)
#
# The `--set` overrides apply to every row (a smoke test on a CPU machine:
# `TORCH_DEVICE=cpu BIN=target/release/rebalance bash bench/gpu.sh flex --set train.epochs=1
# --set data.max_per_class=50`).
# BIN is a release binary built on another machine with the backends asked for, e.g.
# `cargo build --release --features wgpu,gpu-tuning` (add `cuda` for BACKENDS=wgpu,cuda; its build
# downloads an LLVM bundle from GitHub, see README's Backends).
# For wgpu the machine needs a Vulkan loader (libvulkan1); see the device tool's README for
# carrying one. PYTHON picks the interpreter (default python3; it needs torch with CUDA and numpy);
# TORCH_DEVICE PyTorch's device (default cuda).
#
# Three rows per backend, each bench/peer.sh (three rebalance runs, three PyTorch runs, medians):
#   1. the quickstart MLP with 5 000 samples in the head (12 406 training samples, 10 epochs);
#   2. the same at batch 1024;
#   3. ResNet-32 on CIFAR-10-shaped random images (long-tailed from 2 000 down to 200 per class,
#      3 epochs, batch 128, Adam; 1 000 test images): the machine cannot download CIFAR-10, and
#      throughput does not depend on the pixels.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BIN:?set BIN to a release rebalance binary built with the backends to measure}"
backends="wgpu"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
    backends="$1"
    shift
fi
torch_device="${TORCH_DEVICE:-cuda}"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# CIFAR-10's binary format: per image one label byte, then 3 072 pixel bytes.
"$python" - "$work/cifar" <<'PY'
import os, random, sys
folder = sys.argv[1]
os.makedirs(folder)
rng = random.Random(0)
for name, images in [(f"data_batch_{i}.bin", 10000) for i in range(1, 6)] + [("test_batch.bin", 1000)]:
    with open(os.path.join(folder, name), "wb") as f:
        for i in range(images):
            f.write(bytes([i % 10]) + rng.randbytes(3072))
PY
cat >"$work/resnet.toml" <<TOML
[data]
source = "cifar10"
dir = "$work/cifar"
num_classes = 10
profile = { kind = "exponential", factor = 10 }
max_per_class = 2000

[model]
kind = "resnet32"

[loss]
kind = "cross-entropy"
scheme = "ens"
beta = 0.999

[train]
epochs = 3
batch_size = 128
learning_rate = 0.001
seed = 1

[output]
dir = "$work/runs"
TOML

"$BIN" --version
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
mlp=(configs/quickstart.toml --set data.max_per_class=5000 --set data.test_per_class=1000)
peer() {
    BIN="$BIN" BACKEND="$1" TORCH_DEVICE="$torch_device" PYTHON="$python" bash bench/peer.sh "${@:2}"
}
for backend in ${backends//,/ }; do
    echo "== MLP, batch 128: rebalance on $backend, PyTorch on $torch_device"
    peer "$backend" "${mlp[@]}" "$@"
    echo "== MLP, batch 1024: rebalance on $backend, PyTorch on $torch_device"
    peer "$backend" "${mlp[@]}" --set train.batch_size=1024 "$@"
    echo "== ResNet-32, batch 128: rebalance on $backend, PyTorch on $torch_device"
    peer "$backend" "$work/resnet.toml" "$@"
done
