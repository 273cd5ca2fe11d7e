#!/usr/bin/env python3
"""Check `csvnn evaluate --format json` against scikit-learn metrics computed from
`csvnn predict --proba` output on real test splits (../shared/data).

Trains a model per dataset (release build), then for every metric prints csvnn's value,
scikit-learn's and their relative difference; exits 1 if one exceeds 1e-6 (log loss 1e-4).
Needs: pip install scikit-learn pandas.  Usage: scripts/check_metrics.py [DATA_DIR]
"""
import io
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
from sklearn import metrics as m

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "csvnn")
CASES = [
    ("default", "default", ["--categorical", "student"]),
    ("satellite", "classes", []),
    ("chile_vote", "vote", ["--categorical", "region,sex,education"]),
    ("auto_mpg", "mpg", ["--drop", "name", "--categorical", "origin"]),
]


def csvnn(*args):
    return subprocess.run([BIN, "--quiet", *args], check=True, capture_output=True, text=True).stdout


def reference(report, frame, target):
    y = frame[target].astype(str) if report["task"] == "classification" else frame[target]
    if report["task"] == "regression":
        pred = frame["prediction"].to_numpy(float)
        return {
            "rmse": m.root_mean_squared_error(y, pred), "mae": m.mean_absolute_error(y, pred),
            "r2": m.r2_score(y, pred), "explained_variance": m.explained_variance_score(y, pred),
            "max_error": m.max_error(y, pred),
        }
    labels = report["confusion_matrix"]["labels"]
    probs = frame[[f"proba_{label}" for label in labels]].to_numpy(float)
    pred = frame["prediction"].astype(str)
    out = {
        "accuracy": m.accuracy_score(y, pred), "balanced_accuracy": m.balanced_accuracy_score(y, pred),
        "macro_f1": m.f1_score(y, pred, average="macro", labels=labels, zero_division=0),
        "micro_f1": m.f1_score(y, pred, average="micro", labels=labels, zero_division=0),
        "weighted_f1": m.f1_score(y, pred, average="weighted", labels=labels, zero_division=0),
        "log_loss": m.log_loss(y, probs, labels=labels), "mcc": m.matthews_corrcoef(y, pred),
    }
    if len(labels) == 2:
        out["roc_auc"] = m.roc_auc_score((y == labels[1]).astype(int), probs[:, 1])
    else:
        out["roc_auc"] = m.roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=labels)
    p, r, f, s = m.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    for i, label in enumerate(labels):
        out[f"per_class.{label}.precision"] = p[i]
        out[f"per_class.{label}.recall"] = r[i]
        out[f"per_class.{label}.f1"] = f[i]
    return out


def ours(report, key):
    value = report
    for part in key.split("."):
        value = value[part] if part in value else value
    return value if not key.startswith("per_class.") else report["per_class"][key.split(".")[1]][key.split(".")[2]]


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data")
    worst = 0.0
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for name, target, flags in CASES:
            model = os.path.join(tmp, f"{name}.json")
            csvnn("train", "--data", os.path.join(data_dir, f"{name}.train.csv"), "--target", target,
                  "-o", model, "--epochs", "20", *flags)
            test = os.path.join(data_dir, f"{name}.test.csv")
            report = json.loads(csvnn("evaluate", "--model", model, "--data", test, "--format", "json"))
            extra = ["--proba"] if report["task"] == "classification" else []
            frame = pd.read_csv(io.StringIO(csvnn("predict", "--model", model, "--data", test,
                                                  "--keep", target, *extra)),
                                keep_default_na=False, dtype={target: str} if extra else None)
            if report["task"] == "regression":
                frame[target] = frame[target].astype(float)
            for key, expected in reference(report, frame, target).items():
                got = ours(report, key)
                rel = abs(got - expected) / max(abs(expected), 1e-12)
                tol = 1e-4 if key == "log_loss" else 1e-6
                worst = max(worst, rel) if key != "log_loss" else worst
                flag = "" if rel <= tol else "  <-- MISMATCH"
                failed |= rel > tol
                print(f"{name:11} {key:32} csvnn {got:.12g}  sklearn {expected:.12g}  rel {rel:.2e}{flag}")
    print(f"largest relative difference (log loss aside): {worst:.2e}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
