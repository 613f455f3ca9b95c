#!/usr/bin/env python3
"""PyTorch side of `mola bench ops`: per-call overhead of small ops and fp32 GEMM throughput.

The op list mirrors trainer/MoLA.Cli/Benchmarks/SmallOps.cs (same names, shapes and default
iteration counts); `mola bench ops` refuses to compare when the names differ. Each op is a
statement timed with timeit, so a call costs what it costs in ordinary Python code (no extra
function call around it). Run it with Debian's interpreter, which has python3-torch:

    /usr/bin/python3 bench/python/ops_bench.py --threads 2            # all ops, JSON on stdout
    /usr/bin/python3 bench/python/ops_bench.py --threads 2 --quick --ops add,sum --gemm 1024

With --serve it answers one JSON request per stdin line (what `mola bench ops` uses to
interleave C# and Python measurements in one run):

    {"cmd": "op", "name": "add", "iters": 10000, "clock": "wall"}  -> {"ok": true, "ns_per_call": 1234.5}
    {"cmd": "gemm", "n": 1024, "runs": 3}           -> {"ok": true, "seconds": [...]}
    {"cmd": "quit"}
The first line it prints is a hello: {"ok": true, "torch_version": ..., "ops": {...}}.
"""

import argparse
import json
import platform
import statistics
import sys
import time
import timeit

try:
    import torch
    import torch.nn.functional as F
except Exception as exc:  # noqa: BLE001 - report any import failure as JSON
    print(json.dumps({"ok": False, "error": f"import torch failed: {type(exc).__name__}: {exc}"}), flush=True)
    sys.exit(3)

# name -> (setup, statement, default iterations). Shapes and iteration counts match SmallOps.cs.
OPS = {
    "add": ("a = torch.randn(4, 4); b = torch.randn(4, 4)", "a + b", 10000),
    "mul_scalar": ("a = torch.randn(4, 4)", "a * 2.0", 10000),
    "matmul_8x8": ("a = torch.randn(8, 8); b = torch.randn(8, 8)", "a @ b", 10000),
    "sum": ("a = torch.randn(4, 4)", "a.sum()", 10000),
    "view": ("a = torch.randn(4, 4)", "a.view(16)", 10000),
    "reshape": ("a = torch.randn(4, 4)", "a.reshape(2, 8)", 10000),
    "softmax": ("x = torch.randn(4, 16)", "F.softmax(x, -1)", 10000),
    "index_select": (
        "w = torch.randn(16, 8); idx = torch.tensor([3, 0, 7, 12], dtype=torch.int64)",
        "w.index_select(0, idx)",
        10000,
    ),
    "zeros": ("", "torch.zeros(4, 4)", 10000),
    "chain3": ("a = torch.randn(4, 4); b = torch.randn(4, 4); c = torch.randn(4, 4)", "(a * b + c).relu()", 5000),
    "mlp_fwd_bwd": (
        "x = torch.randn(4, 16)\n"
        "w1 = torch.randn(32, 16).mul_(0.25).requires_grad_(); b1 = torch.zeros(32).requires_grad_()\n"
        "w2 = torch.randn(8, 32).mul_(0.18).requires_grad_(); b2 = torch.zeros(8).requires_grad_()",
        "h = F.linear(x, w1, b1).relu()\n"
        "y = F.linear(h, w2, b2)\n"
        "loss = y.pow(2).mean()\n"
        "loss.backward()\n"
        "w1.grad = None; b1.grad = None; w2.grad = None; b2.grad = None",
        1000,
    ),
}

GLOBALS = {"torch": torch, "F": F}


CLOCKS = {"wall": time.perf_counter_ns, "thread-cpu": time.thread_time_ns}


def time_op(name, iters, clock="wall"):
    """Nanoseconds per call of one op over `iters` calls (setup excluded), by the wall clock or the
    calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID, as the C# side's thread-cpu clock)."""
    setup, stmt, _ = OPS[name]
    torch.manual_seed(0)
    timer = timeit.Timer(stmt=stmt, setup=setup or "pass", timer=CLOCKS[clock], globals=GLOBALS)
    return timer.timeit(number=iters) / iters


