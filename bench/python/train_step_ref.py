#!/usr/bin/env python3
"""The PyTorch side of `mola bench train-step`: the same SFT training step in plain python3-torch.

A LLaMA decoder (RMSNorm in float32, RoPE with rotate_half, grouped-query attention through
libtorch's scaled-dot-product attention, SwiGLU MLP, untied LM head) whose seven projections per
layer are frozen and wrapped in MoE-LoRA (methods.md section 1: router softmax over the top-k
logits in float32, renormalised weights, scaling alpha / r, dropout on the expert input only).
Experts run dense-gated (two GEMMs over stacked A and B) while N*r <= 128 or k >= N, grouped
(assignments sorted by expert, 16/32-row chunks, batched GEMMs) otherwise: the same choice as
MoLA.Model.MoeLora.MoeLoraOptions.Resolve. A step is what SftTrainer.TrainStep does: seed, forward,
cross-entropy sum over shifted labels / labelled tokens, backward, clip_grad_norm_(1.0), linear
warm-up/decay learning rate, AdamW, zero_grad.

It shares nothing with the C# code but libtorch. Modes:
    /usr/bin/python3 train_step_ref.py --threads 2 --serve       # JSON requests on stdin (the command)
    /usr/bin/python3 train_step_ref.py --threads 2 --steps 3     # one config (tiny), timings on stdout
Requests: {"cmd": "setup", "config": {...}} builds a model (replacing the previous one);
{"cmd": "steps", "n": N} runs N steps and answers {"seconds": [...], "cpu_seconds": [...], "losses": [...]}; {"cmd": "quit"}.
"""

import argparse
import json
import math
import platform
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except Exception as exc:  # noqa: BLE001 - reported to the C# side as JSON
    print(json.dumps({"ok": False, "error": f"import torch failed: {type(exc).__name__}: {exc}"}), flush=True)
    sys.exit(1)

AUTO_DENSE_MAX_WIDTH = 128  # MoeLoraOptions.DefaultAutoDenseMaxWidth


def attention(q, k, v, mask):
    # libtorch's scaled-dot-product attention, as the C# shim calls it (1.13: the private math op).
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return F._scaled_dot_product_attention(q, k, v, mask, 0.0, False, False)[0]


def rms_norm(x, w, eps):
    xf = x.float()
    return w * (xf * torch.rsqrt(xf.square().mean(-1, keepdim=True) + eps)).to(x.dtype)


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], -1) * sin


class MoeLoraLinear(torch.nn.Module):
    def __init__(self, d_in, d_out, experts, top_k, rank, alpha, dropout):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(d_out, d_in), requires_grad=False)
        bound = 1 / math.sqrt(d_in)
        self.router = torch.nn.Parameter(torch.empty(experts, d_in).uniform_(-bound, bound))
        self.lora_a = torch.nn.Parameter(torch.empty(experts * rank, d_in).uniform_(-bound, bound))
        self.lora_b = torch.nn.Parameter(torch.zeros(d_out, experts * rank))
        self.n, self.k, self.r = experts, min(top_k, experts), rank
        self.scaling = alpha / rank
        self.dropout = dropout
        self.dense = self.k >= experts or experts * rank <= AUTO_DENSE_MAX_WIDTH

    def forward(self, x):
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        base = F.linear(x2, self.weight)
        top, idx = F.linear(x2, self.router).topk(self.k, -1)
        w = F.softmax(top, -1, dtype=torch.float32).to(x.dtype)
        xd = F.dropout(x2, self.dropout, self.training) if self.dropout > 0 else x2
        y = self.dense_gated(xd, idx, w, base) if self.dense else self.grouped(xd, idx, w, base)
        return y.view(*shape[:-1], -1)

    def dense_gated(self, xd, idx, w, base):
        t = xd.shape[0]
        u = F.linear(xd, self.lora_a)
        gates = torch.zeros(t, self.n, dtype=w.dtype).scatter_add(1, idx, w * self.scaling)
        gated = (u.view(t, self.n, self.r) * gates.unsqueeze(2)).view(t, self.n * self.r)
        return F.linear(gated, self.lora_b, base)

    def grouped(self, xd, idx, w, base):
        t, d_in = xd.shape
        flat = idx.reshape(-1)
        order = flat.sort(stable=True)[1]
        counts = torch.bincount(flat, minlength=self.n).tolist()
        chunk = 32 if t * self.k >= 256 * self.n else 16
        position, chunk_expert, at = [], [], 0
        for e, c in enumerate(counts):
            position.extend(range(at * chunk, at * chunk + c))
            m = (c + chunk - 1) // chunk
            chunk_expert.extend([e] * m)
            at += m
        position = torch.tensor(position, dtype=torch.long)
        chunk_expert = torch.tensor(chunk_expert, dtype=torch.long)
        sorted_token = torch.arange(t).repeat_interleave(self.k).index_select(0, order)
        padded_token = torch.zeros(at * chunk, dtype=torch.long).scatter_add(0, position, sorted_token)
        sorted_w = w.reshape(-1).index_select(0, order) * self.scaling
        padded_w = torch.zeros(at * chunk, dtype=w.dtype).scatter_add(0, position, sorted_w)
        rows = xd.index_select(0, padded_token).view(at, chunk, d_in)
        a = self.lora_a.view(self.n, self.r, d_in).index_select(0, chunk_expert)
        h = rows.bmm(a.transpose(1, 2)) * padded_w.view(at, chunk, 1)
        b = self.lora_b.t().reshape(self.n, self.r, -1).index_select(0, chunk_expert)
        return base.index_add(0, padded_token, h.bmm(b).view(at * chunk, -1))


