#!/usr/bin/python3
"""An independent reference interpreter for the TFLite operators EdgeInfer imports, written from TFLite's reference
kernels' integer arithmetic (tensorflow/lite/kernels/internal/reference, gemmlowp's fixed-point exp and reciprocal)
in plain Python/numpy. It shares no code with EdgeInfer: it exists to produce expected outputs for
tests/fixtures/tflm, against which EdgeInfer's TFLite import and int8 kernels are checked byte for byte.

It reads the model through Python accessors that flatc generates from EdgeInfer's schema subset, so it needs
flatc, the FlatBuffers Python runtime and numpy (apt-get install flatbuffers-compiler python3-flatbuffers
python3-numpy). Nothing in the test suite runs it.

  /usr/bin/python3 tools/tflite-reference/tflite_reference.py MODEL.tflite INPUTS > EXPECTED.txt

INPUTS is a .raw file of int8 samples back to back, a .csv of float rows, or all-int8 (every value of a one-element
int8 input). For each sample it prints the SHA-256 of every int8 operator output, by tensor name, and the graph
output's values. tools/tflite-reference/make_expected.sh writes the files tests/fixtures/tflm holds.
"""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "src", "EdgeInfer.Converter", "Importers", "TfLite", "tflite_subset.fbs")

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def load(path):
    """The model as plain dicts and numpy arrays, read through flatc's Python accessors for the schema subset (float
    fields keep their exact float32 values; flatc's JSON export would round them to 6 decimals)."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["flatc", "--python", "-o", d, SCHEMA], check=True)
        sys.path.insert(0, d)
        import importlib
        pkg = "EdgeInfer.Converter.Importers.TfLite.Schema."
        S = {name: getattr(importlib.import_module(pkg + name), name) for name in [
            "Model", "Conv2DOptions", "DepthwiseConv2DOptions", "Pool2DOptions", "FullyConnectedOptions",
            "SoftmaxOptions", "ReshapeOptions", "AddOptions", "MulOptions", "UnidirectionalSequenceLSTMOptions"]}
        with open(path, "rb") as f:
            buf = f.read()
        m = S["Model"].GetRootAs(buf, 0)
        model = {"operator_codes": [], "buffers": [], "subgraphs": []}
        for i in range(m.OperatorCodesLength()):
            c = m.OperatorCodes(i)
            model["operator_codes"].append({"deprecated_builtin_code": c.DeprecatedBuiltinCode(), "builtin_code": c.BuiltinCode()})
        for i in range(m.BuffersLength()):
            b = m.Buffers(i)
            model["buffers"].append({"data": b.DataAsNumpy() if b.DataLength() else []})
        sg = m.Subgraphs(0)
        tensors = []
        for i in range(sg.TensorsLength()):
            t = sg.Tensors(i)
            q = t.Quantization()
            quant = {}
            if q is not None and q.ScaleLength():
                quant = {"scale": list(q.ScaleAsNumpy()), "zero_point": [int(z) for z in q.ZeroPointAsNumpy()]}
            tensors.append({"name": t.Name().decode(), "shape": [int(v) for v in t.ShapeAsNumpy()] if t.ShapeLength() else [], "type": t.Type(),
                            "buffer": t.Buffer(), "quantization": quant})
        option_fields = {
            1: ("Conv2DOptions", ["Padding", "StrideW", "StrideH", "FusedActivationFunction", "DilationWFactor", "DilationHFactor"]),
            2: ("DepthwiseConv2DOptions", ["Padding", "StrideW", "StrideH", "DepthMultiplier", "FusedActivationFunction", "DilationWFactor", "DilationHFactor"]),
            5: ("Pool2DOptions", ["Padding", "StrideW", "StrideH", "FilterWidth", "FilterHeight", "FusedActivationFunction"]),
            8: ("FullyConnectedOptions", ["FusedActivationFunction"]),
            9: ("SoftmaxOptions", ["Beta"]),
            11: ("AddOptions", ["FusedActivationFunction"]),
            21: ("MulOptions", ["FusedActivationFunction"]),
            71: ("UnidirectionalSequenceLSTMOptions", ["FusedActivationFunction", "CellClip", "ProjClip", "TimeMajor"]),
        }
        ops = []
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            opts = {}
            kind = op.BuiltinOptionsType()
            if kind in option_fields:
                cls_name, fields = option_fields[kind]
                table = op.BuiltinOptions()
                o = S[cls_name]()
                o.Init(table.Bytes, table.Pos)
                for field in fields:
                    snake = "".join("_" + ch.lower() if ch.isupper() else ch for ch in field).lstrip("_")
                    opts[snake] = getattr(o, field)()
            ops.append({"opcode_index": op.OpcodeIndex(), "inputs": [int(v) for v in op.InputsAsNumpy()],
                        "outputs": [int(v) for v in op.OutputsAsNumpy()], "builtin_options": opts})
        model["subgraphs"].append({"tensors": tensors, "operators": ops,
                                   "inputs": [int(v) for v in sg.InputsAsNumpy()], "outputs": [int(v) for v in sg.OutputsAsNumpy()]})
        return model


# ---- TFLite / gemmlowp integer helpers (Python ints: exact) -------------------------------------------------------

def quantize_multiplier(d):
    """tflite::QuantizeMultiplier: d = q * 2^shift with q in [0.5, 1) as Q0.31, rounded half away from zero."""
    if d == 0.0:
        return 0, 0
    q, shift = math.frexp(d)
    q_fixed = int(math.floor(abs(q) * (1 << 31) + 0.5)) * (1 if q >= 0 else -1)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if shift > 30:
        shift, q_fixed = 30, (1 << 31) - 1
    return q_fixed, shift


def srdhm(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    # C++ division truncates toward zero.
    q = abs(v) >> 31
    return q if v >= 0 else -q


def rdbp(x, exponent):
    """gemmlowp RoundingDivideByPOT."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def mbqm(x, m, shift):
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return rdbp(srdhm(wrap32(x * (1 << left)), m), right)


