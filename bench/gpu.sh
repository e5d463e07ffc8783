#!/usr/bin/env bash
# The GPU measurements as one script, for a machine with an NVIDIA GPU, PyTorch and no network
# (the `device` machine of this project's sessions; docs/gpu.md has what it gave):
#
#   BIN=path/to/rebalance [BIN_PLAIN=path/to/rebalance] RESULTS=dir bash bench/gpu.sh [--set key=value]...
#
# BIN is a release binary built on another machine with wgpu and CubeCL's tuning
# (`cargo build --release --features wgpu,gpu-tuning`); BIN_PLAIN, optional, the same without
# `gpu-tuning` (Burn issue #5257 reports wrong results with fusion and autotune together on
# Vulkan, so both are checked, and they differ in speed). With STEPS not running `agree`, BIN
# runs the later steps. The machine needs a Vulkan loader (libvulkan1; the device tool's
# README says how to carry one). Steps (STEPS, default "agree compare packed throughput"):
#
#   agree       the quickstart on flex (train.seed 1..5) and on wgpu with each binary (seeds 1..3):
#               wgpu's mean balanced accuracy must lie within what the initial weights explain
#               (|Δ| ≤ max(0.02, 3 · pooled sd · √(1/5 + 1/3))); and a wgpu-trained model evaluated
#               on flex must give its wgpu report's metrics (the forward pass agrees). Of the
#               binaries that pass both, the faster (median samples/s) runs the later steps (on
#               an H200 that was the plain one); if none passes, they run on flex.
#   compare     `rebalance compare --config configs/compare.toml --backend wgpu --jobs $JOBS`
#               (JOBS default 4), timed;
#   throughput  bench/peer.sh against PyTorch on CUDA: the quickstart MLP at batch 128 and 1024,
#               and ResNet-32 on CIFAR-10-shaped random images (long-tailed 2 000 -> 200 per
#               class, 3 epochs, batch 128, Adam; the machine cannot download CIFAR-10, and
#               throughput does not depend on the pixels).
#   packed      packed sweeps (issue 28) against one run at a time: the default sweep and a
#               ResNet-32 sweep (4 weightings x 3 seeds on CIFAR-shaped random images), each with
#               `--pack $PACK` (default auto) and `--pack off`, and PyTorch on TORCH_DEVICE
#               training the ResNet sweep's runs one after another; wall times, ratios and
#               whether the rankings agree go into summary.txt (RESULTS/packed/); with
#               nvidia-smi, the GPU's peak memory during the packed ResNet sweep too.
#   losses      (only when asked for in STEPS) every loss's forward + backward on wgpu against
#               burn-nn's weighted cross-entropy, the sigmoid losses through the fused CubeCL
#               kernel: LOSS_BENCH, the bench binary of
#               `cargo bench -p rebalance-loss --features wgpu --no-run` (its path is printed),
#               run with REBALANCE_BENCH_DEVICE=wgpu; its table goes into summary.txt.
#
# Every output (run directories, comparison files, logs, summary.txt) is kept under RESULTS
# (default: a new temporary folder, printed). A step that fails is reported and the next one
# runs; the exit status is non-zero if any failed. `--set` overrides apply to every training
# (a smoke test on a CPU: `TORCH_DEVICE=cpu BIN=target/release/rebalance bash bench/gpu.sh
# --set train.epochs=1 --set data.max_per_class=50 --set data.test_per_class=20`).
# Environment: PYTHON (default python3, with torch and numpy), TORCH_DEVICE (default cuda), JOBS,
# ROWS (the throughput rows, default "mlp128 mlp1024 resnet32"),
# STEPS, COMPARE_ARGS (more arguments of the compare step, e.g. `--only ce,balanced-softmax`),
# COMPARE_TIMEOUT_S (the compare step's limit) and PEER_TIMEOUT_S (each throughput row's; no
# limit by default; a compare stopped at its limit keeps its finished runs), and LOSS_BENCH (the
# losses step's bench binary).
set -uo pipefail
cd "$(dirname "$0")/.."
: "${BIN:?set BIN to a release rebalance binary built with --features wgpu,gpu-tuning}"
BIN="$(realpath "$BIN")"
plain="${BIN_PLAIN:+$(realpath "$BIN_PLAIN")}"
results="${RESULTS:-$(mktemp -d)}"
mkdir -p "$results"
results="$(realpath "$results")"
python="${PYTHON:-python3}"
torch_device="${TORCH_DEVICE:-cuda}"
steps="${STEPS:-agree compare packed throughput}"
jobs="${JOBS:-4}"
# `limit SECONDS command...`: the command, stopped after SECONDS (none if empty).
limit() {
    local seconds="$1"
    shift
    if [ -n "$seconds" ]; then
        timeout --kill-after=10 "$seconds" "$@"
    else
        "$@"
    fi
}
summary="$results/summary.txt"
failed=0

