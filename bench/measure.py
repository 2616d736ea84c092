#!/usr/bin/env python3
"""Timing loop of bench/run.sh: wall time by perf_counter around the process, peak RSS as
GNU time reports it (`/usr/bin/time -f %M`, from the kernel's rusage of that process).

    measure.py once FILE [--ok CODES] -- CMD...   run CMD once, append "seconds kib" to FILE
    measure.py median FILE                        print the medians of FILE: "seconds kib"
    measure.py run RUNS [--ok CODES] -- CMD...    RUNS runs, print their medians
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time


def once(cmd, ok):
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t
        if p.returncode not in ok:
            sys.stderr.write(p.stderr.decode(errors="replace"))
            sys.exit(f"FAILED (exit {p.returncode}): {' '.join(cmd)}")
        kib = int([l for l in rss.read().split() if l.isdigit()][-1])
    return wall, kib


def parse(args):
    ok = {0}
    if args and args[0] == "--ok":
        ok = {int(x) for x in args[1].split(",")}
        args = args[2:]
    if args and args[0] == "--":
        args = args[1:]
    return ok, args


def medians(rows):
    return f"{statistics.median(r[0] for r in rows):.4f} {int(statistics.median(r[1] for r in rows))}"


mode = sys.argv[1]
if mode == "once":
    ok, cmd = parse(sys.argv[3:])
    w, k = once(cmd, ok)
    with open(sys.argv[2], "a") as f:
        f.write(f"{w:.6f} {k}\n")
elif mode == "median":
    rows = [tuple(float(x) for x in l.split()) for l in open(sys.argv[2]) if l.strip()]
    print(medians(rows))
elif mode == "run":
    ok, cmd = parse(sys.argv[3:])
    print(medians([once(cmd, ok) for _ in range(int(sys.argv[2]))]))
else:
    sys.exit(__doc__)
