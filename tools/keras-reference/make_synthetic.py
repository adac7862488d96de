#!/usr/bin/python3
"""Write synthetic Keras .h5 test models that exercise layers real models do not.

Usage: make_synthetic.py OUT_DIR

Writes, with h5py only (no TensorFlow/Keras), seven full-model .h5 files laid
out the way `model.save("x.h5")` of the named Keras version lays them out:

  synthetic_k2_functional.h5   tf.keras 2.13 ("2.13.1") Functional, 1 input, 2 outputs
  synthetic_k3_functional.h5   Keras 3.8.0 legacy-H5 Functional, 1 input, 1 output
  synthetic_k2_sequential.h5   Keras 2.3.1 Sequential without an InputLayer
  synthetic_k2_gru.h5          tf.keras 2.13.1 Sequential: Input((12, 5)) > GRU(8, return_sequences,
                               reset_after=True) > GRU(6, reset_after=False, hard_sigmoid) > Dense(3, softmax)
  synthetic_k3_lstm.h5         Keras 3.8.0 Functional: Input((10, 4)) > Conv1D(6, 3, same, relu)
                               > LSTM(7, return_sequences) > LSTM(5) > Dense(2)
  synthetic_k2_bidirectional.h5  tf.keras 2.13.1 Sequential: Input((9, 4)) > Bidirectional(LSTM(5,
                               return_sequences), concat) > TimeDistributed(Dense(3, relu))
                               > Bidirectional(GRU(4, reset_after=True), merge_mode="sum") > Dense(2)
  synthetic_k3_activations.h5  Keras 3.8.0 Functional: Dense layers with elu, selu, softsign, exponential and
                               log_softmax activations

What is mimicked (checked against real files in shared/peers/keras):
  * root attributes: keras_version and backend as variable-length UTF-8
    strings (Keras assigns str), model_config as a variable-length ASCII string
    (Keras assigns json.dumps(...).encode("utf8")); Keras 2.3.1 encodes all
    three, so all three are ASCII there (as in lstm_single_step.h5).
  * /model_weights: attributes layer_names (model.layers order), backend and
    keras_version (bytes); one group per layer with attribute weight_names
    (dataset paths relative to the group) and the float32 datasets at those
    paths, i.e. nested groups model_weights/<layer>/<layer>/kernel:0.  Empty
    weight_names are a float64 array of shape (0,).  name lists are
    variable-length ASCII strings for Keras 2.13 / 3.8 (h5py 3 turns a list of
    bytes into that, as in nids_conv1d.h5 / churn_mlp_k3.h5) and fixed-length
    NULLPAD strings for Keras 2.3.1 (h5py 2, as in lstm_single_step.h5).
  * Keras >= 2.13 also writes an empty group top_level_model_weights.
  * weight names: Keras 2 "<layer>/<var>:0"; Keras 3 variable paths "<layer>/<var>"
    (a Functional model's layers are built outside any model name scope, so,
    unlike a Sequential model's "sequential/dense/kernel", there is no model prefix).
  * model_config layer lists are in model.layers order, computed with Keras'
    own rule (decreasing depth from the outputs, ties by first DFS visit from
    the outputs; see _keras_layer_order), which interleaves the branches.
    synthetic_k2_functional.h5 then lists one weightless layer ("add") before
    the layers it consumes: a valid file (Keras' loader queues nodes whose
    inputs do not exist yet, and the order of the weighted layers, which is what
    its weight loader matches, is unchanged) but not an execution order.
  * Keras 3.8 writes input_layers/output_layers of a single tensor as a
    one-element list of triples ([["input_layer", 0, 0]]); the bare triple
    form appeared in Keras 3.11 (keras-team/keras PR #21341).
  * Keras 3 adds kwargs {"mask": null} to the inbound node of layers whose
    call() takes a mask (BatchNormalization here).  Layer.__call__ also fills
    in `training` when the call() signature default is not None, so an LSTM
    (call(sequences, initial_state=None, mask=None, training=False)) gets
    {"training": false, "mask": null} (derived from Keras 3 layer.py; no real
    Keras 3 Functional recurrent file was available to compare).
  * Recurrent weights carry the cell level (checked against the peers
    stock_lstm_stacked_k3 / har_conv1d_lstm_k3 / battery_gru_k3, Keras 3:
    "sequential/lstm_1/lstm_cell/kernel"; standalone Keras 2.3.1 has none:
    "lstm_1/kernel:0" in lstm_single_step).  Keras 3 names the cell
    "lstm_cell" explicitly, so every LSTM has ".../lstm_cell/...".  tf.keras
    2.x builds the cell in name_scope(cell.name) (keras/layers/rnn/base_rnn.py)
    and GRU.__init__ creates the GRUCell without a name, so cells get their own
    auto-numbered names: "gru/gru_cell/kernel:0", "gru_1/gru_cell_1/kernel:0"
    (the form public readers of tf.keras .h5 files use, e.g.
    model_weights/gru/gru/gru_cell/kernel:0, lstm_1/lstm_1/lstm_cell_1/kernel:0).
  * tf.keras 2.13 GRU config: Layer keys, then the RNN keys (return_sequences,
    return_state, go_backwards, stateful, unroll, time_major), then units ...
    recurrent_dropout, implementation (2), reset_after; a Sequential built on
    keras.Input(...) serializes the InputLayer ("input_1") and no
    batch_input_shape on the first GRU.  Keras 3 LSTM config: key order of the
    Keras 3.10-3.13 peers (zero_output_for_mask, unit_forget_bias, seed).
  * Wrappers in tf.keras 2.13 (derived from keras/layers/rnn/bidirectional.py,
    base_wrapper.py, time_distributed.py and serialization_lib.py of that
    line; no real wrapper file was available to compare):
    Bidirectional config = name, trainable, dtype, layer, merge_mode (plus
    backward_layer only when one was passed, num_constants only with
    constants); TimeDistributed config = name, trainable, dtype, layer.  "layer"
    is the user's original (unbuilt) layer serialized by serialization_lib:
    {"module": "keras.layers", "class_name", "config", "registered_name": null},
    no build_config, name "lstm"/"dense", go_backwards false.  Bidirectional
    rebuilds that layer twice from its config (forward copy; backward copy with
    go_backwards flipped), renames the copies forward_<name> / backward_<name>
    and builds each in its own name scope, and each copy creates a new
    auto-numbered cell: weight_names
    "bidirectional/forward_lstm/lstm_cell_1/kernel:0" ... then
    "bidirectional/backward_lstm/lstm_cell_2/kernel:0" ... (the form public
    readers of tf.keras files use, e.g. bidirectional/forward_lstm/lstm_cell_1
    and bidirectional_1/forward_lstm_1/lstm_cell_4), forward variables first
    (layer.weights order).  TimeDistributed builds the Dense directly inside its
    own scope: "time_distributed/kernel:0", "time_distributed/bias:0"; the
    inner Dense keeps the name "dense", so the last Dense is "dense_1".

Weights come from numpy.random.default_rng with a fixed seed per model;
BatchNormalization moving_variance is drawn from uniform(0.5, 1.5).  Recurrent
kernels are scaled normals, recurrent kernels one random orthogonal block per
gate times a gain (0.9-1.2), so that with make_inputs.py inputs no gate is
saturated (sigmoid gates mostly in (0.05, 0.95); the hard_sigmoid GRU clips on
a few percent of values), every gate's bias changes the output, and the output
depends on the order of the time steps (reversing the input changes it).  In
synthetic_k2_bidirectional.h5 the forward and backward weights are drawn
separately, so reversing the time axis changes the output, and zeroing either
direction's weights (or any one gate's bias or recurrent columns) changes it too.
"""

