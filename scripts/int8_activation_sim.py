#!/usr/bin/env python3
"""How csvnn's per-row dynamic activation scales (docs/compression.md, "The scheme") compare
with the usual alternatives, on a dense csvnn model (MLP): a numpy forward pass of an f32
model file with its dense layers quantized as `compress --int8` does (int8 weights per
output column with 1-byte scale codes, half-to-even rounding; layers with fewer than 32
inputs or 8 outputs on the f32 product: dequantized weights, inputs not quantized, as
`compress::product_for`), and the inputs of the int8-product layers scaled

- per row: each row's own max |x| / 127 (csvnn's scheme),
- per batch: one scale per 1,024-row chunk (predict's chunk size), per layer input,
- calibrated: one static scale per layer input from the f32 network's activations on the
  first N training rows (max |x|, N = 1000 and every row; and the 99.9th percentile of
  |x| over those rows' values, every row), test values clipped to +-127 steps.

Prints the score (accuracy, or R2) of each against f32 as a Markdown row, and how many
test rows' per-batch outputs change when the test rows are shuffled (their chunks change).
The network inputs are encoded from the model's pipeline (cells trimmed; numeric: missing
-> mean, (v - mean) / std in f64 then f32; categorical: one-hot, unseen values all
zeros), so the f32 score is `csvnn evaluate`'s. With --int8 MODEL.int8.json the script
checks that its quantized weights, scale codes, bases and products are that file's; with
--csvnn BIN it also prints `evaluate` on both files against the f32 and per-row scores,
and `predict` on both against the simulated outputs, row by row. The f32 products are
summed in f64 and rounded once to f32, so no row depends on the rows beside it.

Usage: scripts/int8_activation_sim.py MODEL.f32.json TRAIN.csv TEST.csv
       [--int8 MODEL.int8.json] [--csvnn BIN] [--label NAME] [--header]
(numpy and pandas; not run in CI; gzip CSVs are read as such)
"""
import argparse
import base64
import json
import subprocess

import numpy as np
import pandas as pd

STEPS = np.array([2.0 ** (-i / 16) for i in range(16)], dtype=np.float32)
FACTORS = np.array([STEPS[k & 15] * np.float32(2.0 ** -(k >> 4)) for k in range(256)],
                   dtype=np.float32)
CHUNK = 1024  # predict's chunk of rows
F32_PRODUCT_INPUTS, F32_PRODUCT_OUTPUTS = 32, 8  # compress::product_for


def scale_codes(w):
    """(base, codes, decoded f32 scales) of an (n_in, n_out) f32 matrix, as
    nn::int8::scale_codes: the largest code whose scale covers the column, checked in f64."""
    m = np.abs(w).max(axis=0).astype(np.float32)
    top = m.max()
    base = np.float32(top / np.float32(127)) if top > 0 else np.float32(1)
    while float(base) * 127 < float(top):
        base = np.nextafter(base, np.float32(np.inf))
    dec = (base * FACTORS).astype(np.float32)
    ok = dec.astype(np.float64)[None, :] * 127 >= m.astype(np.float64)[:, None]
    codes = np.where(m > 0, 255 - np.argmax(ok[:, ::-1], axis=1), 0)
    return base, codes.astype(np.uint8), dec[codes]


def quantize_weights(w):
    base, codes, s = scale_codes(w)
    q = np.clip(np.round(w / s), -127, 127)  # np.round: half to even
    return q.astype(np.int8), s, base, codes


def quantize(x, s):
    """x (rows, n) f32 over scales s (rows or 1, 1) f32 -> int8 values as f64."""
    return np.clip(np.round(x / s), -127, 127).astype(np.float64)


def scale_of(m):
    m = np.asarray(m, dtype=np.float32)
    return np.where(m > 0, m / np.float32(127), np.float32(1)).astype(np.float32)


def int8_product(xq, sx, q, s):
    acc = xq @ q.astype(np.float64)  # exact: integers below 2^53
    return acc.astype(np.float32) * sx * s  # (acc s_x) s_j, in f32


def f32_product(x, w):
    """x @ w summed in f64 and rounded once to f32: a row's result does not depend on the
    rows beside it (f32 BLAS blocking would change the last bits with the batch)."""
    return (x.astype(np.float64) @ w.astype(np.float64)).astype(np.float32)


def activation(fn, v):
    if fn == "tanh":
        return np.tanh(v)
    if fn == "relu":
        return np.maximum(v, np.float32(0))
    if fn == "sigmoid":
        return (np.float32(1) / (np.float32(1) + np.exp(-v))).astype(np.float32)
    raise SystemExit(f"activation {fn} is not simulated")