say() { echo "$*" | tee -a "$summary"; }
# Runs a step's command, its output to the terminal and to RESULTS/<step>.log, timed.
step() {
    local name="$1"
    shift
    local start=$SECONDS
    echo "== $name: $*"
    "$@" 2>&1 | tee "$results/$name.log"
    local rc=${PIPESTATUS[0]}
    say "$name: exit $rc, $((SECONDS - start)) s"
    [ "$rc" -eq 0 ] || failed=1
    return "$rc"
}

say "rebalance GPU measurements, $(date -u +%Y-%m-%dT%H:%M:%SZ), results in $results"
say "binary: $("$BIN" --version)"
say "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
say "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"

# --- agree -------------------------------------------------------------------------------------
agree() {
    local dir="$results/agree" label bin s
    mkdir -p "$dir"
    for s in 1 2 3 4 5; do
        "$BIN" train --config configs/quickstart.toml "$@" --backend flex --set train.seed=$s \
            --out "$dir/flex-seed$s" >"$dir/flex-seed$s.log" 2>&1 || { cat "$dir/flex-seed$s.log"; return 1; }
    done
    for label in tuned plain; do
        bin="$BIN"
        [ "$label" = plain ] && bin="$plain"
        [ -n "$bin" ] || continue
        for s in 1 2 3; do
            if ! "$bin" train --config configs/quickstart.toml "$@" --backend wgpu --set train.seed=$s \
                --out "$dir/wgpu-$label-seed$s" >"$dir/wgpu-$label-seed$s.log" 2>&1; then
                echo "wgpu ($label) seed $s failed:"
                tail -5 "$dir/wgpu-$label-seed$s.log"
                continue
            fi
        done
        # The same weights evaluated on flex: a copy of the run, its backend switched.
        if [ -f "$dir/wgpu-$label-seed1/report.json" ]; then
            cp -r "$dir/wgpu-$label-seed1" "$dir/wgpu-$label-seed1-on-flex"
            sed -i 's/^backend = "wgpu"/backend = "flex"/' "$dir/wgpu-$label-seed1-on-flex/config.toml"
            "$BIN" eval --run "$dir/wgpu-$label-seed1-on-flex" >"$dir/wgpu-$label-seed1-on-flex.log" 2>&1 ||
                tail -5 "$dir/wgpu-$label-seed1-on-flex.log"
        fi
    done
    "$python" - "$dir" <<'PY'
import json, math, os, statistics, sys
d = sys.argv[1]
def report(name):
    path = os.path.join(d, name, "report.json")
    return json.load(open(path)) if os.path.exists(path) else None
def runs(prefix, n):
    return [r for r in (report(f"{prefix}-seed{s}") for s in range(1, n + 1)) if r]
flex = runs("flex", 5)
fb = [r["balanced_accuracy"] for r in flex]
print(f"flex: balanced accuracy {' '.join(f'{b:.4f}' for b in fb)}; "
      f"{statistics.median(r['train_samples_per_second'] for r in flex):.0f} samples/s (median)")
chosen, fastest = None, 0.0
for label in ("tuned", "plain"):
    w = runs(f"wgpu-{label}", 3)
    if not w:
        if os.path.exists(os.path.join(d, f"wgpu-{label}-seed1.log")):
            print(f"wgpu {label}: no run finished: DISAGREES")
        continue
    wb = [r["balanced_accuracy"] for r in w]
    pooled = math.sqrt(((len(fb) - 1) * statistics.variance(fb) + (len(wb) - 1) * statistics.variance(wb))
                       / (len(fb) + len(wb) - 2)) if len(wb) > 1 else statistics.stdev(fb)
    bound = max(0.02, 3 * pooled * math.sqrt(1 / len(fb) + 1 / len(wb)))
    delta = statistics.mean(wb) - statistics.mean(fb)
    same = abs(delta) <= bound and len(w) == 3
    print(f"wgpu {label}: balanced accuracy {' '.join(f'{b:.4f}' for b in wb)}; "
          f"{statistics.median(r['train_samples_per_second'] for r in w):.0f} samples/s (median); "
          f"mean - flex mean = {delta:+.4f} (bound {bound:.4f}): {'agrees' if same else 'DISAGREES'}")
    on_flex = report(f"wgpu-{label}-seed1-on-flex")
    forward = False
    if on_flex:
        gap = max(abs(on_flex[k] - w[0][k]) for k in ("accuracy", "balanced_accuracy"))
        forward = gap <= 2e-3
        print(f"wgpu {label}: seed 1's weights evaluated on flex: balanced accuracy "
              f"{on_flex['balanced_accuracy']:.4f} vs {w[0]['balanced_accuracy']:.4f} on wgpu: "
              f"{'same' if forward else 'DIFFERENT'} (largest gap {gap:.5f})")
    speed = statistics.median(r["train_samples_per_second"] for r in w)
    if same and forward and speed > fastest:
        chosen, fastest = label, speed
print(f"chosen: {chosen or 'none'}")
open(os.path.join(d, "chosen"), "w").write(chosen or "")
PY
}

