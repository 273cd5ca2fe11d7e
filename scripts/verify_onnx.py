#!/usr/bin/env python3
"""Check that `csvnn export --format onnx --inputs encoded` computes what csvnn computes
(raw inputs, the default: scripts/verify_onnx_raw.py).

For each case: train a model on a real train split from ../shared/data (or data/), export
it to ONNX, build the graph's input from the test split by the layout stored in the file's
metadata (`csvnn.inputs`: numeric columns in raw units, NaN for missing; categorical
columns one-hot; ordinal columns the level's index; date columns their encoded parts;
series values raw, NaN for padding; text columns token ids, tokenised here as csvnn does
with the vocabulary of `csvnn.text.<column>`), run onnxruntime, and compare with
`csvnn predict --proba` (class probabilities) or `csvnn predict` (regression values).
Prints the largest absolute difference per case and fails (exit 1) when one exceeds 1e-5.

The sequence cases (series with GRU/LSTM encoders, text with bag and GRU encoders, text
with a date, attention) train for a few epochs only: agreement, not accuracy, is checked.
A case whose export fails (attention, while its nodes are not exported) prints
"skipped: ..." and does not count.
A case whose name ends in `_int8` is compressed (`compress --int8`) after training and
the int8 model is checked (GRU/LSTM weights int8, dequantized in the graph).

Needs: pip install onnxruntime numpy (not run in CI). The binary is $CSVNN, else
target/release/csvnn, else target/debug/csvnn.

Usage: scripts/verify_onnx.py [--data-dir ../shared/data] [--extra-model MODEL TEST.csv]

A CNN model (the train CLI has no conv flags yet) comes from the Fashion-MNIST example:
    python3 scripts/fashion_mnist.py
    cargo run --release --example fashion_cnn -- data/large/fashion_mnist/train.csv \
        data/large/fashion_mnist/test.csv --mlp-epochs 0 --cnn-epochs 2 --save-cnn cnn.json
    scripts/verify_onnx.py --extra-model cnn.json data/large/fashion_mnist/test.csv
"""

import argparse
import csv
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile
import unicodedata

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NA = {"", "NA", "N/A", "NaN", "nan", "null"}
TOLERANCE = 1e-5

# (name, target, extra train flags)
CASES = [
    ("satellite", "classes", []),
    ("auto_mpg", "mpg", ["--drop", "name", "--categorical", "origin"]),
    ("chile_vote", "vote", ["--categorical", "region,sex,education"]),
]

# (case name, dataset, target, train flags): sequence and text models, few epochs.
JV = ["--sequence-shape", "25x12"]
TWEETS_TEXT = ["--drop", "created_at", "--max-tokens", "60"]
SEQUENCE_CASES = [
    # Not a sequence: a categorical column capped by --max-categories has an "other" input.
    ("chile_vote_capped", "chile_vote", "vote",
     ["--categorical", "region,sex,education", "--max-categories", "3"]),
    ("japanesevowels_gru", "japanesevowels", "label", JV + ["--rnn", "gru:16"]),
    ("japanesevowels_lstm", "japanesevowels", "label", JV + ["--rnn", "lstm:32", "--pool", "max"]),
    ("japanesevowels_gru_lstm_mean", "japanesevowels", "label",
     JV + ["--rnn", "gru:8,lstm:8", "--pool", "mean"]),
    ("basicmotions_gru", "basicmotions", "label", ["--sequence-shape", "100x6", "--rnn", "gru:16"]),
    ("tweets_bag", "tweets", "source", TWEETS_TEXT),
    ("tweets_bag_ngrams", "tweets", "source", TWEETS_TEXT + ["--ngrams", "2", "--ngram-buckets", "500"]),
    ("tweets_gru", "tweets", "source",
     TWEETS_TEXT + ["--text-encoder", "gru", "--embedding-dim", "16"]),
    ("tweets_lstm", "tweets", "source",
     TWEETS_TEXT + ["--text-encoder", "lstm", "--rnn", "lstm:16", "--embedding-dim", "16"]),
    ("tweets_bag_date", "tweets", "source", ["--max-tokens", "60"]),
    ("japanesevowels_attention", "japanesevowels", "label", JV + ["--attention", "2:16"]),
    ("basicmotions_attention", "basicmotions", "label", ["--sequence-shape", "100x6"]),
    ("tweets_attention", "tweets", "source",
     TWEETS_TEXT + ["--text-encoder", "attention", "--embedding-dim", "16"]),
    ("japanesevowels_attention_2_blocks_gru", "japanesevowels", "label",
     JV + ["--rnn", "gru:8", "--attention", "4:16:2"]),
    ("arrowhead_default_flatten", "arrowhead", "label", ["--sequence-shape", "251x1"]),
    ("japanesevowels_gru_flatten", "japanesevowels", "label",
     JV + ["--rnn", "gru:8", "--pool", "flatten"]),
    # compress --int8 after training: int8 GRU/LSTM weights dequantized in the graph.
    ("japanesevowels_gru_int8", "japanesevowels", "label", JV + ["--rnn", "gru:16"]),
    ("japanesevowels_lstm_int8", "japanesevowels", "label",
     JV + ["--rnn", "lstm:32", "--pool", "max"]),
    ("japanesevowels_gru_lstm_mean_int8", "japanesevowels", "label",
     JV + ["--rnn", "gru:8,lstm:8", "--pool", "mean"]),
    ("basicmotions_gru_int8", "basicmotions", "label",
     ["--sequence-shape", "100x6", "--rnn", "gru:16"]),
    ("tweets_lstm_int8", "tweets", "source",
     TWEETS_TEXT + ["--text-encoder", "lstm", "--rnn", "lstm:16", "--embedding-dim", "16"]),
]