class Gemm:
    """fp32 C = A B with A, B of N(0, 1); the inputs are kept between requests of the same size."""

    def __init__(self):
        self.n = None
        self.a = self.b = None

    def run(self, n, runs):
        if self.n != n:
            torch.manual_seed(0)
            self.n, self.a, self.b = n, torch.randn(n, n), torch.randn(n, n)
        seconds = []
        for _ in range(runs):
            t0 = time.perf_counter_ns()
            c = self.a @ self.b
            seconds.append((time.perf_counter_ns() - t0) / 1e9)
            del c
        return seconds


def hello(threads):
    return {
        "ok": True,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "executable": sys.executable,
        "threads": torch.get_num_threads(),
        "requested_threads": threads,
        "ops": {name: spec[2] for name, spec in OPS.items()},
    }


def serve(threads):
    gemm = Gemm()
    print(json.dumps(hello(threads)), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            cmd = req.get("cmd")
            if cmd == "quit":
                break
            if cmd == "op":
                name = req["name"]
                if name not in OPS:
                    raise KeyError(f"unknown op '{name}' (known: {', '.join(OPS)})")
                resp = {"ok": True, "ns_per_call": time_op(name, int(req["iters"]), req.get("clock", "wall"))}
            elif cmd == "gemm":
                resp = {"ok": True, "seconds": gemm.run(int(req["n"]), int(req["runs"]))}
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as exc:  # noqa: BLE001 - every failure goes back as JSON
            resp = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(resp), flush=True)


def standalone(args):
    names = [n.strip() for n in args.ops.split(",")] if args.ops else list(OPS)
    unknown = [n for n in names if n not in OPS]
    if unknown:
        sys.exit(f"ops_bench.py: unknown op(s) {', '.join(unknown)}; known: {', '.join(OPS)}")
    scale = 5 if args.quick else 1
    repeats = args.repeats or (3 if args.quick else 15)
    result = hello(args.threads)
    result["repeats"] = repeats
    result["clock"] = args.clock
    result["results"] = []
    for name in names:
        iters = args.iters or max(1, OPS[name][2] // scale)
        time_op(name, max(1, iters // 5), args.clock)  # warm-up
        samples = [time_op(name, iters, args.clock) for _ in range(repeats)]
        result["results"].append({"op": name, "iterations": iters, "ns_per_call": statistics.median(samples), "samples": samples})
    result["gemm"] = []
    gemm = Gemm()
    for n in [int(s) for s in args.gemm.split(",") if s.strip()]:
        gemm.run(n, 1 if args.quick else 2)  # warm-up
        seconds = gemm.run(n, 2 if args.quick else 5)
        flops = 2.0 * n ** 3
        result["gemm"].append({
            "n": n,
            "best_gflops": flops / min(seconds) / 1e9,
            "median_gflops": flops / statistics.median(seconds) / 1e9,
            "seconds": seconds,
        })
    print(json.dumps(result, indent=2))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, required=True, help="torch.set_num_threads (Debian's torch starts with 1)")
    p.add_argument("--serve", action="store_true", help="answer JSON requests on stdin (used by `mola bench ops`)")
    p.add_argument("--quick", action="store_true", help="a fifth of the iterations, 3 repeats instead of 15")
    p.add_argument("--ops", default="", help="comma-separated op names (default: all)")
    p.add_argument("--iters", type=int, default=0, help="iterations per repeat for every op (default: per-op counts)")
    p.add_argument("--repeats", type=int, default=0, help="timed repeats per op; the median is reported")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="what small-op timings count")
    p.add_argument("--gemm", default="1024,2048", help="comma-separated square GEMM sizes ('' for none)")
    args = p.parse_args()
    if args.threads < 1:
        p.error("--threads must be at least 1")
    torch.set_num_threads(args.threads)
    if args.serve:
        serve(args.threads)
    else:
        standalone(args)


if __name__ == "__main__":
    main()
