"""The peers of the bench: the same workloads in PyTorch (CPU, torch.set_num_threads from
$BENCH_TORCH_THREADS, default 2; batches sliced by hand, no DataLoader) and scikit-learn's MLP. One process per run, so that /usr/bin/time -v
sees its peak RSS. Prints one JSON object on stdout.

  peers.py train TOOL --train F --test F --target COL [--drop C,..] --hidden 64[,..]
           --batch-size N --epochs N --model-out PATH --pred-out PATH
  peers.py predict TOOL --model PATH --data F --pred-out PATH

Preprocessing is scikit-learn's, as the reference scores of ../shared/data use: numeric
columns mean-imputed and standardised, categorical columns most-frequent-imputed and
one-hot encoded (unknown categories ignored). Regression trains on the standardised
target, MSE; classification on softmax cross-entropy. Adam, lr 1e-3, no weight decay.
"""

import argparse
import json
import os
import pickle
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def make_preprocessor(frame):
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in frame.columns if c not in numeric]
    parts = [("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numeric)]
    if categorical:
        parts.append(("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                           OneHotEncoder(handle_unknown="ignore",
                                                         sparse_output=False)), categorical))
    return ColumnTransformer(parts, sparse_threshold=0.0)


def features(frame, target, drop):
    return frame.drop(columns=[c for c in [target, *drop] if c in frame.columns])


class Bundle:
    """What predict needs: the fitted preprocessor, the model, the target encoding."""

    def __init__(self, tool, preprocessor, model, classes, y_mean, y_std, target, drop):
        self.tool, self.preprocessor, self.model = tool, preprocessor, model
        self.classes, self.y_mean, self.y_std = classes, y_mean, y_std
        self.target, self.drop = target, drop

    def predict(self, x):
        if self.tool == "torch":
            import torch
            outs = []
            with torch.no_grad():
                for start in range(0, len(x), 8192):
                    outs.append(self.model(torch.from_numpy(x[start:start + 8192])).numpy())
            out = np.concatenate(outs)
            if self.classes is not None:
                return self.classes[out.argmax(1)]
            return out[:, 0] * self.y_std + self.y_mean
        out = self.model.predict(x)
        if self.classes is not None:
            return self.classes[out]
        return out * self.y_std + self.y_mean


def predict_csv(bundle, data, pred_out):
    """CSV in, CSV out: read, transform, predict, write. Returns (rows, seconds, predictions)."""
    start = time.perf_counter()
    frame = pd.read_csv(data)
    x = bundle.preprocessor.transform(features(frame, bundle.target, bundle.drop))
    pred = bundle.predict(x.astype(np.float32))
    pd.DataFrame({"prediction": pred}).to_csv(pred_out, index=False)
    return len(frame), time.perf_counter() - start, pred, frame


def torch_threads():
    return int(os.environ.get("BENCH_TORCH_THREADS", "2"))


def train_torch(x, y, hidden, n_out, classification, batch_size, epochs, seed):
    import torch
    torch.set_num_threads(torch_threads())
    torch.manual_seed(seed)
    layers, n_in = [], x.shape[1]
    for width in hidden:
        layers += [torch.nn.Linear(n_in, width), torch.nn.ReLU()]
        n_in = width
    layers.append(torch.nn.Linear(n_in, n_out))
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss() if classification else torch.nn.MSELoss()
    x_t = torch.from_numpy(x)
    y_t = torch.from_numpy(y.astype(np.int64) if classification else y.reshape(-1, 1))
    n, epoch_s = len(x), []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_t[idx]), y_t[idx])
            loss.backward()
            optimizer.step()
        epoch_s.append(time.perf_counter() - start)
    model.eval()
    return model, epoch_s


def train_sklearn(x, y, hidden, classification, batch_size, epochs, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    cls = MLPClassifier if classification else MLPRegressor
    model = cls(hidden_layer_sizes=tuple(hidden), activation="relu", solver="adam", alpha=0.0,
                batch_size=batch_size, learning_rate_init=1e-3, random_state=seed, shuffle=True)
    epoch_s = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(epochs):
            start = time.perf_counter()
            if classification:
                model.partial_fit(x, y, classes=np.unique(y))
            else:
                model.partial_fit(x, y)
            epoch_s.append(time.perf_counter() - start)
    return model, epoch_s


def cmd_train(args):
    drop = [c for c in args.drop.split(",") if c]
    hidden = [int(h) for h in args.hidden.split(",")]
    start = time.perf_counter()
    frame = pd.read_csv(args.train)
    preprocessor = make_preprocessor(features(frame, args.target, drop))
    x = preprocessor.fit_transform(features(frame, args.target, drop)).astype(np.float32)
    target = frame[args.target]
    classification = args.task == "classification"
    classes, y_mean, y_std = None, 0.0, 1.0
    if classification:
        classes, y = np.unique(target.to_numpy(), return_inverse=True)
    else:
        y_mean, y_std = float(target.mean()), float(target.std(ddof=0))
        y = ((target.to_numpy(dtype=np.float64) - y_mean) / y_std).astype(np.float32)
    load_s = time.perf_counter() - start
    del frame
    if args.tool == "torch":
        model, epoch_s = train_torch(x, y, hidden, len(classes) if classification else 1,
                                     classification, args.batch_size, args.epochs, args.seed)
    else:
        model, epoch_s = train_sklearn(x, y, hidden, classification, args.batch_size,
                                       args.epochs, args.seed)
    bundle = Bundle(args.tool, preprocessor, model, classes, y_mean, y_std, args.target, drop)
    with open(args.model_out, "wb") as f:
        pickle.dump(bundle, f)
    result = {"load_s": load_s, "epoch_s": epoch_s}
    if args.test:
        rows, seconds, pred, test = predict_csv(bundle, args.test, args.pred_out)
        truth = test[args.target].to_numpy()
        result["predict_rows"], result["predict_s"] = rows, seconds
        if classification:
            result["accuracy"] = float(np.mean(pred == truth))
        else:
            result["rmse"] = float(np.sqrt(np.mean((pred - truth) ** 2)))
    json.dump(result, sys.stdout)


def cmd_predict(args):
    with open(args.model, "rb") as f:
        bundle = pickle.load(f)
    if bundle.tool == "torch":
        import torch
        torch.set_num_threads(torch_threads())
    rows, seconds, _, _ = predict_csv(bundle, args.data, args.pred_out)
    json.dump({"predict_rows": rows, "predict_s": seconds}, sys.stdout)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("tool", choices=["torch", "sklearn"])
    t.add_argument("--train", required=True)
    t.add_argument("--test")
    t.add_argument("--target", required=True)
    t.add_argument("--task", choices=["classification", "regression"], required=True)
    t.add_argument("--drop", default="")
    t.add_argument("--hidden", default="64")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--epochs", type=int, default=4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--model-out", required=True)
    t.add_argument("--pred-out", default="/dev/null")
    p = sub.add_parser("predict")
    p.add_argument("tool", choices=["torch", "sklearn"])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--pred-out", default="/dev/null")
    args = parser.parse_args()
    cmd_train(args) if args.command == "train" else cmd_predict(args)


if __name__ == "__main__":
    main()
