#!/usr/bin/env python3
"""Score a CSV file with a csvnn ONNX graph (raw inputs): python3 score_onnx.py MODEL.onnx
DATA.csv > predictions.csv. Needs numpy and onnxruntime only (docs/cli.md, `csvnn export`)."""
import csv
import datetime
import json
import sys

import numpy as np
import onnxruntime as ort


def unix_seconds(cell):
    # ISO 8601, as csvnn reads dates; without a zone the time is UTC.
    d = datetime.datetime.fromisoformat(cell.replace("Z", "+00:00"))
    return (d if d.tzinfo else d.replace(tzinfo=datetime.timezone.utc)).timestamp()


def feeds(session, rows):
    meta = session.get_modelmeta().custom_metadata_map
    out = {}
    for col in json.loads(meta["csvnn.columns"]):
        cells = [row[col["name"]].strip() for row in rows]  # csvnn trims cells
        if col["elem_type"] == "string":  # categorical, ordinal: the graph knows the NA values
            out[col["name"]] = np.array(cells, dtype=object).reshape(-1, 1)
        elif col["kind"] == "text":
            sys.exit("text columns need token ids: see docs/text-dates-series.md")
        else:  # numeric, series: the number; date: Unix seconds; NaN = missing
            missing = {"", "NA", "N/A", "NaN", "nan", "null"}  # csvnn's default NA values
            value = unix_seconds if col["kind"] == "date" else float
            out[col["name"]] = np.array(
                [[np.nan if c in missing else value(c)] for c in cells], dtype=np.float64)
    return out, meta


def main(model_path, csv_path):
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    inputs, meta = feeds(session, rows)
    names = [o.name for o in session.get_outputs()]
    results = dict(zip(names, session.run(None, inputs)))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if "label" in results:  # classification: the label, then one probability per label
        labels = json.loads(meta["csvnn.labels"])
        writer.writerow(["prediction"] + [f"proba_{label}" for label in labels])
        for label, probs in zip(results["label"], results["probabilities"]):
            writer.writerow([label] + [repr(float(p)) for p in probs])
    else:  # regression: the value in the target's units
        writer.writerow(["prediction"])
        writer.writerows([[repr(float(v))] for v in results["prediction"][:, 0]])


if __name__ == "__main__":
    main(*sys.argv[1:3])
