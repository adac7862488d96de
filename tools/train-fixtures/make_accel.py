"""Accelerometer gesture fixtures: a Conv1d classifier on synthetic 3-axis data.

Writes tests/fixtures/accel/:
  accel_test.csv              400 rows: 192 normalized values, channel-major
                              [x0..x63, y0..y63, z0..z63], then the label
  accel_calib.csv             200 normalized training rows, no label
  accel_conv1d.onnx           Conv1d network on [batch,3,64], opset 17, dynamic batch
  accel_conv1d_expected.csv   torch float32 logits (4 per test row)
  accel_recording.csv         60 s continuous recording at 50 Hz, raw g, with header
  accel_recording_labels.csv  ground-truth intervals start_us,end_us,label
  accel_recording_windows_expected.csv
                              the model's logits on the recording, every window
                              of 64 samples at hop 32, after normalization
  manifest.json               classes, rates, normalization, accuracy, MACs, op types

The signal model lives in accel_synth.py.
"""

import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import accel_synth as S
import common

SEED = 7350
OPSET = 17
HOP = 32
OUT = common.FIXTURES / "accel"
TRAIN_PER_CLASS = 1000
TEST_PER_CLASS = 100
CALIB_PER_CLASS = 50


class AccelNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(3, 16, 5, padding=2)
        self.bn1 = nn.BatchNorm1d(16)
        self.pool1 = nn.MaxPool1d(2)
        self.conv2 = nn.Conv1d(16, 32, 5, padding=2)
        self.pool2 = nn.MaxPool1d(2)
        self.conv3 = nn.Conv1d(32, 32, 3, padding=1)
        self.gap = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(32, 4)

    def forward(self, x):                              # [N,3,64]
        x = self.pool1(F.relu(self.bn1(self.conv1(x))))  # [N,16,32]
        x = self.pool2(F.relu(self.conv2(x)))          # [N,32,16]
        x = F.relu(self.conv3(x))                      # [N,32,16]
        x = torch.flatten(self.gap(x), 1)              # [N,32]
        return self.fc(x)


def to_channel_major(windows):
    """[N,64,3] time-major samples -> [N,3,64] as the model takes them."""
    return np.ascontiguousarray(np.transpose(windows, (0, 2, 1)))


def normalize(x_cm, mean, std):
    """(x - mean_c) / std_c in float32, exactly as the CSVs hold it."""
    return ((x_cm - mean[None, :, None]) / std[None, :, None]).astype(np.float32)


def train(model, x, y, epochs, lr, seed):
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            if len(idx) < 2:
                continue
            opt.zero_grad()
            F.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
    model.eval()


def predict(model, x):
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy().astype(np.float32)


def confusion(y, pred):
    m = np.zeros((4, 4), dtype=int)
    for a, b in zip(y, pred):
        m[a, b] += 1
    return m


