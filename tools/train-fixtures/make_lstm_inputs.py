#!/usr/bin/python3
"""Writes tests/fixtures/tflm/trained_lstm_x.csv: 20 MNIST-like 28x28 inputs for TFLM's mnist_lstm model, two of
each digit, made from the project's own 8x8 digits test set (tests/fixtures/digits/digits_test.csv): each image is
scaled to 20x20 (bilinear), clipped to [0, 1] and centred in a 28x28 canvas, as MNIST centres its digits in a 20x20
box. They are inputs with a known class, not MNIST: the tests compare EdgeInfer's import of the model with the
independent TFLite reference (tools/tflite-reference) on them. Needs python3-numpy and python3-scipy."""
import os

import numpy as np
from scipy.ndimage import zoom

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "..", "tests", "fixtures")
digits = np.loadtxt(os.path.join(root, "digits", "digits_test.csv"), delimiter=",")
rows = []
for label in range(10):
    for i in np.where(digits[:, 64] == label)[0][:2]:
        canvas = np.zeros((28, 28), dtype=np.float32)
        canvas[4:24, 4:24] = np.clip(zoom(digits[i, :64].reshape(8, 8), 20 / 8, order=1), 0, 1)
        rows.append(canvas.ravel())
np.savetxt(os.path.join(root, "tflm", "trained_lstm_x.csv"), np.array(rows), delimiter=",", fmt="%.6g")
