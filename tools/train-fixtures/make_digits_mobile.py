"""A MobileNetV2-style classifier trained on the 8x8 digits: the int8 accuracy check for trained depthwise,
residual and ReLU6 layers (the MobileNet benchmark fixture has random weights, so its accuracy means nothing).

Reuses the digits split of make_digits.py (its test and calibration CSVs in tests/fixtures/digits/) and writes
tests/fixtures/digits_mobile/:
  digits_mobile.onnx            stem 3x3 conv, five inverted residual blocks (1x1 expand, 3x3 depthwise,
                                1x1 project; three with a residual Add), 1x1 conv to 128, global average pool,
                                Linear(128, 10); BatchNorm and ReLU6 throughout; opset 13, dynamic batch
  digits_mobile_expected.csv    torch float32 logits of digits_test.csv, one row per test row
  manifest.json                 versions, accuracy, shapes, MACs, op types, checksums
"""

import sys

import torch
import torch.nn as nn

import common
import make_digits

SEED = make_digits.SEED + 10
OUT = common.FIXTURES / "digits_mobile"


class InvertedResidual(nn.Module):
    """MobileNetV2's block: expand (1x1), depthwise 3x3, project (1x1, linear); a residual when shapes allow."""

    def __init__(self, cin, cout, expand, stride):
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


class DigitsMobile(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),   # [16,8,8]
            InvertedResidual(16, 16, 2, 1),
            InvertedResidual(16, 24, 4, 2),                                                # [24,4,4]
            InvertedResidual(24, 24, 4, 1),
            InvertedResidual(24, 32, 4, 2),                                                # [32,2,2]
            InvertedResidual(32, 32, 4, 1),
            nn.Conv2d(32, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU6())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def main():
    make_digits.build_on_split(
        "digits_mobile", "mobile", DigitsMobile,
        "MobileNetV2-style network trained on sklearn's 8x8 digits (the digits fixture's split)",
        "tools/train-fixtures/make_digits_mobile.py", SEED, OUT)


if __name__ == "__main__":
    sys.exit(main())
