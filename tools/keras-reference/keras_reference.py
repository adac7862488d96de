#!/usr/bin/python3
"""Independent numpy reference for the inference semantics of Keras .h5 models.

Usage:
    keras_reference.py MODEL.h5 INPUTS.csv     print the model outputs for every sample
    keras_reference.py --self-test             run the small internal checks

Written from Keras' documented semantics (TensorFlow backend, channels_last).
Weights are read as float32 and every computation is done in float64.
INPUTS.csv: one sample per row, the values of every model input flattened
row-major (without the batch dimension) and concatenated in the model's input
order. Values are rounded to float32 first (Keras feeds float32 inputs).
Output: a first line starting with "# ", then for each sample n (0-based) and
each model output k (0-based) one line "n output<k> v v v ..." with the output
values flattened row-major, each printed as repr(float(v)).

LSTM and GRU (Keras 2 and 3 configs) run from zero initial states over the
whole [batch, time, features] input (no masking); return_state, go_backwards,
stateful and time_major=true are refused as unsupported.

Wrappers (Keras 2 and 3 configs):
  * Bidirectional(LSTM|GRU): the forward layer reads steps 0..T-1, the backward
    layer (a copy with go_backwards=true, or the configured backward_layer of the
    same class) reads steps T-1..0.  With return_sequences the backward output
    sequence is flipped back to time order; without it each direction gives its
    final h (the backward one after reading step 0).  merge_mode concat (forward
    first, last axis), sum, mul, ave; merge_mode=None (two outputs) is refused.
    Weights are taken by position from weight_names: the forward layer's
    (kernel, recurrent_kernel[, bias]) and then the backward layer's.  The names
    are not used: they differ between versions (tf.keras 2.x
    "bidirectional/forward_lstm/lstm_cell_1/kernel:0" and
    ".../backward_lstm/lstm_cell_2/kernel:0", auto-numbered cells; Keras 3
    "[sequential/]bidirectional/forward_lstm/lstm_cell/kernel"; Keras 2.3.1
    "bidirectional_1/forward_lstm_1/kernel:0"), and "backward_..." sorts before
    "forward_..." in the HDF5 group, so only the weight_names order is reliable
    (Keras writes layer.weights: forward_layer's then backward_layer's).
  * TimeDistributed(Dense): the Dense applied to every time step, i.e. on the
    last axis (weights kernel, bias; tf.keras 2.x "time_distributed/kernel:0").
    Any other wrapped layer is refused.
"""

import json
import math
import os
import sys

import numpy as np

try:
    import h5py
except ImportError:  # pragma: no cover
    h5py = None


class KerasRefError(Exception):
    pass


class UnsupportedLayer(KerasRefError):
    pass


# ----------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------

def _s(v):
    """Decode an HDF5 attribute value (bytes / numpy bytes / str) to str."""
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode("utf-8")
    return str(v)


def _tuple(v, n, what):
    """Keras conv/pool arguments: int or list of n ints."""
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return (int(v),) * n
    v = tuple(int(x) for x in v)
    if len(v) == 1 and n > 1:
        v = v * n
    if len(v) != n:
        raise KerasRefError("%s: expected %d values, got %r" % (what, n, v))
    return v


def _check_channels_last(cfg, name):
    df = cfg.get("data_format", "channels_last")
    if df not in (None, "channels_last"):
        raise UnsupportedLayer("layer '%s': data_format=%r is not supported (channels_last only)" % (name, df))


# ----------------------------------------------------------------------------
# activations
# ----------------------------------------------------------------------------

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def softmax(x, axis=-1):
    if isinstance(axis, (list, tuple)):
        axis = tuple(axis)
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def hard_sigmoid(x, keras3):
    if keras3:
        # Keras 3: relu6(x + 3) / 6
        return np.clip(x / 6.0 + 0.5, 0.0, 1.0)
    # Keras 2 (TF backend): clip(0.2 * x + 0.5, 0, 1)
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x, approximate=False):
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def activation_fn(spec, keras3):
    """Return a numpy function for a Keras activation config value."""
    if spec is None:
        name = "linear"
    elif isinstance(spec, str):
        name = spec
    elif isinstance(spec, dict):
        # Keras 3 / new-style serialization of a built-in activation function
        c = spec.get("config")
        if isinstance(c, str):
            name = c
        elif isinstance(c, dict) and isinstance(c.get("name"), str) and spec.get("class_name") == "function":
            name = c["name"]
        else:
            name = spec.get("class_name")
            if not isinstance(name, str) or name == "function":
                raise UnsupportedLayer("activation %r is not supported" % (spec,))
    else:
        raise UnsupportedLayer("activation %r is not supported" % (spec,))
    name = name.lower()
    table = {
        "linear": lambda x: x,
        "relu": lambda x: np.maximum(x, 0.0),
        "relu6": lambda x: np.clip(x, 0.0, 6.0),
        "sigmoid": sigmoid,
        "tanh": np.tanh,
        "softmax": lambda x: softmax(x, -1),
        "softmax_v2": lambda x: softmax(x, -1),
        "log_softmax": lambda x: x - np.max(x, -1, keepdims=True)
        - np.log(np.sum(np.exp(x - np.max(x, -1, keepdims=True)), -1, keepdims=True)),
        "elu": elu,
        "selu": lambda x: SELU_SCALE * elu(x, SELU_ALPHA),
        "softplus": lambda x: np.logaddexp(0.0, x),
        "softsign": lambda x: x / (1.0 + np.abs(x)),
        "swish": lambda x: x * sigmoid(x),
        "silu": lambda x: x * sigmoid(x),
        "hard_sigmoid": lambda x: hard_sigmoid(x, keras3),
        "hard_silu": lambda x: x * hard_sigmoid(x, True),
        "hard_swish": lambda x: x * hard_sigmoid(x, True),
        "exponential": np.exp,
        "gelu": gelu,  # string "gelu" -> approximate=False in Keras 2.x and 3.x
        "mish": lambda x: x * np.tanh(np.logaddexp(0.0, x)),
        "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),  # Keras 3 default slope
    }
    if name not in table:
        raise UnsupportedLayer("activation %r is not supported" % (name,))
    return table[name]


def relu_layer(x, max_value=None, negative_slope=0.0, threshold=0.0):
    """Keras ReLU layer (identical formulation in Keras 2 backend.relu and Keras 3)."""
    negative_slope = float(negative_slope or 0.0)
    threshold = float(threshold or 0.0)
    if negative_slope != 0.0:
        if max_value is None and threshold == 0.0:
            return np.where(x >= 0, x, negative_slope * x)
        negative_part = np.maximum(-x + threshold, 0.0)
    if threshold != 0.0:
        y = x * (x > threshold)
    else:
        y = np.maximum(x, 0.0)
    if max_value is not None:
        y = np.clip(y, 0.0, float(max_value))
    if negative_slope != 0.0:
        y = y - negative_slope * negative_part
    return y


# ----------------------------------------------------------------------------
# convolution / pooling primitives (spatial rank 1 or 2, channels_last)
# ----------------------------------------------------------------------------

def pad_amounts(in_sizes, kernel, strides, dilation, padding):
    """Return (out_sizes, [(before, after), ...]) following TensorFlow's rules."""
    outs, pads = [], []
    for n, k, s, d in zip(in_sizes, kernel, strides, dilation):
        ek = (k - 1) * d + 1
        if padding == "valid":
            o = (n - ek) // s + 1
            p = (0, 0)
        elif padding == "same":
            o = -(-n // s)  # ceil
            total = max((o - 1) * s + ek - n, 0)
            p = (total // 2, total - total // 2)
        elif padding == "causal":
            p = (ek - 1, 0)
            o = (n + ek - 1 - ek) // s + 1
        else:
            raise UnsupportedLayer("padding %r is not supported" % (padding,))
        if o <= 0:
            raise KerasRefError("non-positive output size (input %d, kernel %d, stride %d)" % (n, k, s))
        outs.append(o)
        pads.append(p)
    return outs, pads


def _tap_slice(xp, offsets, strides, outs):
    """xp[:, off0 : off0 + (o0-1)*s0 + 1 : s0, ..., :]"""
    sl = [slice(None)]
    for off, s, o in zip(offsets, strides, outs):
        sl.append(slice(off, off + (o - 1) * s + 1, s))
    sl.append(slice(None))
    return xp[tuple(sl)]


def _taps(kernel):
    return list(np.ndindex(*kernel))


def conv_nd(x, w, strides, dilation, padding, groups=1):
    """Plain convolution.  x: [N, *spatial, Cin]; w: [*K, Cin/groups, Cout]."""
    rank = x.ndim - 2
    kernel = w.shape[:rank]
    cin = x.shape[-1]
    cin_g, cout = w.shape[rank], w.shape[rank + 1]
    if cin_g * groups != cin or cout % groups != 0:
        raise KerasRefError("conv: kernel %r does not match %d input channels with groups=%d"
                            % (w.shape, cin, groups))
    outs, pads = pad_amounts(x.shape[1:-1], kernel, strides, dilation, padding)
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    y = np.zeros((x.shape[0],) + tuple(outs) + (cout,), dtype=np.float64)
    cout_g = cout // groups
    for tap in _taps(kernel):
        offs = [t * d for t, d in zip(tap, dilation)]
        xs = _tap_slice(xp, offs, strides, outs)  # [N, *outs, Cin]
        wt = w[tap]  # [Cin/groups, Cout]
        for g in range(groups):
            y[..., g * cout_g:(g + 1) * cout_g] += np.einsum(
                "...c,co->...o", xs[..., g * cin_g:(g + 1) * cin_g], wt[:, g * cout_g:(g + 1) * cout_g])
    return y


def depthwise_conv_nd(x, w, strides, dilation, padding):
    """x: [N, *spatial, C]; w: [*K, C, M]; output channel c*M + j."""
    rank = x.ndim - 2
    kernel = w.shape[:rank]
    c, m = w.shape[rank], w.shape[rank + 1]
    if c != x.shape[-1]:
        raise KerasRefError("depthwise conv: kernel %r does not match %d channels" % (w.shape, x.shape[-1]))
    outs, pads = pad_amounts(x.shape[1:-1], kernel, strides, dilation, padding)
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    y = np.zeros((x.shape[0],) + tuple(outs) + (c, m), dtype=np.float64)
    for tap in _taps(kernel):
        offs = [t * d for t, d in zip(tap, dilation)]
        xs = _tap_slice(xp, offs, strides, outs)  # [N, *outs, C]
        y += xs[..., :, None] * w[tap]  # [C, M]
    return y.reshape(y.shape[:-2] + (c * m,))


def pool_nd(x, pool, strides, padding, mode):
    """Max / average pooling with TensorFlow semantics (padding never counted)."""
    rank = x.ndim - 2
    outs, pads = pad_amounts(x.shape[1:-1], pool, strides, (1,) * rank, padding)
    if mode == "max":
        xp = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=-np.inf)
        y = np.full((x.shape[0],) + tuple(outs) + (x.shape[-1],), -np.inf)
        for tap in _taps(pool):
            y = np.maximum(y, _tap_slice(xp, tap, strides, outs))
        return y
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    ones = np.pad(np.ones((1,) + x.shape[1:-1] + (1,)), [(0, 0)] + pads + [(0, 0)])
    s = np.zeros((x.shape[0],) + tuple(outs) + (x.shape[-1],))
    cnt = np.zeros((1,) + tuple(outs) + (1,))
    for tap in _taps(pool):
        s += _tap_slice(xp, tap, strides, outs)
        cnt += _tap_slice(ones, tap, strides, outs)
    return s / cnt


# ----------------------------------------------------------------------------
# layers
# ----------------------------------------------------------------------------

IDENTITY_LAYERS = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                   "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"}

