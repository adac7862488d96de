#!/usr/bin/python3
"""Writes tests/fixtures/tflm/residual_block_int8.tflite: a small int8 model in the shape of a TFLite MobileNetV2
block, built here because no TensorFlow is available to convert one. It uses the operators the TFLM models in this
folder lack: PAD before a VALID stride-2 depthwise convolution (how the TFLite converter writes Keras'
ZeroPadding2D), a residual ADD with a fused RELU, a per-channel MUL by a constant, MAX_POOL_2D, and per-tensor
FULLY_CONNECTED weights. Weights are seeded random; each activation's scale and zero point come from the range the
float network reaches on random inputs, and weights are symmetric per channel, as the TFLite converter makes them.

  /usr/bin/python3 tools/tflite-reference/make_residual_block.py OUT.tflite OUT_INPUTS.raw
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "src", "EdgeInfer.Converter", "Importers", "TfLite", "tflite_subset.fbs")

rng = np.random.default_rng(11)


def asym(lo, hi):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = np.float32((hi - lo) / 255.0)
    zp = int(np.clip(round(-128 - lo / scale), -128, 127))
    return scale, zp


def same_pad(size, k, s):
    out = (size + s - 1) // s
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


def conv_f(x, w, b, stride, pads, depthwise):
    """Float NHWC convolution; w is OHWI, or [1, KH, KW, C] for depthwise."""
    x = np.pad(x, ((0, 0), (pads[0], pads[1]), (pads[2], pads[3]), (0, 0)))
    _, h, wd, c = x.shape
    kh, kw = w.shape[1], w.shape[2]
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out_c = w.shape[3] if depthwise else w.shape[0]
    y = np.zeros((x.shape[0], oh, ow, out_c), np.float64)
    for ky in range(kh):
        for kx in range(kw):
            patch = x[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride, :]
            if depthwise:
                y += patch * w[0, ky, kx, :]
            else:
                y += patch @ w[:, ky, kx, :].T
    return y + b


def main():
    out_model, out_inputs = sys.argv[1], sys.argv[2]
    n, h, c = 64, 12, 8
    x = rng.uniform(-1, 1, (n, h, h, c)).astype(np.float32)
    w_dw1 = rng.normal(0, 0.4, (1, 3, 3, c)).astype(np.float32); b_dw1 = rng.normal(0, 0.1, c).astype(np.float32)
    w_pw = rng.normal(0, 0.3, (c, 1, 1, c)).astype(np.float32); b_pw = rng.normal(0, 0.1, c).astype(np.float32)
    w_dw2 = rng.normal(0, 0.4, (1, 3, 3, c)).astype(np.float32); b_dw2 = rng.normal(0, 0.1, c).astype(np.float32)
    gain = rng.uniform(0.5, 1.5, c).astype(np.float32)
    w_fc = rng.normal(0, 0.2, (10, 3 * 3 * c)).astype(np.float32); b_fc = rng.normal(0, 0.1, 10).astype(np.float32)

    # The float network, for the activation ranges.
    t_pad = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))
    t_dw1 = np.clip(conv_f(t_pad, w_dw1, b_dw1, 2, (0, 0, 0, 0), True), 0, 6)
    t_pw = conv_f(t_dw1, w_pw, b_pw, 1, (0, 0, 0, 0), False)
    _, pt, pb = same_pad(6, 3, 1)
    t_dw2 = conv_f(t_dw1, w_dw2, b_dw2, 1, (pt, pb, pt, pb), True)
    t_add = np.maximum(t_pw + t_dw2, 0)
    t_mul = t_add * gain
    t_pool = t_mul.reshape(n, 3, 2, 3, 2, c).max(axis=(2, 4))
    t_fc = t_pool.reshape(n, -1) @ w_fc.T + b_fc
    q = {name: asym(float(t.min()), float(t.max())) for name, t in
         [("x", x), ("dw1", t_dw1), ("pw", t_pw), ("dw2", t_dw2), ("add", t_add), ("mul", t_mul), ("fc", t_fc)]}
    q["pad"] = q["x"]
    q["pool"] = q["flat"] = q["mul"]
    q["prob"] = (np.float32(1 / 256), -128)

    def per_channel(w, axis):
        moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
        scales = (np.abs(moved).max(axis=1) / 127).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        wq = np.clip(np.round(w / scales.reshape(shape)), -127, 127).astype(np.int8)
        return wq, scales

    def bias(b, in_scale, w_scales):
        return np.round(b.astype(np.float64) / (np.float64(in_scale) * w_scales.astype(np.float64))).astype(np.int32)

    wq_dw1, s_dw1 = per_channel(w_dw1, 3)
    wq_pw, s_pw = per_channel(w_pw, 0)
    wq_dw2, s_dw2 = per_channel(w_dw2, 3)
    g_scale, g_zp = asym(float(gain.min()), float(gain.max()))
    gq = np.clip(np.round(gain / g_scale) + g_zp, -128, 127).astype(np.int8)
    s_fc = np.float32(np.abs(w_fc).max() / 127)
    wq_fc = np.clip(np.round(w_fc / s_fc), -127, 127).astype(np.int8)

    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["flatc", "--python", "-o", d, SCHEMA], check=True)
        sys.path.insert(0, d)
        import flatbuffers
        from EdgeInfer.Converter.Importers.TfLite.Schema import (Model, SubGraph, Tensor, Buffer, Operator, OperatorCode,
                                                                 QuantizationParameters, Conv2DOptions, DepthwiseConv2DOptions,
                                                                 Pool2DOptions, FullyConnectedOptions, SoftmaxOptions, AddOptions,
                                                                 MulOptions, ReshapeOptions)
        b = flatbuffers.Builder(4096)
        buffers, tensors = [], []

        def buffer(data):
            vec = b.CreateNumpyVector(np.frombuffer(data.tobytes(), np.uint8)) if data is not None else None
            Buffer.Start(b)
            if vec is not None:
                Buffer.AddData(b, vec)
            buffers.append(Buffer.End(b))
            return len(buffers) - 1

        buffer(None)  # buffer 0: the empty sentinel

        def tensor(name, shape, ttype, scales=None, zps=None, dim=0, data=None):
            buf = buffer(data) if data is not None else 0
            qp = None
            if scales is not None:
                sv = b.CreateNumpyVector(np.asarray(scales, np.float32))
                zv = b.CreateNumpyVector(np.asarray(zps, np.int64))
                QuantizationParameters.Start(b)
                QuantizationParameters.AddScale(b, sv)
                QuantizationParameters.AddZeroPoint(b, zv)
                QuantizationParameters.AddQuantizedDimension(b, dim)
                qp = QuantizationParameters.End(b)
            nm = b.CreateString(name)
            sh = b.CreateNumpyVector(np.asarray(shape, np.int32))
            Tensor.Start(b)
            Tensor.AddShape(b, sh)
            Tensor.AddType(b, ttype)
            Tensor.AddBuffer(b, buf)
            Tensor.AddName(b, nm)
            if qp is not None:
                Tensor.AddQuantization(b, qp)
            tensors.append(Tensor.End(b))
            return len(tensors) - 1

        I8, I32 = 9, 2

        def act(name, shape):
            s, z = q[name]
            return tensor(name, shape, I8, [s], [z])

        t_x = act("x", [1, h, h, c])
        t_pads = tensor("pads", [4, 2], I32, data=np.array([[0, 0], [0, 1], [0, 1], [0, 0]], np.int32))
        t_padded = act("pad", [1, h + 1, h + 1, c])
        t_w1 = tensor("dw1/weights", [1, 3, 3, c], I8, s_dw1, [0] * c, 3, wq_dw1)
        t_b1 = tensor("dw1/bias", [c], I32, data=bias(b_dw1, q["x"][0], s_dw1))
        t_dw1q = act("dw1", [1, 6, 6, c])
        t_w2 = tensor("pw/weights", [c, 1, 1, c], I8, s_pw, [0] * c, 0, wq_pw)
        t_b2 = tensor("pw/bias", [c], I32, data=bias(b_pw, q["dw1"][0], s_pw))
        t_pwq = act("pw", [1, 6, 6, c])
        t_w3 = tensor("dw2/weights", [1, 3, 3, c], I8, s_dw2, [0] * c, 3, wq_dw2)
        t_b3 = tensor("dw2/bias", [c], I32, data=bias(b_dw2, q["dw1"][0], s_dw2))
        t_dw2q = act("dw2", [1, 6, 6, c])
        t_addq = act("add", [1, 6, 6, c])
        t_gain = tensor("gain", [c], I8, [g_scale], [g_zp], 0, gq)
        t_mulq = act("mul", [1, 6, 6, c])
        t_poolq = act("pool", [1, 3, 3, c])
        t_shape = tensor("flat/shape", [2], I32, data=np.array([1, 72], np.int32))
        t_flat = act("flat", [1, 72])
        t_w4 = tensor("fc/weights", [10, 72], I8, [s_fc], [0], 0, wq_fc)
        t_b4 = tensor("fc/bias", [10], I32, data=bias(b_fc, q["mul"][0], np.full(10, s_fc, np.float32)))
        t_fcq = act("fc", [1, 10])
        t_prob = act("prob", [1, 10])

        codes = [34, 4, 3, 0, 18, 17, 22, 9, 25]  # PAD, DEPTHWISE, CONV, ADD, MUL, MAX_POOL, RESHAPE, FC, SOFTMAX
        ops = []

        def op(code, inputs, outputs, otype=0, options=None):
            iv = b.CreateNumpyVector(np.asarray(inputs, np.int32))
            ov = b.CreateNumpyVector(np.asarray(outputs, np.int32))
            Operator.Start(b)
            Operator.AddOpcodeIndex(b, codes.index(code))
            Operator.AddInputs(b, iv)
            Operator.AddOutputs(b, ov)
            if options is not None:
                Operator.AddBuiltinOptionsType(b, otype)
                Operator.AddBuiltinOptions(b, options)
            ops.append(Operator.End(b))

        def table(module, **fields):
            module.Start(b)
            for key, value in fields.items():
                getattr(module, "Add" + key)(b, value)
            return module.End(b)

        op(34, [t_x, t_pads], [t_padded])
        op(4, [t_padded, t_w1, t_b1], [t_dw1q], 2, table(DepthwiseConv2DOptions, Padding=1, StrideW=2, StrideH=2, DepthMultiplier=1, FusedActivationFunction=3))
        op(3, [t_dw1q, t_w2, t_b2], [t_pwq], 1, table(Conv2DOptions, Padding=1, StrideW=1, StrideH=1))
        op(4, [t_dw1q, t_w3, t_b3], [t_dw2q], 2, table(DepthwiseConv2DOptions, Padding=0, StrideW=1, StrideH=1, DepthMultiplier=1))
        op(0, [t_pwq, t_dw2q], [t_addq], 11, table(AddOptions, FusedActivationFunction=1))
        op(18, [t_addq, t_gain], [t_mulq], 21, table(MulOptions))
        op(17, [t_mulq], [t_poolq], 5, table(Pool2DOptions, Padding=1, StrideW=2, StrideH=2, FilterWidth=2, FilterHeight=2))
        op(22, [t_poolq, t_shape], [t_flat])
        op(9, [t_flat, t_w4, t_b4], [t_fcq], 8, table(FullyConnectedOptions))
        op(25, [t_fcq], [t_prob], 9, table(SoftmaxOptions, Beta=1.0))

        def vector(items):
            b.StartVector(4, len(items), 4)
            for item in reversed(items):
                b.PrependUOffsetTRelative(item)
            return b.EndVector()

        tv, opv = vector(tensors), vector(ops)
        inv, outv = b.CreateNumpyVector(np.array([t_x], np.int32)), b.CreateNumpyVector(np.array([t_prob], np.int32))
        name = b.CreateString("main")
        sg = table(SubGraph, Tensors=tv, Inputs=inv, Outputs=outv, Operators=opv, Name=name)
        opcodes = [table(OperatorCode, DeprecatedBuiltinCode=min(cd, 127), BuiltinCode=cd) for cd in codes]
        ocv, sgv, bv = vector(opcodes), vector([sg]), vector(buffers)
        desc = b.CreateString("EdgeInfer residual block test model")
        model = table(Model, Version=3, OperatorCodes=ocv, Subgraphs=sgv, Description=desc, Buffers=bv)
        b.Finish(model, file_identifier=b"TFL3")
        with open(out_model, "wb") as f:
            f.write(b.Output())

    s, z = q["x"]
    inputs = np.clip(np.round(x[:4] / s) + z, -128, 127).astype(np.int8)
    inputs.tofile(out_inputs)


if __name__ == "__main__":
    main()
