#!/usr/bin/env bash
# Writes the expected outputs in tests/fixtures/tflm from the independent reference (tflite_reference.py), and the
# synthetic inputs they use. Needs: apt-get install flatbuffers-compiler python3-flatbuffers python3-numpy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fx="$here/../../tests/fixtures/tflm"
py=/usr/bin/python3
# micro_speech has no test features in this repository: 4 seeded random 49x40 int8 spectrograms exercise the same
# arithmetic. hello_world float: 64 points of [0, 2*pi]. trained_lstm_x.csv: MNIST-like 28x28 digits made from the
# project's 8x8 digits (also needs python3-scipy).
$py -c "import numpy as np; np.random.default_rng(7).integers(-128, 128, 4 * 1960).astype(np.int8).tofile('$fx/micro_speech_random4.raw')"
$py -c "import numpy as np; np.savetxt('$fx/hello_world_x.csv', np.linspace(0, 2 * np.pi, 64, dtype=np.float32).reshape(-1, 1), fmt='%.9g')"
$py "$here/../train-fixtures/make_lstm_inputs.py"
$py "$here/make_residual_block.py" "$fx/residual_block_int8.tflite" "$fx/residual_block_inputs.raw"
cat "$fx/person_96x96_int8.raw" "$fx/no_person_96x96_int8.raw" > "$fx/person_and_no_person.raw"
$py "$here/tflite_reference.py" "$fx/person_detect.tflite" "$fx/person_and_no_person.raw" > "$fx/person_detect_expected.txt"
$py "$here/tflite_reference.py" "$fx/micro_speech_quantized.tflite" "$fx/micro_speech_random4.raw" > "$fx/micro_speech_expected.txt"
$py "$here/tflite_reference.py" "$fx/residual_block_int8.tflite" "$fx/residual_block_inputs.raw" > "$fx/residual_block_expected.txt"
$py "$here/tflite_reference.py" "$fx/hello_world_int8.tflite" all-int8 > "$fx/hello_world_int8_expected.txt"
$py "$here/tflite_reference.py" "$fx/hello_world_float.tflite" "$fx/hello_world_x.csv" > "$fx/hello_world_float_expected.txt"
$py "$here/tflite_reference.py" "$fx/trained_lstm.tflite" "$fx/trained_lstm_x.csv" > "$fx/trained_lstm_expected.txt"
rm "$fx/person_and_no_person.raw"
wc -l "$fx"/*_expected.txt