SUPPORTED = {"InputLayer", "Dense", "Flatten", "Reshape", "Conv1D", "Conv2D", "DepthwiseConv2D",
             "SeparableConv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
             "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
             "BatchNormalization", "Activation", "ReLU", "LeakyReLU", "Softmax", "Add", "Subtract",
             "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "ZeroPadding1D",
             "ZeroPadding2D", "Rescaling"} | IDENTITY_LAYERS | {"LSTM", "GRU"}

RECURRENT_LAYERS = {"LSTM", "GRU"}

WRAPPER_LAYERS = {"Bidirectional", "TimeDistributed"}
SUPPORTED |= WRAPPER_LAYERS

# aliases used by some Keras versions
CLASS_ALIASES = {"Convolution1D": "Conv1D", "Convolution2D": "Conv2D",
                 "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D",
                 "AvgPool1D": "AveragePooling1D", "AvgPool2D": "AveragePooling2D",
                 "GlobalAvgPool1D": "GlobalAveragePooling1D", "GlobalAvgPool2D": "GlobalAveragePooling2D",
                 "GlobalMaxPool1D": "GlobalMaxPooling1D", "GlobalMaxPool2D": "GlobalMaxPooling2D",
                 "SeparableConvolution2D": "SeparableConv2D"}


class Layer(object):
    def __init__(self, class_name, cfg, weights, keras3, backward_copy=False):
        """backward_copy: the backward LSTM/GRU of a Bidirectional wrapper (go_backwards=true allowed)."""
        self.cls = CLASS_ALIASES.get(class_name, class_name)
        self.cfg = cfg
        self.name = cfg.get("name", "?")
        self.w = weights  # list of float64 arrays in Keras' weight order
        self.keras3 = keras3
        self.backward_copy = backward_copy
        if self.cls not in SUPPORTED:
            raise UnsupportedLayer("unsupported layer class '%s' (layer '%s')" % (class_name, self.name))
        if self.cls in WRAPPER_LAYERS:
            self.act = None
            self._init_wrapper()
            return
        self._check_weights()
        if self.cls in RECURRENT_LAYERS:
            self.act = None  # "activation" is the cell activation, not applied to the output
            self._init_recurrent()
        else:
            self.act = activation_fn(cfg.get("activation"), keras3) \
                if "activation" in cfg and self.cls != "Activation" else None

    # Keras weight creation order; count checked against weight_names
    def _expected_weights(self):
        c, cfg = self.cls, self.cfg
        bias = 1 if cfg.get("use_bias", True) else 0
        if c == "Dense" or c in ("Conv1D", "Conv2D"):
            return 1 + bias
        if c == "DepthwiseConv2D":
            return 1 + bias
        if c == "SeparableConv2D":
            return 2 + bias
        if c == "BatchNormalization":
            return int(bool(cfg.get("scale", True))) + int(bool(cfg.get("center", True))) + 2
        if c in RECURRENT_LAYERS:
            return 2 + bias  # kernel, recurrent_kernel[, bias]
        return 0

    def _check_weights(self):
        n = self._expected_weights()
        if len(self.w) != n:
            raise KerasRefError("layer '%s' (%s): expected %d weight arrays, weight_names gives %d"
                                % (self.name, self.cls, n, len(self.w)))

    # ------------------------------------------------------------------
    # LSTM / GRU
    # ------------------------------------------------------------------

    def _init_recurrent(self):
        """Read and check the LSTM/GRU config (Keras 2.x and 3.x keys)."""
        cfg, name, c = self.cfg, self.name, self.cls
        for key in ("return_state", "go_backwards", "stateful", "time_major"):
            if key == "go_backwards" and self.backward_copy:
                continue
            if cfg.get(key, False):
                raise UnsupportedLayer("%s layer '%s': %s=true is not supported%s" % (
                    c, name, key, " (outside a Bidirectional wrapper)" if key == "go_backwards" else ""))
        # go_backwards (backward layer of a Bidirectional only): read the steps from last to first and
        # return the outputs in that processing order, as Keras' backend rnn does.
        self.go_backwards = bool(cfg.get("go_backwards", False))
        if cfg.get("num_constants"):
            raise UnsupportedLayer("%s layer '%s': constants are not supported" % (c, name))
        if "units" not in cfg:
            raise KerasRefError("%s layer '%s': config has no 'units'" % (c, name))
        self.units = int(cfg["units"])
        # Keras 2 and 3 both default to tanh / sigmoid (standalone Keras <= 2.2.5 defaulted
        # recurrent_activation to hard_sigmoid, but every saved config states it explicitly).
        self.cell_act = activation_fn(cfg.get("activation", "tanh"), self.keras3)
        self.rec_act = activation_fn(cfg.get("recurrent_activation", "sigmoid"), self.keras3)
        self.return_sequences = bool(cfg.get("return_sequences", False))
        self.use_bias = bool(cfg.get("use_bias", True))
        # ignored: unroll, implementation (0/1/2 are the same arithmetic, fused or per gate),
        # dropout / recurrent_dropout (training only), unit_forget_bias (initialization only),
        # zero_output_for_mask (no masks here), seed, initializers/regularizers/constraints.
        H = self.units
        gates = 4 if c == "LSTM" else 3
        if len(self.w) >= 2:
            k, rk = self.w[0], self.w[1]
            if k.ndim != 2 or k.shape[1] != gates * H:
                raise KerasRefError("%s layer '%s': kernel shape %r, expected [input_dim, %d]"
                                    % (c, name, k.shape, gates * H))
            if rk.shape != (H, gates * H):
                raise KerasRefError("%s layer '%s': recurrent_kernel shape %r, expected %r"
                                    % (c, name, rk.shape, (H, gates * H)))
        self.reset_after = None
        if c == "GRU":
            bias = self.w[2] if self.use_bias and len(self.w) > 2 else None
            ra = cfg.get("reset_after")
            if ra is None:
                # Every Keras version that has reset_after serializes it; older files: infer from the bias.
                ra = bias is not None and bias.ndim == 2
            self.reset_after = bool(ra)
            if bias is not None:
                want = (2, 3 * H) if self.reset_after else (3 * H,)
                if bias.shape != want:
                    raise KerasRefError("GRU layer '%s': bias shape %r, expected %r for reset_after=%s"
                                        % (name, bias.shape, want, self.reset_after))
        elif self.use_bias and len(self.w) > 2 and self.w[2].shape != (4 * H,):
            raise KerasRefError("LSTM layer '%s': bias shape %r, expected %r" % (name, self.w[2].shape, (4 * H,)))

    def _recurrent(self, x):
        """Run the layer over x [N, T, I] from zero initial states; returns [N, H] or [N, T, H]."""
        if x.ndim != 3:
            raise KerasRefError("%s layer '%s' expects a 3D input [batch, time, features], got %r"
                                % (self.cls, self.name, x.shape))
        H = self.units
        W, U = self.w[0], self.w[1]
        if W.shape[0] != x.shape[2]:
            raise KerasRefError("%s layer '%s': kernel has %d input rows, input has %d features"
                                % (self.cls, self.name, W.shape[0], x.shape[2]))
        b = self.w[2] if self.use_bias else None
        if self.go_backwards:
            x = x[:, ::-1, :]
        n, steps = x.shape[0], x.shape[1]
        xw = np.matmul(x, W)  # input projections of every step, [N, T, gates*H]
        h = np.zeros((n, H))
        c = np.zeros((n, H))
        ra, act = self.rec_act, self.cell_act
        outs = []
        for t in range(steps):
            if self.cls == "LSTM":
                z = xw[:, t, :] + np.matmul(h, U)
                if b is not None:
                    z = z + b
                i = ra(z[:, :H])
                f = ra(z[:, H:2 * H])
                g = act(z[:, 2 * H:3 * H])
                o = ra(z[:, 3 * H:])
                c = f * c + i * g
                h = o * act(c)
            else:  # GRU, gate order z (update), r (reset), h (candidate)
                mx = xw[:, t, :]
                if self.reset_after:
                    mh = np.matmul(h, U)
                    if b is not None:
                        mx = mx + b[0]
                        mh = mh + b[1]
                    zg = ra(mx[:, :H] + mh[:, :H])
                    r = ra(mx[:, H:2 * H] + mh[:, H:2 * H])
                    hh = act(mx[:, 2 * H:] + r * mh[:, 2 * H:])
                else:
                    if b is not None:
                        mx = mx + b
                    mh = np.matmul(h, U[:, :2 * H])
                    zg = ra(mx[:, :H] + mh[:, :H])
                    r = ra(mx[:, H:2 * H] + mh[:, H:2 * H])
                    hh = act(mx[:, 2 * H:] + np.matmul(r * h, U[:, 2 * H:]))
                h = zg * h + (1.0 - zg) * hh
            if self.return_sequences:
                outs.append(h)
        if self.return_sequences:
            return np.stack(outs, axis=1) if outs else np.zeros((n, 0, H))
        return h

    # ------------------------------------------------------------------
    # Bidirectional / TimeDistributed
    # ------------------------------------------------------------------

    def _wrapped_entry(self, key):
        """(class name after aliases, config copy) of a wrapped layer: config[key] is
        {"class_name", "config"} (Keras 2.x legacy form) or the same with "module",
        "registered_name" and maybe "build_config" (tf.keras 2.13+ and Keras 3)."""
        e = self.cfg.get(key)
        if not isinstance(e, dict) or not isinstance(e.get("class_name"), str):
            raise KerasRefError("%s layer '%s': config has no wrapped layer under '%s'" % (self.cls, self.name, key))
        cls = CLASS_ALIASES.get(e["class_name"], e["class_name"])
        return cls, dict(e.get("config") or {})

    def _init_wrapper(self):
        cfg, name = self.cfg, self.name
        icls, icfg = self._wrapped_entry("layer")
        iname = icfg.get("name", "layer")
        if self.cls == "TimeDistributed":
            if icls != "Dense":
                raise UnsupportedLayer("TimeDistributed layer '%s' wraps a %s layer ('%s'): only "
                                       "TimeDistributed(Dense) is supported" % (name, icls, iname))
            icfg["name"] = "%s/%s" % (name, iname)
            self.inner = Layer("Dense", icfg, self.w, self.keras3)  # checks the weight count
            return
        # Bidirectional
        if cfg.get("num_constants"):
            raise UnsupportedLayer("Bidirectional layer '%s': constants are not supported" % name)
        mm = cfg.get("merge_mode", "concat")
        if mm is None:
            raise UnsupportedLayer("Bidirectional layer '%s': merge_mode=None (forward and backward returned as "
                                   "two separate outputs) is not supported" % name)
        if mm not in ("concat", "sum", "mul", "ave"):
            raise UnsupportedLayer("Bidirectional layer '%s': merge_mode %r is not supported" % (name, mm))
        self.merge_mode = mm
        if icls not in RECURRENT_LAYERS:
            raise UnsupportedLayer("Bidirectional layer '%s' wraps a %s layer ('%s'): only LSTM and GRU are "
                                   "supported" % (name, icls, iname))
        if icfg.get("go_backwards", False):
            raise UnsupportedLayer("Bidirectional layer '%s': a forward layer with go_backwards=true is not "
                                   "supported" % name)
        strip = lambda s, pre: s[len(pre):] if s.startswith(pre) else s
        if cfg.get("backward_layer") is not None:
            # given explicitly (Keras 3 always writes it; tf.keras 2.x only for backward_layer=...)
            bcls, bcfg = self._wrapped_entry("backward_layer")
            if bcls != icls:
                raise UnsupportedLayer("Bidirectional layer '%s': backward_layer is a %s, the forward layer a %s; "
                                       "only a backward layer of the same class is supported" % (name, bcls, icls))
            if not bcfg.get("go_backwards", False):
                raise UnsupportedLayer("Bidirectional layer '%s': backward_layer has go_backwards=false "
                                       "(Keras requires it to differ from the forward layer's)" % name)
        else:
            # tf.keras 2.x: a copy of the forward config with go_backwards flipped
            bcls, bcfg = icls, dict(icfg)
            bcfg["go_backwards"] = True
        fname = "%s/forward_%s" % (name, strip(iname, "forward_"))
        bname = "%s/backward_%s" % (name, strip(bcfg.get("name", iname), "backward_"))
        icfg["name"], bcfg["name"] = fname, bname
        nf = 2 + int(bool(icfg.get("use_bias", True)))
        nb = 2 + int(bool(bcfg.get("use_bias", True)))
        if len(self.w) != nf + nb:
            raise KerasRefError("Bidirectional layer '%s': expected %d weight arrays (forward %s %d, then backward "
                                "%s %d), weight_names gives %d" % (name, nf + nb, icls, nf, bcls, nb, len(self.w)))
        self.forward = Layer(icls, icfg, self.w[:nf], self.keras3)
        self.backward = Layer(bcls, bcfg, self.w[nf:], self.keras3, backward_copy=True)
        if self.forward.return_sequences != self.backward.return_sequences:
            raise KerasRefError("Bidirectional layer '%s': forward and backward layers differ in return_sequences"
                                % name)
        self.return_sequences = self.forward.return_sequences
        if mm != "concat" and self.forward.units != self.backward.units:
            raise KerasRefError("Bidirectional layer '%s': merge_mode %s needs equal units (forward %d, backward %d)"
                                % (name, mm, self.forward.units, self.backward.units))

    def _bidirectional(self, x):
        y = self.forward([x])
        y_rev = self.backward([x])  # processing order: step T-1 first
        if self.return_sequences:
            y_rev = y_rev[:, ::-1, :]  # back to time order
        mm = self.merge_mode
        if mm == "concat":
            return np.concatenate([y, y_rev], axis=-1)
        if mm == "sum":
            return y + y_rev
        if mm == "mul":
            return y * y_rev
        return (y + y_rev) / 2.0  # ave

    def __call__(self, inputs):
        c, cfg = self.cls, self.cfg
        if c in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"):
            return self._merge(inputs)
        if len(inputs) != 1:
            raise KerasRefError("layer '%s' (%s) expects one input, got %d" % (self.name, c, len(inputs)))
        x = inputs[0]
        y = self._single(x)
        if self.act is not None:
            y = self.act(y)
        return y

    def _merge(self, xs):
        c = self.cls
        if c == "Concatenate":
            axis = int(self.cfg.get("axis", -1))
            return np.concatenate(xs, axis=axis)
        if len(xs) < 2 and c != "Subtract":
            raise KerasRefError("layer '%s' (%s) needs at least 2 inputs" % (self.name, c))
        if c == "Subtract":
            if len(xs) != 2:
                raise KerasRefError("Subtract layer '%s' needs exactly 2 inputs" % self.name)
            return xs[0] - xs[1]
        y = xs[0]
        for z in xs[1:]:
            if c in ("Add", "Average"):
                y = y + z
            elif c == "Multiply":
                y = y * z
            elif c == "Maximum":
                y = np.maximum(y, z)
            elif c == "Minimum":
                y = np.minimum(y, z)
        if c == "Average":
            y = y / len(xs)
        return y

    def _single(self, x):
        c, cfg, w = self.cls, self.cfg, self.w
        if c in IDENTITY_LAYERS or c == "InputLayer":
            return x
        if c in RECURRENT_LAYERS:
            return self._recurrent(x)
        if c == "Bidirectional":
            return self._bidirectional(x)
        if c == "TimeDistributed":
            if x.ndim < 3:
                raise KerasRefError("TimeDistributed layer '%s' expects an input with at least 3 dimensions "
                                    "[batch, time, ...], got %r" % (self.name, x.shape))
            return self.inner([x])  # Dense acts on the last axis, i.e. on every time step alike
        if c == "Dense":
            y = np.matmul(x, w[0])
            if len(w) > 1:
                y = y + w[1]
            return y
        if c == "Flatten":
            df = cfg.get("data_format", "channels_last")
            if df == "channels_first" and x.ndim > 2:
                x = np.moveaxis(x, 1, -1)
            return x.reshape(x.shape[0], -1)
        if c == "Reshape":
            return x.reshape((x.shape[0],) + tuple(int(v) for v in cfg["target_shape"]))
        if c in ("Conv1D", "Conv2D"):
            _check_channels_last(cfg, self.name)
            rank = 1 if c == "Conv1D" else 2
            padding = cfg.get("padding", "valid").lower()
            if padding == "causal" and rank != 1:
                raise UnsupportedLayer("causal padding only exists for Conv1D")
            y = conv_nd(x, w[0], _tuple(cfg.get("strides", 1), rank, "strides"),
                        _tuple(cfg.get("dilation_rate", 1), rank, "dilation_rate"),
                        padding, int(cfg.get("groups", 1) or 1))
            if len(w) > 1:
                y = y + w[1]
            return y
        if c == "DepthwiseConv2D":
            _check_channels_last(cfg, self.name)
            y = depthwise_conv_nd(x, w[0], _tuple(cfg.get("strides", 1), 2, "strides"),
                                  _tuple(cfg.get("dilation_rate", 1), 2, "dilation_rate"),
                                  cfg.get("padding", "valid").lower())
            if len(w) > 1:
                y = y + w[1]
            return y
        if c == "SeparableConv2D":
            _check_channels_last(cfg, self.name)
            y = depthwise_conv_nd(x, w[0], _tuple(cfg.get("strides", 1), 2, "strides"),
                                  _tuple(cfg.get("dilation_rate", 1), 2, "dilation_rate"),
                                  cfg.get("padding", "valid").lower())
            pw = w[1]  # [1, 1, Cin*M, Cout]
            y = np.matmul(y, pw.reshape(pw.shape[-2], pw.shape[-1]))
            if len(w) > 2:
                y = y + w[2]
            return y
        if c in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
            _check_channels_last(cfg, self.name)
            rank = 1 if c.endswith("1D") else 2
            pool = _tuple(cfg.get("pool_size", 2), rank, "pool_size")
            strides = _tuple(cfg.get("strides"), rank, "strides") or pool
            return pool_nd(x, pool, strides, cfg.get("padding", "valid").lower(),
                           "max" if c.startswith("Max") else "avg")
        if c.startswith("Global"):
            _check_channels_last(cfg, self.name)
            axes = tuple(range(1, x.ndim - 1))
            keep = bool(cfg.get("keepdims", False))
            if "Average" in c:
                return np.mean(x, axis=axes, keepdims=keep)
            return np.max(x, axis=axes, keepdims=keep)
        if c == "BatchNormalization":
            axis = cfg.get("axis", -1)
            if isinstance(axis, list):
                if len(axis) != 1:
                    raise UnsupportedLayer("BatchNormalization '%s': multiple axes %r" % (self.name, axis))
                axis = axis[0]
            if int(axis) not in (-1, x.ndim - 1):
                raise UnsupportedLayer("BatchNormalization '%s': axis %r is not the last axis" % (self.name, axis))
            i = 0
            gamma = beta = None
            if cfg.get("scale", True):
                gamma = w[i]
                i += 1
            if cfg.get("center", True):
                beta = w[i]
                i += 1
            mean, var = w[i], w[i + 1]
            y = (x - mean) / np.sqrt(var + float(cfg.get("epsilon", 1e-3)))
            if gamma is not None:
                y = y * gamma
            if beta is not None:
                y = y + beta
            return y
        if c == "Activation":
            return activation_fn(cfg.get("activation"), self.keras3)(x)
        if c == "ReLU":
            return relu_layer(x, cfg.get("max_value"), cfg.get("negative_slope", 0.0), cfg.get("threshold", 0.0))
        if c == "LeakyReLU":
            a = cfg.get("negative_slope", cfg.get("alpha", 0.3))
            return np.where(x >= 0, x, float(a) * x)
        if c == "Softmax":
            return softmax(x, cfg.get("axis", -1))
        if c == "ZeroPadding1D":
            p = cfg.get("padding", 1)
            p = (int(p), int(p)) if isinstance(p, (int, float)) else tuple(int(v) for v in p)
            return np.pad(x, [(0, 0), p, (0, 0)])
        if c == "ZeroPadding2D":
            _check_channels_last(cfg, self.name)
            p = cfg.get("padding", 1)
            if isinstance(p, (int, float)):
                pads = [(int(p), int(p))] * 2
            elif all(isinstance(v, (int, float)) for v in p):
                pads = [(int(p[0]), int(p[0])), (int(p[1]), int(p[1]))]
            else:
                pads = [tuple(int(v) for v in p[0]), tuple(int(v) for v in p[1])]
            return np.pad(x, [(0, 0)] + pads + [(0, 0)])
        if c == "Rescaling":
            return x * np.asarray(cfg.get("scale", 1.0), dtype=np.float64) \
                + np.asarray(cfg.get("offset", 0.0), dtype=np.float64)
        raise UnsupportedLayer("unsupported layer class '%s' (layer '%s')" % (c, self.name))