# `random_cifar DIR`: CIFAR-10's binary format (per image one label byte, then 3 072 pixel bytes),
# 154 MB of random bytes that the seed remakes (the machine cannot download CIFAR-10, and speed
# does not depend on the pixels); kept out of RESULTS.
random_cifar() {
    "$python" - "$1" <<'PY'
import os, random, sys
folder = sys.argv[1]
os.makedirs(folder, exist_ok=True)
rng = random.Random(0)
for name, images in [(f"data_batch_{i}.bin", 10000) for i in range(1, 6)] + [("test_batch.bin", 1000)]:
    with open(os.path.join(folder, name), "wb") as f:
        for i in range(images):
            f.write(bytes([i % 10]) + rng.randbytes(3072))
PY
}

# `resnet_sections DIR`: the [data], [model] and [train] tables of the ResNet-32 measurements
# (the throughput row and the packed sweep): CIFAR-shaped images in DIR, long-tailed 2 000 -> 200
# per class, 3 epochs at batch 128, Adam at 0.001.
resnet_sections() {
    cat <<TOML
[data]
source = "cifar10"
dir = "$1"
num_classes = 10
profile = { kind = "exponential", factor = 10 }
max_per_class = 2000

[model]
kind = "resnet32"

[train]
epochs = 3
batch_size = 128
learning_rate = 0.001
seed = 1

TOML
}

# `timed NAME command...`: runs the command, its output to RESULTS/NAME.log, and prints
# "NAME SECONDS" (wall time, to the millisecond) to RESULTS/packed/times.
timed() {
    local name="$1" start end rc
    shift
    start=$(date +%s.%N)
    "$@" >"$results/packed/$name.log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    echo "$name $(echo "$end - $start" | bc)" >>"$results/packed/times"
    [ "$rc" -eq 0 ] || { echo "$name failed:"; tail -5 "$results/packed/$name.log"; }
    return "$rc"
}

