"""A block-pruned MLP trained on the digits split, the fixture for sparse storage and the sparse int8 kernels.

Writes tests/fixtures/digits_pruned/:
  digits_pruned.onnx           64 -> 256 -> 256 -> 10 (ReLU), opset 13, dynamic batch; the two hidden layers have
                               85 % of their 1x16 weight blocks (16 consecutive inputs of one output) exactly zero
  digits_pruned_expected.csv   torch float32 logits, one row per test row of tests/fixtures/digits/digits_test.csv
  manifest.json                versions, accuracies (dense before pruning, pruned), sparsity per layer, checksums

Pruning is the gradual magnitude schedule of Zhu & Gupta (2017): sparsity rises as s_f * (1 - (1 - t/T)^3) over T
steps, each followed by fine-tuning with the mask held, ranking blocks by L2 norm within each layer. Blocks of 16
along the input are what EdgeInfer's int8 sparse kernels skip whole (one 128-bit vector of int8 weights).
"""

import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import common
import make_digits

SEED = 20261129
OUT = common.FIXTURES / "digits_pruned"
BLOCK = 16
FINAL_SPARSITY = 0.85
STEPS = 6


class WideMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 256)
        self.fc2 = nn.Linear(256, 256)
        self.fc3 = nn.Linear(256, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def block_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """1 for kept, 0 for pruned, per 1xBLOCK block of each output row; the smallest-L2 blocks go first."""
    out_features, in_features = weight.shape
    blocks = weight.detach().reshape(out_features, in_features // BLOCK, BLOCK).norm(dim=2)
    count = int(round(sparsity * blocks.numel()))
    mask = torch.ones_like(blocks)
    if count > 0:
        order = torch.argsort(blocks.flatten(), stable=True)
        mask.view(-1)[order[:count]] = 0
    return mask.repeat_interleave(BLOCK, dim=1)


def fit(model, masks, x, y, epochs, lr, gen):
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            with torch.no_grad():
                for layer, mask in masks.items():
                    layer.weight.mul_(mask)
        sched.step()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    common.make_deterministic(SEED)
    x_tr, y_tr, x_te, y_te, _ = make_digits.load_data()
    test_rows, test_labels = common.read_float_csv(make_digits.OUT / "digits_test.csv", has_label=True)
    if not ((abs(test_rows - x_te) < 1e-6).all() and (test_labels == y_te).all()):
        raise SystemExit("tests/fixtures/digits/digits_test.csv is not this split: rerun make_digits.py first")

    gen = torch.Generator().manual_seed(SEED)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    model = WideMLP()
    fit(model, {}, xt, yt, epochs=40, lr=3e-3, gen=gen)
    dense_acc, _ = make_digits.evaluate(model, x_te, y_te, (-1, 64))
    print(f"[digits_pruned] dense: test accuracy {dense_acc:.4f}")

    masks = {}
    for step in range(1, STEPS + 1):
        sparsity = FINAL_SPARSITY * (1 - (1 - step / STEPS) ** 3)
        masks = {layer: block_mask(layer.weight, sparsity) for layer in (model.fc1, model.fc2)}
        with torch.no_grad():
            for layer, mask in masks.items():
                layer.weight.mul_(mask)
        fit(model, masks, xt, yt, epochs=10, lr=1e-3, gen=gen)
        acc, _ = make_digits.evaluate(model, x_te, y_te, (-1, 64))
        print(f"[digits_pruned] step {step}: sparsity {sparsity:.3f}, test accuracy {acc:.4f}")

    acc, logits = make_digits.evaluate(model, x_te, y_te, (-1, 64))
    if acc < 0.95:
        raise SystemExit(f"pruned accuracy {acc:.4f} below 0.95")

    layers = {}
    for name, layer in (("fc1", model.fc1), ("fc2", model.fc2), ("fc3", model.fc3)):
        w = layer.weight.detach().numpy()
        blocks = np.abs(w).reshape(w.shape[0], -1, BLOCK).max(axis=2) if w.shape[1] % BLOCK == 0 else None
        layers[name] = {
            "shape": list(w.shape),
            "zero_weights": float((w == 0).mean()),
            "zero_blocks_of_16": None if blocks is None else float((blocks == 0).mean()),
        }
        print(f"[digits_pruned] {name}: {layers[name]}")

    onnx_path = OUT / "digits_pruned.onnx"
    example = torch.from_numpy(x_te[:2])
    proto = common.export_onnx(model, example, onnx_path, make_digits.OPSET, dynamic_batch=True)
    exp_path = OUT / "digits_pruned_expected.csv"
    common.write_float_csv(exp_path, logits)
    common.check_roundtrip(exp_path, logits)
    checks = common.verify_outputs(model, proto, x_te, logits)
    checks["initializers"] = common.check_initializers(model, example, proto)

    files = {p.name: common.file_entry(p) for p in sorted(OUT.iterdir()) if p.name != "manifest.json"}
    manifest = {
        "fixture": "digits_pruned",
        "description": "64-256-256-10 ReLU MLP on the digits split, hidden layers block-pruned (1x16) to 85 % with fine-tuning",
        "generator": "tools/train-fixtures/make_digits_pruned.py",
        "environment": common.env_info(),
        "opset": make_digits.OPSET,
        "dataset": "tests/fixtures/digits/digits_test.csv (test) and digits_calib.csv (calibration), 64 values per row",
        "dense_test_accuracy": dense_acc,
        "test_accuracy": acc,
        "pruning": {"block": [1, BLOCK], "final_sparsity": FINAL_SPARSITY, "steps": STEPS,
                    "schedule": "s_f * (1 - (1 - t/T)^3), 10 fine-tuning epochs per step", "layers": layers},
        "checks": checks,
        "files": files,
    }
    common.write_manifest(OUT / "manifest.json", manifest)
    for p in sorted(OUT.iterdir()):
        print(f"[digits_pruned] {p.relative_to(common.REPO_ROOT)}: {common.human_size(p.stat().st_size)}")


if __name__ == "__main__":
    sys.exit(main())