# ----------------------------------------------------------------------------
# model loading
# ----------------------------------------------------------------------------

def _read_str_list_attr(group, name):
    """Keras splits big attributes into name0, name1, ... ; empty lists are stored as float64 []."""
    if name in group.attrs:
        vals = list(group.attrs[name])
    else:
        vals, i = [], 0
        while "%s%d" % (name, i) in group.attrs:
            vals.extend(group.attrs["%s%d" % (name, i)])
            i += 1
    return [_s(v) for v in vals if not isinstance(v, (float, np.floating))]


def _load_weights(f, layer_name):
    mw = f["model_weights"] if "model_weights" in f else f
    if layer_name not in mw:
        return []
    g = mw[layer_name]
    out = []
    for wn in _read_str_list_attr(g, "weight_names"):
        out.append(np.asarray(g[wn][()], dtype=np.float64))
    return out


def _input_shape_from(cfg):
    for key in ("batch_input_shape", "batch_shape"):
        if cfg.get(key) is not None:
            return list(cfg[key])[1:]
    return None


class Model(object):
    """Graph of nodes.  A node is (layer_name, node_index); tensors are (layer, node, tensor_index)."""

    def __init__(self, path, inputs_only=False):
        self.inputs_only = inputs_only  # parse the graph and input shapes only (no layer support check)
        if h5py is None:
            raise KerasRefError("h5py is required (Debian: python3-h5py)")
        self.path = path
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                raise KerasRefError("%s has no model_config attribute (weights-only file?)" % path)
            self.config = json.loads(_s(f.attrs["model_config"]))
            kv = f.attrs.get("keras_version")
            if kv is None and "model_weights" in f:
                kv = f["model_weights"].attrs.get("keras_version")
            self.keras_version = _s(kv) if kv is not None else "unknown"
            self.keras3 = self.keras_version.split(".")[0].isdigit() and int(self.keras_version.split(".")[0]) >= 3
            cls = self.config.get("class_name")
            cfg = self.config.get("config")
            self.class_name = cls
            if cls == "Sequential":
                self._build_sequential(f, cfg)
            elif cls in ("Model", "Functional"):
                self._build_functional(f, cfg)
            else:
                raise UnsupportedLayer("unsupported top-level model class '%s'" % cls)

    def _make_layer(self, f, entry):
        cls = entry["class_name"]
        cfg = entry.get("config") or {}
        name = entry.get("name", cfg.get("name"))
        cfg = dict(cfg)
        cfg.setdefault("name", name)
        if self.inputs_only:
            return name, None
        if cls in ("Sequential", "Model", "Functional"):
            raise UnsupportedLayer("unsupported layer class '%s' (nested model '%s')" % (cls, name))
        if cls not in SUPPORTED and CLASS_ALIASES.get(cls) not in SUPPORTED:
            raise UnsupportedLayer("unsupported layer class '%s' (layer '%s')" % (cls, name))
        return name, Layer(cls, cfg, _load_weights(f, name), self.keras3)

    def _build_sequential(self, f, cfg):
        entries = cfg["layers"] if isinstance(cfg, dict) else cfg  # old Keras: plain list
        shape = None
        self.layers = []
        for i, e in enumerate(entries):
            c = e.get("config") or {}
            if shape is None:
                shape = _input_shape_from(c)
            if e["class_name"] == "InputLayer":
                continue
            self.layers.append(self._make_layer(f, e))
        if shape is None and isinstance(cfg, dict) and cfg.get("build_input_shape"):
            shape = list(cfg["build_input_shape"])[1:]
        if shape is None:
            raise KerasRefError("cannot determine the Sequential model's input shape")
        self.input_names = ["input"]
        for e in entries:
            if e["class_name"] == "InputLayer":
                self.input_names = [e.get("config", {}).get("name", "input")]
        self.input_shapes = [shape]
        self.output_names = [self.layers[-1][0] if self.layers else self.input_names[0]]

    @staticmethod
    def _tensor_refs(node):
        """Inbound tensors of one node as [(layer, node_index, tensor_index)]."""
        refs = []
        if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            def walk(v):
                if isinstance(v, dict):
                    if v.get("class_name") == "__keras_tensor__":
                        h = v["config"]["keras_history"]
                        refs.append((h[0], int(h[1]), int(h[2])))
                    else:
                        for vv in v.values():
                            walk(vv)
                elif isinstance(v, (list, tuple)):
                    for vv in v:
                        walk(vv)
            walk(node.get("args", []))
        else:  # Keras 2: [[layer, node_index, tensor_index, kwargs], ...]
            for t in node:
                refs.append((t[0], int(t[1]), int(t[2])))
        return refs

    @staticmethod
    def _io_list(v):
        """input_layers / output_layers: [[name, n, t], ...], a single [name, n, t], or a dict."""
        if isinstance(v, dict):
            v = list(v.values())
        if len(v) == 3 and isinstance(v[0], str) and not isinstance(v[1], (list, dict)):
            v = [v]
        return [(t[0], int(t[1]), int(t[2])) for t in v]

    def _build_functional(self, f, cfg):
        self.layer_by_name = {}
        self.inbound = {}  # layer name -> list of nodes (each a list of tensor refs)
        input_cfg = {}
        for e in cfg["layers"]:
            name = e.get("name", (e.get("config") or {}).get("name"))
            if e["class_name"] == "InputLayer":
                input_cfg[name] = e.get("config") or {}
                self.layer_by_name[name] = None
                self.inbound[name] = []
                continue
            _, layer = self._make_layer(f, e)
            self.layer_by_name[name] = layer if layer is not None else False
            self.inbound[name] = [self._tensor_refs(n) for n in (e.get("inbound_nodes") or [])]
        self.inputs = self._io_list(cfg["input_layers"])
        self.outputs = self._io_list(cfg["output_layers"])
        self.input_names = [t[0] for t in self.inputs]
        self.output_names = [t[0] for t in self.outputs]
        self.input_shapes = []
        for t in self.inputs:
            if t[0] not in input_cfg:
                raise KerasRefError("model input '%s' is not an InputLayer" % t[0])
            s = _input_shape_from(input_cfg[t[0]])
            if s is None:
                raise KerasRefError("input '%s' has no batch_input_shape/batch_shape" % t[0])
            self.input_shapes.append(s)

    def predict(self, xs):
        """xs: list of float64 arrays [N, *shape] in model input order. Returns list of outputs."""
        if self.class_name == "Sequential":
            y = xs[0]
            for _, layer in self.layers:
                y = layer([y])
            return [y]
        values = {}  # (layer, node_index) -> list of output tensors
        for (name, n, t), x in zip(self.inputs, xs):
            values[(name, n)] = [x]
        state = {}

        def evaluate(name, node):  # dependency-order (memoised DFS), independent of list order
            key = (name, node)
            if key in values:
                return values[key]
            if state.get(key) == "busy":
                raise KerasRefError("cycle in the model graph at %r" % (key,))
            if name not in self.layer_by_name:
                raise KerasRefError("unknown layer '%s' referenced" % name)
            layer = self.layer_by_name[name]
            if layer is False:
                raise KerasRefError("model was loaded with inputs_only=True")
            if layer is None:
                raise KerasRefError("InputLayer '%s' is not a model input" % name)
            if node >= len(self.inbound[name]):
                raise KerasRefError("layer '%s' has no inbound node %d" % (name, node))
            state[key] = "busy"
            args = []
            for (ln, ni, ti) in self.inbound[name][node]:
                outs = evaluate(ln, ni)
                args.append(outs[ti])
            values[key] = [layer(args)]
            state[key] = "done"
            return values[key]

        return [evaluate(name, n)[t] for (name, n, t) in self.outputs]


