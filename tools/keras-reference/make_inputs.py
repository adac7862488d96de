#!/usr/bin/python3
"""Write seeded random inputs for a Keras .h5 model in the keras_reference.py CSV layout.

Usage: make_inputs.py MODEL.h5 OUT.csv [COUNT]

COUNT (default 8) rows; each row is one sample: every model input flattened
row-major (without the batch dimension), inputs concatenated in the model's
input order, values separated by ",".  Values are drawn with
numpy.random.default_rng(5).uniform(-1, 1, size=(COUNT, total_values)), one draw
for the whole matrix, rounded to float32 and written with '%.9g' (round-trips
float32 exactly).  No header line.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_reference  # noqa: E402


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write("usage: %s MODEL.h5 OUT.csv [COUNT]\n" % argv[0])
        return 2
    count = int(argv[3]) if len(argv) == 4 else 8
    try:
        model = keras_reference.Model(argv[1], inputs_only=True)
    except keras_reference.KerasRefError as e:
        sys.stderr.write("error: %s\n" % e)
        return 1
    sizes = []
    for s in model.input_shapes:
        if any(d is None for d in s):
            sys.stderr.write("error: input shape %r has unknown dimensions\n" % (s,))
            return 1
        sizes.append(int(np.prod(s)) if s else 1)
    rng = np.random.default_rng(5)
    data = rng.uniform(-1.0, 1.0, size=(count, sum(sizes))).astype(np.float32)
    with open(argv[2], "w") as fh:
        for row in data:
            fh.write(",".join("%.9g" % v for v in row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
