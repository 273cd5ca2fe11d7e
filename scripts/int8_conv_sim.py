#!/usr/bin/env python3
"""What int8 conv2d weights would cost in accuracy, before csvnn has them: a numpy forward
pass of a csvnn CNN model file (f32) with its layers quantized as `compress --int8` does
(per output column/channel, 1-byte scale codes; activations per row, half-to-even
rounding), the conv layers' activations quantized per im2col row or per image. Its f32 and
int8-dense accuracies match csvnn's (`evaluate`) on the Fashion-MNIST CNN of
docs/compression.md.

Usage: scripts/int8_conv_sim.py MODEL.json TEST.csv [ROWS]   (numpy; not run in CI)
"""
import json, sys, csv
import numpy as np

STEPS = np.array([2.0 ** (-i / 16) for i in range(16)], dtype=np.float32)

def codes_scales(w):  # w (n_in, n_out) float32 -> decoded f32 scales per column
    m = np.abs(w).max(axis=0).astype(np.float32)
    top = m.max()
    base = np.float32(top / np.float32(127)) if top > 0 else np.float32(1)
    if float(base) * 127 < float(top):
        base = np.nextafter(base, np.float32(np.inf))
    fac = np.array([STEPS[k & 15] * np.float32(2.0 ** -(k >> 4)) for k in range(256)], dtype=np.float32)
    dec = (base * fac).astype(np.float32)
    s = np.empty_like(m)
    for j, mj in enumerate(m):
        ok = dec.astype(np.float64) * 127 >= float(mj)
        k = np.nonzero(ok)[0].max() if mj > 0 else 0
        s[j] = dec[k]
    return s

def qw(w):
    s = codes_scales(w)
    q = np.clip(np.round(w / s), -127, 127)  # np.round: half to even
    return q.astype(np.float32), s

def qrows(x):  # per-row dynamic
    m = np.abs(x).max(axis=1, keepdims=True)
    s = np.where(m > 0, m / np.float32(127), np.float32(1)).astype(np.float32)
    return np.clip(np.round(x / s), -127, 127), s

def int8_matmul(x, q, s):
    xq, sx = qrows(x)
    return (xq.astype(np.float64) @ q.astype(np.float64)).astype(np.float32) * sx * s

def im2col(img, h, w, c, k, stride, pad):  # img (n, h*w*c) -> (n, oh*ow, k*k*c)
    n = img.shape[0]
    x = img.reshape(n, h, w, c)
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    oh = (h + 2 * pad - k) // stride + 1
    ow = (w + 2 * pad - k) // stride + 1
    cols = np.empty((n, oh, ow, k, k, c), dtype=np.float32)
    for ky in range(k):
        for kx in range(k):
            cols[:, :, :, ky, kx, :] = x[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride, :]
    return cols.reshape(n, oh * ow, k * k * c), oh, ow

def forward(layers, x, conv_mode, dense_int8):
    for l in layers:
        t = l["type"]
        if t == "conv2d":
            i = l["input"]; k = l["kernel"]; f = l["filters"]
            W = np.array(l["weights"], dtype=np.float32).reshape(k * k * i["channels"], f)
            b = np.array(l["bias"], dtype=np.float32)
            cols, oh, ow = im2col(x, i["height"], i["width"], i["channels"], k, l["stride"], l["padding"])
            n = cols.shape[0]
            if conv_mode == "f32":
                y = cols @ W
            else:
                q, s = qw(W)
                if conv_mode == "row":
                    y = int8_matmul(cols.reshape(-1, cols.shape[2]), q, s).reshape(n, oh * ow, f)
                else:  # per image: one scale for all patches of an image
                    m = np.abs(cols).max(axis=(1, 2), keepdims=True)
                    sx = np.where(m > 0, m / np.float32(127), np.float32(1)).astype(np.float32)
                    xq = np.clip(np.round(cols / sx), -127, 127)
                    y = (xq @ q).astype(np.float32) * sx * s
            x = (y + b).reshape(n, -1)
        elif t == "dense":
            W = np.array(l["weights"], dtype=np.float32).reshape(l["n_in"], l["n_out"])
            b = np.array(l["bias"], dtype=np.float32)
            if dense_int8:
                q, s = qw(W)
                x = int8_matmul(x, q, s) + b
            else:
                x = x @ W + b
        elif t == "activation":
            fn = l["function"]
            x = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
                 "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[fn](x)
        elif t == "max_pool2d":
            i = l["input"]; p = l["size"]
            n = x.shape[0]; h, w, c = i["height"], i["width"], i["channels"]
            oh, ow = h // p, w // p
            v = x.reshape(n, h, w, c)[:, :oh * p, :ow * p, :].reshape(n, oh, p, ow, p, c)
            x = v.max(axis=(2, 4)).reshape(n, -1)
        elif t == "dropout":
            pass
        else:
            raise SystemExit(f"layer {t}")
    return x

model = json.load(open(sys.argv[1]))
pipe = model["pipeline"]
labels = pipe["target_encoder"]["labels"]
feats = pipe["features"]
rows = list(csv.DictReader(open(sys.argv[2])))[:int(sys.argv[3]) if len(sys.argv) > 3 else None]
x = np.array([[(float(r[f["name"]]) - f["mean"]) / f["std"] for f in feats] for r in rows], dtype=np.float32)
y = np.array([labels.index(r[pipe["target"]]) for r in rows])
ref = None
for name, conv, dense in [("f32", "f32", False), ("int8 dense (as compress today)", "f32", True),
                          ("int8 dense + conv, per im2col row", "row", True),
                          ("int8 dense + conv, per image", "image", True)]:
    out = forward(model["network"]["layers"], x, conv, dense)
    pred = out.argmax(axis=1)
    ref = pred if ref is None else ref
    print(f"{name}: accuracy {(pred == y).mean():.4f}, same class as f32 {(pred == ref).mean():.4f}")