# ----------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------

def read_inputs(csv_path, model):
    rows = []
    with open(csv_path) as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            rows.append([float(v) for v in line.replace(";", ",").split(",") if v.strip() != ""])
    sizes = []
    for s in model.input_shapes:
        if any(d is None for d in s):
            raise KerasRefError("input shape %r has unknown dimensions; cannot read it from CSV" % (s,))
        sizes.append(int(np.prod(s)) if s else 1)
    total = sum(sizes)
    data = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1) if rows else np.zeros((0, total))
    if data.shape[1] != total:
        raise KerasRefError("CSV rows have %d values, the model inputs need %d (%s)"
                            % (data.shape[1], total, ", ".join(str(s) for s in model.input_shapes)))
    data = data.astype(np.float32).astype(np.float64)  # Keras feeds float32 inputs
    xs, off = [], 0
    for s, n in zip(model.input_shapes, sizes):
        xs.append(data[:, off:off + n].reshape((data.shape[0],) + tuple(int(d) for d in s)))
        off += n
    return xs


def run(model_path, csv_path, out=sys.stdout):
    model = Model(model_path)
    xs = read_inputs(csv_path, model)
    ys = model.predict(xs) if xs[0].shape[0] > 0 else []
    out.write("# keras_reference model=%s keras_version=%s class=%s inputs=%s outputs=%s samples=%d\n" % (
        os.path.basename(model_path), model.keras_version, model.class_name,
        ",".join("%s%s" % (n, tuple(s)) for n, s in zip(model.input_names, model.input_shapes)),
        ",".join("%s%s" % (n, tuple(y.shape[1:])) for n, y in zip(model.output_names, ys)),
        xs[0].shape[0]))
    for n in range(xs[0].shape[0]):
        for k, y in enumerate(ys):
            out.write("%d output%d %s\n" % (n, k, " ".join(repr(float(v)) for v in np.ravel(y[n]))))


# ----------------------------------------------------------------------------
# self-test
# ----------------------------------------------------------------------------

def _brute_conv2d(x, w, stride, dil, padding, groups=1):
    """Direct definition: y[n,i,j,o] = sum x[n, i*s - pad + kh*d, ...] * w[kh,kw,c,o], out of range = 0."""
    N, H, W, C = x.shape
    KH, KW, Cg, O = w.shape
    def geom(n, k, s, d):
        ek = (k - 1) * d + 1
        if padding == "valid":
            return (n - ek) // s + 1, 0
        o = math.ceil(n / s)
        return o, max((o - 1) * s + ek - n, 0) // 2
    OH, ph = geom(H, KH, stride[0], dil[0])
    OW, pw = geom(W, KW, stride[1], dil[1])
    y = np.zeros((N, OH, OW, O))
    og = O // groups
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for o in range(O):
                    g = o // og
                    acc = 0.0
                    for kh in range(KH):
                        for kw in range(KW):
                            r = i * stride[0] - ph + kh * dil[0]
                            q = j * stride[1] - pw + kw * dil[1]
                            if 0 <= r < H and 0 <= q < W:
                                for c in range(Cg):
                                    acc += x[n, r, q, g * Cg + c] * w[kh, kw, c, o]
                    y[n, i, j, o] = acc
    return y


def _brute_pool2d(x, k, s, padding, mode):
    N, H, W, C = x.shape
    def geom(n, kk, ss):
        if padding == "valid":
            return (n - kk) // ss + 1, 0
        o = math.ceil(n / ss)
        return o, max((o - 1) * ss + kk - n, 0) // 2
    OH, ph = geom(H, k[0], s[0])
    OW, pw = geom(W, k[1], s[1])
    y = np.zeros((N, OH, OW, C))
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for c in range(C):
                    vals = [x[n, r, q, c]
                            for r in range(i * s[0] - ph, i * s[0] - ph + k[0])
                            for q in range(j * s[1] - pw, j * s[1] - pw + k[1])
                            if 0 <= r < H and 0 <= q < W]
                    y[n, i, j, c] = max(vals) if mode == "max" else sum(vals) / len(vals)
    return y


