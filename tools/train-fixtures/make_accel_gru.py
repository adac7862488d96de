"""A recurrent gesture classifier on the accelerometer fixture's data: Conv1d then GRU.

Writes tests/fixtures/accel/:
  accel_gru.onnx            Conv1d(3->16, k5) + ReLU + MaxPool(2), then a GRU(16->24) over the 32 pooled steps, then
                            Linear(24->4) on the last hidden state; [1,3,64] input, opset 17, batch 1
  accel_gru_expected.csv    torch float32 logits on accel_test.csv's 400 rows
  accel_gru_manifest.json   accuracy, parameters, op types

The training, test and calibration rows are accel's own (make_accel.py: same seeds, same synthesis), so the
existing accel_test.csv and accel_calib.csv serve both models. PyTorch exports the GRU as an ONNX GRU node with
linear_before_reset = 1; EdgeInfer unrolls it over the 32 steps.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import accel_synth as S
import common
import make_accel as A

OUT = common.FIXTURES / "accel"


class AccelGru(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 16, 5, padding=2)
        self.pool = nn.MaxPool1d(2)
        self.gru = nn.GRU(16, 24, batch_first=True)
        self.fc = nn.Linear(24, 4)

    def forward(self, x):                          # [N,3,64]
        x = self.pool(F.relu(self.conv(x)))        # [N,16,32]
        _, h = self.gru(x.transpose(1, 2))         # h: [1,N,24]
        return self.fc(h[0])


def main():
    common.make_deterministic(A.SEED)
    seeds = np.random.SeedSequence(A.SEED).spawn(4)
    rng_train, rng_test = (np.random.default_rng(s) for s in seeds[:2])
    xw_tr, y_tr = S.make_dataset(rng_train, A.TRAIN_PER_CLASS)
    xw_te, y_te = S.make_dataset(rng_test, A.TEST_PER_CLASS)
    x_tr_raw, x_te_raw = A.to_channel_major(xw_tr), A.to_channel_major(xw_te)
    mean = x_tr_raw.astype(np.float64).mean(axis=(0, 2)).astype(np.float32)
    std = x_tr_raw.astype(np.float64).std(axis=(0, 2)).astype(np.float32)
    x_tr, x_te = A.normalize(x_tr_raw, mean, std), A.normalize(x_te_raw, mean, std)

    # The test rows must be exactly the committed accel_test.csv.
    committed, labels = common.read_float_csv(OUT / "accel_test.csv", has_label=True)
    assert np.array_equal(committed, x_te.reshape(len(x_te), -1)) and np.array_equal(labels, y_te), "accel data changed"

    model = AccelGru()
    A.train(model, x_tr, y_tr, 30, 2e-3, A.SEED + 2)
    logits = A.predict(model, x_te)
    acc = float((logits.argmax(1) == y_te).mean())
    print(f"[accel_gru] test accuracy {acc:.4f}")

    onnx_path = OUT / "accel_gru.onnx"
    proto = common.export_onnx(model, torch.from_numpy(x_te[:1]), onnx_path, A.OPSET, dynamic_batch=False)
    common.write_float_csv(OUT / "accel_gru_expected.csv", logits)
    common.check_roundtrip(OUT / "accel_gru_expected.csv", logits)
    params = sum(p.numel() for p in model.parameters())
    common.write_manifest(OUT / "accel_gru_manifest.json", {
        "fixture": "accel_gru",
        "generator": "tools/train-fixtures/make_accel_gru.py",
        "environment": common.env_info(),
        "test_accuracy": acc,
        "parameters": int(params),
        "op_types": common.op_types(proto),
        "op_counts": common.op_histogram(proto),
        "files": {p: common.file_entry(OUT / p) for p in ["accel_gru.onnx", "accel_gru_expected.csv"]},
    })
    print(f"[accel_gru] params {params}, ops {common.op_histogram(proto)}")


if __name__ == "__main__":
    main()
