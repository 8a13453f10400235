#!/usr/bin/env python3
"""A noisy neighbour: steals every core in bursts, for the gate benchmarks.

    neighbour.py MIN_BUSY_MS MAX_BUSY_MS MIN_GAP_S MAX_GAP_S [SEED]

Forever: sleeps a random gap in [MIN_GAP_S, MAX_GAP_S], then busy-spins (a
pure-Python arithmetic loop) for a random time in [MIN_BUSY_MS, MAX_BUSY_MS].
One process per core (os.cpu_count()) runs the same seeded schedule against
the same start time on the system-wide monotonic clock, so the bursts hit all
cores at once. SEED absent = a random one (printed). SIGTERM or SIGINT stops
the children and exits 0; a child whose parent is gone exits after its burst.
"""
import multiprocessing
import os
import random
import signal
import sys
import time


def spin(min_busy, max_busy, min_gap, max_gap, seed, start, parent):
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    rnd, t, x = random.Random(seed), start, 0
    while os.getppid() == parent:
        t += rnd.uniform(min_gap, max_gap)
        end = t + rnd.uniform(min_busy, max_busy) / 1000
        time.sleep(max(0.0, t - time.monotonic()))
        while time.monotonic() < end:
            for i in range(200):
                x = (x * 31 + i) % 1000003
        t = end


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    min_busy, max_busy, min_gap, max_gap = map(float, sys.argv[1:5])
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else random.randrange(1 << 32)
    n = os.cpu_count() or 1
    print(f"neighbour: {n} processes, {min_busy:g}-{max_busy:g} ms busy every "
          f"{min_gap:g}-{max_gap:g} s, seed {seed}", flush=True)
    args = (min_busy, max_busy, min_gap, max_gap, seed, time.monotonic(), os.getpid())
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=spin, args=args, daemon=True) for _ in range(n)]

    def stop(*_):
        alive = [p for p in procs if p.is_alive()]
        for p in alive:
            p.terminate()
        for p in alive:
            p.join()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in procs:
        p.start()
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
