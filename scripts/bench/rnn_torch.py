"""PyTorch's time for what benches/nn.rs `recurrent` measures: nn.GRU / nn.LSTM forward and
backward (no input gradient) on a batch of 32 full-length series of 100 steps x 6
channels, 64 hidden units, float32 on the CPU, with 1 and 2 threads.

Run: python3 scripts/bench/rnn_torch.py [gru|lstm ...]; prints the median of 7 rounds,
each the mean over enough calls to last about a second.
"""

import statistics
import sys
import time

import torch

BATCH, STEPS, CHANNELS, HIDDEN = 32, 100, 6, 64


def bench(kind, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rnn = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind](
        CHANNELS, HIDDEN, batch_first=True
    )
    x = torch.rand(BATCH, STEPS, CHANNELS) * 2 - 1
    grad = torch.rand(BATCH, STEPS, HIDDEN) * 2 - 1

    def step():
        rnn.zero_grad(set_to_none=False)
        out, _ = rnn(x)
        out.backward(grad)

    for _ in range(20):
        step()
    start = time.perf_counter()
    calls = 0
    while time.perf_counter() - start < 0.3:
        step()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    calls = max(5, int(1.0 / per_call))
    rounds = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        rounds.append((time.perf_counter() - start) / calls)
    return statistics.median(rounds)


if __name__ == "__main__":
    kinds = sys.argv[1:] or ["gru", "lstm"]
    print(f"torch {torch.__version__}, batch {BATCH}, {STEPS}x{CHANNELS} -> {HIDDEN}")
    for kind in kinds:
        for threads in [1, 2]:
            print(f"{kind} threads {threads}: {bench(kind, threads) * 1e3:.3f} ms forward+backward")