def _write_h5(path, config, weights, keras_version):
    """weights: {layer_name: [(weight_name, array), ...]}"""
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = keras_version
        f.attrs["backend"] = "tensorflow"
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([n.encode() for n in weights], dtype="S")
        for ln, ws in weights.items():
            g = mw.create_group(ln)
            g.attrs["weight_names"] = np.array([wn.encode() for wn, _ in ws], dtype="S") if ws else np.zeros(0)
            for wn, a in ws:
                g.create_dataset(wn, data=np.asarray(a, dtype=np.float32))


def _scalar_act(name, keras3):
    """Scalar activations for the plain-loop recurrent references (kept apart from activation_fn)."""
    if name == "sigmoid":
        return lambda v: 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))
    if name == "tanh":
        return math.tanh
    if name == "hard_sigmoid":
        if keras3:
            return lambda v: min(1.0, max(0.0, v / 6.0 + 0.5))
        return lambda v: min(1.0, max(0.0, 0.2 * v + 0.5))
    if name == "relu":
        return lambda v: v if v > 0 else 0.0
    if name == "linear":
        return lambda v: v
    raise ValueError(name)


def _loop_lstm(x, W, U, b, ract, act):
    """Plain-loop LSTM, one scalar at a time: returns the h sequence [N, T, H]."""
    N, T, I = x.shape
    H = U.shape[0]
    out = np.zeros((N, T, H))
    for n in range(N):
        h = [0.0] * H
        c = [0.0] * H
        for t in range(T):
            pre = []
            for col in range(4 * H):
                acc = 0.0 if b is None else float(b[col])
                for k in range(I):
                    acc += float(x[n, t, k]) * float(W[k, col])
                for k in range(H):
                    acc += h[k] * float(U[k, col])
                pre.append(acc)
            new_h = [0.0] * H
            for j in range(H):
                ig = ract(pre[j])
                fg = ract(pre[H + j])
                gg = act(pre[2 * H + j])
                og = ract(pre[3 * H + j])
                c[j] = fg * c[j] + ig * gg
                new_h[j] = og * act(c[j])
            h = new_h
            out[n, t, :] = h
    return out


def _loop_gru(x, W, U, b, reset_after, ract, act):
    """Plain-loop GRU (gates z, r, h), one scalar at a time: returns the h sequence [N, T, H]."""
    N, T, I = x.shape
    H = U.shape[0]
    if b is None:
        b_in, b_rec = [0.0] * (3 * H), [0.0] * (3 * H)
    elif reset_after:
        b_in, b_rec = [float(v) for v in b[0]], [float(v) for v in b[1]]
    else:
        b_in, b_rec = [float(v) for v in b], [0.0] * (3 * H)
    out = np.zeros((N, T, H))
    for n in range(N):
        h = [0.0] * H
        for t in range(T):
            def xdot(col):
                return sum(float(x[n, t, k]) * float(W[k, col]) for k in range(I)) + b_in[col]

            def hdot(vec, col):
                return sum(vec[k] * float(U[k, col]) for k in range(H))
            z = [ract(xdot(j) + hdot(h, j) + b_rec[j]) for j in range(H)]
            r = [ract(xdot(H + j) + hdot(h, H + j) + b_rec[H + j]) for j in range(H)]
            if reset_after:
                hh = [act(xdot(2 * H + j) + r[j] * (hdot(h, 2 * H + j) + b_rec[2 * H + j])) for j in range(H)]
            else:
                rh = [r[k] * h[k] for k in range(H)]
                hh = [act(xdot(2 * H + j) + hdot(rh, 2 * H + j)) for j in range(H)]
            h = [z[j] * h[j] + (1.0 - z[j]) * hh[j] for j in range(H)]
            out[n, t, :] = h
    return out


def _loop_recurrent_seq(layer, x):
    """Plain-loop h sequence [N, T, H] of a loaded LSTM/GRU Layer (reads x in the given order)."""
    cfg = layer.cfg
    ract = _scalar_act(activation_name(cfg.get("recurrent_activation", "sigmoid")), layer.keras3)
    act = _scalar_act(activation_name(cfg.get("activation", "tanh")), layer.keras3)
    b = layer.w[2] if cfg.get("use_bias", True) else None
    if layer.cls == "LSTM":
        return _loop_lstm(x, layer.w[0], layer.w[1], b, ract, act)
    ra = cfg.get("reset_after", b is not None and b.ndim == 2)
    return _loop_gru(x, layer.w[0], layer.w[1], b, ra, ract, act)


def _loop_recurrent_layer(layer, x):
    """The plain loop matching a loaded LSTM/GRU Layer object (weights and config from the layer)."""
    seq = _loop_recurrent_seq(layer, x)
    return seq if layer.cfg.get("return_sequences", False) else seq[:, -1, :]


def _loop_bidirectional(x, fwd, bwd, merge_mode, return_sequences):
    """Plain-loop Bidirectional from its definition: fwd reads x[:, 0], ..., x[:, T-1]; bwd reads
    x[:, T-1], ..., x[:, 0].  Output at time t: fwd's h after reading step t, merged with bwd's h after
    reading steps T-1 down to t; without return_sequences fwd's h after step T-1 and bwd's after step 0."""
    N, T, I = x.shape
    xr = np.zeros((N, T, I))
    for n in range(N):
        for k in range(T):
            for i in range(I):
                xr[n, k, i] = x[n, T - 1 - k, i]
    sf = _loop_recurrent_seq(fwd, x)
    sb = _loop_recurrent_seq(bwd, xr)  # sb[:, k]: after reading x[:, T-1], ..., x[:, T-1-k]
    Hf, Hb = sf.shape[2], sb.shape[2]
    times = list(range(T)) if return_sequences else [T - 1]
    Ho = Hf + Hb if merge_mode == "concat" else Hf
    out = np.zeros((N, len(times), Ho))
    for n in range(N):
        for o, t in enumerate(times):
            f = [float(v) for v in sf[n, t]]
            b = [float(v) for v in (sb[n, T - 1 - t] if return_sequences else sb[n, T - 1])]
            for j in range(Ho):
                if merge_mode == "concat":
                    out[n, o, j] = f[j] if j < Hf else b[j - Hf]
                elif merge_mode == "sum":
                    out[n, o, j] = f[j] + b[j]
                elif merge_mode == "mul":
                    out[n, o, j] = f[j] * b[j]
                else:
                    out[n, o, j] = (f[j] + b[j]) / 2.0
    return out if return_sequences else out[:, 0, :]


def _loop_dense_steps(x, W, b, act):
    """Plain-loop TimeDistributed(Dense): y[n, t, u] = act(b[u] + sum_k x[n, t, k] W[k, u]) per time step."""
    N, T, I = x.shape
    U = W.shape[1]
    out = np.zeros((N, T, U))
    for n in range(N):
        for t in range(T):
            for u in range(U):
                acc = 0.0 if b is None else float(b[u])
                for k in range(I):
                    acc += float(x[n, t, k]) * float(W[k, u])
                out[n, t, u] = act(acc)
    return out


def activation_name(spec):
    """Plain name of a serialized activation (str, or Keras 3 / tf.keras 2.13 dict forms)."""
    if spec is None:
        return "linear"
    if isinstance(spec, dict):
        c = spec.get("config")
        if isinstance(c, str):
            return c
        if isinstance(c, dict) and isinstance(c.get("name"), str):
            return c["name"]
        return spec.get("class_name")
    return spec


