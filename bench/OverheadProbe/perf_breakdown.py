#!/usr/bin/env python3
"""Where did a profiled MoLA.Torch (or PyTorch) loop spend its on-CPU time?

Reads `perf script` output of a `perf record -g` run (cpu-clock sampling counts only time a thread
actually ran, so a busy machine does not distort the shares) and attributes every sample to the
outermost interesting frame on its stack:

    libtorch    libtorch/c10/libstdc++ code (dispatcher, TensorIterator, kernels, TLS lookups)
    libc        malloc/free/memcpy not under mt_free (mostly libtorch allocating tensors)
    release     under mt_free (at::Tensor destructor: TensorImpl/storage release, free)
    shim        libmola_torch's own code (handle wrapping, op-code switch)
    clr         the .NET runtime itself (allocation helpers, finalizer registration, GC, P/Invoke stubs)
    managed     JIT-compiled C# (Tensor wrapper, DisposeScope, the benchmark loop)
    python      the CPython interpreter (for a python3 profile)
    binding     torch's Python binding layer, libtorch_python (argument parsing, THPVariable_Wrap)
    loader      the dynamic loader (start-up symbol binding)
    kernel      system calls, page faults

Samples of threads other than the busiest one are reported per thread name (GC, finalizer, JIT).

    DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -F 5000 -g -o p.data \\
        dotnet bench/OverheadProbe/bin/Release/net10.0/OverheadProbe.dll --calls 1000000 --case "add: Tensor API, scope disposed every 100 "
    perf script -i p.data | python3 bench/OverheadProbe/perf_breakdown.py
"""
import collections
import re
import sys

FRAME = re.compile(r"^\s*[0-9a-f]+\s+(?P<sym>.*?)\s+\((?P<dso>[^)]*)\)\s*$")


def samples(lines):
    header, frames = None, []
    for line in lines:
        if not line.strip():
            if header is not None:
                yield header, frames
            header, frames = None, []
        elif header is None:
            header = line
        else:
            m = FRAME.match(line)
            if m:
                frames.append((m.group("sym"), m.group("dso")))
    if header is not None:
        yield header, frames


def classify(frames):
    """By the leaf frame's library; libc's malloc/free split by whether mt_free is on the stack."""
    if not frames:
        return "other"
    sym, dso = frames[0]
    in_free = any(d.endswith("libmola_torch.so)") or "libmola_torch" in d for s, d in frames if s.startswith("mt_free"))
    if "libmola_torch" in dso:
        return "shim"
    if "libtorch_python" in dso:
        return "binding"
    if any(k in dso for k in ("libtorch", "libc10", "libgomp", "libopenblas", "libpthreadpool", "libstdc++")):
        return "release" if in_free else "libtorch"
    if "ld-linux" in dso:
        return "libtorch" if sym.startswith("__tls_get_addr") else "loader"
    if re.search(r"/libc\.so", dso):
        return "release" if in_free else "libc"
    if "libcoreclr" in dso or "libclrjit" in dso:
        return "clr"
    if dso.startswith("[JIT]") or "memfd:doublemapper" in dso or re.search(r"/perf-\d+\.map$", dso):
        return "managed"
    if "python3" in dso or "libpython" in dso:
        return "python"
    if "kernel" in dso:
        return "kernel"
    return "other"


def main():
    by_thread = collections.Counter()
    cats = collections.defaultdict(collections.Counter)
    clr_callers = collections.Counter()
    libc_syms = collections.Counter()
    managed_syms = collections.Counter()
    names = {}
    for header, frames in samples(sys.stdin):
        parts = header.split()
        comm, tid = parts[0], parts[1]
        names[tid] = comm
        by_thread[tid] += 1
        c = classify(frames)
        cats[tid][c] += 1
        if c == "clr":
            caller = next((s for s, d in frames if "libcoreclr" not in d), "?")
            clr_callers[(tid, caller)] += 1
        elif c in ("libc", "release") and re.search(r"/libc\.so", frames[0][1]):
            libc_syms[(tid, frames[0][0].split("+")[0])] += 1
        elif c == "managed":
            managed_syms[(tid, frames[0][0])] += 1
    main_tid, total = by_thread.most_common(1)[0]
    print(f"busiest thread {names[main_tid]}/{main_tid}: {total} samples")
    for c, n in cats[main_tid].most_common():
        print(f"  {c:8} {100.0 * n / total:5.1f}%")
    print("  .NET runtime samples by first managed/native caller:")
    for (tid, caller), n in clr_callers.most_common(12):
        if tid == main_tid:
            print(f"    {100.0 * n / total:5.1f}%  {caller[:110]}")
    print("  libc samples by function:")
    for (tid, sym), n in libc_syms.most_common(10):
        if tid == main_tid:
            print(f"    {100.0 * n / total:5.1f}%  {sym[:110]}")
    print("  managed samples by method:")
    for (tid, sym), n in managed_syms.most_common(10):
        if tid == main_tid:
            print(f"    {100.0 * n / total:5.1f}%  {sym[:110]}")
    others = [(t, n) for t, n in by_thread.most_common() if t != main_tid]
    if others:
        print("other threads (samples, relative to the busiest thread):")
        for t, n in others[:8]:
            print(f"  {names[t]}/{t}: {100.0 * n / total:5.1f}%  {dict(cats[t].most_common(3))}")


if __name__ == "__main__":
    main()