import json
import os
import sys

import numpy as np

try:
    import h5py
except ImportError:  # pragma: no cover
    h5py = None


# ----------------------------------------------------------------------------
# serialization pieces shared by the formats
# ----------------------------------------------------------------------------

def _f32(x):
    """A Python float holding float32(x), as Keras serializes backend.cast_to_floatx values."""
    return float(np.float32(x))


def _init_k2new(class_name, config):
    # tf.keras 2.13+ (new serialization_lib): module + registered_name
    return {"module": "keras.initializers", "class_name": class_name, "config": config,
            "registered_name": None}


def _init_k3(class_name, config):
    return {"module": "keras.initializers", "class_name": class_name, "config": config,
            "registered_name": None}


K3_DTYPE = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
            "registered_name": None}

GLOROT_K231 = {"class_name": "VarianceScaling",
               "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}
ZEROS_K231 = {"class_name": "Zeros", "config": {}}


class Graph(object):
    """Single-node layers only: name -> (class_name, config, inbound layer names, weights)."""

    def __init__(self):
        self.layers = {}
        self.created = []  # construction order

    def add(self, name, class_name, config, inbound=(), weights=()):
        assert name not in self.layers, name
        self.layers[name] = (class_name, config, list(inbound), list(weights))
        self.created.append(name)
        return name


def _keras_layer_order(graph, outputs):
    """model.layers order of a Functional model: Keras' _build_map + _map_graph_network.

    A DFS from each output (in order) over the inbound tensors (in call order)
    gives every layer a first-visit index; the depth of a layer is the longest
    path to an output; layers are sorted by decreasing depth, ties by index.
    """
    index, finished, post = {}, set(), []

    def visit(name):
        if name in finished:
            return
        if name not in index:
            index[name] = len(index)
        for parent in graph.layers[name][2]:
            visit(parent)
        finished.add(name)
        post.append(name)

    for out in outputs:
        visit(out)
    depth = {}
    for name in reversed(post):  # outputs first
        d = depth.setdefault(name, 0)
        for parent in graph.layers[name][2]:
            depth[parent] = max(depth.get(parent, 0), d + 1)
    return sorted(post, key=lambda n: (-depth[n], index[n]))


# ----------------------------------------------------------------------------
# HDF5 writing (mirrors keras saving code; `vlen_names` selects h5py 3 vs h5py 2 behaviour)
# ----------------------------------------------------------------------------

def _save_attributes(group, name, data, vlen_names):
    """Keras' save_attributes_to_hdf5_group for short lists: group.attrs[name] = data."""
    if not data:
        group.attrs[name] = np.asarray(data)  # float64, shape (0,)
    elif vlen_names:
        group.attrs[name] = list(data)  # h5py 3: list of bytes -> variable-length ASCII
    else:
        group.attrs[name] = np.asarray(data)  # h5py 2 behaviour: fixed-length |S, NULLPAD


def _write_model(path, model_config, keras_version, layer_names, weights, *,
                 vlen_names, str_root_attrs, top_level_group, sort_groups):
    """weights: {layer_name: [(weight_name, float32 array), ...]} for every layer in layer_names."""
    with h5py.File(path, "w") as f:
        if str_root_attrs:  # tf.keras 2.x / Keras 3: f.attrs[k] = v with str values
            f.attrs["keras_version"] = keras_version
            f.attrs["backend"] = "tensorflow"
        else:  # Keras 2.3.1: h5dict["keras_version"] = str(...).encode("utf8")
            f.attrs["keras_version"] = keras_version.encode("utf8")
            f.attrs["backend"] = "tensorflow".encode("utf8")
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        mw = f.create_group("model_weights")
        _save_attributes(mw, "layer_names", [n.encode("utf8") for n in layer_names], vlen_names)
        mw.attrs["backend"] = "tensorflow".encode("utf8")
        mw.attrs["keras_version"] = keras_version.encode("utf8")
        for lname in (sorted(layer_names) if sort_groups else layer_names):
            g = mw.create_group(lname)
            ws = weights.get(lname, [])
            names = [wn.encode("utf8") for wn, _ in ws]
            _save_attributes(g, "weight_names", names, vlen_names)
            for wn, val in ws:
                val = np.asarray(val, dtype=np.float32)
                d = g.create_dataset(wn, val.shape, dtype=val.dtype)
                d[...] = val
        if top_level_group:
            g = mw.create_group("top_level_model_weights")
            _save_attributes(g, "weight_names", [], vlen_names)


def _glorot(rng, shape, fan_in, fan_out, gain=1.0):
    lim = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, size=shape).astype(np.float32)