def _self_test_recurrent(rng, check, fails):
    import tempfile

    def rnn_cfg(cls, name, units, **kw):
        cfg = {"name": name, "units": units, "activation": "tanh", "recurrent_activation": "sigmoid",
               "use_bias": True, "return_sequences": False, "return_state": False, "go_backwards": False,
               "stateful": False, "unroll": False}
        cfg.update(kw)
        return cfg

    def weights(I, H, gates, bias_shape, scale=0.8):
        w = [(scale * rng.standard_normal((I, gates * H))).astype(np.float32).astype(np.float64),
             (scale * rng.standard_normal((H, gates * H))).astype(np.float32).astype(np.float64)]
        if bias_shape is not None:
            w.append((0.5 * rng.standard_normal(bias_shape)).astype(np.float32).astype(np.float64))
        return w

    x = rng.uniform(-1.5, 1.5, (3, 6, 4))
    # (class, extra config, keras3, bias shape)
    cases = [
        ("LSTM", {"return_sequences": True}, False, (4 * 5,)),
        ("LSTM", {}, True, (4 * 5,)),
        ("LSTM", {"use_bias": False, "recurrent_activation": "hard_sigmoid", "return_sequences": True}, False, None),
        ("LSTM", {"recurrent_activation": "hard_sigmoid", "activation": "relu", "implementation": 1}, True, (20,)),
        ("GRU", {"return_sequences": True, "reset_after": True}, False, (2, 15)),
        ("GRU", {"reset_after": True}, True, (2, 15)),
        ("GRU", {"return_sequences": True, "reset_after": False, "recurrent_activation": "hard_sigmoid"},
         False, (15,)),
        ("GRU", {"reset_after": False, "recurrent_activation": "hard_sigmoid"}, True, (15,)),
        ("GRU", {"return_sequences": True, "reset_after": True, "use_bias": False}, True, None),
        ("GRU", {"reset_after": False, "use_bias": False, "activation": "relu"}, False, None),
        ("GRU", {"return_sequences": True, "recurrent_activation": {
            "module": "keras.activations", "class_name": "function", "config": "hard_sigmoid",
            "registered_name": "function"}}, True, (2, 15)),  # Keras 3 dict form, reset_after inferred
    ]
    for cls, extra, k3, bshape in cases:
        cfg = rnn_cfg(cls, cls.lower(), 5, **extra)
        if bshape is None:
            cfg["use_bias"] = False
        layer = Layer(cls, cfg, weights(4, 5, 4 if cls == "LSTM" else 3, bshape), k3)
        what = "%s %s (Keras %d) vs plain loop" % (cls, ", ".join("%s=%s" % (k, activation_name(v))
                                                                   for k, v in sorted(extra.items())) or "defaults",
                                                    3 if k3 else 2)
        check(what, layer([x]), _loop_recurrent_layer(layer, x))

    # gate order by hand: one LSTM unit, one step, zero initial state: h = o * tanh(i * g)
    W = np.array([[0.5, -7.0, 1.0, 2.0]])  # i, f, c, o
    layer = Layer("LSTM", rnn_cfg("LSTM", "lstm", 1), [W, np.zeros((1, 4)), np.array([0.0, 0.0, 0.0, 0.1])], False)
    sg = lambda v: 1.0 / (1.0 + math.exp(-v))
    check("LSTM one step by hand (gate order i, f, c, o)", layer([np.array([[[1.0]]])]),
          [[sg(2.1) * math.tanh(sg(0.5) * math.tanh(1.0))]])
    # GRU by hand: one unit, two steps, x = [1, -1]; W = [wz, wr, wh], U = [uz, ur, uh]
    Wg, Ug = np.array([[0.3, -0.4, 0.9]]), np.array([[0.7, 0.2, -1.1]])
    bg = np.array([[0.1, 0.0, 0.2], [0.0, 0.3, -0.1]])
    layer = Layer("GRU", rnn_cfg("GRU", "gru", 1, reset_after=True, return_sequences=True), [Wg, Ug, bg], True)
    h1 = (1 - sg(0.3 + 0.1)) * math.tanh(0.9 + 0.2 + sg(-0.4 + 0.3) * (-0.1))
    z2 = sg(-0.3 + 0.1 + 0.7 * h1)
    r2 = sg(0.4 + 0.2 * h1 + 0.3)
    h2 = z2 * h1 + (1 - z2) * math.tanh(-0.9 + 0.2 + r2 * (-1.1 * h1 - 0.1))
    check("GRU reset_after two steps by hand", layer([np.array([[[1.0], [-1.0]]])]), [[[h1], [h2]]])
    bg0 = np.array([0.1, 0.3, 0.2])
    layer = Layer("GRU", rnn_cfg("GRU", "gru", 1, reset_after=False, return_sequences=True), [Wg, Ug, bg0], False)
    h1 = (1 - sg(0.4)) * math.tanh(1.1)  # step 1 from zero state: (r * h) U = 0
    z2 = sg(-0.3 + 0.1 + 0.7 * h1)
    r2 = sg(0.4 + 0.3 + 0.2 * h1)
    h2 = z2 * h1 + (1 - z2) * math.tanh(-0.9 + 0.2 - 1.1 * (r2 * h1))
    check("GRU reset_after=false two steps by hand", layer([np.array([[[1.0], [-1.0]]])]), [[[h1], [h2]]])

    # refused configurations
    for key in ("return_state", "go_backwards", "stateful", "time_major"):
        try:
            Layer("LSTM", rnn_cfg("LSTM", "lstm", 5, **{key: True}), weights(4, 5, 4, (20,)), False)
            fails.append("LSTM %s=true not rejected" % key)
            print("FAIL LSTM %s=true not rejected" % key)
        except UnsupportedLayer as e:
            print("ok   refused: %s" % e)
    try:
        Layer("GRU", rnn_cfg("GRU", "gru", 5, reset_after=True), weights(4, 5, 3, (15,)), False)
        fails.append("GRU bias shape mismatch not rejected")
        print("FAIL GRU reset_after=true with a [3H] bias not rejected")
    except KerasRefError as e:
        print("ok   refused: %s" % e)

    # Keras 3 legacy-H5 Sequential with the cell level in the weight paths, and a tf.keras 2 one
    tmpdir = tempfile.mkdtemp(prefix="keras_ref_selftest_rnn_", dir="/tmp")
    xs = rng.uniform(-1, 1, (2, 7, 3)).astype(np.float32).astype(np.float64)
    Wl = weights(3, 4, 4, (16,))
    Wgr = weights(4, 3, 3, (2, 9))
    Wd = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    Wd = [a.astype(np.float32).astype(np.float64) for a in Wd]
    lstm_l = Layer("LSTM", rnn_cfg("LSTM", "lstm", 4, return_sequences=True), Wl, True)
    gru_l = Layer("GRU", rnn_cfg("GRU", "gru", 3, reset_after=True), Wgr, True)
    expected = _loop_recurrent_layer(gru_l, _loop_recurrent_layer(lstm_l, xs)) @ Wd[0] + Wd[1]
    for ver, pre, suf in (("3.8.0", "sequential/", ""), ("2.13.1", "", ":0"), ("2.3.1", "", ":0")):
        # Keras 3 and tf.keras 2.x: <layer>/<cell>/<var>; standalone Keras 2.3.1: <layer>/<var>
        cell = (lambda n: "") if ver == "2.3.1" else (lambda n: n + "_cell/")
        layers = [{"class_name": "LSTM", "config": rnn_cfg("LSTM", "lstm", 4, return_sequences=True)},
                  {"class_name": "GRU", "config": rnn_cfg("GRU", "gru", 3, reset_after=True)},
                  {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "linear"}}]
        if ver == "2.3.1":  # no InputLayer: batch_input_shape on the first layer
            layers[0]["config"]["batch_input_shape"] = [None, 7, 3]
        else:
            layers.insert(0, {"class_name": "InputLayer", "config": {
                "batch_shape" if ver[0] == "3" else "batch_input_shape": [None, 7, 3], "name": "input_layer"}})
        config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
        ws = {"lstm": [(pre + "lstm/" + cell("lstm") + n + suf, a)
                       for n, a in zip(("kernel", "recurrent_kernel", "bias"), Wl)],
              "gru": [(pre + "gru/" + cell("gru") + n + suf, a)
                      for n, a in zip(("kernel", "recurrent_kernel", "bias"), Wgr)],
              "dense": [(pre + "dense/kernel" + suf, Wd[0]), (pre + "dense/bias" + suf, Wd[1])]}
        p = os.path.join(tmpdir, "rnn_k%s.h5" % ver.replace(".", "_"))
        _write_h5(p, config, ws, ver)
        check("Sequential LSTM(seq) > GRU > Dense .h5, Keras %s weight paths %s" % (ver, ws["lstm"][0][0]),
              Model(p).predict([xs])[0], expected)
        os.remove(p)
    os.rmdir(tmpdir)

    # recurrent peer models: they load, run, and each recurrent layer matches the plain loop on one sample
    peers = os.environ.get("KERAS_PEERS") or os.path.normpath(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "peers", "keras"))
    for m in ("lstm_single_step", "battery_gru_k3", "stock_lstm_stacked_k3", "har_conv1d_lstm_k3"):
        path = os.path.join(peers, m + ".h5")
        if not os.path.exists(path):
            print("skip peer %s (not found under %s; set KERAS_PEERS)" % (m, peers))
            continue
        model = Model(path)
        xin = rng.uniform(-1, 1, (2,) + tuple(model.input_shapes[0])).astype(np.float32).astype(np.float64)
        y = xin
        for lname, layer in model.layers:
            if layer.cls in RECURRENT_LAYERS:
                check("peer %s: layer '%s' (%s %d units) vs plain loop" % (m, lname, layer.cls, layer.units),
                      layer([y[:1]]), _loop_recurrent_layer(layer, y[:1]), 1e-11)
            y = layer([y])
        out = model.predict([xin])[0]
        ok = out.shape[0] == 2 and np.all(np.isfinite(out)) and np.array_equal(out, y)
        print("%-4s peer %s runs: output shape %s" % ("ok" if ok else "FAIL", m, out.shape))
        if not ok:
            fails.append("peer %s" % m)