class Net:
    def __init__(self, model):
        self.layers = []
        for l in model["network"]["layers"]:
            t = l["type"]
            if t == "dense":
                w = np.array(l["weights"], dtype=np.float32).reshape(l["n_in"], l["n_out"])
                b = np.array(l["bias"], dtype=np.float32)
                q, s, base, codes = quantize_weights(w)
                small = l["n_in"] < F32_PRODUCT_INPUTS or l["n_out"] < F32_PRODUCT_OUTPUTS
                self.layers.append(dict(type="dense", w=w, b=b, q=q, s=s, base=base,
                                        codes=codes, small=small,
                                        deq=(q.astype(np.float32) * s).astype(np.float32)))
            elif t == "activation":
                self.layers.append(dict(type="activation", fn=l["function"]))
            elif t == "dropout":
                continue
            else:
                raise SystemExit(f"layer {t} is not simulated (dense MLPs only)")
        self.dense = [l for l in self.layers if l["type"] == "dense"]

    def int8_layers(self, every):
        return [i for i, l in enumerate(self.dense) if every or not l["small"]]

    def forward(self, x, mode, every=False, calib=None, record=None):
        """mode: f32 | row | batch | static (calib: one scale per int8-product layer input).
        record: a list that receives each int8-product layer's input (f32 mode)."""
        d = -1
        quantized = set(self.int8_layers(every))
        for l in self.layers:
            if l["type"] == "activation":
                x = activation(l["fn"], x)
                continue
            d += 1
            if record is not None and d in quantized:
                record.append(x)
            if mode == "f32":
                x = f32_product(x, l["w"]) + l["b"]
            elif d not in quantized:  # f32 product: dequantized weights, f32 inputs
                x = f32_product(x, l["deq"]) + l["b"]
            else:
                if mode == "row":
                    sx = scale_of(np.abs(x).max(axis=1, keepdims=True))
                    xq = quantize(x, sx)
                elif mode == "batch":
                    sx = np.empty((x.shape[0], 1), dtype=np.float32)
                    for start in range(0, x.shape[0], CHUNK):
                        sx[start:start + CHUNK] = scale_of(np.abs(x[start:start + CHUNK]).max())
                    xq = quantize(x, sx)
                else:
                    sx = calib[d]
                    xq = quantize(x, sx)
                x = int8_product(xq, sx, l["q"], l["s"]) + l["b"]
        return x


def read_csv(path):
    """Every cell as text, trimmed as csvnn's reader does (ames's `WD ` is `WD`)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    return df.apply(lambda col: col.str.strip())


def encode(pipe, df):
    """csvnn's preprocess::Pipeline transform for numeric and categorical columns."""
    na = set(pipe["na_values"])
    cols = []
    for f in pipe["features"]:
        cells = df[f["name"]].to_numpy()
        if f["kind"] == "numeric":
            v = np.array([f["impute"] if (c == "" or c in na) else float(c)
                          for c in cells], dtype=np.float64)
            cols.append(((v - f["mean"]) / f["std"]).astype(np.float32)[:, None])
        elif f["kind"] == "categorical":
            if f.get("other"):
                raise SystemExit(f"column {f['name']}: an 'other' input is not simulated")
            index = {c: i for i, c in enumerate(f["categories"])}
            out = np.zeros((len(cells), len(f["categories"])), dtype=np.float32)
            for r, c in enumerate(cells):
                i = index.get(f["impute"] if (c == "" or c in na) else c)
                if i is not None:
                    out[r, i] = 1
            cols.append(out)
        else:
            raise SystemExit(f"column {f['name']}: kind {f['kind']} is not simulated")
    return np.concatenate(cols, axis=1)


def scorer(pipe, df):
    enc = pipe["target_encoder"]
    y = df[pipe["target"]].to_numpy()
    if enc["task"] == "classification":
        labels = {l: i for i, l in enumerate(enc["labels"])}
        truth = np.array([labels[v] for v in y])
        return "accuracy", lambda out: float((out.argmax(axis=1) == truth).mean())
    truth = np.array([float(v) for v in y])

    def r2(out):
        pred = out[:, 0].astype(np.float64) * enc["std"] + enc["mean"]
        return float(1 - ((truth - pred) ** 2).sum() / ((truth - truth.mean()) ** 2).sum())
    return "r2", r2


def check_int8_file(net, path):
    """The simulated weights against `compress --int8`'s file: bytes, codes, base."""
    layers = [l for l in json.load(open(path))["network"]["layers"] if l["type"].startswith("dense")]
    for i, (ours, theirs) in enumerate(zip(net.dense, layers)):
        q = np.frombuffer(base64.b64decode(theirs["weights"]), dtype=np.int8)
        codes = np.frombuffer(base64.b64decode(theirs["scale_codes"]), dtype=np.uint8)
        same = (np.array_equal(q, ours["q"].ravel()) and np.array_equal(codes, ours["codes"])
                and np.float32(theirs["scale_base"]) == ours["base"])
        product = theirs.get("product", "int8")
        if not same or (product == "f32") != ours["small"]:
            raise SystemExit(f"{path}: dense layer {i} differs from the simulation")


