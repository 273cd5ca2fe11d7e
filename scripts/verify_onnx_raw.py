#!/usr/bin/env python3
"""Check that the raw-column ONNX graph (`csvnn export --format onnx`, the default
`--inputs raw`) computes from raw CSV values what `csvnn predict` computes.

For every tabular set of ../shared/data (MANIFEST.json: target, drop and categorical
columns, as scripts/defaults.py trains them) and a few extra cases (an ordinal column,
an "other" category bucket, a date and a text column): train a few epochs, export, read
the test CSV with the csv module (cells trimmed, as csvnn trims them; numbers as float,
NaN for missing; categorical and ordinal cells as strings; dates as Unix seconds; text
as token ids), run onnxruntime and compare with `csvnn predict --proba`: labels exactly,
probabilities (or regression values) by their largest absolute difference. Prints a
Markdown table and fails (exit 1) when a label differs or a difference exceeds 1e-5
(regression values: 1e-5 relative to the largest |value|).

Needs: pip install onnxruntime numpy; a csvnn binary ($CSVNN, else target/release/csvnn,
else target/debug/csvnn). Usage: scripts/verify_onnx_raw.py [--data-dir DIR] [--only NAME]
[--epochs N] [--max-rows N] (flights: the first --max-rows rows of each split).
"""

import argparse
import csv
import datetime
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_onnx import csvnn_binary, token_ids  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-5
HEATING = "Heating_QC=Poor<Fair<Typical<Good<Excellent"

# (case, dataset, extra train flags, categorical columns to leave out of the MANIFEST's)
EXTRA_CASES = [
    ("ames_ordinal", "ames", ["--ordinal", HEATING], ["Heating_QC"]),
    ("loans_other_bucket", "loans", ["--max-categories", "8"], []),
    ("tweets_text_date", "tweets", ["--max-tokens", "30"], []),
]


def run(*args):
    subprocess.run([csvnn_binary(), "--quiet", *args], check=True)


def read_rows(path, max_rows):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = []
        for row in reader:
            rows.append(row)
            if max_rows and len(rows) == max_rows:
                break
    return reader.fieldnames, rows


def write_rows(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def unix_seconds(cell):
    """An ISO 8601 date or date-time as Unix seconds (no zone: UTC)."""
    d = datetime.datetime.fromisoformat(cell.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.timestamp()


def raw_feeds(session, rows):
    """The graph's inputs for `rows` (dicts of the CSV's cells), by `csvnn.columns`."""
    meta = session.get_modelmeta().custom_metadata_map
    texts = {k[len("csvnn.text."):]: json.loads(v) for k, v in meta.items()
             if k.startswith("csvnn.text.")}
    feeds = {}
    for col in json.loads(meta["csvnn.columns"]):
        cells = [row[col["name"]].strip() for row in rows]
        if col["elem_type"] == "string":
            feeds[col["name"]] = np.array(cells, dtype=object).reshape(-1, 1)
            continue
        missing = {"", "NA", "N/A", "NaN", "nan", "null"}
        x = np.full((len(rows), col["width"]), np.nan)
        for i, cell in enumerate(cells):
            if col["kind"] == "text":
                ids = token_ids(None if cell in missing else cell, texts[col["name"]])
                x[i, :len(ids)] = ids
            elif cell in missing:
                continue
            elif col["kind"] == "date":
                x[i, 0] = unix_seconds(cell)
            else:
                x[i, 0] = float(cell)
        feeds[col["name"]] = x
    return feeds, meta


def compare(name, model, test_rows, test_csv, workdir):
    onnx_path = os.path.join(workdir, name + ".onnx")
    run("export", "--model", model, "--format", "onnx", "-o", onnx_path)
    try:
        import onnx
        onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
    except ImportError:
        pass
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    feeds, meta = raw_feeds(session, test_rows)
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    predictions = os.path.join(workdir, name + ".predictions.csv")
    classification = meta["csvnn.task"] == "classification"
    run("predict", "--model", model, "--data", test_csv, "-o", predictions,
        *(["--proba"] if classification else []))
    with open(predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    if classification:
        labels = json.loads(meta["csvnn.labels"])
        expected = np.array([[float(r[f"proba_{l}"]) for l in labels] for r in rows])
        got = outputs["probabilities"].astype(np.float64)
        agree = sum(a == r["prediction"] for a, r in zip(outputs["label"], rows))
        worst = float(np.abs(got - expected).max())
        ok = agree == len(rows) and worst <= TOLERANCE
        scale = 1.0
    else:
        expected = np.array([[float(r["prediction"])] for r in rows])
        worst = float(np.abs(outputs["prediction"] - expected).max())
        scale = float(np.abs(expected).max())
        agree = None
        ok = worst <= TOLERANCE * max(scale, 1.0)
    kinds = sorted({c["kind"] for c in json.loads(meta["csvnn.columns"])})
    what = "probabilities" if classification else \
        f"values up to {scale:.4g}: {worst / scale:.2g} relative"
    labels_text = f"{agree}/{len(rows)}" if agree is not None else "(regression)"
    print(f"| {name} | {len(rows)} | {', '.join(kinds)} | {labels_text} | {worst:.3g} | {what} |"
          f" {'ok' if ok else 'FAIL'} |", flush=True)
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data"))
    parser.add_argument("--epochs", default="5")
    parser.add_argument("--max-rows", type=int, default=20000)
    parser.add_argument("--only", default=None)
    args = parser.parse_args()
    manifest = json.load(open(os.path.join(args.data_dir, "MANIFEST.json")))["datasets"]
    cases = [(name, name, [], []) for name in manifest] + EXTRA_CASES
    print("| case | test rows | column kinds | labels equal | max abs difference | of | |")
    print("|---|---|---|---|---|---|---|")
    all_ok = True
    with tempfile.TemporaryDirectory() as workdir:
        for case, dataset, flags, not_categorical in cases:
            if args.only and args.only not in case:
                continue
            spec = manifest.get(dataset, {})
            files = spec.get("files", {"train": f"{dataset}.train.csv",
                                       "test": f"{dataset}.test.csv"})
            target = spec.get("target", "source")
            train, test = (os.path.join(args.data_dir, files[k]) for k in ("train", "test"))
            if train.endswith(".gz"):
                header, rows = read_rows(train, args.max_rows)
                train = os.path.join(workdir, f"{case}.train.csv")
                write_rows(train, header, rows)
                header, rows = read_rows(test, args.max_rows // 4)
                test = os.path.join(workdir, f"{case}.test.csv")
                write_rows(test, header, rows)
            model = os.path.join(workdir, case + ".json")
            cmd = ["train", "--data", train, "--target", target, "-o", model,
                   "--epochs", args.epochs, "--seed", "1"]
            if spec.get("drop"):
                cmd += ["--drop", ",".join(spec["drop"])]
            categorical = [c for c in spec.get("categorical", []) if c not in not_categorical]
            if categorical:
                cmd += ["--categorical", ",".join(categorical)]
            run(*cmd, *flags)
            _, test_rows = read_rows(test, 0)
            all_ok &= compare(case, model, test_rows, test, workdir)
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