def write_recording(samples, intervals):
    rec_path = OUT / "accel_recording.csv"
    lines = ["timestamp_us,ax,ay,az"]
    for i, (ax, ay, az) in enumerate(samples):
        lines.append("%d,%.9g,%.9g,%.9g" % (i * 1_000_000 // S.FS, ax, ay, az))
    rec_path.write_text("\n".join(lines) + "\n", encoding="ascii", newline="\n")
    # Check: the text parses back to the same float32 samples.
    back = np.loadtxt(rec_path, delimiter=",", skiprows=1)
    assert np.array_equal(back[:, 1:].astype(np.float32), samples)
    assert np.array_equal(back[:, 0], np.arange(len(samples)) * 20000)

    lab_path = OUT / "accel_recording_labels.csv"
    step_us = 1_000_000 // S.FS
    lines = ["start_us,end_us,label"]
    for a, b, c in intervals:
        lines.append(f"{a * step_us},{b * step_us},{c}")
    lab_path.write_text("\n".join(lines) + "\n", encoding="ascii", newline="\n")
    return rec_path, lab_path


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    common.make_deterministic(SEED)
    seeds = np.random.SeedSequence(SEED).spawn(4)
    rng_train, rng_test, rng_rec, rng_calib = (np.random.default_rng(s) for s in seeds)

    print("[accel] synthesizing windows ...")
    xw_tr, y_tr = S.make_dataset(rng_train, TRAIN_PER_CLASS)
    xw_te, y_te = S.make_dataset(rng_test, TEST_PER_CLASS)
    x_tr_raw, x_te_raw = to_channel_major(xw_tr), to_channel_major(xw_te)

    # Per-channel statistics over every training sample, float64 then float32.
    mean = x_tr_raw.astype(np.float64).mean(axis=(0, 2)).astype(np.float32)
    std = x_tr_raw.astype(np.float64).std(axis=(0, 2)).astype(np.float32)
    x_tr = normalize(x_tr_raw, mean, std)
    x_te = normalize(x_te_raw, mean, std)

    calib_idx = []
    order = rng_calib.permutation(len(y_tr))
    for c in range(4):
        calib_idx.extend([i for i in order if y_tr[i] == c][:CALIB_PER_CLASS])
    calib = x_tr[np.sort(np.array(calib_idx))]

    model = AccelNet()
    epochs, lr = 30, 2e-3
    train(model, x_tr, y_tr, epochs, lr, SEED + 1)
    train_acc = float((predict(model, x_tr).argmax(1) == y_tr).mean())
    logits = predict(model, x_te)
    pred = logits.argmax(1)
    acc = float((pred == y_te).mean())
    cm = confusion(y_te, pred)
    print(f"[accel] train accuracy {train_acc:.4f}, test accuracy {acc:.4f} "
          f"({int((pred == y_te).sum())}/{len(y_te)})")
    print("[accel] confusion (rows true, cols predicted):\n" + str(cm))

    # Flattened channel-major rows for the CSVs.
    flat_te = x_te.reshape(len(x_te), -1)
    common.write_float_csv(OUT / "accel_test.csv", flat_te, labels=y_te)
    common.check_roundtrip(OUT / "accel_test.csv", flat_te, y_te)
    flat_cal = calib.reshape(len(calib), -1)
    common.write_float_csv(OUT / "accel_calib.csv", flat_cal)
    common.check_roundtrip(OUT / "accel_calib.csv", flat_cal)

    onnx_path = OUT / "accel_conv1d.onnx"
    example = torch.from_numpy(x_te[:2])
    proto = common.export_onnx(model, example, onnx_path, OPSET, dynamic_batch=True)
    exp_path = OUT / "accel_conv1d_expected.csv"
    common.write_float_csv(exp_path, logits)
    common.check_roundtrip(exp_path, logits)
    checks = common.verify_outputs(model, proto, x_te, logits)
    checks["initializers"] = common.check_initializers(model, example, proto)
    macs = common.count_macs_torch(model, example)
    macs_onnx = common.count_macs_onnx(proto)
    if macs["total"] != macs_onnx:
        raise AssertionError(f"MAC mismatch {macs['total']} vs {macs_onnx}")
    ops = common.op_types(proto)
    params = sum(p.numel() for p in model.parameters())
    print(f"[accel] MACs {macs['total']}, params {params}, ops {ops}")
    print(f"[accel] onnx numpy reference max |diff| {checks['max_abs_diff_onnx_numpy_ref_vs_expected']:.3g}")

    # The continuous recording and what the model makes of it.
    samples, intervals, tap_peaks = S.make_recording(rng_rec, 60.0)
    rec_path, lab_path = write_recording(samples, intervals)
    starts = np.arange(0, len(samples) - S.WIN + 1, HOP)
    rec_windows = np.stack([samples[s:s + S.WIN] for s in starts])
    rec_x = normalize(to_channel_major(rec_windows), mean, std)
    rec_logits = predict(model, rec_x)
    rec_pred = rec_logits.argmax(1)
    truth = np.array([S.window_truth(s, intervals, tap_peaks) for s in starts])
    known = truth >= 0
    rec_acc = float((rec_pred[known] == truth[known]).mean())
    print(f"[accel] recording: {len(starts)} windows (hop {HOP}), {int(known.sum())} unambiguous, "
          f"accuracy on those {rec_acc:.4f}")
    step_us = 1_000_000 // S.FS
    win_path = OUT / "accel_recording_windows_expected.csv"
    lines = ["start_us,truth,predicted,logit0,logit1,logit2,logit3"]
    for s, t, p, lg in zip(starts, truth, rec_pred, rec_logits):
        lines.append(f"{s * step_us},{t},{p}," + ",".join("%.9g" % v for v in lg))
    win_path.write_text("\n".join(lines) + "\n", encoding="ascii", newline="\n")
    rec_checks = common.verify_outputs(model, proto, rec_x, rec_logits)

    class_seconds = np.zeros(4)
    for a, b, c in intervals:
        class_seconds[c] += (b - a) / S.FS
    files = {p.name: common.file_entry(p) for p in sorted(OUT.iterdir()) if p.name != "manifest.json"}
    manifest = {
        "fixture": "accel",
        "description": "synthetic 3-axis accelerometer gestures (MPU6050-like, g units)",
        "generator": "tools/train-fixtures/make_accel.py (signal model: accel_synth.py)",
        "environment": common.env_info(),
        "class_names": S.CLASS_NAMES,
        "sample_rate_hz": S.FS,
        "window": S.WIN,
        "suggested_hop": HOP,
        "channels": ["x", "y", "z"],
        "sensor_model": {
            "units": "g", "full_scale_g": S.FULL_SCALE_G, "lsb_g": S.LSB_G,
            "noise_sigma_g": "0.015-0.025 per axis", "low_pass": "2nd-order Butterworth 20 Hz",
        },
        "normalization": {
            "formula": "x_norm[c][t] = (x[c][t] - mean[c]) / std[c], float32, applied outside the model",
            "mean": [float(v) for v in mean],
            "std": [float(v) for v in std],
            "equivalent_scale": [float(v) for v in (np.float32(1.0) / std)],
            "equivalent_offset": [float(v) for v in (-mean / std).astype(np.float32)],
            "note": "scale/offset (x*scale+offset) differ from the formula by float32 rounding only",
        },
        "dataset": {
            "train_rows": int(len(y_tr)), "test_rows": int(len(y_te)), "calib_rows": int(len(calib)),
            "test_class_counts": np.bincount(y_te, minlength=4).tolist(),
            "window_labelling": {
                "shake_wave_min_samples_in_window": S.MIN_COVER,
                "idle_max_gesture_samples_in_window": S.MAX_EDGE,
                "tap": f"at least one tap impact {S.TAP_MARGIN}+ samples inside the window",
            },
            "row_layout": "192 values channel-major: x0..x63, y0..y63, z0..z63 (already normalized)",
            "test_csv": "192 values then integer label, no header",
            "calib_csv": "192 values, no label, no header",
            "expected_csv": "4 float32 logits per test row, same order, no header",
        },
        "model": {
            "file": onnx_path.name,
            "expected_file": exp_path.name,
            "opset": OPSET,
            "input": common.io_signature(proto)["inputs"][0],
            "output": common.io_signature(proto)["outputs"][0],
            "train_accuracy": train_acc,
            "test_accuracy": acc,
            "test_confusion_rows_true_cols_pred": cm.tolist(),
            "macs": macs["total"],
            "macs_per_layer": [f"{k}: {m}" for k, m in macs["layers"]],
            "parameters": int(params),
            "op_types": ops,
            "op_counts": common.op_histogram(proto),
            "training": {"seed": SEED + 1, "epochs": epochs, "optimizer": "Adam", "lr": lr,
                         "weight_decay": 1e-4, "batch_size": 64, "schedule": "cosine"},
            "checks": checks,
        },
        "recording": {
            "file": rec_path.name,
            "labels_file": lab_path.name,
            "windows_file": win_path.name,
            "seconds": len(samples) / S.FS,
            "samples": int(len(samples)),
            "timestamp_step_us": step_us,
            "format": "header timestamp_us,ax,ay,az; raw g (NOT normalized)",
            "labels_format": "header start_us,end_us,label; half-open [start_us,end_us), contiguous, covers the whole recording",
            "seconds_per_class": {S.CLASS_NAMES[c]: round(float(class_seconds[c]), 2) for c in range(4)},
            "gesture_counts": {S.CLASS_NAMES[c]: int(sum(1 for iv in intervals if iv[2] == c)) for c in range(1, 4)},
            "tap_impacts": len(tap_peaks),
            "windows": int(len(starts)),
            "windows_unambiguous": int(known.sum()),
            "window_accuracy_unambiguous": rec_acc,
            "windows_format": "header start_us,truth,predicted,logit0..3; truth -1 = ambiguous window "
                              "(e.g. half a gesture); logits are torch float32 on the float32-normalized window",
            "checks": rec_checks,
        },
        "files": files,
    }
    common.write_manifest(OUT / "manifest.json", manifest)
    print(f"[accel] mean {mean.tolist()}, std {std.tolist()}")
    for p in sorted(OUT.iterdir()):
        print(f"[accel] {p.relative_to(common.REPO_ROOT)}: {common.human_size(p.stat().st_size)}")


if __name__ == "__main__":
    sys.exit(main())