def _self_test_wrappers(rng, check, fails):
    """Bidirectional(LSTM/GRU) and TimeDistributed(Dense) against the plain loops above."""
    import tempfile
    f32 = lambda a: np.asarray(a, dtype=np.float32).astype(np.float64)

    def rnn_cfg(name, units, **kw):
        cfg = {"name": name, "trainable": True, "return_sequences": False, "return_state": False,
               "go_backwards": False, "stateful": False, "unroll": False, "units": units, "activation": "tanh",
               "recurrent_activation": "sigmoid", "use_bias": True}
        cfg.update(kw)
        return cfg

    def rnn_weights(cls, I, H, use_bias=True, reset_after=True):
        g = 4 if cls == "LSTM" else 3
        w = [f32(0.8 * rng.standard_normal((I, g * H))), f32(0.8 * rng.standard_normal((H, g * H)))]
        if use_bias:
            shape = (2, g * H) if cls == "GRU" and reset_after else (g * H,)
            w.append(f32(0.5 * rng.standard_normal(shape)))
        return w

    def entry(cls, cfg, new_style):
        e = {"class_name": cls, "config": cfg}
        if new_style:  # tf.keras 2.13+ / Keras 3 serialization_lib form
            e = {"module": "keras.layers", "class_name": cls, "config": cfg, "registered_name": None}
        return e

    x = rng.uniform(-1.5, 1.5, (3, 6, 4))
    # (class, return_sequences, merge_mode, keras3, options); keras3 configs carry the backward_layer
    # (go_backwards=true) and the "forward_" name, as Keras 3 get_config() writes them
    cases = [("LSTM", True, "concat", False, {}),
             ("LSTM", False, "sum", False, {}),
             ("LSTM", True, "mul", True, {"recurrent_activation": "hard_sigmoid"}),
             ("LSTM", False, "ave", True, {"use_bias": False}),
             ("LSTM", False, "concat", True, {}),
             ("GRU", True, "ave", False, {"reset_after": True}),
             ("GRU", False, "concat", False, {"reset_after": False}),
             ("GRU", True, "sum", True, {"reset_after": True}),
             ("GRU", False, "mul", True, {"reset_after": True, "recurrent_activation": "hard_sigmoid"}),
             ("GRU", True, "concat", False, {"reset_after": False, "use_bias": False})]
    for cls, rs, mm, k3, opts in cases:
        H = 5
        inner = rnn_cfg("forward_" + cls.lower() if k3 else cls.lower(), H, return_sequences=rs, **opts)
        cfg = {"name": "bidirectional", "trainable": True, "layer": entry(cls, inner, k3), "merge_mode": mm}
        if k3:
            bc = dict(inner, name="backward_" + cls.lower(), go_backwards=True)
            cfg["backward_layer"] = entry(cls, bc, True)
        ub, ra = opts.get("use_bias", True), opts.get("reset_after", True)
        w = rnn_weights(cls, 4, H, ub, ra) + rnn_weights(cls, 4, H, ub, ra)
        layer = Layer("Bidirectional", cfg, w, k3)
        what = "Bidirectional(%s, return_sequences=%s) merge_mode=%s%s (Keras %d config) vs plain loop" % (
            cls, rs, mm, "".join(", %s=%s" % kv for kv in sorted(opts.items())), 3 if k3 else 2)
        check(what, layer([x]), _loop_bidirectional(x, layer.forward, layer.backward, mm, rs))

    # explicit backward_layer (tf.keras 2.x legacy form) with other units and activation, concat
    fcfg = rnn_cfg("lstm", 4, return_sequences=True)
    bcfg = rnn_cfg("lstm_1", 3, return_sequences=True, go_backwards=True, activation="relu")
    cfg = {"name": "bidirectional", "layer": entry("LSTM", fcfg, True), "merge_mode": "concat",
           "backward_layer": entry("LSTM", bcfg, False)}
    layer = Layer("Bidirectional", cfg, rnn_weights("LSTM", 4, 4) + rnn_weights("LSTM", 4, 3), False)
    check("Bidirectional(LSTM(4), backward_layer=LSTM(3, relu, go_backwards)) concat vs plain loop",
          layer([x]), _loop_bidirectional(x, layer.forward, layer.backward, "concat", True))

    # definition cross-checks: the backward half is a plain forward layer run on the reversed sequence
    w = rnn_weights("GRU", 4, 5) + rnn_weights("GRU", 4, 5)
    seq = Layer("Bidirectional", {"name": "b", "layer": entry("GRU", rnn_cfg("gru", 5, return_sequences=True,
                                                                                 reset_after=True), False),
                                  "merge_mode": "concat"}, w, False)([x])
    last = Layer("Bidirectional", {"name": "b", "layer": entry("GRU", rnn_cfg("gru", 5, reset_after=True), False),
                                   "merge_mode": "concat"}, w, False)([x])
    plain_b = Layer("GRU", rnn_cfg("gru", 5, return_sequences=True, reset_after=True), w[3:], False)
    plain_f = Layer("GRU", rnn_cfg("gru", 5, return_sequences=True, reset_after=True), w[:3], False)
    check("Bidirectional backward half == GRU(backward weights) on x[:, ::-1], re-reversed",
          seq[:, :, 5:], plain_b([x[:, ::-1, :]])[:, ::-1, :])
    check("Bidirectional forward half == GRU(forward weights) on x", seq[:, :, :5], plain_f([x]))
    check("return_sequences=false: forward h after step T-1, backward h after step 0",
          last, np.concatenate([seq[:, -1, :5], seq[:, 0, 5:]], axis=-1))
    reord = Layer("Bidirectional", {"name": "b", "layer": entry("GRU", rnn_cfg("gru", 5, reset_after=True), False),
                                    "merge_mode": "concat"}, w[3:] + w[:3], False)([x])
    ok = not np.allclose(reord, last)
    print("%-4s swapping the forward and backward weight triples changes the output" % ("ok" if ok else "FAIL"))
    if not ok:
        fails.append("Bidirectional weight order")

    # TimeDistributed(Dense)
    Wd, bd = f32(rng.standard_normal((4, 3))), f32(rng.standard_normal(3))
    for act in ("relu", "tanh", "linear"):
        dcfg = {"name": "dense", "units": 3, "activation": act, "use_bias": True}
        for k3 in (False, True):
            td = Layer("TimeDistributed", {"name": "time_distributed", "layer": entry("Dense", dcfg, k3)},
                       [Wd, bd], k3)
            check("TimeDistributed(Dense(3, %s)) (%s config) vs per-step plain loop"
                  % (act, "Keras 3" if k3 else "Keras 2 legacy"), td([x]),
                  _loop_dense_steps(x, Wd, bd, _scalar_act(act, k3)))
    td = Layer("TimeDistributed", {"name": "td", "layer": entry("Dense", {"name": "d", "units": 3,
                                                                            "use_bias": False}, True)}, [Wd], True)
    x4 = rng.uniform(-1, 1, (2, 3, 5, 4))
    check("TimeDistributed(Dense, no bias) on a rank-4 input == Dense on the last axis", td([x4]), x4 @ Wd)

    # refused configurations
    lstm = entry("LSTM", rnn_cfg("lstm", 5), False)
    w10 = rnn_weights("LSTM", 4, 5) + rnn_weights("LSTM", 4, 5)
    refused = [
        ("Bidirectional merge_mode=None", "Bidirectional", {"name": "bi", "layer": lstm, "merge_mode": None}, w10),
        ("Bidirectional(SimpleRNN)", "Bidirectional",
         {"name": "bi", "layer": entry("SimpleRNN", rnn_cfg("simple_rnn", 5), True), "merge_mode": "concat"}, []),
        ("Bidirectional backward_layer of another class", "Bidirectional",
         {"name": "bi", "layer": lstm, "merge_mode": "sum",
          "backward_layer": entry("GRU", rnn_cfg("gru", 5, go_backwards=True), False)}, w10),
        ("Bidirectional backward_layer with go_backwards=false", "Bidirectional",
         {"name": "bi", "layer": lstm, "merge_mode": "sum", "backward_layer": lstm}, w10),
        ("Bidirectional forward layer with go_backwards=true", "Bidirectional",
         {"name": "bi", "layer": entry("LSTM", rnn_cfg("lstm", 5, go_backwards=True), False)}, w10),
        ("Bidirectional(LSTM(return_state=true))", "Bidirectional",
         {"name": "bi", "layer": entry("LSTM", rnn_cfg("lstm", 5, return_state=True), False)}, w10),
        ("Bidirectional with 3 weight arrays", "Bidirectional", {"name": "bi", "layer": lstm}, w10[:3]),
        ("TimeDistributed(Conv1D)", "TimeDistributed",
         {"name": "td", "layer": entry("Conv1D", {"name": "conv1d", "filters": 2, "kernel_size": [1]}, True)}, []),
        ("TimeDistributed(LSTM)", "TimeDistributed", {"name": "td", "layer": lstm}, w10[:3]),
        ("standalone LSTM go_backwards=true", "LSTM", rnn_cfg("lstm", 5, go_backwards=True), w10[:3]),
    ]
    for what, cls, cfg, w in refused:
        try:
            Layer(cls, cfg, w, False)
            fails.append("%s not rejected" % what)
            print("FAIL %s not rejected" % what)
        except KerasRefError as e:
            print("ok   refused (%s): %s" % ("exit 3" if isinstance(e, UnsupportedLayer) else "exit 1", e))

    # .h5 files: Input(7, 3) > Bidirectional(LSTM(4, seq), concat) > TimeDistributed(Dense(3, tanh))
    # > Bidirectional(GRU(3), ave) > Dense(2), with the weight paths of three Keras versions
    tmpdir = tempfile.mkdtemp(prefix="keras_ref_selftest_wrap_", dir="/tmp")
    xs = f32(rng.uniform(-1, 1, (2, 7, 3)))
    Wl = rnn_weights("LSTM", 3, 4) + rnn_weights("LSTM", 3, 4)
    Wt = [f32(rng.standard_normal((8, 3))), f32(rng.standard_normal(3))]
    Wg = rnn_weights("GRU", 3, 3) + rnn_weights("GRU", 3, 3)
    Wo = [f32(rng.standard_normal((3, 2))), f32(rng.standard_normal(2))]
    lf = Layer("LSTM", rnn_cfg("l", 4, return_sequences=True), Wl[:3], False)
    lb = Layer("LSTM", rnn_cfg("l", 4, return_sequences=True), Wl[3:], False)
    gf = Layer("GRU", rnn_cfg("g", 3, reset_after=True), Wg[:3], False)
    gb = Layer("GRU", rnn_cfg("g", 3, reset_after=True), Wg[3:], False)
    h = _loop_bidirectional(xs, lf, lb, "concat", True)
    h = _loop_dense_steps(h, Wt[0], Wt[1], math.tanh)
    expected = _loop_bidirectional(h, gf, gb, "ave", False) @ Wo[0] + Wo[1]
    names = {  # (lstm fwd, lstm bwd, gru fwd, gru bwd, time_distributed, dense) weight-path prefixes
        "2.13.1": ("bidirectional/forward_lstm/lstm_cell_1/", "bidirectional/backward_lstm/lstm_cell_2/",
                   "bidirectional_1/forward_gru/gru_cell_1/", "bidirectional_1/backward_gru/gru_cell_2/",
                   "time_distributed/", "dense_1/", ":0"),
        "3.8.0": ("sequential/bidirectional/forward_lstm/lstm_cell/",
                  "sequential/bidirectional/backward_lstm/lstm_cell/",
                  "sequential/bidirectional_1/forward_gru/gru_cell/",
                  "sequential/bidirectional_1/backward_gru/gru_cell/",
                  "sequential/time_distributed/dense/", "sequential/dense_1/", ""),
        "2.3.1": ("bidirectional/forward_lstm/", "bidirectional/backward_lstm/", "bidirectional_1/forward_gru/",
                  "bidirectional_1/backward_gru/", "time_distributed/", "dense_1/", ":0"),
    }
    for ver, (pf, pb, qf, qb, pt, pd, suf) in names.items():
        k3 = ver[0] == "3"
        lcfg = rnn_cfg("forward_lstm" if k3 else "lstm", 4, return_sequences=True)
        gcfg = rnn_cfg("forward_gru" if k3 else "gru", 3, reset_after=True)
        bi1 = {"name": "bidirectional", "layer": entry("LSTM", lcfg, ver != "2.3.1"), "merge_mode": "concat"}
        bi2 = {"name": "bidirectional_1", "layer": entry("GRU", gcfg, ver != "2.3.1"), "merge_mode": "ave"}
        if k3:
            bi1["backward_layer"] = entry("LSTM", dict(lcfg, name="backward_lstm", go_backwards=True), True)
            bi2["backward_layer"] = entry("GRU", dict(gcfg, name="backward_gru", go_backwards=True), True)
        layers = [{"class_name": "Bidirectional", "config": bi1},
                  {"class_name": "TimeDistributed", "config": {
                      "name": "time_distributed", "layer": entry("Dense", {"name": "dense", "units": 3,
                                                                           "activation": "tanh"}, ver != "2.3.1")}},
                  {"class_name": "Bidirectional", "config": bi2},
                  {"class_name": "Dense", "config": {"name": "dense_1", "units": 2, "activation": "linear"}}]
        if ver == "2.3.1":
            layers[0]["config"]["batch_input_shape"] = [None, 7, 3]
        else:
            layers.insert(0, {"class_name": "InputLayer", "config": {
                "batch_shape" if k3 else "batch_input_shape": [None, 7, 3], "name": "input_1"}})
        config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
        rn = ("kernel", "recurrent_kernel", "bias")
        ws = {"bidirectional": [(pf + n + suf, a) for n, a in zip(rn, Wl[:3])]
              + [(pb + n + suf, a) for n, a in zip(rn, Wl[3:])],
              "time_distributed": [(pt + "kernel" + suf, Wt[0]), (pt + "bias" + suf, Wt[1])],
              "bidirectional_1": [(qf + n + suf, a) for n, a in zip(rn, Wg[:3])]
              + [(qb + n + suf, a) for n, a in zip(rn, Wg[3:])],
              "dense_1": [(pd + "kernel" + suf, Wo[0]), (pd + "bias" + suf, Wo[1])]}
        p = os.path.join(tmpdir, "wrap_k%s.h5" % ver.replace(".", "_"))
        _write_h5(p, config, ws, ver)
        check("Sequential Bidirectional(LSTM) > TimeDistributed(Dense) > Bidirectional(GRU, ave) > Dense .h5, "
              "Keras %s weight paths %s..." % (ver, pf), Model(p).predict([xs])[0], expected)
        os.remove(p)
    os.rmdir(tmpdir)