def _small(rng, n, scale=0.1):
    return (scale * rng.standard_normal(n)).astype(np.float32)


# ----------------------------------------------------------------------------
# 1. tf.keras 2.13 Functional
# ----------------------------------------------------------------------------

K2_VERSION_FUNCTIONAL = "2.13.1"


def _k2_base(name):
    return {"name": name, "trainable": True, "dtype": "float32"}


def _k2_conv_config(name, filters, kernel, strides, padding, dilation, activation, use_bias):
    c = _k2_base(name)
    c.update({"filters": filters, "kernel_size": list(kernel), "strides": list(strides), "padding": padding,
              "data_format": "channels_last", "dilation_rate": list(dilation), "groups": 1,
              "activation": activation, "use_bias": use_bias,
              "kernel_initializer": _init_k2new("GlorotUniform", {"seed": None}),
              "bias_initializer": _init_k2new("Zeros", {}),
              "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
              "kernel_constraint": None, "bias_constraint": None})
    return c


def _k2_depthwise_config(name, kernel, strides, padding, dilation, depth_multiplier, activation, use_bias):
    c = _k2_conv_config(name, None, kernel, strides, padding, dilation, activation, use_bias)
    for k in ("filters", "kernel_initializer", "kernel_regularizer", "kernel_constraint"):
        c.pop(k)
    c["depth_multiplier"] = depth_multiplier
    c["depthwise_initializer"] = _init_k2new("GlorotUniform", {"seed": None})
    c["depthwise_regularizer"] = None
    c["depthwise_constraint"] = None
    return c


def _k2_dense_config(name, units, activation):
    c = _k2_base(name)
    c.update({"units": units, "activation": activation, "use_bias": True,
              "kernel_initializer": _init_k2new("GlorotUniform", {"seed": None}),
              "bias_initializer": _init_k2new("Zeros", {}),
              "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
              "kernel_constraint": None, "bias_constraint": None})
    return c


def _k2_bn_config(name, axis, epsilon=0.001, center=True, scale=True):
    c = _k2_base(name)
    c.update({"axis": [axis], "momentum": 0.99, "epsilon": epsilon, "center": center, "scale": scale,
              "beta_initializer": _init_k2new("Zeros", {}), "gamma_initializer": _init_k2new("Ones", {}),
              "moving_mean_initializer": _init_k2new("Zeros", {}),
              "moving_variance_initializer": _init_k2new("Ones", {}),
              "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
              "gamma_constraint": None})
    return c


def _k2_pool_config(name, pool, strides, padding):
    c = _k2_base(name)
    c.update({"pool_size": list(pool), "padding": padding, "strides": list(strides),
              "data_format": "channels_last"})
    return c


def _k2_global_pool_config(name):
    c = _k2_base(name)
    c.update({"data_format": "channels_last", "keepdims": False})
    return c


