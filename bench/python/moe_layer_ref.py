#!/usr/bin/env python3
"""Independent reference for MoLA.Model.MoeLora.MoeLoraLinear (methods.md section 1).

Reads one JSON object on stdin, writes one on stdout. It re-implements the MoE-LoRA layer the way
MoLA's reference code does (a Python loop over experts with index_select / index_add_, router
softmax in float32 (float64 for float64 input, as ours), top-k, renormalisation, scaling alpha / r),
with per-expert weights rather than our stacked tensors, so the C# tests compare against code that
shares nothing with ours but libtorch. Run it with Debian's interpreter, which has python3-torch:

    echo '{...}' | /usr/bin/python3 bench/python/moe_layer_ref.py

Input (all matrices row-major nested lists, float64 unless "dtype" says "float32"):
    x [T, in], w0 [out, in], router [N, in], lora_a [N][r, in], lora_b [N][out, r],
    top_k, scaling, upstream [T, out] (optional: also return gradients of sum(y * upstream))
Output: {"y": [T, out], "indices": [T, k], "weights": [T, k], "counts": [N],
         and with upstream "grad_x", "grad_router", "grad_a" [N][r, in], "grad_b" [N][out, r]}
"""

import json
import sys

import torch
import torch.nn.functional as F


def forward(x, w0, router, lora_a, lora_b, top_k, scaling):
    n = router.shape[0]
    k = min(top_k, n)
    result = F.linear(x, w0)
    router_logits = F.linear(x, router)
    # MoLA: dtype=torch.float. Ours: float32, or float64 for float64 input (same in float32).
    routing_weights = F.softmax(router_logits, dim=1, dtype=torch.promote_types(x.dtype, torch.float32))
    routing_weights, selected_experts = torch.topk(routing_weights, k, dim=-1)
    routing_weights = routing_weights / routing_weights.sum(dim=-1, keepdim=True)
    routing_weights = routing_weights.to(x.dtype)
    final = torch.zeros_like(result)
    expert_mask = F.one_hot(selected_experts, num_classes=n).permute(2, 1, 0)
    for e in range(n):
        idx, top_x = torch.where(expert_mask[e])
        if top_x.shape[0] == 0:
            continue
        current = x.index_select(0, top_x)
        h = F.linear(F.linear(current, lora_a[e]), lora_b[e])
        h = h * routing_weights[top_x, idx, None] * scaling
        final.index_add_(0, top_x, h.to(x.dtype))
    counts = torch.bincount(selected_experts.reshape(-1), minlength=n)
    return result + final, selected_experts, routing_weights, counts


def main():
    req = json.load(sys.stdin)
    dtype = torch.float32 if req.get("dtype") == "float32" else torch.float64

    def t(name, grad=False):
        v = torch.tensor(req[name], dtype=dtype)
        return v.requires_grad_() if grad else v

    want_grad = "upstream" in req
    x = t("x", want_grad)
    w0 = t("w0")
    router = t("router", want_grad)
    lora_a = [torch.tensor(a, dtype=dtype).requires_grad_(want_grad) for a in req["lora_a"]]
    lora_b = [torch.tensor(b, dtype=dtype).requires_grad_(want_grad) for b in req["lora_b"]]
    y, indices, weights, counts = forward(x, w0, router, lora_a, lora_b, int(req["top_k"]), float(req["scaling"]))
    out = {
        "y": y.detach().tolist(),
        "indices": indices.tolist(),
        "weights": weights.detach().tolist(),
        "counts": counts.tolist(),
    }
    if want_grad:
        (y * t("upstream")).sum().backward()

        def g(p):
            return (p.grad if p.grad is not None else torch.zeros_like(p)).tolist()

        out["grad_x"] = g(x)
        out["grad_router"] = g(router)
        out["grad_a"] = [g(a) for a in lora_a]
        out["grad_b"] = [g(b) for b in lora_b]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
