namespace MoLA.Model.Tests.Llama;

/// <summary>
/// An independent LLaMA forward pass in plain torch, float64, for python3-torch 1.13 (no
/// transformers, no safetensors package): it parses the safetensors files and config.json itself
/// and follows Hugging Face's formulas (RMSNorm, rotate_half RoPE with default / linear / llama3
/// inv_freq, GQA by repeat_interleave, causal softmax attention, SwiGLU).
/// </summary>
/// <remarks>
/// Input (stdin): {"cases": [{"dir": ..., "ids": [[...], ...]}], "rope": [config.json-like objects]}.
/// Output: {"logits": [flat row-major [B, S, V] per case], "inv_freq": [[...] per rope entry]}.
/// </remarks>
internal static class LlamaPythonReference
{
    public const string Script = """
import json, math, os, struct, sys
import torch

torch.set_grad_enabled(False)
STORED = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def load_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data_start = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = STORED[info["dtype"]]
        raw = bytearray(blob[data_start + begin:data_start + end])
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"]).to(torch.float64)
    return tensors


def load_checkpoint(directory):
    single = os.path.join(directory, "model.safetensors")
    if os.path.exists(single):
        return load_safetensors(single)
    with open(os.path.join(directory, "model.safetensors.index.json")) as f:
        weight_map = json.load(f)["weight_map"]
    weights = {}
    for shard in sorted(set(weight_map.values())):
        for name, t in load_safetensors(os.path.join(directory, shard)).items():
            if weight_map.get(name) == shard:
                weights[name] = t
    return weights


def head_dim_of(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def rope_inv_freq(cfg):
    hd = head_dim_of(cfg)
    theta = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    scaling = cfg.get("rope_scaling")
    if not scaling:
        return inv
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "linear":
        return inv / scaling["factor"]
    if kind != "llama3":
        raise ValueError("rope type " + str(kind))
    factor = scaling["factor"]
    low = scaling["low_freq_factor"]
    high = scaling["high_freq_factor"]
    context = scaling["original_max_position_embeddings"]
    low_freq_wavelen = context / low
    high_freq_wavelen = context / high
    wavelen = 2 * math.pi / inv
    adjusted = torch.where(wavelen > low_freq_wavelen, inv / factor, inv)
    smooth = (context / wavelen - low) / (high - low)
    blended = (1 - smooth) * adjusted / factor + smooth * adjusted
    in_band = (wavelen >= high_freq_wavelen) & (wavelen <= low_freq_wavelen)
    return torch.where(in_band, blended, adjusted)


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def llama_logits(cfg, w, ids):
    batch, seq = ids.shape
    heads = cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads") or heads
    hd = head_dim_of(cfg)
    eps = cfg.get("rms_norm_eps", 1e-6)
    angles = torch.outer(torch.arange(seq, dtype=torch.float64), rope_inv_freq(cfg))
    angles = torch.cat((angles, angles), dim=-1)
    cos, sin = angles.cos(), angles.sin()
    causal = torch.ones(seq, seq, dtype=torch.bool).tril()

    def heads_of(x, n):
        return x.view(batch, seq, n, hd).transpose(1, 2)

    h = w["model.embed_tokens.weight"][ids]
    for layer in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        x = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        q = heads_of(x @ w[p + "self_attn.q_proj.weight"].T, heads)
        k = heads_of(x @ w[p + "self_attn.k_proj.weight"].T, kv_heads)
        v = heads_of(x @ w[p + "self_attn.v_proj.weight"].T, kv_heads)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        scores = scores.masked_fill(~causal, float("-inf"))
        attn = torch.softmax(scores, dim=-1) @ v
        h = h + attn.transpose(1, 2).reshape(batch, seq, heads * hd) @ w[p + "self_attn.o_proj.weight"].T
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        gate = x @ w[p + "mlp.gate_proj.weight"].T
        up = x @ w[p + "mlp.up_proj.weight"].T
        h = h + (torch.nn.functional.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return h @ head.T


request = json.load(sys.stdin)
result = {"logits": [], "inv_freq": []}
for case in request.get("cases", []):
    with open(os.path.join(case["dir"], "config.json")) as f:
        cfg = json.load(f)
    weights = load_checkpoint(case["dir"])
    ids = torch.tensor(case["ids"], dtype=torch.long)
    result["logits"].append(llama_logits(cfg, weights, ids).reshape(-1).tolist())
for cfg in request.get("rope", []):
    result["inv_freq"].append(rope_inv_freq(cfg).tolist())
json.dump(result, sys.stdout)
""";
}
