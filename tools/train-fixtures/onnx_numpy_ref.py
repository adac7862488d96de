"""A tiny, slow, float64 ONNX interpreter written with numpy.

onnxruntime is not available to these scripts, so this is how the exported
.onnx files are executed independently of torch. It covers only the
operators that the fixture models actually contain and refuses anything
else (or any attribute value it does not handle) loudly, so a silent
misinterpretation is unlikely. It is a test oracle, not a runtime.
"""

import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _sliding(xp, kernel, strides):
    """View of padded input xp [N,C,H,W] as [N,C,OH,OW,KH,KW] windows."""
    n, c, h, w = xp.shape
    kh, kw = kernel
    sh, sw = strides
    oh = (h - kh) // sh + 1
    ow = (w - kw) // sw + 1
    s = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, shape=(n, c, oh, ow, kh, kw),
        strides=(s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]), writeable=False)


def _as_2d(x, kernel, strides, pads):
    """Lift a 1-D spatial op to 2-D by inserting a unit height axis."""
    if x.ndim == 3:
        return (x[:, :, None, :], [1] + list(kernel), [1] + list(strides),
                [0, pads[0], 0, pads[1]], True)
    return x, list(kernel), list(strides), list(pads), False


def _conv(node, x, w, b=None):
    a = _attrs(node)
    if any(d != 1 for d in a.get("dilations", [1] * (w.ndim - 2))):
        raise NotImplementedError("Conv dilation")
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("Conv auto_pad")
    kernel = list(w.shape[2:])
    strides = a.get("strides", [1] * len(kernel))
    pads = a.get("pads", [0] * (2 * len(kernel)))
    group = a.get("group", 1)
    x2, k2, s2, p2, lifted = _as_2d(x, kernel, strides, pads)
    w2 = w[:, :, None, :] if lifted else w
    # ONNX pads are [begin_h, begin_w, end_h, end_w].
    xp = np.pad(x2, ((0, 0), (0, 0), (p2[0], p2[2]), (p2[1], p2[3])))
    win = _sliding(xp, k2, s2)  # N,C,OH,OW,KH,KW
    n, c, oh, ow, kh, kw = win.shape
    cout = w2.shape[0]
    cg = c // group
    og = cout // group
    win = win.reshape(n, group, cg, oh, ow, kh, kw)
    wg = w2.reshape(group, og, cg, kh, kw)
    y = np.einsum("ngcijkl,gockl->ngoij", win, wg, optimize=True).reshape(n, cout, oh, ow)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y[:, :, 0, :] if lifted else y


def _maxpool(node, x):
    a = _attrs(node)
    if a.get("ceil_mode", 0) != 0 or any(d != 1 for d in a.get("dilations", [1])):
        raise NotImplementedError("MaxPool ceil_mode/dilation")
    kernel = a["kernel_shape"]
    strides = a.get("strides", [1] * len(kernel))
    pads = a.get("pads", [0] * (2 * len(kernel)))
    x2, k2, s2, p2, lifted = _as_2d(x, kernel, strides, pads)
    xp = np.pad(x2, ((0, 0), (0, 0), (p2[0], p2[2]), (p2[1], p2[3])), constant_values=-np.inf)
    y = _sliding(xp, k2, s2).max(axis=(4, 5))
    return y[:, :, 0, :] if lifted else y


def _gemm(node, a_, b_, c_=None):
    a = _attrs(node)
    if a.get("transA", 0):
        a_ = a_.T
    if a.get("transB", 0):
        b_ = b_.T
    y = a.get("alpha", 1.0) * (a_ @ b_)
    if c_ is not None:
        y = y + a.get("beta", 1.0) * c_
    return y


def _batchnorm(node, x, scale, bias, mean, var):
    a = _attrs(node)
    if a.get("training_mode", 0):
        raise NotImplementedError("BatchNormalization training_mode")
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = 1.0 / np.sqrt(var.astype(np.float64) + a.get("epsilon", 1e-5))
    return (x - mean.reshape(shape)) * (scale * inv).reshape(shape) + bias.reshape(shape)


def _reshape(node, x, shape):
    if _attrs(node).get("allowzero", 0):
        raise NotImplementedError("Reshape allowzero")
    shape = [int(s) for s in shape]
    shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _clip(node, x, lo=None, hi=None):
    if lo is not None:
        x = np.maximum(x, lo)
    if hi is not None:
        x = np.minimum(x, hi)
    return x


def _flatten(node, x):
    axis = _attrs(node).get("axis", 1)
    axis = axis if axis >= 0 else x.ndim + axis
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def _reduce_mean(node, x, axes=None):
    a = _attrs(node)
    axes = a.get("axes", axes)
    keep = bool(a.get("keepdims", 1))
    return x.mean(axis=tuple(int(v) for v in axes), keepdims=keep)


def _unsqueeze(node, x, axes=None):
    axes = _attrs(node).get("axes", axes)  # attribute before opset 13, input after
    out = np.asarray(x)
    rank = out.ndim + len(axes)
    for ax in sorted(int(v) if v >= 0 else rank + int(v) for v in axes):
        out = np.expand_dims(out, ax)
    return out


def _squeeze(node, x, axes=None):
    axes = _attrs(node).get("axes", axes)
    if axes is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=tuple(int(v) for v in axes))


_OPS = {
    "Conv": _conv,
    "MaxPool": _maxpool,
    "Gemm": _gemm,
    "MatMul": lambda n, a, b: a @ b,
    "BatchNormalization": _batchnorm,
    "Relu": lambda n, x: np.maximum(x, 0.0),
    "Sigmoid": lambda n, x: 1.0 / (1.0 + np.exp(-x)),
    "HardSigmoid": lambda n, x: np.clip(_attrs(n).get("alpha", 0.2) * x + _attrs(n).get("beta", 0.5), 0.0, 1.0),
    "Clip": _clip,
    "Add": lambda n, a, b: a + b,
    "Mul": lambda n, a, b: a * b,
    "Identity": lambda n, x: x,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Shape": lambda n, x: np.array(x.shape, dtype=np.int64),
    "Gather": lambda n, x, i: np.take(x, i, axis=_attrs(n).get("axis", 0)),
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": lambda n, *xs: np.concatenate([np.atleast_1d(v) for v in xs], axis=_attrs(n)["axis"]),
    "GlobalAveragePool": lambda n, x: x.mean(axis=tuple(range(2, x.ndim)), keepdims=True),
    "ReduceMean": _reduce_mean,
    "Constant": lambda n: _promote(numpy_helper.to_array(_attrs(n)["value"])),
}


def _promote(arr):
    return arr.astype(np.float64) if arr.dtype == np.float32 else arr


def run(model: onnx.ModelProto, feeds: dict) -> dict:
    """Evaluate the graph; float tensors are promoted to float64."""
    env = {}
    for t in model.graph.initializer:
        env[t.name] = _promote(numpy_helper.to_array(t))
    for k, v in feeds.items():
        env[k] = np.asarray(v, dtype=np.float64)
    for node in model.graph.node:
        if node.op_type not in _OPS:
            raise NotImplementedError(f"op {node.op_type} not supported by the reference")
        if node.domain not in ("", "ai.onnx"):
            raise NotImplementedError(f"domain {node.domain}")
        args = [env[i] if i else None for i in node.input]
        while args and args[-1] is None:
            args.pop()
        out = _OPS[node.op_type](node, *args)
        if len(node.output) != 1:
            raise NotImplementedError(f"{node.op_type} with {len(node.output)} outputs")
        env[node.output[0]] = out
    return {o.name: env[o.name] for o in model.graph.output}