def csvnn_binary():
    if os.environ.get("CSVNN"):
        return os.environ["CSVNN"]
    for profile in ("release", "debug"):
        path = os.path.join(ROOT, "target", profile, "csvnn")
        if os.path.exists(path):
            return path
    sys.exit("verify_onnx.py: build csvnn first (cargo build --release) or set CSVNN")


def run(*args):
    subprocess.run([csvnn_binary(), "--quiet", *args], check=True)


def is_alphanumeric(ch):
    """Rust's char::is_alphanumeric, nearly: Unicode letters and numbers (Rust's
    Alphabetic property also takes a few combining marks, Other_Alphabetic, which
    unicodedata cannot tell; none occur in the tweets)."""
    return unicodedata.category(ch)[0] in "LN"


def tokenize(text):
    """csvnn's tokenizer: lowercase, split on every character that is not alphanumeric."""
    words, word = [], []
    for ch in text.lower():
        if is_alphanumeric(ch):
            word.append(ch)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    return words


def fnv1a(data):
    """64-bit FNV-1a."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def token_ids(cell, text):
    """A cell's ids as csvnn's TextColumn::ids gives them (`text`: csvnn.text.<column>)."""
    if "ids" not in text:
        text["ids"] = {w: i + 1 for i, w in enumerate(text["vocabulary"])}
    most = text["max_tokens"]
    words = tokenize(cell)[:most] if cell is not None else []
    ids = [text["ids"].get(w, 0) for w in words]
    first = len(text["vocabulary"]) + 1
    for n in range(2, text["ngrams"] + 1):
        for i in range(len(words) - n + 1):
            if len(ids) == most:
                break
            ids.append(first + fnv1a(" ".join(words[i:i + n]).encode()) % text["ngram_buckets"])
    return ids or [0]


def date_parts(cell, year_mean, year_std):
    """A date's encoded parts, by name, as csvnn computes them (ISO 8601 cells, UTC)."""
    d = datetime.datetime.fromisoformat(cell)
    if d.tzinfo is not None:
        d = d.astimezone(datetime.timezone.utc)
    days = 366.0 if (d.year % 4 == 0 and d.year % 100 != 0) or d.year % 400 == 0 else 365.0
    hour = d.hour + d.minute / 60.0 + (d.second + d.microsecond / 1e6) / 3600.0
    yday = d.timetuple().tm_yday
    year = d.year + ((yday - 1) + hour / 24.0) / days

    def cycle(value, period):
        angle = math.tau * value / period
        return math.sin(angle), math.cos(angle)

    parts = {"year": (year - year_mean) / year_std}
    for name, value, period in [("month", d.month - 1, 12.0), ("weekday", d.weekday(), 7.0),
                                ("yearday", yday - 1, days), ("hour", hour, 24.0)]:
        parts[name + "_sin"], parts[name + "_cos"] = cycle(value, period)
    return parts


