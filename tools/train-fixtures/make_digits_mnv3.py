"""A MobileNetV3/EfficientNet-style classifier trained on the 8x8 digits: the int8 accuracy check for trained
hard-swish, SiLU and squeeze-and-excitation layers, the activations PyTorch exports at opset 13 as gate products
(x * HardSigmoid(x), x * Sigmoid(x)) that the converter fuses, and the broadcast Mul of the excitation.

Reuses the digits split of make_digits.py (its test and calibration CSVs in tests/fixtures/digits/) and writes
tests/fixtures/digits_mnv3/:
  digits_mnv3.onnx            stem 3x3 conv + Hardswish; four inverted residual blocks (1x1 expand, 3x3
                              depthwise, squeeze-and-excitation with a Hardsigmoid or Sigmoid gate, 1x1 project;
                              Hardswish in two, SiLU in two, residual Adds where shapes allow); 1x1 conv to 96 +
                              Hardswish, global average pool, Linear(96, 10); BatchNorm throughout; opset 13
  digits_mnv3_expected.csv    torch float32 logits of digits_test.csv, one row per test row
  manifest.json               versions, accuracy, shapes, MACs, op types, checksums
"""

import sys

import torch
import torch.nn as nn

import common
import make_digits

SEED = make_digits.SEED + 20
OUT = common.FIXTURES / "digits_mnv3"


class SqueezeExcite(nn.Module):
    """Channel gates from the pooled features: pool, 1x1 down, ReLU, 1x1 up, gate; the input scaled by them."""

    def __init__(self, channels, squeezed, gate):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.down = nn.Conv2d(channels, squeezed, 1)
        self.up = nn.Conv2d(squeezed, channels, 1)
        self.gate = gate()

    def forward(self, x):
        return x * self.gate(self.up(torch.relu(self.down(self.pool(x)))))


class Block(nn.Module):
    """Inverted residual with squeeze-and-excitation (MobileNetV3's bneck, EfficientNet's MBConv)."""

    def __init__(self, cin, cout, expand, stride, act, gate):
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), act(),
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), act(),
            SqueezeExcite(hidden, max(8, hidden // 4), gate),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


class DigitsMnv3(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.Hardswish(),        # [16,8,8]
            Block(16, 16, 2, 1, nn.Hardswish, nn.Hardsigmoid),
            Block(16, 24, 3, 2, nn.Hardswish, nn.Hardsigmoid),                                    # [24,4,4]
            Block(24, 24, 3, 1, nn.SiLU, nn.Sigmoid),
            Block(24, 32, 3, 2, nn.SiLU, nn.Sigmoid),                                             # [32,2,2]
            nn.Conv2d(32, 96, 1, bias=False), nn.BatchNorm2d(96), nn.Hardswish())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(96, 10)

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def main():
    make_digits.build_on_split(
        "digits_mnv3", "mnv3", DigitsMnv3,
        "MobileNetV3/EfficientNet-style network (hard-swish, SiLU, squeeze-and-excitation) trained on "
        "sklearn's 8x8 digits (the digits fixture's split)",
        "tools/train-fixtures/make_digits_mnv3.py", SEED, OUT)


if __name__ == "__main__":
    sys.exit(main())