class Layer(torch.nn.Module):
    def __init__(self, c, experts):
        super().__init__()
        d, hd = c["hidden"], c["hidden"] // c["heads"]
        self.heads, self.kv_heads, self.hd, self.eps = c["heads"], c["kv_heads"], hd, c["rms_eps"]

        def wrap(d_in, d_out):
            return MoeLoraLinear(d_in, d_out, experts, c["top_k"], c["rank"], c["alpha"], c["dropout"])

        self.q, self.k, self.v = wrap(d, c["heads"] * hd), wrap(d, c["kv_heads"] * hd), wrap(d, c["kv_heads"] * hd)
        self.o = wrap(c["heads"] * hd, d)
        self.gate, self.up, self.down = wrap(d, c["ffn"]), wrap(d, c["ffn"]), wrap(c["ffn"], d)
        self.norm1 = torch.nn.Parameter(torch.ones(d), requires_grad=False)
        self.norm2 = torch.nn.Parameter(torch.ones(d), requires_grad=False)

    def forward(self, h, cos, sin, mask):
        b, s, _ = h.shape
        x = rms_norm(h, self.norm1, self.eps)
        q = self.q(x).reshape(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k(x).reshape(b, s, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v(x).reshape(b, s, self.kv_heads, self.hd).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        groups = self.heads // self.kv_heads
        if groups > 1:
            k, v = k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1)
        y = attention(q, k, v, mask).transpose(1, 2).reshape(b, s, self.heads * self.hd)
        h = h + self.o(y)
        x = rms_norm(h, self.norm2, self.eps)
        return h + self.down(F.silu(self.gate(x)) * self.up(x))


class Llama(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden"]
        self.embed = torch.nn.Parameter(torch.empty(c["vocab"], d), requires_grad=False)
        self.layers = torch.nn.ModuleList(Layer(c, n) for n in c["experts"])
        self.norm = torch.nn.Parameter(torch.ones(d), requires_grad=False)
        self.lm_head = torch.nn.Parameter(torch.empty(c["vocab"], d), requires_grad=False)
        self.eps = c["rms_eps"]
        with torch.no_grad():
            for name, p in self.named_parameters():
                if not p.requires_grad and p.dim() == 2:
                    p.normal_(0, 0.02)
        hd = d // c["heads"]
        inv = [1.0 / c["rope_theta"] ** (2.0 * i / hd) for i in range(hd // 2)]
        angles = torch.tensor([[p * f for f in inv] for p in range(c["seq"])], dtype=torch.float64)
        self.cos = torch.cat([angles.cos(), angles.cos()], -1).float()
        self.sin = torch.cat([angles.sin(), angles.sin()], -1).float()

    def forward(self, ids, padding):
        s = ids.shape[1]
        pos = torch.arange(s)
        # Same mask as LlamaDecoder.AttentionMask: causal AND key not padded, OR the query itself.
        mask = (pos.view(1, s) <= pos.view(s, 1)).view(1, 1, s, s)
        mask = (mask & padding.ne(0).view(-1, 1, 1, s)) | (pos.view(1, s) == pos.view(s, 1)).view(1, 1, s, s)
        h = F.embedding(ids, self.embed)
        for layer in self.layers:
            h = layer(h, self.cos[:s], self.sin[:s], mask)
        return F.linear(rms_norm(h, self.norm, self.eps), self.lm_head)


class Trainer:
    def __init__(self, c):
        torch.manual_seed(c["seed"])
        self.c = c
        self.model = Llama(c)
        self.model.train()
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=c["lr"], weight_decay=0.0, foreach=c.get("foreach", False))
        g = torch.Generator().manual_seed(c["seed"] + 1)
        self.ids = torch.randint(0, c["vocab"], (c["batch"], c["seq"]), generator=g)
        self.padding = torch.ones_like(self.ids)
        self.targets = self.ids[:, 1:].reshape(-1).clone()
        self.labelled = int(self.targets.ne(-100).sum())
        self.step_index = 0

    def lr_at(self, step):
        c = self.c
        if step < c["warmup"]:
            return c["lr"] * (step + 1) / (c["warmup"] + 1)
        return c["lr"] * max(0.0, (c["total_steps"] - step) / max(1, c["total_steps"] - c["warmup"]))

    def step(self):
        torch.manual_seed(self.c["seed"] + self.step_index)
        logits = self.model(self.ids, self.padding)
        vocab = logits.shape[-1]
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, vocab).float(), self.targets, ignore_index=-100, reduction="sum") / self.labelled
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        for group in self.opt.param_groups:
            group["lr"] = self.lr_at(self.step_index)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.step_index += 1
        return float(loss)

    def run(self, n):
        # Wall seconds, and CPU seconds of all this process's threads (steadier on a shared machine).
        seconds, cpu, losses = [], [], []
        for _ in range(n):
            t0, c0 = time.perf_counter(), time.process_time()
            losses.append(self.step())
            seconds.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        return seconds, cpu, losses


def hello(threads):
    return {
        "ok": True,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "executable": sys.executable,
        "threads": torch.get_num_threads(),
        "requested_threads": threads,
        "ops": {},
    }


def serve(threads):
    print(json.dumps(hello(threads)), flush=True)
    trainer = None
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            cmd = req.get("cmd")
            if cmd == "quit":
                break
            if cmd == "setup":
                trainer = None
                trainer = Trainer(req["config"])
                resp = {"ok": True, "trainable_parameters": sum(p.numel() for p in trainer.params)}
            elif cmd == "steps":
                if trainer is None:
                    raise ValueError("no model: send a setup request first")
                seconds, cpu, losses = trainer.run(int(req["n"]))
                resp = {"ok": True, "seconds": seconds, "cpu_seconds": cpu, "losses": losses}
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as exc:  # noqa: BLE001 - every failure goes back as JSON
            resp = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(resp), flush=True)


TINY = {
    "hidden": 128, "heads": 4, "kv_heads": 2, "ffn": 344, "vocab": 259, "experts": [2, 2, 4, 4, 6, 6, 8, 8],
    "top_k": 2, "rank": 8, "alpha": 16.0, "dropout": 0.05, "batch": 16, "seq": 128, "rms_eps": 1e-6,
    "rope_theta": 10000.0, "lr": 3e-4, "warmup": 0, "total_steps": 1000, "seed": 42,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, required=True, help="torch.set_num_threads (Debian's torch starts with 1)")
    p.add_argument("--serve", action="store_true", help="answer JSON requests on stdin (used by `mola bench train-step`)")
    p.add_argument("--steps", type=int, default=3, help="standalone: timed steps of the tiny config after one warm-up")
    p.add_argument("--foreach", action="store_true", help="standalone: AdamW(foreach=True)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.serve:
        serve(args.threads)
        return
    trainer = Trainer(dict(TINY, foreach=args.foreach))
    trainer.run(1)
    seconds, cpu, losses = trainer.run(args.steps)
    tokens = TINY["batch"] * TINY["seq"]
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "losses": losses, "tokens_per_s": [tokens / s for s in seconds]}, indent=2))


if __name__ == "__main__":
    main()
