#!/usr/bin/env python3
"""Run the shipped ONNX models on sample photos, driven by their model.toml
manifests, and print what they find. It is the Python reference for the Rust
pre/post-processing (onnxruntime + numpy + Pillow only).

  check_models.py [--models-dir models] [--resize stretch|letterbox] IMAGE...

Sample photos: Debian package `darknet` ships dog.jpg, eagle.jpg, person.jpg,
horses.jpg (... /usr/share/darknet/data/), see reproduce.sh.

Pre-processing (both models): decode to RGB 8-bit, resize to the manifest's
width x height with bilinear filtering,
  * stretch:   plain resize to width x height (aspect ratio not kept);
  * letterbox: scale r = min(W/w, H/h), resized image of round(w*r) x round(h*r)
               pasted at offset ((W-nw)//2, (H-nh)//2), border pixels 0 (black)
               as in NanoDet's warp (cv2.warpPerspective default border);
then reorder channels to `color`, apply (pixel - mean) / std per channel, and
lay out as `layout` (NCHW or NHWC).

NanoDet decoding, for each head (stride s, grid g = W/s, N = g*g cells,
cell i at row i // g, column i % g):
  centre  = ((col + 0.5) * s, (row + 0.5) * s)
  scores  = scores output [N, C] (already sigmoid)
  dist    = boxes output [N, 4*(reg_max+1)], sides in order left, top, right,
            bottom, each a softmax over reg_max+1 bins; distance =
            sum(p_k * k) * s
  box     = (cx - l, cy - t, cx + r, cy + b) in network-input pixels
then per-class NMS (IoU 0.6) and mapping back to the original image.
"""
import argparse
import os
import sys
import time
import tomllib

import numpy as np
import onnxruntime as ort
from PIL import Image


def load_manifest(folder):
    with open(os.path.join(folder, "model.toml"), "rb") as f:
        m = tomllib.load(f)
    allowed_top = {"name", "task", "file", "sha256", "licence", "source", "input", "output", "groups"}
    unknown = set(m) - allowed_top
    assert not unknown, unknown
    return m


def sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def preprocess(img, inp, resize):
    W, H = inp["width"], inp["height"]
    w, h = img.size
    if resize == "stretch":
        canvas = img.resize((W, H), Image.BILINEAR)
        sx, sy, dx, dy = W / w, H / h, 0, 0
    elif resize == "letterbox":
        r = min(W / w, H / h)
        nw, nh = max(1, round(w * r)), max(1, round(h * r))
        canvas = Image.new("RGB", (W, H), (0, 0, 0))
        dx, dy = (W - nw) // 2, (H - nh) // 2
        canvas.paste(img.resize((nw, nh), Image.BILINEAR), (dx, dy))
        sx, sy = nw / w, nh / h
    else:
        raise ValueError(resize)
    a = np.asarray(canvas, dtype=np.float32)  # H, W, RGB
    if inp["color"] == "BGR":
        a = a[:, :, ::-1]
    a = (a - np.array(inp["mean"], np.float32)) / np.array(inp["std"], np.float32)
    if inp["layout"] == "NCHW":
        a = a.transpose(2, 0, 1)
    return np.ascontiguousarray(a[None]), (sx, sy, dx, dy)


def iou(a, b):
    x1 = np.maximum(a[0], b[:, 0]); y1 = np.maximum(a[1], b[:, 1])
    x2 = np.minimum(a[2], b[:, 2]); y2 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def nms(boxes, scores, thr):
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[iou(boxes[i], boxes[rest]) <= thr]
    return keep