def build_k2_functional(path):
    rng = np.random.default_rng(213)
    g = Graph()
    g.add("input_1", "InputLayer", {"batch_input_shape": [None, 12, 12, 3], "dtype": "float32",
                                    "sparse": False, "ragged": False, "name": "input_1"})
    zp = _k2_base("zero_padding2d")
    zp.update({"padding": [[0, 1], [0, 1]], "data_format": "channels_last"})
    g.add("zero_padding2d", "ZeroPadding2D", zp, ["input_1"])
    # Keras 2.13 has no "relu6" activation string (keras.activations has no relu6 before Keras 3):
    # the depthwise convolution is linear and followed by a ReLU(max_value=6) layer.
    g.add("depthwise_conv2d", "DepthwiseConv2D",
          _k2_depthwise_config("depthwise_conv2d", (3, 3), (2, 2), "valid", (1, 1), 2, "linear", True),
          ["zero_padding2d"],
          [("depthwise_conv2d/depthwise_kernel:0", _glorot(rng, (3, 3, 3, 2), 27, 18, 8.0)),
           ("depthwise_conv2d/bias:0", (1.0 + rng.standard_normal(6)).astype(np.float32))])
    relu = _k2_base("re_lu")
    relu.update({"max_value": _f32(6.0), "negative_slope": _f32(0.0), "threshold": _f32(0.0)})
    g.add("re_lu", "ReLU", relu, ["depthwise_conv2d"])
    g.add("conv2d", "Conv2D", _k2_conv_config("conv2d", 8, (1, 1), (1, 1), "valid", (1, 1), "linear", False),
          ["re_lu"], [("conv2d/kernel:0", _glorot(rng, (1, 1, 6, 8), 6, 8, 0.4))])
    g.add("batch_normalization", "BatchNormalization", _k2_bn_config("batch_normalization", 3), ["conv2d"],
          [("batch_normalization/gamma:0", (1.0 + 0.2 * rng.standard_normal(8)).astype(np.float32)),
           ("batch_normalization/beta:0", _small(rng, 8, 0.2)),
           ("batch_normalization/moving_mean:0", _small(rng, 8, 0.3)),
           ("batch_normalization/moving_variance:0", rng.uniform(0.5, 1.5, 8).astype(np.float32))])
    g.add("conv2d_1", "Conv2D", _k2_conv_config("conv2d_1", 8, (3, 3), (1, 1), "same", (2, 2), "swish", True),
          ["re_lu"], [("conv2d_1/kernel:0", _glorot(rng, (3, 3, 6, 8), 54, 72, 0.4)),
                      ("conv2d_1/bias:0", _small(rng, 8))])
    g.add("add", "Add", _k2_base("add"), ["batch_normalization", "conv2d_1"])
    lr = _k2_base("leaky_re_lu")
    lr["alpha"] = _f32(0.2)
    g.add("leaky_re_lu", "LeakyReLU", lr, ["add"])
    g.add("average_pooling2d", "AveragePooling2D",
          _k2_pool_config("average_pooling2d", (2, 2), (1, 1), "same"), ["leaky_re_lu"])
    g.add("max_pooling2d", "MaxPooling2D", _k2_pool_config("max_pooling2d", (3, 3), (2, 2), "same"),
          ["leaky_re_lu"])
    g.add("global_average_pooling2d", "GlobalAveragePooling2D",
          _k2_global_pool_config("global_average_pooling2d"), ["average_pooling2d"])
    g.add("global_average_pooling2d_1", "GlobalAveragePooling2D",
          _k2_global_pool_config("global_average_pooling2d_1"), ["max_pooling2d"])
    cat = _k2_base("concatenate")
    cat["axis"] = -1
    g.add("concatenate", "Concatenate", cat, ["global_average_pooling2d", "global_average_pooling2d_1"])
    g.add("dense", "Dense", _k2_dense_config("dense", 5, "softmax"), ["concatenate"],
          [("dense/kernel:0", _glorot(rng, (16, 5), 16, 5, 2.0)), ("dense/bias:0", _small(rng, 5))])
    g.add("global_max_pooling2d", "GlobalMaxPooling2D", _k2_global_pool_config("global_max_pooling2d"),
          ["leaky_re_lu"])
    g.add("dense_1", "Dense", _k2_dense_config("dense_1", 2, "linear"), ["global_max_pooling2d"],
          [("dense_1/kernel:0", _glorot(rng, (8, 2), 8, 2)), ("dense_1/bias:0", _small(rng, 2))])
    outputs = ["dense", "dense_1"]

    order = _keras_layer_order(g, outputs)
    # The deliberate departure from Keras' own order: "add" (no weights) before its inputs.
    order.remove("add")
    order.insert(order.index("depthwise_conv2d"), "add")

    layers = []
    for n in order:
        cls, cfg, inbound, _ = g.layers[n]
        nodes = [[[p, 0, 0, {}] for p in inbound]] if inbound else []
        layers.append({"class_name": cls, "config": cfg, "name": n, "inbound_nodes": nodes})
    config = {"class_name": "Functional",
              "config": {"name": "model", "trainable": True, "layers": layers,
                         "input_layers": [["input_1", 0, 0]],
                         "output_layers": [[o, 0, 0] for o in outputs]}}
    _write_model(path, config, K2_VERSION_FUNCTIONAL, order, {n: g.layers[n][3] for n in order},
                 vlen_names=True, str_root_attrs=True, top_level_group=True, sort_groups=True)
    return order


# ----------------------------------------------------------------------------
# 2. Keras 3.8 Functional (legacy H5)
# ----------------------------------------------------------------------------

K3_VERSION = "3.8.0"


def _k3_base(name):
    return {"name": name, "trainable": True, "dtype": dict(K3_DTYPE)}


def _k3_conv1d_config(name, filters, kernel, strides, padding, dilation, activation):
    c = _k3_base(name)
    c.update({"filters": filters, "kernel_size": [kernel], "strides": [strides], "padding": padding,
              "data_format": "channels_last", "dilation_rate": [dilation], "groups": 1,
              "activation": activation, "use_bias": True,
              "kernel_initializer": _init_k3("GlorotUniform", {"seed": None}),
              "bias_initializer": _init_k3("Zeros", {}),
              "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
              "kernel_constraint": None, "bias_constraint": None})
    return c


def _k3_dense_config(name, units, activation):
    c = _k3_base(name)
    c.update({"units": units, "activation": activation, "use_bias": True,
              "kernel_initializer": _init_k3("GlorotUniform", {"seed": None}),
              "bias_initializer": _init_k3("Zeros", {}),
              "kernel_regularizer": None, "bias_regularizer": None,
              "kernel_constraint": None, "bias_constraint": None})
    return c


