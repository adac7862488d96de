"""Digits fixtures: an MLP and a small CNN trained on sklearn's 8x8 digits.

Writes tests/fixtures/digits/:
  digits_test.csv            360 rows: 64 pixel values in [0,1] (row-major 8x8), then the label
  digits_calib.csv           200 training rows (20 per class), 64 values, no label
  digits_mlp.onnx            64 -> 64 (BatchNorm1d) -> 32 -> 10, opset 13, dynamic batch
  digits_cnn.onnx            3 convs on [batch,1,8,8] + Linear(256,10), opset 13, dynamic batch
  digits_mlp_expected.csv    torch float32 logits, one row per test row
  digits_cnn_expected.csv    same for the CNN
  manifest.json              versions, accuracies, shapes, MACs, op types, checksums
"""

import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import common

SEED = 20240611
OPSET = 13
OUT = common.FIXTURES / "digits"


class DigitsMLP(nn.Module):
    """64 -> 64 -> 32 -> 10; the BatchNorm1d survives export as its own node."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.bn1 = nn.BatchNorm1d(64)
        self.drop = nn.Dropout(p=0.2)
        self.fc2 = nn.Linear(64, 32)
        self.fc3 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.fc1(x)))
        x = self.drop(x)  # identity in eval mode, so absent from the export
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class DigitsCNN(nn.Module):
    """Three 3x3 convs on the 8x8 image, one pooling step, then a classifier."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(16, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))   # [N,8,4,4]
        x = F.relu(self.bn2(self.conv2(x)))              # [N,16,4,4]
        x = F.relu(self.conv3(x))                        # [N,16,4,4]
        # Written with view + size(0) on purpose: the exporter turns this into
        # Shape -> Gather -> Unsqueeze -> Concat -> Reshape, which the runtime
        # has to handle (or constant-fold) for a dynamic batch.
        x = x.view(x.size(0), -1)
        return self.fc(x)


def load_data():
    d = load_digits()
    x = (d.images.reshape(len(d.images), 64) / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=SEED % (2 ** 32))
    # Calibration rows: the first 20 training rows of each class after a
    # seeded shuffle, so every class is represented evenly.
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(x_tr))
    picked = []
    for c in range(10):
        picked.extend([i for i in order if y_tr[i] == c][:20])
    calib = x_tr[np.sort(np.array(picked))]
    return x_tr, y_tr, x_te, y_te, calib


def train(model, x_tr, y_tr, x_te, y_te, shape, epochs, lr, seed):
    gen = torch.Generator().manual_seed(seed)
    xt = torch.from_numpy(x_tr).reshape(shape)
    yt = torch.from_numpy(y_tr)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    batch = 64
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            if len(idx) < 2:  # BatchNorm needs more than one sample
                continue
            opt.zero_grad()
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        sched.step()
    return evaluate(model, x_te, y_te, shape)


def evaluate(model, x, y, shape):
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x).reshape(shape))
    return float((logits.argmax(1).numpy() == y).mean()), logits.numpy().astype(np.float32)


def build(name, model, x_tr, y_tr, x_te, y_te, in_shape, epochs, lr, min_acc, seed, out=OUT):
    common.make_deterministic(seed)
    model = model()
    acc, logits = train(model, x_tr, y_tr, x_te, y_te, (-1,) + in_shape, epochs, lr, seed)
    print(f"[digits] {name}: test accuracy {acc:.4f} ({int(round(acc * len(y_te)))}/{len(y_te)})")
    if acc < min_acc:
        raise SystemExit(f"{name} accuracy {acc:.4f} below the {min_acc} target")

    onnx_path = out / f"digits_{name}.onnx"
    example = torch.from_numpy(x_te[:2]).reshape((-1,) + in_shape)
    proto = common.export_onnx(model, example, onnx_path, OPSET, dynamic_batch=True)

    exp_path = out / f"digits_{name}_expected.csv"
    common.write_float_csv(exp_path, logits)
    common.check_roundtrip(exp_path, logits)

    x_model = x_te.reshape((-1,) + in_shape)
    checks = common.verify_outputs(model, proto, x_model, logits)
    checks["initializers"] = common.check_initializers(model, example, proto)
    macs = common.count_macs_torch(model, example)
    macs_onnx = common.count_macs_onnx(proto)
    if macs["total"] != macs_onnx:
        raise AssertionError(f"MAC count mismatch torch {macs['total']} vs onnx {macs_onnx}")
    params = sum(p.numel() for p in model.parameters())
    ops = common.op_types(proto)
    print(f"[digits] {name}: MACs {macs['total']}, params {params}, ops {ops}")
    print(f"[digits] {name}: onnx numpy reference max |diff| "
          f"{checks['max_abs_diff_onnx_numpy_ref_vs_expected']:.3g}, batch-1 torch max |diff| "
          f"{checks['max_abs_diff_torch_batch1_vs_batched']:.3g}")
    return {
        "file": onnx_path.name,
        "expected_file": exp_path.name,
        "opset": OPSET,
        "input": common.io_signature(proto)["inputs"][0],
        "output": common.io_signature(proto)["outputs"][0],
        "test_accuracy": acc,
        "macs": macs["total"],
        "macs_per_layer": [f"{kind}: {m}" for kind, m in macs["layers"]],
        "parameters": int(params),
        "op_types": ops,
        "op_counts": common.op_histogram(proto),
        "training": {"seed": seed, "epochs": epochs, "optimizer": "Adam", "lr": lr,
                     "weight_decay": 1e-4, "batch_size": 64, "schedule": "cosine"},
        "checks": checks,
    }



