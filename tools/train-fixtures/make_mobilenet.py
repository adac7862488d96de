"""MobileNetV2 benchmark fixture (random weights, realistic BatchNorm statistics).

Writes tests/fixtures/mobilenet/:
  mobilenetv2_035_96.onnx   torchvision mobilenet_v2(width_mult=0.35), 1000 classes,
                            input [1,3,96,96] fixed (no dynamic axes), opset 13
  mobilenet_input.csv       2 rows x 27648 values (NCHW flattened), standard normal
  mobilenet_expected.csv    2 rows x 1000 torch float32 outputs
  manifest.json             MACs, parameters, op types, checks

The weights are torchvision's default initialisation under torch.manual_seed(0).
Before export the network runs a few random batches in train mode so every
BatchNorm has non-trivial running mean/variance; the exporter then folds them
into the preceding convolutions, and the check below confirms the folded
weights match.
"""

import sys

import numpy as np
import torch
import torchvision

import common

SEED = 0
OPSET = 13
OUT = common.FIXTURES / "mobilenet"
SHAPE = (1, 3, 96, 96)
BN_BATCHES = 8
BN_BATCH_SIZE = 16
MAX_ONNX_BYTES = 8 * 1024 * 1024


def build_model():
    torch.manual_seed(SEED)
    model = torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=1000)
    # Settle BatchNorm statistics on random data. momentum=None makes the
    # running stats a plain average over the batches seen (instead of moving
    # only 10% away from mean 0 / var 1 per batch); it only affects training
    # mode and is put back before export.
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    gen = torch.Generator().manual_seed(SEED + 1)
    model.train()
    with torch.no_grad():
        for _ in range(BN_BATCHES):
            # Image-like statistics: per-channel offsets and scales, not pure N(0,1).
            x = torch.randn((BN_BATCH_SIZE,) + SHAPE[1:], generator=gen)
            x = x * torch.tensor([0.9, 1.1, 1.0]).view(1, 3, 1, 1) + torch.tensor([0.1, -0.2, 0.05]).view(1, 3, 1, 1)
            model(x)
    for bn in bns:
        bn.momentum = 0.1
    model.eval()
    return model


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    common.make_deterministic(SEED)
    model = build_model()

    gen = torch.Generator().manual_seed(SEED + 2)
    inputs = torch.randn((2,) + SHAPE[1:], generator=gen).numpy().astype(np.float32)

    onnx_path = OUT / "mobilenetv2_035_96.onnx"
    example = torch.from_numpy(inputs[:1])
    proto = common.export_onnx(model, example, onnx_path, OPSET, dynamic_batch=False)

    # The graph has a fixed batch of 1, so the expected rows are made one at a time.
    with torch.no_grad():
        expected = np.concatenate([model(torch.from_numpy(inputs[i:i + 1])).numpy()
                                   for i in range(len(inputs))]).astype(np.float32)
        batched = model(torch.from_numpy(inputs)).numpy()

    in_path = OUT / "mobilenet_input.csv"
    common.write_float_csv(in_path, inputs.reshape(len(inputs), -1))
    common.check_roundtrip(in_path, inputs.reshape(len(inputs), -1))
    exp_path = OUT / "mobilenet_expected.csv"
    common.write_float_csv(exp_path, expected)
    common.check_roundtrip(exp_path, expected)

    checks = {"max_abs_diff_torch_batch2_vs_batch1": float(np.abs(batched - expected).max())}
    ref_diffs = []
    for i in range(len(inputs)):
        r = common.verify_outputs(model, proto, inputs[i:i + 1], expected[i:i + 1], per_row_check=False)
        ref_diffs.append(r["max_abs_diff_onnx_numpy_ref_vs_expected"])
    checks["max_abs_diff_onnx_numpy_ref_vs_expected"] = max(ref_diffs)
    checks["initializers"] = common.check_initializers(model, example, proto)

    bn_var = torch.cat([m.running_var for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    bn_mean = torch.cat([m.running_mean for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    checks["bn_running_var_range"] = [float(bn_var.min()), float(bn_var.max())]
    checks["bn_running_mean_range"] = [float(bn_mean.min()), float(bn_mean.max())]

    macs = common.count_macs_torch(model, example)
    macs_onnx = common.count_macs_onnx(proto)
    if macs["total"] != macs_onnx:
        raise AssertionError(f"MAC mismatch {macs['total']} vs {macs_onnx}")
    params = int(sum(p.numel() for p in model.parameters()))
    ops = common.op_types(proto)
    size = onnx_path.stat().st_size
    if size > MAX_ONNX_BYTES:
        raise SystemExit(f"{onnx_path.name} is {size} bytes, over the {MAX_ONNX_BYTES} budget")

    print(f"[mobilenet] MACs {macs['total']:,}, parameters {params:,} "
          f"(after BN folding: {checks['initializers']['initializer_float_values']:,} floats)")
    print(f"[mobilenet] ops {ops}")
    print(f"[mobilenet] outputs range [{expected.min():.4g}, {expected.max():.4g}], argmax {expected.argmax(1).tolist()}")
    print(f"[mobilenet] onnx numpy reference max |diff| {checks['max_abs_diff_onnx_numpy_ref_vs_expected']:.3g}")

    files = {p.name: common.file_entry(p) for p in sorted(OUT.iterdir()) if p.name != "manifest.json"}
    manifest = {
        "fixture": "mobilenet",
        "description": "torchvision MobileNetV2 width 0.35, 96x96 input, random weights (benchmark model)",
        "generator": "tools/train-fixtures/make_mobilenet.py",
        "environment": common.env_info(),
        "torchvision": torchvision.__version__,
        "opset": OPSET,
        "model": {
            "file": onnx_path.name,
            "constructor": "torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=1000)",
            "weights": "default init after torch.manual_seed(0); BN running stats from "
                       f"{BN_BATCHES} random batches of {BN_BATCH_SIZE} in train mode",
            "input": common.io_signature(proto)["inputs"][0],
            "output": common.io_signature(proto)["outputs"][0],
            "macs": macs["total"],
            "parameters": params,
            "parameters_note": "torch parameter count incl. BatchNorm affine params; the ONNX "
                               "has BN folded into the convolutions",
            "onnx_bytes": size,
            "op_types": ops,
            "op_counts": common.op_histogram(proto),
        },
        "data": {
            "input_csv": "2 rows, 27648 float32 values each, NCHW [1,3,96,96] flattened, "
                         "standard normal (torch.Generator seed 2), no header",
            "expected_csv": "2 rows, 1000 float32 outputs each (pre-softmax), no header",
            "expected_argmax": expected.argmax(1).tolist(),
            "expected_range": [float(expected.min()), float(expected.max())],
        },
        "checks": checks,
        "files": files,
    }
    common.write_manifest(OUT / "manifest.json", manifest)
    for p in sorted(OUT.iterdir()):
        print(f"[mobilenet] {p.relative_to(common.REPO_ROOT)}: {common.human_size(p.stat().st_size)}")


if __name__ == "__main__":
    sys.exit(main())
