#!/usr/bin/env bash
# Writes the inputs and expected outputs of the Keras importer tests (tests/fixtures/keras) with the independent
# reference. Needs: apt-get install python3-numpy python3-h5py. The models without a licence to copy are read from
# ../shared/peers/keras; only their inputs and our expected outputs are committed (tests/fixtures/keras/peers).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fx="$here/../../tests/fixtures/keras"
peers="${KERAS_PEERS:-$here/../../../shared/peers/keras}"
py=/usr/bin/python3
for m in nids_mlp_dropout nids_conv1d fer_mini_xception; do
    $py "$here/make_inputs.py" "$fx/$m.h5" "$fx/${m}_inputs.csv" 8
    $py "$here/keras_reference.py" "$fx/$m.h5" "$fx/${m}_inputs.csv" > "$fx/${m}_expected.txt"
done
mkdir -p "$fx/synthetic"
$py "$here/make_synthetic.py" "$fx/synthetic"
for m in synthetic_k2_functional synthetic_k3_functional synthetic_k2_sequential synthetic_k2_gru synthetic_k3_lstm \
         synthetic_k2_bidirectional synthetic_k3_activations; do
    $py "$here/make_inputs.py" "$fx/synthetic/$m.h5" "$fx/synthetic/${m}_inputs.csv" 6
    $py "$here/keras_reference.py" "$fx/synthetic/$m.h5" "$fx/synthetic/${m}_inputs.csv" > "$fx/synthetic/${m}_expected.txt"
done
mkdir -p "$fx/peers"
for m in mnist_cnn housing_wide_deep_functional churn_mlp_k3 har_conv1d_lstm_k3 stock_lstm_stacked_k3 lstm_single_step battery_gru_k3; do
    $py "$here/make_inputs.py" "$peers/$m.h5" "$fx/peers/${m}_inputs.csv" 8
    $py "$here/keras_reference.py" "$peers/$m.h5" "$fx/peers/${m}_inputs.csv" > "$fx/peers/${m}_expected.txt"
done
wc -l "$fx"/*_expected.txt "$fx"/synthetic/*_expected.txt "$fx"/peers/*_expected.txt