def self_test():
    import tempfile
    rng = np.random.default_rng(123)
    fails = []

    def check(what, a, b, tol=1e-12):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        ok = a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol)
        err = float(np.max(np.abs(a - b))) if a.shape == b.shape and a.size else float("nan")
        print("%-4s %s (max abs diff %.3g)" % ("ok" if ok else "FAIL", what, err))
        if not ok:
            fails.append(what)

    # 1. conv2d vs brute force (same/valid, strides, dilation, groups)
    for (H, W, C, O, K, s, d, pad, g) in [
            (7, 6, 3, 4, (3, 2), (2, 2), (1, 1), "same", 1),
            (8, 5, 2, 3, (3, 3), (1, 1), (2, 2), "same", 1),
            (6, 7, 4, 6, (2, 3), (1, 2), (1, 1), "valid", 2),
            (5, 5, 2, 2, (4, 4), (3, 3), (1, 1), "same", 1)]:
        x = rng.standard_normal((2, H, W, C))
        w = rng.standard_normal(K + (C // g, O))
        check("conv2d %s k=%s s=%s d=%s g=%d vs brute force" % (pad, K, s, d, g),
              conv_nd(x, w, s, d, pad, g), _brute_conv2d(x, w, s, d, pad, g))

    # 2. depthwise (multiplier 2) == grouped conv with groups=C and kernel rearranged
    x = rng.standard_normal((2, 6, 5, 3))
    dw = rng.standard_normal((3, 3, 3, 2))
    wg = dw.reshape(3, 3, 1, 6)  # out channel c*2+j uses input channel c
    check("depthwise conv same s=2 vs brute force", depthwise_conv_nd(x, dw, (2, 2), (1, 1), "same"),
          _brute_conv2d(x, wg, (2, 2), (1, 1), "same", groups=3))
    check("depthwise conv same d=2 vs brute force", depthwise_conv_nd(x, dw, (1, 1), (2, 2), "same"),
          _brute_conv2d(x, wg, (1, 1), (2, 2), "same", groups=3))

    # 3. pooling vs brute force
    x = rng.standard_normal((2, 7, 6, 3))
    for k, st in (((3, 3), (2, 2)), ((2, 2), (2, 2)), ((3, 2), (1, 3))):
        for pad in ("same", "valid"):
            for mode in ("max", "avg"):
                check("%s pool %s s%s %s vs brute force" % (mode, k, st, pad), pool_nd(x, k, st, pad, mode),
                      _brute_pool2d(x, k, st, pad, mode))

    # 4. Conv1D + Dense by hand
    #    x = [1, 2, 3, 4] (1 channel), kernel k=2, 2 filters: f0 = [1, -1], f1 = [0.5, 2], bias [0.5, -1]
    x = np.array([[[1.0], [2.0], [3.0], [4.0]]])
    k = np.array([[[1.0, 0.5]], [[-1.0, 2.0]]])  # [K=2, Cin=1, Cout=2]
    b = np.array([0.5, -1.0])
    y = conv_nd(x, k, (1,), (1,), "valid") + b
    # f0: 1-2+.5=-.5, 2-3+.5=-.5, 3-4+.5=-.5 ; f1: .5+4-1=3.5, 1+6-1=6, 1.5+8-1=8.5
    check("conv1d valid by hand", y, [[[-0.5, 3.5], [-0.5, 6.0], [-0.5, 8.5]]])
    yc = conv_nd(x, k, (1,), (1,), "causal") + b
    # causal: left-pad one zero: t0 = 0*w0 + 1*w1
    check("conv1d causal by hand", yc, [[[-0.5, 1.0], [-0.5, 3.5], [-0.5, 6.0], [-0.5, 8.5]]])
    ycd = conv_nd(x, k, (1,), (2,), "causal")
    # dilation 2: t uses x[t-2], x[t]
    check("conv1d causal dilation 2 by hand", ycd[0, :, 0], [-1.0, -2.0, -2.0, -2.0])
    flat = np.maximum(y, 0).reshape(1, -1)  # relu, Flatten -> [0, 3.5, 0, 6, 0, 8.5]
    dk = np.array([[1.0], [2.0], [3.0], [-1.0], [5.0], [0.5]])
    check("flatten+dense by hand", flat @ dk + 0.25, [[3.5 * 2 - 6 + 8.5 * 0.5 + 0.25]])

    # 5. activations and a few layer formulas
    t = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 4.0])
    check("hard_sigmoid keras2", hard_sigmoid(t, False), [0.0, 0.3, 0.5, 0.6, 0.9, 1.0])
    check("hard_sigmoid keras3", hard_sigmoid(t, True), [0.0, 1 / 3, 0.5, 0.5 + 0.5 / 6, 0.5 + 2 / 6, 1.0])
    check("ReLU(max 6, slope .1, threshold 1)", relu_layer(t * 2, 6.0, 0.1, 1.0),
          [-0.7, -0.3, -0.1, 0.0, 4.0, 6.0])
    check("ReLU(max 6)", relu_layer(t * 2, 6.0), [0, 0, 0, 1, 4, 6])
    check("softmax rows sum to 1", softmax(rng.standard_normal((4, 7))).sum(-1), np.ones(4))
    check("gelu(1)", gelu(np.array([1.0])), [0.8413447460685429])
    check("selu(-1)", SELU_SCALE * elu(np.array([-1.0]), SELU_ALPHA), [-1.1113307378125628])

    # 6. Tiny synthetic .h5 files: Keras 2 functional (layers out of order), Keras 3 functional,
    #    BatchNormalization without gamma, SeparableConv2D with bias, max/avg pooling same.
    tmpdir = tempfile.mkdtemp(prefix="keras_ref_selftest_", dir="/tmp")
    xa = rng.standard_normal((3, 6, 6, 2)).astype(np.float32).astype(np.float64)
    xb = rng.standard_normal((3, 4)).astype(np.float32).astype(np.float64)
    Wc = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    bc = rng.standard_normal(4).astype(np.float32)
    dwk = rng.standard_normal((3, 3, 4, 2)).astype(np.float32)
    pwk = rng.standard_normal((1, 1, 8, 5)).astype(np.float32)
    pwb = rng.standard_normal(5).astype(np.float32)
    beta = rng.standard_normal(5).astype(np.float32)
    mm = rng.standard_normal(5).astype(np.float32)
    mv = rng.uniform(0.5, 2, 5).astype(np.float32)
    Wd = rng.standard_normal((5 + 4, 3)).astype(np.float32)
    bd = rng.standard_normal(3).astype(np.float32)
    f64 = lambda a: np.asarray(a, dtype=np.float64)
    # expected, straight numpy
    h = np.maximum(conv_nd(xa, f64(Wc), (1, 1), (1, 1), "same") + f64(bc), 0)
    h = depthwise_conv_nd(h, f64(dwk), (1, 1), (1, 1), "same") @ f64(pwk)[0, 0] + f64(pwb)
    h = (h - f64(mm)) / np.sqrt(f64(mv) + 0.01) + f64(beta)
    h = pool_nd(h, (2, 2), (2, 2), "same", "max")
    h = np.mean(h, axis=(1, 2))
    expected = softmax(np.concatenate([h, xb], -1) @ f64(Wd) + f64(bd))
    layer_cfgs = {
        "in_a": ("InputLayer", {"batch_input_shape": [None, 6, 6, 2], "name": "in_a"}, []),
        "in_b": ("InputLayer", {"batch_input_shape": [None, 4], "name": "in_b"}, []),
        "conv": ("Conv2D", {"name": "conv", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
                            "padding": "same", "dilation_rate": [1, 1], "activation": "relu",
                            "use_bias": True}, ["in_a"]),
        "sep": ("SeparableConv2D", {"name": "sep", "filters": 5, "kernel_size": [3, 3], "padding": "same",
                                    "depth_multiplier": 2, "activation": "linear", "use_bias": True},
                ["conv"]),
        "bn": ("BatchNormalization", {"name": "bn", "axis": [3], "epsilon": 0.01, "center": True,
                                      "scale": False}, ["sep"]),
        "pool": ("MaxPooling2D", {"name": "pool", "pool_size": [2, 2], "strides": [2, 2], "padding": "same"},
                 ["bn"]),
        "gap": ("GlobalAveragePooling2D", {"name": "gap"}, ["pool"]),
        "cat": ("Concatenate", {"name": "cat", "axis": -1}, ["gap", "in_b"]),
        "out": ("Dense", {"name": "out", "units": 3, "activation": "softmax", "use_bias": True}, ["cat"]),
    }
    order = ["out", "cat", "in_b", "gap", "pool", "bn", "sep", "conv", "in_a"]  # reversed on purpose
    for ver in ("2.4.0", "3.8.0"):
        layers = []
        for n in order:
            cls, cfg, ins = layer_cfgs[n]
            if ver.startswith("2"):
                nodes = [[[i, 0, 0, {}] for i in ins]] if ins else []
            else:
                kt = [{"class_name": "__keras_tensor__", "config": {"shape": None, "dtype": "float32",
                                                                      "keras_history": [i, 0, 0]}} for i in ins]
                nodes = [{"args": [kt if len(kt) > 1 else kt[0]], "kwargs": {}}] if ins else []
                if cls == "InputLayer":
                    cfg = {"batch_shape": cfg["batch_input_shape"], "name": n}
            layers.append({"class_name": cls, "name": n, "config": cfg, "inbound_nodes": nodes})
        config = {"class_name": "Functional" if ver.startswith("2") else "Functional",
                  "config": {"name": "m", "layers": layers,
                             "input_layers": [["in_a", 0, 0], ["in_b", 0, 0]],
                             "output_layers": [["out", 0, 0]] if ver.startswith("2") else ["out", 0, 0]}}
        pre = "" if ver.startswith("2") else "functional/"
        suf = ":0" if ver.startswith("2") else ""
        weights = {"conv": [(pre + "conv/kernel" + suf, Wc), (pre + "conv/bias" + suf, bc)],
                   "sep": [(pre + "sep/depthwise_kernel" + suf, dwk), (pre + "sep/pointwise_kernel" + suf, pwk),
                           (pre + "sep/bias" + suf, pwb)],
                   "bn": [(pre + "bn/beta" + suf, beta), (pre + "bn/moving_mean" + suf, mm),
                          (pre + "bn/moving_variance" + suf, mv)],
                   "pool": [], "gap": [], "cat": [],
                   "out": [(pre + "out/kernel" + suf, Wd), (pre + "out/bias" + suf, bd)]}
        p = os.path.join(tmpdir, "synthetic_k%s.h5" % ver[0])
        _write_h5(p, config, weights, ver)
        m = Model(p)
        got = m.predict([xa, xb])[0]
        check("synthetic functional h5, Keras %s format, layers listed in reverse" % ver, got, expected, 1e-12)
        check("synthetic model softmax rows sum to 1 (Keras %s)" % ver, got.sum(-1), np.ones(3))
        os.remove(p)
    os.rmdir(tmpdir)

    # 7. unsupported layer is reported by class name
    try:
        Layer("SimpleRNN", {"name": "simple_rnn"}, [], False)
        fails.append("SimpleRNN not rejected")
        print("FAIL SimpleRNN not rejected")
    except UnsupportedLayer as e:
        print("ok   unsupported layer reported: %s" % e)

    # 8. LSTM / GRU against the plain loops above
    _self_test_recurrent(rng, check, fails)

    # 9. Bidirectional / TimeDistributed wrappers against the plain loops above
    _self_test_wrappers(rng, check, fails)

    print("self-test: %s" % ("PASSED" if not fails else "FAILED: " + "; ".join(fails)))
    return 0 if not fails else 1


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 3:
        sys.stderr.write("usage: %s MODEL.h5 INPUTS.csv | --self-test\n" % argv[0])
        return 2
    try:
        run(argv[1], argv[2])
    except UnsupportedLayer as e:
        sys.stderr.write("error: %s\n" % e)
        return 3
    except KerasRefError as e:
        sys.stderr.write("error: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
