"""Shared helpers for the EdgeInfer fixture generators.

Everything here is deliberately plain: seeding, CSV writing, MAC counting,
ONNX export and the post-export checks that every generator runs. The
generators import this module directly (the folder name has a dash, so it is
not a package; each script puts its own folder on sys.path by being run as a
script).
"""

import hashlib
import json
import random
import sys
from pathlib import Path

import numpy as np
import onnx
import onnx.shape_inference
import torch
import torch.nn as nn

import onnx_numpy_ref

# Repository root: tools/train-fixtures/<this file> -> two levels up.
REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"


# ---------------------------------------------------------------- determinism

_INTEROP_SET = False


def make_deterministic(seed: int) -> None:
    """Pin every source of randomness and parallelism we know about.

    One intra-op thread keeps float reductions in a fixed order; the
    deterministic-algorithms switch makes torch raise instead of silently
    picking a non-deterministic kernel.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    global _INTEROP_SET
    if not _INTEROP_SET:
        # torch aborts the whole process (not a Python exception) if this is
        # set twice, so only the first call in a process may do it.
        torch.set_num_interop_threads(1)
        _INTEROP_SET = True
    torch.use_deterministic_algorithms(True)


# ------------------------------------------------------------------------ CSV

def _fmt(v) -> str:
    # '%.9g' is enough significant digits for any float32 to survive a
    # text round trip bit-exactly.
    return "%.9g" % float(v)


def write_float_csv(path: Path, rows: np.ndarray, labels=None, header=None) -> None:
    """Write a 2-D float32 array, one row per line, optional int label last."""
    rows = np.asarray(rows, dtype=np.float32)
    assert rows.ndim == 2
    lines = []
    if header is not None:
        lines.append(header)
    for i, r in enumerate(rows):
        cells = [_fmt(v) for v in r]
        if labels is not None:
            cells.append(str(int(labels[i])))
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="ascii", newline="\n")


def read_float_csv(path: Path, has_label: bool):
    """Read back a file written by write_float_csv (no header)."""
    data = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    if has_label:
        return data[:, :-1].astype(np.float32), data[:, -1].astype(np.int64)
    return data.astype(np.float32), None


def check_roundtrip(path: Path, rows: np.ndarray, labels=None) -> None:
    """Re-read a CSV and insist the float32 values come back bit-identical."""
    back, back_labels = read_float_csv(path, labels is not None)
    if not np.array_equal(back.view(np.uint32), np.asarray(rows, np.float32).view(np.uint32)):
        raise AssertionError(f"{path.name}: float32 values did not round-trip")
    if labels is not None and not np.array_equal(back_labels, np.asarray(labels)):
        raise AssertionError(f"{path.name}: labels did not round-trip")


# ----------------------------------------------------------------------- MACs

def count_macs_torch(model: nn.Module, example: torch.Tensor) -> dict:
    """Multiply-accumulates per sample of every Conv/Linear, via forward hooks.

    Only convolutions and fully connected layers are counted (the usual
    convention); BatchNorm, activations, pooling and adds are ignored.
    """
    per_layer = []

    def hook(mod, inp, out):
        n = out.shape[0]
        if isinstance(mod, (nn.Conv1d, nn.Conv2d)):
            k = int(np.prod(mod.kernel_size))
            macs = out.numel() // n * (mod.in_channels // mod.groups) * k
        else:  # nn.Linear
            macs = out.numel() // n * mod.in_features
        per_layer.append((type(mod).__name__, int(macs)))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(example[:1])
    model.train(was_training)
    for h in handles:
        h.remove()
    return {"total": sum(m for _, m in per_layer), "layers": per_layer}


def count_macs_onnx(model: onnx.ModelProto) -> int:
    """Same count, derived from the exported graph (a cross-check).

    Shape inference gives each Conv's output shape; the batch axis is
    skipped so the result is per sample.
    """
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input):
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    inits = {t.name: t for t in model.graph.initializer}
    total = 0
    for node in model.graph.node:
        if node.op_type == "Conv":
            w = inits[node.input[1]]
            cout, cin_per_group = w.dims[0], w.dims[1]
            k = int(np.prod(w.dims[2:]))
            out_spatial = int(np.prod(shapes[node.output[0]][2:]))
            total += cout * out_spatial * cin_per_group * k
        elif node.op_type in ("Gemm", "MatMul"):
            w = inits[node.input[1]]
            total += int(np.prod(w.dims))
    return int(total)


# ---------------------------------------------------------------- ONNX export

def export_onnx(model: nn.Module, example: torch.Tensor, path: Path, opset: int,
                dynamic_batch: bool) -> onnx.ModelProto:
    model.eval()
    kwargs = {}
    if dynamic_batch:
        kwargs["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(
            model, example, str(path),
            export_params=True,
            opset_version=opset,
            do_constant_folding=True,
            input_names=["input"],
            output_names=["logits"],
            **kwargs,
        )
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def op_types(proto: onnx.ModelProto) -> list:
    return sorted({n.op_type for n in proto.graph.node})


def op_histogram(proto: onnx.ModelProto) -> dict:
    hist = {}
    for n in proto.graph.node:
        hist[n.op_type] = hist.get(n.op_type, 0) + 1
    return dict(sorted(hist.items()))


def io_signature(proto: onnx.ModelProto) -> dict:
    """Names and shapes of graph inputs/outputs (symbolic dims as strings)."""
    def describe(vi):
        dims = []
        for d in vi.type.tensor_type.shape.dim:
            dims.append(d.dim_param if d.HasField("dim_param") else d.dim_value)
        return {"name": vi.name, "shape": dims,
                "dtype": onnx.TensorProto.DataType.Name(vi.type.tensor_type.elem_type)}
    return {"inputs": [describe(v) for v in proto.graph.input],
            "outputs": [describe(v) for v in proto.graph.output]}


# ------------------------------------------------------ initializer checking

def _execution_order(model: nn.Module, example: torch.Tensor):
    """(module, input tensor, output tensor) for each Conv/Linear/BN call."""
    calls = []

    def hook(mod, inp, out):
        calls.append((mod, inp[0], out))

    kinds = (nn.Conv1d, nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    model.eval()
    with torch.no_grad():
        model(example[:1])
    for h in handles:
        h.remove()
    return calls


def check_initializers(model: nn.Module, example: torch.Tensor, proto: onnx.ModelProto) -> dict:
    """Compare the exported weights with what the torch model says they must be.

    * every initializer is finite and float32 (or int64 for shape constants);
    * no initializer is also listed as a graph input;
    * each Conv/Gemm node, in graph order, carries the weights of the matching
      torch layer - folded with the following BatchNorm when the exporter fused
      it (eval-mode export fuses Conv+BN), untouched otherwise;
    * each BatchNormalization node carries the torch BN's affine params and
      running statistics.
    Returns a short summary for the manifest.
    """
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    graph_inputs = {i.name for i in proto.graph.input}
    for name, arr in inits.items():
        if name in graph_inputs:
            raise AssertionError(f"initializer {name} is also a graph input")
        if arr.dtype not in (np.float32, np.int64):
            raise AssertionError(f"initializer {name} has dtype {arr.dtype}")
        if arr.dtype == np.float32 and not np.all(np.isfinite(arr)):
            raise AssertionError(f"initializer {name} has non-finite values")

    # Identity nodes whose input is an initializer alias that initializer.
    # (The constant folder dedups identical tensors this way.)
    alias = {}
    for n in proto.graph.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            alias[n.output[0]] = n.input[0]

    def tensor(name):
        return inits[alias.get(name, name)]

    calls = _execution_order(model, example)
    # Pair each weight layer with the BN that consumes its output, if any.
    layers = []
    for i, (mod, inp, out) in enumerate(calls):
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            continue
        bn = None
        if i + 1 < len(calls):
            nxt_mod, nxt_inp, _ = calls[i + 1]
            if isinstance(nxt_mod, (nn.BatchNorm1d, nn.BatchNorm2d)) and nxt_inp is out:
                bn = nxt_mod
        layers.append((mod, bn))

    consumers = {}
    for n in proto.graph.node:
        for x in n.input:
            consumers.setdefault(x, []).append(n)

    weight_nodes = [n for n in proto.graph.node if n.op_type in ("Conv", "Gemm")]
    if len(weight_nodes) != len(layers):
        raise AssertionError(f"{len(weight_nodes)} Conv/Gemm nodes vs {len(layers)} torch layers")

    worst = 0.0
    fused = 0
    bn_nodes_checked = 0
    for node, (mod, bn) in zip(weight_nodes, layers):
        w = mod.weight.detach().double().numpy()
        b = (mod.bias.detach().double().numpy() if mod.bias is not None
             else np.zeros(w.shape[0]))
        next_ops = [c.op_type for c in consumers.get(node.output[0], [])]
        if bn is not None and "BatchNormalization" not in next_ops:
            # The exporter folded BN into this layer.
            if node.op_type != "Conv":
                raise AssertionError("BN folded into a non-Conv node")
            g = bn.weight.detach().double().numpy()
            beta = bn.bias.detach().double().numpy()
            mu = bn.running_mean.detach().double().numpy()
            var = bn.running_var.detach().double().numpy()
            s = g / np.sqrt(var + bn.eps)
            w = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
            b = (b - mu) * s + beta
            fused += 1
        got_w = tensor(node.input[1]).astype(np.float64)
        got_b = tensor(node.input[2]).astype(np.float64) if len(node.input) > 2 else np.zeros_like(b)
        if node.op_type == "Gemm":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("transB", 0) != 1:
                got_w = got_w.T
        if got_w.shape != w.shape or got_b.shape != b.shape:
            raise AssertionError(f"{node.name}: shape {got_w.shape} vs {w.shape}")
        scale = max(1e-3, float(np.abs(w).max()))
        err = max(float(np.abs(got_w - w).max()), float(np.abs(got_b - b).max())) / scale
        worst = max(worst, err)
        if err > 1e-5:
            raise AssertionError(f"{node.name}: weights differ from torch (rel err {err:g})")
        if bn is not None and "BatchNormalization" in next_ops:
            bn_node = [c for c in consumers[node.output[0]] if c.op_type == "BatchNormalization"][0]
            expect = [bn.weight, bn.bias, bn.running_mean, bn.running_var]
            for nm, ref in zip(bn_node.input[1:], expect):
                if not np.array_equal(tensor(nm), ref.detach().numpy()):
                    raise AssertionError(f"BN input {nm} differs from torch")
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in bn_node.attribute}
            if abs(attrs.get("epsilon", 1e-5) - bn.eps) > 1e-9:
                raise AssertionError("BN epsilon differs")
            bn_nodes_checked += 1

    n_float = sum(int(a.size) for a in inits.values() if a.dtype == np.float32)
    return {
        "initializer_count": len(inits),
        "initializer_float_values": n_float,
        "initializer_bytes": int(sum(a.nbytes for a in inits.values())),
        "conv_bn_pairs_fused_by_exporter": fused,
        "batchnorm_nodes_kept": bn_nodes_checked,
        "identity_aliases": len(alias),
        "max_rel_weight_error_vs_torch": worst,
    }


# ------------------------------------------------------------- verification

def verify_outputs(model: nn.Module, proto: onnx.ModelProto, inputs: np.ndarray,
                   expected: np.ndarray, per_row_check: bool = True) -> dict:
    """Three independent looks at the expected logits.

    1. torch again, one row at a time (batch 1): must agree closely with the
       batched numbers that were written;
    2. the expected CSV values must equal the float32 torch output bit-exactly
       after the text round trip (checked by the caller via check_roundtrip);
    3. the exported ONNX graph itself, executed by the small numpy reference
       interpreter in float64: must agree to float32 tolerance. This is the
       only check that looks at the .onnx file rather than the torch module.
    """
    model.eval()
    x = torch.from_numpy(inputs)
    result = {}
    if per_row_check:
        with torch.no_grad():
            rows = torch.cat([model(x[i:i + 1]) for i in range(x.shape[0])]).numpy()
        result["max_abs_diff_torch_batch1_vs_batched"] = float(np.abs(rows - expected).max())
        if not np.allclose(rows, expected, rtol=1e-4, atol=1e-5):
            raise AssertionError("torch batch-1 outputs disagree with batched outputs")
    ref = onnx_numpy_ref.run(proto, {"input": inputs.astype(np.float64)})["logits"]
    diff = float(np.abs(ref - expected).max())
    scale = max(1.0, float(np.abs(expected).max()))
    result["max_abs_diff_onnx_numpy_ref_vs_expected"] = diff
    result["onnx_numpy_ref_argmax_agreement"] = float(np.mean(ref.argmax(1) == expected.argmax(1)))
    if diff > 1e-4 * scale:
        raise AssertionError(f"ONNX reference run disagrees with torch: {diff:g}")
    return result


# ------------------------------------------------------------------ manifest

def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_entry(path: Path) -> dict:
    return {"bytes": path.stat().st_size, "sha256": sha256(path)}


def _to_json(v, indent=0):
    """json.dumps-like, but lists of scalars stay on one line (easier to read)."""
    pad = "  " * (indent + 1)
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = [f"{pad}{json.dumps(str(k))}: {_to_json(x, indent + 1)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(v, (list, tuple)):
        if all(not isinstance(x, (dict, list, tuple)) for x in v):
            return "[" + ", ".join(json.dumps(x) for x in v) + "]"
        items = [pad + _to_json(x, indent + 1) for x in v]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(v)


def write_manifest(path: Path, data: dict) -> None:
    text = _to_json(data) + "\n"
    json.loads(text)  # must still be valid JSON
    path.write_text(text, encoding="ascii", newline="\n")


def env_info() -> dict:
    import sklearn
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
    }


def human_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