def wrap32(x):
    return ((x + (1 << 31)) % (1 << 32)) - (1 << 31)


def activation_range(act, scale, zp):
    """CalculateActivationRangeQuantized for int8: bounds quantized as zp + round(f / scale) in float32."""
    def q(f):
        v = np.float32(f) / np.float32(scale)
        return zp + int(math.floor(abs(float(v)) + 0.5)) * (1 if v >= 0 else -1)
    lo, hi = -128, 127
    if act == 1:
        lo = max(lo, q(0.0))
    elif act == 2:
        lo, hi = max(lo, q(-1.0)), min(hi, q(1.0))
    elif act == 3:
        lo, hi = max(lo, q(0.0)), min(hi, q(6.0))
    return lo, hi


# ---- gemmlowp fixed point for softmax ---------------------------------------------------------------------------

def sat_left_shift(x, e):
    v = x * (1 << e)
    return max(INT32_MIN, min(INT32_MAX, v))


def exp_on_interval_between_negative_one_quarter_and_0_excl(a):
    """a is Q0.31 in [-1/4, 0); returns exp(a) in Q0.31."""
    constant_term = 1895147668
    constant_1_over_3 = 715827883
    x = a + (1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbp(x4, 2)
    x4_over_24_plus_x3_over_6_plus_x2_over_2 = rdbp(srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1)
    return constant_term + srdhm(constant_term, x + x4_over_24_plus_x3_over_6_plus_x2_over_2)


def exp_on_negative_values(a, integer_bits):
    """a is Q(integer_bits).(31-integer_bits) and <= 0; returns exp(a) in Q0.31."""
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter
    # rescale to Q0.31
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(a_mod_quarter_minus_one_quarter << integer_bits)
    remainder = a_mod_quarter_minus_one_quarter - a
    multipliers = [1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242]
    for i, mult in enumerate(multipliers):
        exponent = i - 2  # -2 .. 4: exp(-2^exponent)
        shift = fractional_bits + exponent
        if integer_bits > exponent and 0 <= shift < 32:
            if remainder & (1 << shift):
                result = srdhm(result, mult)
    if integer_bits > 5:
        clamp = -(1 << (fractional_bits + 5))
        if a < clamp:
            result = 0
    if a == 0:
        result = INT32_MAX
    return result


def one_over_one_plus_x_for_x_in_0_1(a):
    """gemmlowp: a is Q0.31 in [0, 1); Newton-Raphson on the half denominator in Q2.29; the result is Q0.31."""
    half_denominator = rounding_half_sum(a, INT32_MAX)  # (a + 1) / 2, with 1 as Q0.31's largest value
    constant_48_over_17 = 1515870810
    constant_neg_32_over_17 = -1010580540
    x = constant_48_over_17 + srdhm(half_denominator, constant_neg_32_over_17)
    for _ in range(3):
        half_denominator_times_x = srdhm(half_denominator, x)
        one_minus = (1 << 29) - half_denominator_times_x
        x = x + sat_left_shift(srdhm(x, one_minus), 2)
    return sat_left_shift(x, 1)


def rounding_half_sum(a, b):
    """(a + b + sign) / 2 with C++'s truncating division."""
    t = a + b + (1 if a + b >= 0 else -1)
    return abs(t) // 2 * (1 if t >= 0 else -1)


def get_reciprocal(x, integer_bits):
    """TFLite GetReciprocal: (Q0.31 reciprocal, num_bits_over_unit)."""
    headroom_plus_one = clz32(x)
    num_bits_over_unit = integer_bits - headroom_plus_one
    shifted_sum_minus_one = wrap32((x << headroom_plus_one) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


def clz32(x):
    return 32 - x.bit_length() if x > 0 else 32


def softmax_int8(x, beta, in_scale):
    k_scaled_diff_integer_bits = 5
    k_accumulation_integer_bits = 12
    real = min(float(beta) * float(in_scale) * (1 << (31 - k_scaled_diff_integer_bits)), (1 << 31) - 1.0)
    input_multiplier, input_left_shift = quantize_multiplier(real)
    max_input_rescaled = 1.0 * ((1 << k_scaled_diff_integer_bits) - 1) * (1 << (31 - k_scaled_diff_integer_bits)) / (1 << input_left_shift)
    diff_min = -int(math.floor(max_input_rescaled))
    rows = x.reshape(-1, x.shape[-1]).astype(np.int64)
    out = np.empty_like(rows)
    for r, row in enumerate(rows):
        mx = int(row.max())
        total = 0
        for v in row:
            diff = int(v) - mx
            if diff >= diff_min:
                rescaled = srdhm(diff * (1 << input_left_shift), input_multiplier)
                total += rdbp(exp_on_negative_values(rescaled, k_scaled_diff_integer_bits), k_accumulation_integer_bits)
        shifted_scale, num_bits_over_unit = get_reciprocal(total, k_accumulation_integer_bits)
        for c, v in enumerate(row):
            diff = int(v) - mx
            if diff >= diff_min:
                rescaled = srdhm(diff * (1 << input_left_shift), input_multiplier)
                e = exp_on_negative_values(rescaled, k_scaled_diff_integer_bits)
                unsat = rdbp(srdhm(shifted_scale, e), num_bits_over_unit + 31 - 8)
                out[r, c] = max(-128, min(127, unsat - 128))  # TFLite adds int8's minimum, not the zero point
            else:
                out[r, c] = -128
    return out.reshape(x.shape).astype(np.int8)


# ---- operators --------------------------------------------------------------------------------------------------

def padding(mode, size, k, stride, dil, out):
    eff = (k - 1) * dil + 1
    if mode == "VALID" or mode == 1:
        return 0
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2


def conv(x, w, b, opts, in_q, w_q, out_q, out_shape, depthwise):
    n, h, wd, cin = x.shape
    _, oh, ow, cout = out_shape
    kh, kw = (w.shape[1], w.shape[2])
    sh, sw = opts["stride_h"], opts["stride_w"]
    dh, dw = opts.get("dilation_h_factor", 1), opts.get("dilation_w_factor", 1)
    pt = padding(opts["padding"], h, kh, sh, dh, oh)
    pl = padding(opts["padding"], wd, kw, sw, dw, ow)
    in_zp = in_q[1][0]
    out_scale, out_zp = out_q[0][0], out_q[1][0]
    lo, hi = activation_range(opts["fused_activation_function"], out_scale, out_zp)
    scales = w_q[0] if len(w_q[0]) > 1 else [w_q[0][0]] * cout
    mult = [quantize_multiplier(float(np.float64(in_q[0][0]) * np.float64(scales[c]) / np.float64(out_scale))) for c in range(cout)]
    xi = x.astype(np.int64) - in_zp
    y = np.empty(out_shape, dtype=np.int8)
    m = cout // cin if depthwise else 1
    for oy in range(oh):
        for ox in range(ow):
            acc = np.array([0 if b is None else int(b[c]) for c in range(cout)], dtype=np.int64)
            for ky in range(kh):
                iy = oy * sh - pt + ky * dh
                if iy < 0 or iy >= h:
                    continue
                for kx in range(kw):
                    ix = ox * sw - pl + kx * dw
                    if ix < 0 or ix >= wd:
                        continue
                    px = xi[0, iy, ix]
                    if depthwise:
                        acc += np.repeat(px, m) * w[0, ky, kx, :].astype(np.int64)
                    else:
                        acc += w[:, ky, kx, :].astype(np.int64) @ px
            for c in range(cout):
                v = mbqm(int(acc[c]), *mult[c]) + out_zp
                y[0, oy, ox, c] = max(lo, min(hi, v))
    return y


def fully_connected_float(x, w, b, opts, out_shape):
    """Float reference in float64 (tests compare with a tolerance: float sums depend on their order)."""
    k = w.shape[1]
    y = x.reshape(-1, k).astype(np.float64) @ w.astype(np.float64).T
    if b is not None:
        y = y + b.astype(np.float64)
    act = opts.get("fused_activation_function", 0)
    if act == 1:
        y = np.maximum(y, 0)
    elif act == 3:
        y = np.clip(y, 0, 6)
    elif act == 2:
        y = np.clip(y, -1, 1)
    return y.reshape(out_shape)


def softmax_float(x, beta):
    """Float reference in float64 over the last axis."""
    z = x.astype(np.float64) * float(beta)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sequence_lstm_float(x, weights, opts, out_shape):
    """UNIDIRECTIONAL_SEQUENCE_LSTM in float64, from TFLite's definition (lstm_eval.cc): per gate g in (i, f, c, o)
    z_g = W_g x_t + R_g h + b_g; i, f, o = sigmoid; c = f c + i act(z_c), clipped to +-cell_clip when positive;
    h = o act(c), act the fused activation (TANH 4, RELU 1, SIGMOID 6). Zero initial state; no peepholes,
    projection or layer normalization (the reference refuses them, as EdgeInfer does)."""
    w_in, w_rec, bias = weights
    act = {4: np.tanh, 1: lambda v: np.maximum(v, 0), 6: lambda v: 1 / (1 + np.exp(-v))}[opts["fused_activation_function"]]
    sigmoid = lambda v: 1 / (1 + np.exp(-v))
    seq = x.astype(np.float64)
    if not opts.get("time_major", False):
        seq = seq.transpose(1, 0, 2)  # [N, T, I] -> [T, N, I]
    steps, batch = seq.shape[0], seq.shape[1]
    hidden = w_rec[1].shape[0]
    h = np.zeros((batch, hidden))
    c = np.zeros((batch, hidden))
    clip = float(opts.get("cell_clip", 0.0))
    ys = []
    for t in range(steps):
        z = [seq[t] @ w_in[g].astype(np.float64).T + h @ w_rec[g].astype(np.float64).T + bias[g].astype(np.float64) for g in range(4)]
        c = sigmoid(z[1]) * c + sigmoid(z[0]) * act(z[2])
        if clip > 0:
            c = np.clip(c, -clip, clip)
        h = sigmoid(z[3]) * act(c)
        ys.append(h)
    y = np.stack(ys)
    if not opts.get("time_major", False):
        y = y.transpose(1, 0, 2)
    return y.reshape(out_shape)


def fully_connected(x, w, b, opts, in_q, w_q, out_q, out_shape):
    k = w.shape[1]
    rows = x.reshape(-1, k).astype(np.int64) - in_q[1][0]
    out_scale, out_zp = out_q[0][0], out_q[1][0]
    lo, hi = activation_range(opts.get("fused_activation_function", 0), out_scale, out_zp)
    n = w.shape[0]
    scales = w_q[0] if len(w_q[0]) > 1 else [w_q[0][0]] * n
    mult = [quantize_multiplier(float(np.float64(in_q[0][0]) * np.float64(scales[c]) / np.float64(out_scale))) for c in range(n)]
    acc = rows @ w.astype(np.int64).T
    if b is not None:
        acc = acc + b.astype(np.int64)
    y = np.empty(acc.shape, dtype=np.int8)
    for r in range(acc.shape[0]):
        for c in range(n):
            y[r, c] = max(lo, min(hi, mbqm(int(acc[r, c]), *mult[c]) + out_zp))
    return y.reshape(out_shape)


def pool_windows(x, opts, out_shape):
    """Each output pixel's window, clipped to the input (TFLite's pools count only in-input positions)."""
    _, h, wd, _ = x.shape
    _, oh, ow, _ = out_shape
    fh, fw, sh, sw = opts["filter_height"], opts["filter_width"], opts["stride_h"], opts["stride_w"]
    pt = padding(opts["padding"], h, fh, sh, 1, oh)
    pl = padding(opts["padding"], wd, fw, sw, 1, ow)
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * sh - pt, ox * sw - pl
            yield oy, ox, x[0, max(0, y0):min(h, y0 + fh), max(0, x0):min(wd, x0 + fw), :].astype(np.int64)


def average_pool(x, opts, out_q, out_shape):
    lo, hi = activation_range(opts["fused_activation_function"], out_q[0][0], out_q[1][0])
    y = np.empty(out_shape, dtype=np.int8)
    for oy, ox, window in pool_windows(x, opts, out_shape):
        count = window.shape[0] * window.shape[1]
        for ch in range(x.shape[3]):
            acc = int(window[:, :, ch].sum())
            # (acc ± count/2) / count with C++'s truncating division: rounds half away from zero.
            avg = (acc + count // 2) // count if acc > 0 else -((-acc + count // 2) // count)
            y[0, oy, ox, ch] = max(lo, min(hi, avg))
    return y


def pad_int8(x, pads, out_zp):
    """PAD: constant padding with the output zero point (the quantized 0)."""
    return np.pad(x, [tuple(int(v) for v in p) for p in pads], constant_values=out_zp)


def max_pool(x, opts, out_q, out_shape):
    lo, hi = activation_range(opts["fused_activation_function"], out_q[0][0], out_q[1][0])
    y = np.empty(out_shape, dtype=np.int8)
    for oy, ox, window in pool_windows(x, opts, out_shape):
        y[0, oy, ox, :] = np.clip(window.max(axis=(0, 1)), lo, hi)
    return y


def add_int8(a, b, qa, qb, qo, act, out_shape):
    """reference_integer_ops::Add: both inputs rescaled to 2·max(scale) with 20 bits of headroom, summed, requantized."""
    sa, sb, so = float(np.float32(qa[0][0])), float(np.float32(qb[0][0])), float(np.float32(qo[0][0]))
    left_shift = 20
    twice_max = 2 * max(sa, sb)
    m1 = quantize_multiplier(sa / twice_max)
    m2 = quantize_multiplier(sb / twice_max)
    mo = quantize_multiplier(twice_max / ((1 << left_shift) * so))
    lo, hi = activation_range(act, qo[0][0], qo[1][0])
    a, b = np.broadcast_arrays(a.astype(np.int64), b.astype(np.int64))
    y = np.empty(a.shape, dtype=np.int8)
    for idx in np.ndindex(a.shape):
        s1 = mbqm((int(a[idx]) - qa[1][0]) * (1 << left_shift), *m1)
        s2 = mbqm((int(b[idx]) - qb[1][0]) * (1 << left_shift), *m2)
        y[idx] = max(lo, min(hi, mbqm(s1 + s2, *mo) + qo[1][0]))
    return y.reshape(out_shape)


def mul_int8(a, b, qa, qb, qo, act, out_shape):
    """reference_integer_ops::Mul: (a − za)(b − zb) requantized by sa·sb/so."""
    m = quantize_multiplier(float(np.float64(qa[0][0]) * np.float64(qb[0][0]) / np.float64(qo[0][0])))
    lo, hi = activation_range(act, qo[0][0], qo[1][0])
    a, b = np.broadcast_arrays(a.astype(np.int64), b.astype(np.int64))
    y = np.empty(a.shape, dtype=np.int8)
    for idx in np.ndindex(a.shape):
        y[idx] = max(lo, min(hi, mbqm((int(a[idx]) - qa[1][0]) * (int(b[idx]) - qb[1][0]), *m) + qo[1][0]))
    return y.reshape(out_shape)


def run(model, inputs):
    sg = model["subgraphs"][0]
    tensors = sg["tensors"]
    buffers = model["buffers"]
    codes = [max(c.get("deprecated_builtin_code", 0), c.get("builtin_code", 0)) for c in model["operator_codes"]]
    dtype = {0: np.float32, 2: np.int32, 9: np.int8, 4: np.int64}

    def const(i):
        t = tensors[i]
        data = buffers[t.get("buffer", 0)].get("data", [])
        if len(data) == 0:
            return None
        return np.frombuffer(np.asarray(data, dtype=np.uint8).tobytes(), dtype=dtype[t.get("type", 0)]).reshape(t.get("shape", []))

    def quant(i):
        q = tensors[i].get("quantization") or {}
        return q.get("scale", []), q.get("zero_point", [])

    values = {}
    for i, arr in zip(sg["inputs"], inputs):
        values[i] = arr
    for op in sg["operators"]:
        code = codes[op.get("opcode_index", 0)]
        ins = op["inputs"]
        out = op["outputs"][0]
        opts = op.get("builtin_options") or {}
        shape = tensors[out]["shape"]
        get = lambda j: values[ins[j]] if ins[j] in values else const(ins[j])
        if code in (3, 4):
            b = const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
            values[out] = conv(get(0), const(ins[1]), b, opts, quant(ins[0]), quant(ins[1]), quant(out), shape, code == 4)
        elif code == 9:
            b = const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
            if tensors[ins[0]]["type"] == 0:
                values[out] = fully_connected_float(get(0), const(ins[1]), b, opts, shape)
            else:
                values[out] = fully_connected(get(0), const(ins[1]), b, opts, quant(ins[0]), quant(ins[1]), quant(out), shape)
        elif code == 1:
            values[out] = average_pool(get(0), opts, quant(out), shape)
        elif code == 22:
            values[out] = get(0).reshape(shape)
        elif code == 34:
            values[out] = pad_int8(get(0), const(ins[1]), quant(out)[1][0])
        elif code == 17:
            values[out] = max_pool(get(0), opts, quant(out), shape)
        elif code in (0, 18):
            fn = add_int8 if code == 0 else mul_int8
            values[out] = fn(get(0), get(1), quant(ins[0]), quant(ins[1]), quant(out), opts.get("fused_activation_function", 0), shape)
        elif code == 25 and tensors[ins[0]]["type"] == 0:
            values[out] = softmax_float(get(0), opts.get("beta", 1.0))
        elif code == 25:
            values[out] = softmax_int8(get(0), opts.get("beta", 1.0), quant(ins[0])[0][0])
        elif code == 44:
            if any(ins[j] >= 0 for j in list(range(9, 12)) + [16, 17] + list(range(20, len(ins)))) or ins[1] < 0:
                raise SystemExit("this reference has the LSTM without CIFG, peepholes, projection or layer normalization")
            weights = ([const(ins[j]) for j in range(1, 5)], [const(ins[j]) for j in range(5, 9)], [const(ins[j]) for j in range(12, 16)])
            values[out] = sequence_lstm_float(get(0), weights, opts, shape)
        else:
            raise SystemExit(f"operator {code} is not in this reference")
    return values


def samples(spec, tensor):
    """Inputs: 'all-int8' (every int8 value of a one-element input), a .raw file of int8 samples back to back, or a
    .csv of float rows."""
    shape = tensor["shape"]
    count = int(np.prod(shape))
    if spec == "all-int8":
        return [np.array([v], dtype=np.int8).reshape(shape) for v in range(-128, 128)]
    if spec.endswith(".csv"):
        rows = np.loadtxt(spec, delimiter=",", dtype=np.float32, ndmin=2)
        return [r.reshape(shape) for r in rows]
    data = np.fromfile(spec, dtype=np.int8)
    if len(data) % count:
        raise SystemExit(f"{spec}: {len(data)} bytes is not a whole number of {count}-byte samples")
    return [data[i * count:(i + 1) * count].reshape(shape) for i in range(len(data) // count)]


def main():
    """Writes, per sample: the SHA-256 of every int8 operator output (by tensor name) and the graph output values."""
    import hashlib
    model_path, input_spec = sys.argv[1], sys.argv[2]
    model = load(model_path)
    sg = model["subgraphs"][0]
    tensors = sg["tensors"]
    print(f"# {os.path.basename(model_path)} on {os.path.basename(input_spec)}: expected by tools/tflite-reference/tflite_reference.py")
    for n, x in enumerate(samples(input_spec, tensors[sg["inputs"][0]])):
        values = run(model, [x])
        codes = [max(c.get("deprecated_builtin_code", 0), c.get("builtin_code", 0)) for c in model["operator_codes"]]
        for op in sg["operators"]:
            out = op["outputs"][0]
            # PAD outputs are not listed: EdgeInfer folds a PAD into the convolution that reads it.
            if tensors[out]["type"] == 9 and codes[op["opcode_index"]] not in (34, 60):
                print(f"{n} layer {tensors[out]['name']} {hashlib.sha256(values[out].tobytes()).hexdigest()[:32]}")
        y = values[sg["outputs"][0]].reshape(-1)
        text = " ".join(str(int(v)) for v in y) if y.dtype == np.int8 else " ".join(repr(float(v)) for v in y)
        print(f"{n} output {text}")


if __name__ == "__main__":
    main()