def decode_nanodet(outs, m, score_thr, nms_thr):
    inp, out = m["input"], m["output"]
    nb = out["reg_max"] + 1
    all_boxes, all_scores, all_cls = [], [], []
    for head in out["heads"]:
        s = head["stride"]
        scores = outs[head["scores"]][0]
        dist = outs[head["boxes"]][0]
        gw = inp["width"] // s
        n = scores.shape[0]
        idx = np.arange(n)
        cx = (idx % gw + 0.5) * s
        cy = (idx // gw + 0.5) * s
        d = dist.reshape(n, 4, nb)
        d = np.exp(d - d.max(axis=2, keepdims=True))
        d /= d.sum(axis=2, keepdims=True)
        d = (d * np.arange(nb, dtype=np.float32)).sum(axis=2) * s
        boxes = np.stack([cx - d[:, 0], cy - d[:, 1], cx + d[:, 2], cy + d[:, 3]], axis=1)
        cls = scores.argmax(axis=1)
        best = scores[idx, cls]
        sel = best >= score_thr
        all_boxes.append(boxes[sel]); all_scores.append(best[sel]); all_cls.append(cls[sel])
    boxes = np.concatenate(all_boxes); scores = np.concatenate(all_scores); cls = np.concatenate(all_cls)
    dets = []
    for c in np.unique(cls):
        sel = np.where(cls == c)[0]
        for k in nms(boxes[sel], scores[sel], nms_thr):
            dets.append((int(c), float(scores[sel][k]), boxes[sel][k]))
    dets.sort(key=lambda t: -t[1])
    return dets


def to_image_coords(box, geom, w, h):
    sx, sy, dx, dy = geom
    x1 = (box[0] - dx) / sx; x2 = (box[2] - dx) / sx
    y1 = (box[1] - dy) / sy; y2 = (box[3] - dy) / sy
    return (min(max(x1, 0), w), min(max(y1, 0), h), min(max(x2, 0), w), min(max(y2, 0), h))


def session(folder, m):
    path = os.path.join(folder, m["file"])
    got = sha256(path)
    if got != m["sha256"]:
        print("WARNING: %s sha256 %s != manifest %s" % (path, got, m["sha256"]))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def softmax(logits):
    z = logits.astype(np.float64)
    p = np.exp(z - z.max())
    return p / p.sum()


def timed_run(sess, feeds, reps):
    sess.run(None, feeds)  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        res = sess.run(None, feeds)
    return res, (time.perf_counter() - t0) / reps * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models-dir", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--detector", default="nanodet-g-coco")
    ap.add_argument("--classifier", default="efficientnet-lite0")
    ap.add_argument("--resize", choices=["stretch", "letterbox"], help="override the manifests")
    ap.add_argument("--score", type=float, default=0.35)
    ap.add_argument("--nms", type=float, default=0.6)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--crops", action="store_true",
                    help="also classify each detection's box crop with the classifier")
    ap.add_argument("images", nargs="+")
    a = ap.parse_args()

    dfolder = os.path.join(a.models_dir, a.detector)
    cfolder = os.path.join(a.models_dir, a.classifier)
    dm, cm = load_manifest(dfolder), load_manifest(cfolder)
    dnames = open(os.path.join(dfolder, dm["output"]["classes_file"])).read().splitlines()
    cnames = open(os.path.join(cfolder, cm["output"]["classes_file"])).read().splitlines()
    dsess, csess = session(dfolder, dm), session(cfolder, cm)
    dout = [o.name for o in dsess.get_outputs()]

    for path in a.images:
        img = Image.open(path).convert("RGB")
        w, h = img.size
        print("== %s (%dx%d)" % (os.path.basename(path), w, h))

        resize = a.resize or dm["input"]["resize"]
        x, geom = preprocess(img, dm["input"], resize)
        res, ms = timed_run(dsess, {dm["input"]["name"]: x}, a.reps)
        outs = dict(zip(dout, res))
        dets = decode_nanodet(outs, dm, a.score, a.nms)
        print("  detector %s, resize=%s, %.1f ms/inference" % (dm["name"], resize, ms))
        for c, s, b in dets:
            x1, y1, x2, y2 = to_image_coords(b, geom, w, h)
            line = "    %-14s %.3f  box %4.0f %4.0f %4.0f %4.0f" % (dnames[c], s, x1, y1, x2, y2)
            if a.crops and x2 - x1 >= 8 and y2 - y1 >= 8:
                crop = img.crop((round(x1), round(y1), round(x2), round(y2)))
                cx, _ = preprocess(crop, cm["input"], cm["input"]["resize"])
                p = softmax(csess.run(None, {cm["input"]["name"]: cx})[0][0])
                k = int(np.argmax(p))
                line += "  | crop: %s %.2f; %s" % (cnames[k].split(",")[0], p[k], ", ".join(
                    "%s=%.2f" % (g, p[idx].sum()) for g, idx in cm.get("groups", {}).items()))
            print(line)

        resize = a.resize or cm["input"]["resize"]
        x, _ = preprocess(img, cm["input"], resize)
        (logits,), ms = timed_run(csess, {cm["input"]["name"]: x}, a.reps)
        p = softmax(logits[0])
        print("  classifier %s, resize=%s, %.1f ms/inference" % (cm["name"], resize, ms))
        for k in np.argsort(-p)[:5]:
            print("    %3d %.3f  %s" % (k, p[k], cnames[k]))
        groups = cm.get("groups", {})
        print("    groups: " + ", ".join("%s=%.3f" % (g, p[idx].sum()) for g, idx in groups.items()))


if __name__ == "__main__":
    sys.exit(main())