def onnx_inputs(session, test_csv):
    """The graph's input matrix for the rows of test_csv, by the stored layout."""
    meta = session.get_modelmeta().custom_metadata_map
    layout = json.loads(meta["csvnn.inputs"])
    texts = {k[len("csvnn.text."):]: json.loads(v) for k, v in meta.items()
             if k.startswith("csvnn.text.")}
    with open(test_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    x = np.full((len(rows), len(layout)), np.nan, dtype=np.float32)
    categories = {}
    for i, row in enumerate(rows):
        ids, dates = {}, {}
        for slot in layout:
            cell = row[slot["column"]].strip()
            missing = cell in NA
            kind, at = slot["kind"], slot["index"]
            if kind in ("numeric", "series"):
                x[i, at] = np.nan if missing else float(cell)
            elif kind == "ordinal":
                levels = slot["levels"]
                x[i, at] = levels.index(cell) if cell in levels else np.nan
            elif kind == "categorical":
                value = slot["impute"] if missing else cell
                if slot.get("other"):  # every value without an input of its own
                    named = categories.setdefault(slot["column"], {
                        s["category"] for s in layout
                        if s["column"] == slot["column"] and "category" in s})
                    x[i, at] = 0.0 if value in named else 1.0
                else:
                    x[i, at] = 1.0 if value == slot["category"] else 0.0
            elif kind == "date":
                if missing:
                    continue  # NaN: the graph imputes
                if slot["part"] == "year":
                    dates[slot["column"]] = date_parts(cell, slot["mean"], slot["std"])
                x[i, at] = dates[slot["column"]][slot["part"]]
            elif kind == "token_ids":
                column = slot["column"]
                if column not in ids:
                    raw = row[column]
                    ids[column] = token_ids(None if raw.strip() in NA else raw, texts[column])
                if slot["position"] < len(ids[column]):
                    x[i, at] = ids[column][slot["position"]]
            else:
                sys.exit(f"verify_onnx.py: unknown input kind {kind}")
    return x, meta


def compare(model, test_csv, workdir, name, may_skip=False):
    onnx_path = os.path.join(workdir, name + ".onnx")
    export = subprocess.run([csvnn_binary(), "--quiet", "export", "--model", model, "--format",
                             "onnx", "--inputs", "encoded", "-o", onnx_path],
                            capture_output=True, text=True)
    if export.returncode != 0:
        if may_skip:
            print(f"{name}: skipped: {export.stderr.strip()}")
            return 0.0
        sys.exit(f"verify_onnx.py: {name}: export failed: {export.stderr.strip()}")
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    x, meta = onnx_inputs(session, test_csv)
    (out,) = session.run(None, {"input": x})
    predictions = os.path.join(workdir, name + ".predictions.csv")
    classification = meta["csvnn.task"] == "classification"
    run("predict", "--model", model, "--data", test_csv, "-o", predictions,
        *(["--proba"] if classification else []))
    with open(predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    if classification:
        labels = json.loads(meta["csvnn.labels"])
        expected = np.array([[float(r[f"proba_{l}"]) for l in labels] for r in rows])
    else:
        expected = np.array([[float(r["prediction"])] for r in rows])
    diff = np.abs(out.astype(np.float64) - expected)
    worst = float(diff.max())
    what = "probabilities" if classification else "values"
    scale = float(np.abs(expected).max())
    opset = onnx_opset(onnx_path)
    print(f"{name}: {len(rows)} test rows, {out.shape[1]} {what} per row (largest |value| "
          f"{scale:.4g}, opset {opset}): max abs difference onnxruntime vs csvnn = {worst:.3g}")
    return worst


def onnx_opset(path):
    """The default-domain opset of an ONNX file (the onnx package when installed)."""
    try:
        import onnx
    except ImportError:
        return "?"
    model = onnx.load(path)
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data"))
    parser.add_argument("--epochs", default="30")
    parser.add_argument("--sequence-epochs", default="2")
    parser.add_argument("--only", default=None,
                        help="run only the cases whose name contains this text")
    parser.add_argument("--extra-model", nargs=2, metavar=("MODEL", "TEST_CSV"), action="append",
                        default=[], help="also check an existing model on a test file")
    args = parser.parse_args()
    worst = 0.0
    with tempfile.TemporaryDirectory() as workdir:
        for name, target, flags in CASES:
            if args.only and args.only not in name:
                continue
            train = os.path.join(args.data_dir, f"{name}.train.csv")
            test = os.path.join(args.data_dir, f"{name}.test.csv")
            model = os.path.join(workdir, name + ".json")
            run("train", "--data", train, "--target", target, "-o", model,
                "--epochs", args.epochs, *flags)
            worst = max(worst, compare(model, test, workdir, name))
        for name, dataset, target, flags in SEQUENCE_CASES:
            if args.only and args.only not in name:
                continue
            train = os.path.join(args.data_dir, f"{dataset}.train.csv")
            test = os.path.join(args.data_dir, f"{dataset}.test.csv")
            model = os.path.join(workdir, name + ".json")
            run("train", "--data", train, "--target", target, "-o", model,
                "--epochs", args.sequence_epochs, "--seed", "1", *flags)
            if name.endswith("_int8"):
                trained, model = model, os.path.join(workdir, name + ".int8.json")
                subprocess.run([csvnn_binary(), "--quiet", "compress", "--int8", "--model",
                                trained, "-o", model], check=True, stdout=subprocess.DEVNULL)
            worst = max(worst, compare(model, test, workdir, name, may_skip="attention" in name))
        for i, (model, test) in enumerate(args.extra_model):
            worst = max(worst, compare(model, test, workdir, os.path.basename(model).rsplit(".", 1)[0] or f"extra{i}"))
    print(f"largest difference over all cases: {worst:.3g} (tolerance {TOLERANCE})")
    sys.exit(0 if worst <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
