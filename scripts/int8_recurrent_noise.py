#!/usr/bin/env python3
"""How sensitive a GRU/LSTM model is to its int8 rounding (docs/compression.md, "Recurrent
weights"): the test accuracy of the f32 model with only `weights_ih`, then only
`weights_hh`, replaced by the int8 model's dequantized values, and with both matrices
plus uniform noise of ± half a scale step per column (max |w| / 127, as the int8 scheme),
full and a quarter of it, 5 draws each. The first recurrent layer of the first encoder.

Usage: scripts/int8_recurrent_noise.py F32.json INT8.json TEST.csv
Needs numpy; the binary is $CSVNN, else target/release/csvnn. The scales are decoded as
base · 2^(-k/16) in numpy (csvnn's table may differ by an ulp).
"""

import base64
import copy
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CSVNN", os.path.join(ROOT, "target", "release", "csvnn"))


def recurrent(model):
    return model["network"]["layers"][0]["branches"][0]["encoder"]["layers"][0]


def dequantized(block, rows, cols):
    q = np.frombuffer(base64.b64decode(block["weights"]), dtype=np.int8).reshape(rows, cols)
    k = np.frombuffer(base64.b64decode(block["scale_codes"]), dtype=np.uint8)
    scales = (np.float32(block["scale_base"]) * np.exp2(-k.astype(np.float64) / 16)).astype(np.float32)
    return q.astype(np.float32) * scales


def accuracy(model, test, work):
    path = os.path.join(work, "m.json")
    with open(path, "w") as f:
        json.dump(model, f)
    out = subprocess.run([BIN, "--quiet", "evaluate", "--model", path, "--data", test,
                          "--format", "json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["accuracy"]


def main(f32_path, int8_path, test):
    f32, int8 = json.load(open(f32_path)), json.load(open(int8_path))
    layer, q = recurrent(f32), recurrent(int8)
    rows = {"weights_ih": layer["channels"], "weights_hh": layer["hidden"]}
    gh = len(layer["bias_ih"])
    with tempfile.TemporaryDirectory() as work:
        print(f"f32: {accuracy(f32, test, work)}")
        for name in rows:
            model = copy.deepcopy(f32)
            recurrent(model)[name] = dequantized(q["int8_" + name], rows[name], gh).ravel().tolist()
            print(f"only {name} int8: {accuracy(model, test, work)}")
        for fraction in (1.0, 0.25):
            scores = []
            for seed in range(1, 6):
                rng = np.random.default_rng(seed)
                model = copy.deepcopy(f32)
                for name in rows:
                    w = np.array(layer[name], dtype=np.float32).reshape(rows[name], gh)
                    step = np.abs(w).max(axis=0) / 127
                    noise = rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32)
                    recurrent(model)[name] = (w + noise * step * fraction).ravel().tolist()
                scores.append(accuracy(model, test, work))
            print(f"noise x {fraction}: {', '.join(map(str, scores))}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