# --- packed --------------------------------------------------------------------------------------
# Packed sweeps (issue 28) against one run at a time, the same binary and backend:
#   - the default sweep (configs/compare.toml, 60 runs), `--pack $PACK` (default auto) and
#     `--pack off`, both with --jobs 1;
#   - a ResNet-32 sweep on CIFAR-shaped random images (4 weighting variants x 3 seeds, 3 epochs,
#     batch 128), packed and off;
#   - PyTorch on TORCH_DEVICE training the ResNet sweep's runs one after another
#     (bench/torch_reference.py --repeats 1 on each finished run, on the data of seed 1's
#     export: the same sizes and work), if it imports torch.
# Prints each wall time and the ratios, and whether packed and off rank the variants alike.
packed() {
    local dir="$results/packed" images
    mkdir -p "$dir"
    : >"$dir/times"
    local pack="${PACK:-auto}" status=0
    timed default-off "$bin" compare --config configs/compare.toml --backend "$backend" --jobs 1 \
        --pack off --out "$dir/default-off" "$@" </dev/null || status=1
    timed default-packed "$bin" compare --config configs/compare.toml --backend "$backend" --jobs 1 \
        --pack "$pack" --out "$dir/default-packed" "$@" </dev/null || status=1
    images="$(mktemp -d)"
    random_cifar "$images/cifar" || return 1
    {
        resnet_sections "$images/cifar"
        cat <<TOML
[compare]
seeds = 3
baseline = "ce"

[loss]
kind = "cross-entropy"

[[variants]]
name = "ce"

[[variants]]
name = "ins"
loss = { kind = "cross-entropy", scheme = "ins" }

[[variants]]
name = "isns"
loss = { kind = "cross-entropy", scheme = "isns" }

[[variants]]
name = "ens"
loss = { kind = "cross-entropy", scheme = "ens", beta = 0.999 }
TOML
    } >"$dir/resnet.toml"
    timed resnet-off "$bin" compare --config "$dir/resnet.toml" --backend "$backend" --jobs 1 \
        --pack off --out "$dir/resnet-off" "$@" </dev/null || status=1
    # The GPU's memory in use every half second while the packed ResNet sweep trains: the peak
    # against what `auto` sizes groups by (run/pack/memory.rs: about 1.09 GB a run at batch 128).
    local sampler=""
    if command -v nvidia-smi >/dev/null 2>&1; then
        nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 \
            >"$dir/resnet-packed-memory.log" 2>/dev/null &
        sampler=$!
    fi
    timed resnet-packed "$bin" compare --config "$dir/resnet.toml" --backend "$backend" --jobs 1 \
        --pack "$pack" --out "$dir/resnet-packed" "$@" </dev/null || status=1
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
    if "$python" -c "import torch, numpy" 2>/dev/null; then
        "$bin" data --config "$dir/resnet.toml" "$@" --export "$dir/resnet-data" >/dev/null 2>&1 &&
            timed resnet-pytorch bash -c '
                for run in "$1"/*/seed-*/; do
                    "$2" bench/torch_reference.py --run "$run" --data "$3" --device "$4" --repeats 1 || exit 1
                done' _ "$dir/resnet-off" "$python" "$dir/resnet-data" "$torch_device" || status=1
    else
        echo "resnet-pytorch: $python cannot import torch; skipped" | tee -a "$dir/times"
    fi
    rm -rf "$images"
    "$python" - "$dir" <<'PY'
import json, os, sys
d = sys.argv[1]
times = {}
for line in open(os.path.join(d, "times")):
    parts = line.split()
    if len(parts) == 2:
        times[parts[0]] = float(parts[1])
for sweep in ("default", "resnet"):
    ranks = []
    for mode in ("off", "packed"):
        path = os.path.join(d, f"{sweep}-{mode}", "comparison.json")
        if os.path.exists(path):
            ranks.append([v["name"] for v in json.load(open(path))["variants"]])
    if len(ranks) < 2:
        print(f"{sweep} sweep: not measured (a sweep failed; see RESULTS/packed/{sweep}-*.log)")
        continue
    off, packed = times[f"{sweep}-off"], times[f"{sweep}-packed"]
    print(f"{sweep} sweep: off {off:.1f} s, packed {packed:.1f} s: packed/off = {packed / off:.2f}x")
    print(f"{sweep} sweep: the same ranking packed and off: {'yes' if ranks[0] == ranks[1] else 'NO'}")
memory = os.path.join(d, "resnet-packed-memory.log")
if os.path.exists(memory):
    used = [float(x) for x in open(memory).read().split() if x.replace(".", "", 1).isdigit()]
    groups = [int(p.split()[2].rstrip(":")) for p in open(os.path.join(d, "resnet-packed.log"))
              if p.startswith("pack of ")]
    if used:
        print(f"resnet sweep: packed, peak GPU memory {max(used):.0f} MiB for groups of "
              f"{groups or 'no pack'} runs (estimate: about 1.09 GB a run at batch 128)")
torch = times.get("resnet-pytorch")
if torch and os.path.exists(os.path.join(d, "resnet-packed", "comparison.json")):
    print(f"resnet sweep: PyTorch one run after another {torch:.1f} s; "
          f"packed rebalance / PyTorch = {times['resnet-packed'] / torch:.2f}x")
PY
    return $status
}

