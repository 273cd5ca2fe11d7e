#!/usr/bin/env python3
"""Break-even of synchronous data-parallel training (docs/distributed-training.md).

Takes, per network, its parameter count, its training rows and the CPU seconds of one
epoch at batches 32, 256 and 1024 (measured as in the doc), and prints:

- the measured step time per network and batch (epoch seconds / steps per epoch),
- a linear fit t(b) = t0 + c*b per network (least squares over the batches),
- the ring all-reduce time of one step's gradient (parameters x 4 bytes),
  T(p) = 2 (p-1)/p * bytes / bandwidth + 2 (p-1) * alpha,
  for 10 and 100 Gb/s and p = 2, 4, 8,
- the break-even batch per machine b* with t(b*) = T(p) (compute equals communication,
  a speed-up of p/2 when they do not overlap), and the speed-up at the largest batch.

    scripts/allreduce_breakeven.py NET=PARAMS:TRAIN_ROWS:S32,S256,S1024 [NET=...]
"""

import math
import sys

BATCHES = [32, 256, 1024]
# (name, bytes per second, per-message latency in seconds)
LINKS = [("10 Gb/s, TCP", 10e9 / 8, 30e-6), ("100 Gb/s, RDMA", 100e9 / 8, 5e-6)]
MACHINES = [2, 4, 8]


def ring(bytes_, p, bandwidth, alpha):
    return 2 * (p - 1) / p * bytes_ / bandwidth + 2 * (p - 1) * alpha


def main():
    for spec in sys.argv[1:]:
        name, rest = spec.split("=")
        params, rows, epochs = rest.split(":")
        params, rows = int(params), int(rows)
        size = 4 * params
        times = {}
        for b, seconds in zip(BATCHES, epochs.split(",")):
            times[b] = float(seconds) / math.ceil(rows / b)
        n = len(BATCHES)
        mb = sum(BATCHES) / n
        mt = sum(times.values()) / n
        c = sum((b - mb) * (times[b] - mt) for b in BATCHES) / sum(
            (b - mb) ** 2 for b in BATCHES
        )
        t0 = mt - c * mb
        print(f"\n{name}: {params} parameters, gradient {size} bytes per step")
        for b in BATCHES:
            print(f"  batch {b:5}: {times[b] * 1e6:9.1f} us per step")
        print(f"  fit: t(b) = {t0 * 1e6:.1f} us + {c * 1e6:.3f} us x b")
        for link, bw, alpha in LINKS:
            for p in MACHINES:
                t = ring(size, p, bw, alpha)
                star = max(1.0, (t - t0) / c) if c > 0 else float("inf")
                big = times[BATCHES[-1]]
                speedup = p * big / (big + t)
                print(
                    f"  {link:15} p={p}: all-reduce {t * 1e6:8.1f} us, "
                    f"break-even batch {star:8.0f}, speed-up at b={BATCHES[-1]}: {speedup:.2f}"
                )


if __name__ == "__main__":
    main()
