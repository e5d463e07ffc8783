#!/usr/bin/env python3
"""PyTorch peer of `rebalance train`: the same MLP on the same data, with the same class weights.

It reads a finished rebalance run directory (its resolved `config.toml` and `report.json`) and the
splits that `rebalance data --export` wrote, then trains what the config describes:

- inputs standardized with the training split's mean and population std (std 0 -> 1): per
  feature for an MLP, per channel for ResNet-32's images, as rebalance does;
- `model.kind = "mlp"`: `Linear -> ReLU` per hidden width, then a linear head;
  `model.kind = "resnet32"`: rebalance's ResNet-32 (a 3x3 stem of 16 channels, three stages of five
  basic blocks of 16, 32 and 64 channels with 1x1 projection shortcuts where the shape changes,
  batch norm, global average pooling), then a linear head. PyTorch's default initialisation
  (uniform in +-1/sqrt(fan_in)) is Burn's `LinearConfig` and `Conv2dConfig` default too;
- Adam with the config's learning rate, betas (0.9, 0.999) and eps 1e-5 (Burn's default eps);
- cross-entropy weighted by the run's `class_weights`, averaged by weight (PyTorch's and
  rebalance's `weighted-mean`);
- shuffled mini-batches of the config's batch size for the config's epochs; after each epoch, as
  burn-train does, a pass over the validation split (here the test split) computing loss and
  accuracy, so both sides time the same work.

It prints PyTorch's training throughput and final test balanced accuracy, rebalance's from the
run's report, and their ratios. `bench/peer.sh` runs both sides with one command. `--device cuda`
trains on an NVIDIA GPU (timings synchronize the device first).

Run with Python 3.11.7, PyTorch 2.15.0 (the PyPI wheel, on the CPU) and NumPy 2.4.6 on 2026-11-26 and
2026-11-29 (the ResNet-32 and `--device` paths: on the CPU only; no GPU was lent that day).
"""

import argparse
import json
import os
import statistics
import sys
import time
import tomllib

import numpy as np
import torch
from torch import nn


def load_split(path):
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    return table[:, :-1], table[:, -1].astype(np.int64)


def balanced_accuracy(labels, predictions, classes):
    recalls = [
        float(np.mean(predictions[labels == c] == c)) for c in range(classes) if np.any(labels == c)
    ]
    return sum(recalls) / len(recalls)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm; identity shortcut, or a 1x1 projection."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut = None
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(
                nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs)
            )

    def forward(self, x):
        identity = x if self.shortcut is None else self.shortcut(x)
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + identity)