def build_k3_functional(path):
    rng = np.random.default_rng(38)
    g = Graph()
    shapes = {}

    def add(name, cls, cfg, inbound=(), weights=(), shape=None, kwargs=None):
        g.add(name, cls, cfg, inbound, weights)
        shapes[name] = shape
        g.layers[name] = g.layers[name] + (kwargs or {},)

    add("input_layer", "InputLayer", {"batch_shape": [None, 20, 4], "dtype": "float32", "sparse": False,
                                      "name": "input_layer"}, shape=[None, 20, 4])
    add("conv1d", "Conv1D", _k3_conv1d_config("conv1d", 6, 3, 1, "causal", 2, "relu"), ["input_layer"],
        [("conv1d/kernel", _glorot(rng, (3, 4, 6), 12, 18, 1.5)), ("conv1d/bias", _small(rng, 6))],
        shape=[None, 20, 6])
    add("conv1d_1", "Conv1D", _k3_conv1d_config("conv1d_1", 6, 3, 2, "same", 1, "linear"), ["conv1d"],
        [("conv1d_1/kernel", _glorot(rng, (3, 6, 6), 18, 18, 1.5)), ("conv1d_1/bias", _small(rng, 6))],
        shape=[None, 10, 6])
    act = _k3_base("activation")
    act["activation"] = "tanh"
    add("activation", "Activation", act, ["conv1d_1"], shape=[None, 10, 6])
    bn = _k3_base("batch_normalization")
    bn.update({"axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": False, "scale": True,
               "beta_initializer": _init_k3("Zeros", {}), "gamma_initializer": _init_k3("Ones", {}),
               "moving_mean_initializer": _init_k3("Zeros", {}),
               "moving_variance_initializer": _init_k3("Ones", {}),
               "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
               "gamma_constraint": None, "synchronized": False})
    add("batch_normalization", "BatchNormalization", bn, ["activation"],
        [("batch_normalization/gamma", (1.0 + 0.2 * rng.standard_normal(6)).astype(np.float32)),
         ("batch_normalization/moving_mean", _small(rng, 6, 0.2)),
         ("batch_normalization/moving_variance", rng.uniform(0.5, 1.5, 6).astype(np.float32))],
        shape=[None, 10, 6], kwargs={"mask": None})
    mp = _k3_base("max_pooling1d")
    mp.update({"pool_size": [2], "padding": "valid", "strides": [2], "data_format": "channels_last"})
    add("max_pooling1d", "MaxPooling1D", mp, ["batch_normalization"], shape=[None, 5, 6])
    fl = _k3_base("flatten")
    fl["data_format"] = "channels_last"
    add("flatten", "Flatten", fl, ["max_pooling1d"], shape=[None, 30])
    add("dense", "Dense", _k3_dense_config("dense", 8, "hard_sigmoid"), ["flatten"],
        [("dense/kernel", _glorot(rng, (30, 8), 30, 8, 2.0)), ("dense/bias", _small(rng, 8))],
        shape=[None, 8])
    add("dense_1", "Dense", _k3_dense_config("dense_1", 8, "linear"), ["flatten"],
        [("dense_1/kernel", _glorot(rng, (30, 8), 30, 8)), ("dense_1/bias", _small(rng, 8))],
        shape=[None, 8])
    add("subtract", "Subtract", _k3_base("subtract"), ["dense", "dense_1"], shape=[None, 8])
    rs = _k3_base("rescaling")
    rs.update({"scale": 0.5, "offset": 0.1})
    add("rescaling", "Rescaling", rs, ["subtract"], shape=[None, 8])
    add("multiply", "Multiply", _k3_base("multiply"), ["subtract", "rescaling"], shape=[None, 8])
    add("dense_2", "Dense", _k3_dense_config("dense_2", 3, "linear"), ["multiply"],
        [("dense_2/kernel", _glorot(rng, (8, 3), 8, 3)), ("dense_2/bias", _small(rng, 3))],
        shape=[None, 3])
    return _write_k3_functional(path, g, shapes, ["dense_2"])


def _write_k3_functional(path, g, shapes, outputs):
    """Writes a Keras 3.8 legacy-H5 Functional model of g (layers carry their call kwargs as a fifth element), with
    one input layer named input_layer; returns model.layers order."""
    def ktensor(name):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": shapes[name], "dtype": "float32", "keras_history": [name, 0, 0]}}

    order = _keras_layer_order(g, outputs)
    layers = []
    for n in order:
        cls, cfg, inbound, _, kwargs = g.layers[n]
        if not inbound:
            nodes = []
        elif cls in ("Add", "Subtract", "Multiply", "Concatenate", "Average", "Maximum", "Minimum"):
            nodes = [{"args": [[ktensor(p) for p in inbound]], "kwargs": kwargs}]
        else:
            nodes = [{"args": [ktensor(inbound[0])], "kwargs": kwargs}]
        layers.append({"class_name": cls, "config": cfg, "name": n, "inbound_nodes": nodes})
    config = {"class_name": "Functional",
              "config": {"name": "functional", "trainable": True, "layers": layers,
                         # Keras 3.8 wraps a single input/output tensor in a list
                         "input_layers": [["input_layer", 0, 0]],
                         "output_layers": [[o, 0, 0] for o in outputs]}}
    _write_model(path, config, K3_VERSION, order, {n: g.layers[n][3] for n in order},
                 vlen_names=True, str_root_attrs=True, top_level_group=True, sort_groups=True)
    return order


def build_k3_activations(path):
    """Keras 3.8 Functional: Input(6) > Dense(8, elu) > Dense(8, selu) > Dense(8, softsign) > Dense(6, exponential)
    > Dense(4, log_softmax): the activation strings with no real model here."""
    rng = np.random.default_rng(41)
    g = Graph()
    shapes = {}

    def add(name, cls, cfg, inbound=(), weights=(), shape=None):
        g.add(name, cls, cfg, inbound, weights)
        shapes[name] = shape
        g.layers[name] = g.layers[name] + ({},)

    add("input_layer", "InputLayer", {"batch_shape": [None, 6], "dtype": "float32", "sparse": False,
                                      "name": "input_layer"}, shape=[None, 6])
    previous, width = "input_layer", 6
    for i, (units, activation) in enumerate([(8, "elu"), (8, "selu"), (8, "softsign"), (6, "exponential"), (4, "log_softmax")]):
        name = "dense" if i == 0 else "dense_%d" % i
        add(name, "Dense", _k3_dense_config(name, units, activation), [previous],
            [(name + "/kernel", _glorot(rng, (width, units), width, units, 1.5)), (name + "/bias", _small(rng, units))],
            shape=[None, units])
        previous, width = name, units
    return _write_k3_functional(path, g, shapes, [previous])


# ----------------------------------------------------------------------------
# 3. Keras 2.3.1 Sequential (first layer carries batch_input_shape, no InputLayer)
# ----------------------------------------------------------------------------