def evaluate(binary, model, test):
    out = subprocess.run([binary, "--quiet", "evaluate", "--model", model, "--data", test,
                          "--format", "json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def predictions(binary, model, test, classes):
    """csvnn predict's probabilities (classification) or predictions, as (rows, k) f64."""
    cmd = [binary, "--quiet", "predict", "--model", model, "--data", test]
    out = subprocess.run(cmd + (["--proba"] if classes else []), check=True,
                         capture_output=True, text=True).stdout
    df = pd.read_csv(__import__("io").StringIO(out), dtype=str, keep_default_na=False)
    cols = [c for c in df.columns if c.startswith("proba_")] if classes else ["prediction"]
    return df[cols].astype(np.float64).to_numpy()


def as_predictions(pipe, out):
    enc = pipe["target_encoder"]
    if enc["task"] == "classification":
        e = np.exp(out.astype(np.float64) - out.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return out[:, :1].astype(np.float64) * enc["std"] + enc["mean"]


def compare(binary, model, test, pipe, out, what):
    classes = pipe["target_encoder"]["task"] == "classification"
    theirs = predictions(binary, model, test, classes)
    ours = as_predictions(pipe, out)
    diff = np.abs(theirs - ours)
    scale = np.abs(theirs).max()
    print(f"  check {what} row by row (csvnn predict{' --proba' if classes else ''}): "
          f"max |difference| {diff.max():.3g} (largest |value| {scale:.3g}), "
          f"rows differing by more than 1e-5 of it: {(diff.max(axis=1) > 1e-5 * scale).sum()}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("train")
    p.add_argument("test")
    p.add_argument("--int8", default="")
    p.add_argument("--csvnn", default="")
    p.add_argument("--label", default="")
    p.add_argument("--header", action="store_true")
    a = p.parse_args()
    model = json.load(open(a.model))
    pipe = model["pipeline"]
    net = Net(model)
    test = read_csv(a.test)
    train = read_csv(a.train)
    x_test = encode(pipe, test)
    x_train = encode(pipe, train)
    metric, score = scorer(pipe, test)
    if a.int8:
        check_int8_file(net, a.int8)

    f32_out = net.forward(x_test, "f32")
    f32 = score(f32_out)
    rows = {"per row (csvnn)": score(net.forward(x_test, "row")),
            "per row, every layer int8": score(net.forward(x_test, "row", every=True)),
            "per batch": score(net.forward(x_test, "batch"))}
    for n in (1000, len(x_train)):
        acts = []
        net.forward(x_train[:n], "f32", record=acts)
        for name, stat in [("max", lambda v: np.abs(v).max()),
                           ("p99.9", lambda v: np.percentile(np.abs(v), 99.9))]:
            if name == "p99.9" and n != len(x_train):
                continue
            calib = dict(zip(net.int8_layers(False), (scale_of(stat(v)) for v in acts)))
            tag = f"calibrated {name}, {'all' if n == len(x_train) else n} train rows"
            rows[tag] = score(net.forward(x_test, "static", calib=calib))

    label = a.label or a.model
    products = ",".join("f32" if l["small"] else "int8" for l in net.dense)
    if a.header:
        print("| set, network | metric | products | f32 | " + " | ".join(rows) + " |")
        print("|---|---|---|---|" + "---|" * len(rows))
    cells = " | ".join(f"{v:.4f} ({v - f32:+.4f})" for v in rows.values())
    print(f"| {label} | {metric} | {products} | {f32:.4f} | {cells} |", flush=True)
    # A row's per-batch result depends on its chunk: the same rows, shuffled (seed 0).
    order = np.random.default_rng(0).permutation(len(x_test))
    again = np.empty_like(f32_out)
    again[order] = net.forward(x_test[order], "batch")
    moved = (again != net.forward(x_test, "batch")).any(axis=1).sum()
    print(f"  per batch, test rows shuffled: {moved} of {len(x_test)} rows' outputs change")
    if a.csvnn:
        theirs = evaluate(a.csvnn, a.model, a.test)[metric]
        print(f"  check f32: csvnn evaluate {theirs!r}, simulation {f32!r}, "
              f"difference {theirs - f32:.2e}")
        if a.int8:
            theirs8 = evaluate(a.csvnn, a.int8, a.test)[metric]
            ours8 = rows["per row (csvnn)"]
            print(f"  check int8 per row: csvnn evaluate {theirs8!r}, simulation {ours8!r}, "
                  f"difference {theirs8 - ours8:.2e}")
        compare(a.csvnn, a.model, a.test, pipe, f32_out, "f32")
        if a.int8:
            compare(a.csvnn, a.int8, a.test, pipe, net.forward(x_test, "row"), "int8 per row")


if __name__ == "__main__":
    main()