def resnet32(channels, classes):
    """rebalance's ResNet-32 (crates/rebalance/src/run/backbone.rs) with a linear head."""
    layers = [nn.Conv2d(channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    inputs = 16
    for stage, width in enumerate([16, 32, 64]):
        for block in range(5):
            layers.append(BasicBlock(inputs, width, 2 if stage > 0 and block == 0 else 1))
            inputs = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def mlp(config, features, classes):
    layers, width = [], features
    for hidden in config["model"]["hidden"]:
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*layers, nn.Linear(width, classes))


def image_channels(config, features):
    """Channels of ResNet-32's 32x32 images, or None for an MLP's feature vectors."""
    if config["model"]["kind"] != "resnet32":
        return None
    return features // (32 * 32)


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_once(config, weights, train, test, seed, device):
    """Inputs: `[N, features]` for an MLP, `[N, channels, 32, 32]` images for ResNet-32."""
    torch.manual_seed(seed)
    x_train, y_train = train
    x_test, y_test = test
    classes = len(weights)
    if x_train.dim() == 4:
        model = resnet32(x_train.shape[1], classes)
    else:
        model = mlp(config, x_train.shape[1], classes)
    model = model.to(device)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config["train"]["learning_rate"], betas=(0.9, 0.999), eps=1e-5
    )
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32, device=device))
    epochs, batch = config["train"]["epochs"], config["train"]["batch_size"]
    generator = torch.Generator().manual_seed(seed)
    n = len(y_train)
    synchronize(device)
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(n, generator=generator).to(device).split(batch):
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for first in range(0, len(y_test), batch):
                logits = model(x_test[first : first + batch])
                loss_fn(logits, y_test[first : first + batch])
                (logits.argmax(1) == y_test[first : first + batch]).float().mean()
    synchronize(device)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        predictions = torch.cat(
            [model(x_test[first : first + batch]).argmax(1) for first in range(0, len(y_test), batch)]
        )
    return n * epochs / seconds, balanced_accuracy(
        y_test.cpu().numpy(), predictions.cpu().numpy(), classes
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a finished rebalance run directory")
    parser.add_argument("--data", required=True, help="the folder of `rebalance data --export`")
    parser.add_argument("--repeats", type=int, default=3, help="training runs; medians reported")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count(), help="PyTorch threads (default: all cores)"
    )
    parser.add_argument(
        "--device", default="cpu", help="torch device: cpu (default), cuda, cuda:1, ..."
    )
    parser.add_argument(
        "--rebalance-reports",
        nargs="*",
        default=[],
        help="report.json of more rebalance runs of the same config (medians over all)",
    )
    args = parser.parse_args()

    with open(os.path.join(args.run, "config.toml"), "rb") as f:
        config = tomllib.load(f)
    reports = []
    for path in [os.path.join(args.run, "report.json"), *args.rebalance_reports]:
        with open(path) as f:
            reports.append(json.load(f))
    loss, train_cfg = config["loss"], config["train"]
    unsupported = []
    model = config["model"]
    if model["kind"] not in ("mlp", "resnet32") or model.get("dropout", 0.0) != 0.0:
        unsupported.append("model: an MLP without dropout, or ResNet-32")
    if model.get("cosine_head", False):
        unsupported.append("model: a linear head (no cosine_head)")
    if train_cfg.get("augment", False):
        unsupported.append("train: no augmentation")
    if loss["kind"] != "cross-entropy" or loss.get("smoothing", 0.0) != 0.0:
        unsupported.append("loss: only (weighted) cross-entropy without smoothing")
    if loss.get("reduction", "weighted-mean") != "weighted-mean" or loss.get("drw_start_epoch"):
        unsupported.append("loss: weighted-mean reduction, no deferred re-weighting")
    if train_cfg["optimizer"] != "adam" or train_cfg["schedule"] != "constant":
        unsupported.append("train: Adam with a constant learning rate")
    if train_cfg.get("weight_decay", 0.0) != 0.0 or config["data"].get("resampling", "none") != "none":
        unsupported.append("train: no weight decay or re-sampling")
    if unsupported:
        sys.exit("torch_reference.py supports " + "; ".join(unsupported))

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    x_train, y_train = load_split(os.path.join(args.data, "train.csv"))
    x_test, y_test = load_split(os.path.join(args.data, "test.csv"))
    channels = image_channels(config, x_train.shape[1])
    if channels is None:
        mean = x_train.mean(axis=0)
        std = x_train.std(axis=0)
    else:
        by_channel = x_train.reshape(len(x_train), channels, -1)
        mean = np.repeat(by_channel.mean(axis=(0, 2)), 32 * 32)
        std = np.repeat(by_channel.std(axis=(0, 2)), 32 * 32)
    std[std <= 1e-8] = 1.0
    # On the device once, as images where the model takes images.
    sample = (-1,) if channels is None else (channels, 32, 32)
    train, test = (
        (
            torch.from_numpy((x - mean) / std).reshape(len(y), *sample).to(device),
            torch.from_numpy(y).to(device),
        )
        for x, y in ((x_train, y_train), (x_test, y_test))
    )
    weights = reports[0]["class_weights"]

    runs = [
        train_once(config, weights, train, test, train_cfg["seed"] + r, device)
        for r in range(args.repeats)
    ]
    torch_speed = statistics.median(r[0] for r in runs)
    torch_ba = statistics.median(r[1] for r in runs)
    ours_speed = statistics.median(r["train_samples_per_second"] for r in reports)
    ours_ba = statistics.median(r["balanced_accuracy"] for r in reports)
    where = f"{args.threads} threads" if device.type == "cpu" else torch.cuda.get_device_name(device)
    print(
        f"PyTorch {torch.__version__} on {device} ({where}); {model['kind']}, {len(y_train)} "
        f"training samples x {train_cfg['epochs']} epochs, batch {train_cfg['batch_size']}"
    )
    print(f"{'':<22}{'samples/s':>12}{'balanced accuracy':>20}")
    print(f"{'rebalance (' + reports[0]['backend'] + ')':<22}{ours_speed:>12.0f}{ours_ba:>20.4f}")
    print(f"{'PyTorch':<22}{torch_speed:>12.0f}{torch_ba:>20.4f}")
    print(f"{'rebalance / PyTorch':<22}{ours_speed / torch_speed:>11.2f}x{ours_ba / torch_ba:>19.3f}x")
    print(
        json.dumps(
            {
                "torch_version": torch.__version__,
                "device": str(device),
                "threads": args.threads,
                "torch_samples_per_second": torch_speed,
                "torch_balanced_accuracy": torch_ba,
                "rebalance_samples_per_second": ours_speed,
                "rebalance_balanced_accuracy": ours_ba,
                "throughput_ratio": ours_speed / torch_speed,
                "accuracy_ratio": ours_ba / torch_ba,
            }
        )
    )


if __name__ == "__main__":
    main()