# --- throughput ----------------------------------------------------------------------------------
throughput() {
    local backend="$1" bin="$2"
    shift 2
    local work="$results/throughput" images
    mkdir -p "$work"
    images="$(mktemp -d)"
    random_cifar "$images/cifar" || return 1
    {
        resnet_sections "$images/cifar"
        cat <<TOML
[loss]
kind = "cross-entropy"
scheme = "ens"
beta = 0.999

[output]
dir = "$work/runs"
TOML
    } >"$work/resnet.toml"
    local status=0
    peer() {
        BIN="$bin" BACKEND="$backend" TORCH_DEVICE="$torch_device" PYTHON="$python" \
            limit "${PEER_TIMEOUT_S:-}" bash bench/peer.sh "$@"
    }
    local row
    for row in ${ROWS:-mlp128 mlp1024 resnet32}; do
        case "$row" in
        mlp128)
            echo "-- MLP, batch 128: rebalance on $backend, PyTorch on $torch_device"
            peer configs/quickstart.toml "$@" || status=1
            ;;
        mlp1024)
            echo "-- MLP, batch 1024: rebalance on $backend, PyTorch on $torch_device"
            peer configs/quickstart.toml --set train.batch_size=1024 "$@" || status=1
            ;;
        resnet32)
            echo "-- ResNet-32, batch 128: rebalance on $backend, PyTorch on $torch_device"
            peer "$work/resnet.toml" "$@" || status=1
            ;;
        *)
            echo "unknown row $row (mlp128, mlp1024, resnet32)"
            status=1
            ;;
        esac
    done
    rm -rf "$images"
    return $status
}

backend=wgpu
bin="$BIN"
for name in $steps; do
    case "$name" in
    agree)
        step agree agree "$@"
        case "$(cat "$results/agree/chosen" 2>/dev/null)" in
        tuned) ;;
        plain) bin="$plain" ;;
        *) backend=flex ;;
        esac
        say "later steps: $backend$([ "$backend" = wgpu ] && [ "$bin" = "$plain" ] && echo ' (without gpu-tuning)')"
        ;;
    compare)
        step compare limit "${COMPARE_TIMEOUT_S:-}" "$bin" compare --config configs/compare.toml --backend "$backend" --jobs "$jobs" \
            --out "$results/compare" ${COMPARE_ARGS:-} "$@" </dev/null
        [ -f "$results/compare/comparison.md" ] && cat "$results/compare/comparison.md" >>"$summary"
        ;;
    throughput) step throughput throughput "$backend" "$bin" "$@" ;;
    packed)
        step packed packed "$@"
        grep -E "sweep:|skipped" "$results/packed.log" >>"$summary"
        ;;
    losses)
        if [ -z "${LOSS_BENCH:-}" ]; then
            say "losses: set LOSS_BENCH to the bench binary of cargo bench -p rebalance-loss --features wgpu --no-run"
            failed=1
        else
            step losses env REBALANCE_BENCH_DEVICE=wgpu "$(realpath "$LOSS_BENCH")" --bench
            sed -n '/^forward + backward/,$p' "$results/losses.log" >>"$summary"
        fi
        ;;
    *)
        say "unknown step $name (agree, compare, throughput, packed, losses)"
        failed=1
        ;;
    esac
done
say "done in $SECONDS s$([ $failed -ne 0 ] && echo ', with failures')"
exit $failed