def build_on_split(fixture, name, model, description, generator, seed, out, epochs=80, lr=3e-3, min_acc=0.96):
    """Trains another network on this split (its test CSV must be this test set) and writes tests/fixtures/<fixture>/:
    the ONNX model, its expected logits and a manifest. Used by make_digits_mobile.py and make_digits_mnv3.py."""
    out.mkdir(parents=True, exist_ok=True)
    common.make_deterministic(seed)
    x_tr, y_tr, x_te, y_te, _ = load_data()
    test_rows, test_labels = common.read_float_csv(OUT / "digits_test.csv", has_label=True)
    if not ((abs(test_rows - x_te) < 1e-6).all() and (test_labels == y_te).all()):
        raise SystemExit("tests/fixtures/digits/digits_test.csv is not this split: rerun make_digits.py first")

    entry = build(name, model, x_tr, y_tr, x_te, y_te, (1, 8, 8), epochs=epochs, lr=lr, min_acc=min_acc, seed=seed, out=out)
    files = {p.name: common.file_entry(p) for p in sorted(out.iterdir()) if p.name != "manifest.json"}
    manifest = {
        "fixture": fixture,
        "description": description,
        "generator": generator,
        "environment": common.env_info(),
        "opset": OPSET,
        "dataset": "tests/fixtures/digits/digits_test.csv (test) and digits_calib.csv (calibration), 64 values per row",
        "models": {name: entry},
        "files": files,
    }
    common.write_manifest(out / "manifest.json", manifest)
    for p in sorted(out.iterdir()):
        print(f"[{fixture}] {p.relative_to(common.REPO_ROOT)}: {common.human_size(p.stat().st_size)}")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    common.make_deterministic(SEED)
    x_tr, y_tr, x_te, y_te, calib = load_data()

    test_path = OUT / "digits_test.csv"
    common.write_float_csv(test_path, x_te, labels=y_te)
    common.check_roundtrip(test_path, x_te, y_te)
    calib_path = OUT / "digits_calib.csv"
    common.write_float_csv(calib_path, calib)
    common.check_roundtrip(calib_path, calib)

    mlp = build("mlp", DigitsMLP, x_tr, y_tr, x_te, y_te, (64,), epochs=60, lr=3e-3,
                min_acc=0.95, seed=SEED + 1)
    cnn = build("cnn", DigitsCNN, x_tr, y_tr, x_te, y_te, (1, 8, 8), epochs=60, lr=3e-3,
                min_acc=0.96, seed=SEED + 2)

    files = {}
    for p in sorted(OUT.iterdir()):
        if p.name != "manifest.json":
            files[p.name] = common.file_entry(p)
    manifest = {
        "fixture": "digits",
        "description": "sklearn load_digits (8x8 grey images of 0-9), pixels divided by 16.0",
        "generator": "tools/train-fixtures/make_digits.py",
        "environment": common.env_info(),
        "opset": OPSET,
        "dataset": {
            "samples_total": int(len(x_tr) + len(x_te)),
            "train_rows": int(len(x_tr)),
            "test_rows": int(len(x_te)),
            "calib_rows": int(len(calib)),
            "split": "stratified 80/20, sklearn train_test_split, random_state=%d" % SEED,
            "preprocessing": "x = pixel / 16.0 (already applied in the CSVs)",
            "row_layout": "64 float values, row-major 8x8 (row 0 col 0 first)",
            "test_csv": "64 values then integer label (0-9), no header",
            "calib_csv": "64 values, no label, no header",
            "expected_csv": "10 float32 logits per test row, same order, no header",
            "test_class_counts": np.bincount(y_te, minlength=10).tolist(),
        },
        "models": {"mlp": mlp, "cnn": cnn},
        "files": files,
    }
    common.write_manifest(OUT / "manifest.json", manifest)
    for p in sorted(OUT.iterdir()):
        print(f"[digits] {p.relative_to(common.REPO_ROOT)}: {common.human_size(p.stat().st_size)}")


if __name__ == "__main__":
    sys.exit(main())