# tf.keras >= 2.2 ("2.4.0" in TF 2.3/2.4) always serializes the auto-created InputLayer of a
# Sequential model built with input_shape (see mnist_cnn.h5); the layout without an InputLayer is
# what standalone Keras <= 2.3.1 writes (see lstm_single_step.h5), so that version is used here.
K2_VERSION_SEQUENTIAL = "2.3.1"


def _k231_base(name, batch_input_shape=None):
    c = {"name": name, "trainable": True}
    if batch_input_shape is not None:
        c["batch_input_shape"] = batch_input_shape
    c["dtype"] = "float32"
    return c


def build_k2_sequential(path):
    rng = np.random.default_rng(231)
    entries, weights = [], {}
    conv = _k231_base("conv2d_1", [None, 6, 6, 2])
    conv.update({"filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                 "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "relu",
                 "use_bias": True, "kernel_initializer": GLOROT_K231, "bias_initializer": ZEROS_K231,
                 "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                 "kernel_constraint": None, "bias_constraint": None})
    entries.append(("Conv2D", conv))
    weights["conv2d_1"] = [("conv2d_1/kernel:0", _glorot(rng, (3, 3, 2, 4), 18, 36, 9.0)),
                           ("conv2d_1/bias:0", (2.5 + 0.5 * rng.standard_normal(4)).astype(np.float32))]
    ap = _k231_base("average_pooling2d_1")
    ap.update({"pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format": "channels_last"})
    entries.append(("AveragePooling2D", ap))
    relu = _k231_base("re_lu_1")
    relu.update({"max_value": _f32(6.0), "negative_slope": _f32(0.0), "threshold": _f32(0.0)})
    entries.append(("ReLU", relu))
    rsh = _k231_base("reshape_1")
    rsh["target_shape"] = [3, 12]
    entries.append(("Reshape", rsh))
    gmp = _k231_base("global_max_pooling1d_1")
    gmp["data_format"] = "channels_last"
    entries.append(("GlobalMaxPooling1D", gmp))
    dense = _k231_base("dense_1")
    dense.update({"units": 4, "activation": "hard_sigmoid", "use_bias": True,
                  "kernel_initializer": GLOROT_K231, "bias_initializer": ZEROS_K231,
                  "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                  "kernel_constraint": None, "bias_constraint": None})
    entries.append(("Dense", dense))
    weights["dense_1"] = [("dense_1/kernel:0", _glorot(rng, (12, 4), 12, 4, 0.8)),
                          ("dense_1/bias:0", _small(rng, 4, 0.3))]
    sm = _k231_base("softmax_1")
    sm["axis"] = -1
    entries.append(("Softmax", sm))
    config = {"class_name": "Sequential",
              "config": {"name": "sequential_1",
                         "layers": [{"class_name": c, "config": cfg} for c, cfg in entries]}}
    order = [cfg["name"] for _, cfg in entries]
    _write_model(path, config, K2_VERSION_SEQUENTIAL, order, weights,
                 vlen_names=False, str_root_attrs=False, top_level_group=False, sort_groups=False)
    return order


# ----------------------------------------------------------------------------
# 4. / 5. recurrent models
# ----------------------------------------------------------------------------

def _orthogonal_blocks(rng, units, gates, gain):
    """[units, gates*units]: one random orthogonal units x units block per gate, times gain."""
    blocks = []
    for _ in range(gates):
        q, r = np.linalg.qr(rng.standard_normal((units, units)))
        blocks.append(q * np.sign(np.diag(r)))
    return (gain * np.concatenate(blocks, axis=1)).astype(np.float32)


def _normal(rng, shape, std):
    return (std * rng.standard_normal(shape)).astype(np.float32)


def _k2_gru_config(name, units, return_sequences, reset_after, activation="tanh",
                   recurrent_activation="sigmoid"):
    """tf.keras 2.13 GRU.get_config(): Layer base, then RNN keys, then the GRU keys."""
    c = _k2_base(name)
    c.update({"return_sequences": return_sequences, "return_state": False, "go_backwards": False,
              "stateful": False, "unroll": False, "time_major": False,
              "units": units, "activation": activation, "recurrent_activation": recurrent_activation,
              "use_bias": True,
              "kernel_initializer": _init_k2new("GlorotUniform", {"seed": None}),
              "recurrent_initializer": _init_k2new("Orthogonal", {"gain": 1.0, "seed": None}),
              "bias_initializer": _init_k2new("Zeros", {}),
              "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
              "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
              "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2,
              "reset_after": reset_after})
    return c


def build_k2_gru(path):
    """tf.keras 2.13 Sequential([Input((12, 5)), GRU(8, return_sequences=True), GRU(6, reset_after=False,
    recurrent_activation="hard_sigmoid"), Dense(3, softmax)])."""
    rng = np.random.default_rng(2132)
    entries = [("InputLayer", {"batch_input_shape": [None, 12, 5], "dtype": "float32", "sparse": False,
                               "ragged": False, "name": "input_1"}),
               ("GRU", _k2_gru_config("gru", 8, True, True)),
               ("GRU", _k2_gru_config("gru_1", 6, False, False, "tanh", "hard_sigmoid")),
               ("Dense", _k2_dense_config("dense", 3, "softmax"))]
    # tf.keras 2.x builds the cell inside name_scope(cell.name); the cells are auto-named GRUCell
    # objects ("gru_cell", "gru_cell_1", counted separately from the layers "gru", "gru_1").
    weights = {
        "gru": [("gru/gru_cell/kernel:0", _normal(rng, (5, 24), 0.6)),
                ("gru/gru_cell/recurrent_kernel:0", _orthogonal_blocks(rng, 8, 3, 0.9)),
                ("gru/gru_cell/bias:0", _normal(rng, (2, 24), 0.25))],
        "gru_1": [("gru_1/gru_cell_1/kernel:0", _normal(rng, (8, 18), 0.9)),
                  ("gru_1/gru_cell_1/recurrent_kernel:0", _orthogonal_blocks(rng, 6, 3, 1.2)),
                  ("gru_1/gru_cell_1/bias:0", _normal(rng, (18,), 0.3))],
        "dense": [("dense/kernel:0", _glorot(rng, (6, 3), 6, 3, 2.5)), ("dense/bias:0", _small(rng, 3))],
    }
    config = {"class_name": "Sequential",
              "config": {"name": "sequential",
                         "layers": [{"class_name": c, "config": cfg} for c, cfg in entries]}}
    order = [cfg["name"] for c, cfg in entries if c != "InputLayer"]
    _write_model(path, config, K2_VERSION_FUNCTIONAL, order, weights,
                 vlen_names=True, str_root_attrs=True, top_level_group=True, sort_groups=True)
    return order


def _k3_lstm_config(name, units, return_sequences):
    """Keras 3 LSTM.get_config() key order (as in the Keras 3.10-3.13 peer models)."""
    c = _k3_base(name)
    c.update({"return_sequences": return_sequences, "return_state": False, "go_backwards": False,
              "stateful": False, "unroll": False, "zero_output_for_mask": False,
              "units": units, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
              "kernel_initializer": _init_k3("GlorotUniform", {"seed": None}),
              "recurrent_initializer": _init_k3("Orthogonal", {"seed": None, "gain": 1.0}),
              "bias_initializer": _init_k3("Zeros", {}),
              "unit_forget_bias": True,
              "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
              "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
              "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0, "seed": None})
    return c


def build_k3_lstm(path):
    """Keras 3.8 Functional: Input((10, 4)) > Conv1D(6, 3, same, relu) > LSTM(7, return_sequences=True)
    > LSTM(5) > Dense(2)."""
    rng = np.random.default_rng(3812)
    g = Graph()
    shapes, kwargs_of = {}, {}

    def add(name, cls, cfg, inbound=(), weights=(), shape=None, kwargs=None):
        g.add(name, cls, cfg, inbound, weights)
        shapes[name] = shape
        kwargs_of[name] = kwargs or {}

    # Keras 3 names the cell "lstm_cell" explicitly and builds it under its own name scope; a
    # Functional model adds no model prefix (unlike "sequential/lstm/lstm_cell/kernel").
    def lstm_weights(name, n_in, units, in_std, gain):
        b = _normal(rng, (4 * units,), 0.3)
        b[units:2 * units] += 1.0  # unit_forget_bias=True initializes the forget bias to 1
        return [("%s/lstm_cell/kernel" % name, _normal(rng, (n_in, 4 * units), in_std)),
                ("%s/lstm_cell/recurrent_kernel" % name, _orthogonal_blocks(rng, units, 4, gain)),
                ("%s/lstm_cell/bias" % name, b)]

    add("input_layer", "InputLayer", {"batch_shape": [None, 10, 4], "dtype": "float32", "sparse": False,
                                      "name": "input_layer"}, shape=[None, 10, 4])
    add("conv1d", "Conv1D", _k3_conv1d_config("conv1d", 6, 3, 1, "same", 1, "relu"), ["input_layer"],
        [("conv1d/kernel", _glorot(rng, (3, 4, 6), 12, 18, 1.5)), ("conv1d/bias", _normal(rng, (6,), 0.2))],
        shape=[None, 10, 6])
    # RNN.call(sequences, initial_state=None, mask=None, training=False): Layer.__call__ fills in
    # training (signature default False) and then mask (None), and the node records both.
    rnn_kwargs = {"training": False, "mask": None}
    add("lstm", "LSTM", _k3_lstm_config("lstm", 7, True), ["conv1d"], lstm_weights("lstm", 6, 7, 0.8, 1.0),
        shape=[None, 10, 7], kwargs=rnn_kwargs)
    add("lstm_1", "LSTM", _k3_lstm_config("lstm_1", 5, False), ["lstm"], lstm_weights("lstm_1", 7, 5, 1.2, 1.2),
        shape=[None, 5], kwargs=rnn_kwargs)
    add("dense", "Dense", _k3_dense_config("dense", 2, "linear"), ["lstm_1"],
        [("dense/kernel", _glorot(rng, (5, 2), 5, 2, 2.0)), ("dense/bias", _small(rng, 2))], shape=[None, 2])
    outputs = ["dense"]

    def ktensor(name):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": shapes[name], "dtype": "float32", "keras_history": [name, 0, 0]}}

    order = _keras_layer_order(g, outputs)
    layers = []
    for n in order:
        cls, cfg, inbound, _ = g.layers[n]
        nodes = [{"args": [ktensor(inbound[0])], "kwargs": kwargs_of[n]}] if inbound else []
        layers.append({"class_name": cls, "config": cfg, "name": n, "inbound_nodes": nodes})
    config = {"class_name": "Functional",
              "config": {"name": "functional", "trainable": True, "layers": layers,
                         "input_layers": [["input_layer", 0, 0]],
                         "output_layers": [[o, 0, 0] for o in outputs]}}
    _write_model(path, config, K3_VERSION, order, {n: g.layers[n][3] for n in order},
                 vlen_names=True, str_root_attrs=True, top_level_group=True, sort_groups=True)
    return order


# ----------------------------------------------------------------------------
# 6. tf.keras 2.13 Sequential with the Bidirectional and TimeDistributed wrappers
# ----------------------------------------------------------------------------

def _k2_lstm_config(name, units, return_sequences):
    """tf.keras 2.13 LSTM.get_config(): Layer base, then the RNN keys, then the LSTM keys."""
    c = _k2_base(name)
    c.update({"return_sequences": return_sequences, "return_state": False, "go_backwards": False,
              "stateful": False, "unroll": False, "time_major": False,
              "units": units, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
              "kernel_initializer": _init_k2new("GlorotUniform", {"seed": None}),
              "recurrent_initializer": _init_k2new("Orthogonal", {"gain": 1.0, "seed": None}),
              "bias_initializer": _init_k2new("Zeros", {}),
              "unit_forget_bias": True,
              "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
              "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
              "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2})
    return c


def _k2_wrapped(class_name, config):
    """Wrapper.get_config() of tf.keras 2.13 serializes the wrapped layer with serialization_lib
    (module = the public keras.layers namespace, registered_name null; the wrapped layer is never
    built through __call__, so no build_config)."""
    return {"module": "keras.layers", "class_name": class_name, "config": config, "registered_name": None}


def build_k2_bidirectional(path):
    """tf.keras 2.13 Sequential([Input((9, 4)), Bidirectional(LSTM(5, return_sequences=True)),
    TimeDistributed(Dense(3, activation="relu")), Bidirectional(GRU(4), merge_mode="sum"), Dense(2)])."""
    rng = np.random.default_rng(2133)
    bi = _k2_base("bidirectional")
    bi.update({"layer": _k2_wrapped("LSTM", _k2_lstm_config("lstm", 5, True)), "merge_mode": "concat"})
    td = _k2_base("time_distributed")
    td["layer"] = _k2_wrapped("Dense", _k2_dense_config("dense", 3, "relu"))
    bi1 = _k2_base("bidirectional_1")
    bi1.update({"layer": _k2_wrapped("GRU", _k2_gru_config("gru", 4, False, True)), "merge_mode": "sum"})
    entries = [("InputLayer", {"batch_input_shape": [None, 9, 4], "dtype": "float32", "sparse": False,
                               "ragged": False, "name": "input_1"}),
               ("Bidirectional", bi), ("TimeDistributed", td), ("Bidirectional", bi1),
               ("Dense", _k2_dense_config("dense_1", 2, "linear"))]

    # Bidirectional.__init__ rebuilds the wrapped layer twice from its config (forward copy, then
    # backward copy with go_backwards flipped), renames them forward_<name> / backward_<name> and builds
    # each in name_scope(<its name>); each copy creates a new auto-named cell, so the user's LSTM(5)
    # owns "lstm_cell" and the copies get "lstm_cell_1" and "lstm_cell_2" (same for the GRU cells).
    # layer.weights lists forward_layer's variables, then backward_layer's.
    def lstm_dir(prefix, n_in, units):
        b = _normal(rng, (4 * units,), 0.3)
        b[units:2 * units] += 0.5  # forget gate leaning open, as after unit_forget_bias training
        return [(prefix + "kernel:0", _normal(rng, (n_in, 4 * units), 0.7)),
                (prefix + "recurrent_kernel:0", _orthogonal_blocks(rng, units, 4, 1.0)),
                (prefix + "bias:0", b)]

    def gru_dir(prefix, n_in, units):
        return [(prefix + "kernel:0", _normal(rng, (n_in, 3 * units), 0.8)),
                (prefix + "recurrent_kernel:0", _orthogonal_blocks(rng, units, 3, 1.0)),
                (prefix + "bias:0", _normal(rng, (2, 3 * units), 0.3))]

    weights = {
        "bidirectional": lstm_dir("bidirectional/forward_lstm/lstm_cell_1/", 4, 5)
        + lstm_dir("bidirectional/backward_lstm/lstm_cell_2/", 4, 5),
        # TimeDistributed builds the Dense directly (Wrapper.build -> layer.build) inside its own
        # name scope only: "time_distributed/kernel:0", no "dense" level.
        "time_distributed": [("time_distributed/kernel:0", _glorot(rng, (10, 3), 10, 3, 1.6)),
                             ("time_distributed/bias:0", (0.2 + _small(rng, 3, 0.1)).astype(np.float32))],
        "bidirectional_1": gru_dir("bidirectional_1/forward_gru/gru_cell_1/", 3, 4)
        + gru_dir("bidirectional_1/backward_gru/gru_cell_2/", 3, 4),
        "dense_1": [("dense_1/kernel:0", _glorot(rng, (4, 2), 4, 2, 2.0)), ("dense_1/bias:0", _small(rng, 2))],
    }
    config = {"class_name": "Sequential",
              "config": {"name": "sequential",
                         "layers": [{"class_name": c, "config": cfg} for c, cfg in entries]}}
    order = [cfg["name"] for c, cfg in entries if c != "InputLayer"]
    _write_model(path, config, K2_VERSION_FUNCTIONAL, order, weights,
                 vlen_names=True, str_root_attrs=True, top_level_group=True, sort_groups=True)
    return order


MODELS = [("synthetic_k2_functional.h5", build_k2_functional),
          ("synthetic_k3_functional.h5", build_k3_functional),
          ("synthetic_k2_sequential.h5", build_k2_sequential),
          ("synthetic_k2_gru.h5", build_k2_gru),
          ("synthetic_k3_lstm.h5", build_k3_lstm),
          ("synthetic_k2_bidirectional.h5", build_k2_bidirectional),
          ("synthetic_k3_activations.h5", build_k3_activations)]


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.stderr.write("usage: %s OUT_DIR\n" % argv[0])
        return 2
    if h5py is None:
        sys.stderr.write("error: h5py is required (Debian: python3-h5py)\n")
        return 1
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    for fname, build in MODELS:
        path = os.path.join(out, fname)
        order = build(path)
        print("%s: %s" % (path, ", ".join(order)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
