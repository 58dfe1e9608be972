#!/usr/bin/env python3
"""Independent cross-check of the synthetic-model fixtures: a numpy forward pass of a llama GGUF
that emulates ggml's plain CPU path, teacher-forced along each fixture case's greedy tokens, compared
with the top-10 logits llama.cpp recorded.

Emulated like ggml: weights dequantized (gguf-py), and before every matmul the activations are
rounded to the weight type's vec_dot type: Q8_0 for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0, Q8_K for the
K-quants, f16 for F16 and bf16 for BF16 weights, unchanged for F32. Everything else (RMS norm,
RoPE, softmax, SiLU, residuals) in float64.

What to expect (and what was seen when the fixtures were recorded):
  * F32 models agree to ~1e-5 at every step;
  * quantized models agree to ~1e-6 until the first activation element lands on the other side of
    a Q8 rounding boundary (float32 vs float64 noise); from then on the rounding noise of the
    activation quantization (~0.5% per matmul) is decorrelated and the logits differ by ~0.1-0.5.
    llama.cpp's own repacked (AVX2/AVX512) kernels differ from its plain path in the same way.
  * F16/BF16 weights: ~3e-3 (f16 rounding flips).

usage: python3 scripts/oracle/synthetic_reference.py MODELS_DIR [VARIANT ...]
       (MODELS_DIR from `node scripts/oracle/model-fixtures.mjs --only synthetic --keep MODELS_DIR`,
       or `WASM_CHORD_FIXTURE_DIR=MODELS_DIR cargo test --test fixture_writers -- --ignored synthetic_models`)
Needs numpy and gguf (pip install gguf==0.19.0).
"""
import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.constants import GGMLQuantizationType as Q
from gguf.quants import dequantize

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests/fixtures/oracle"


def f16(x):
    return x.astype(np.float32).astype(np.float16).astype(np.float64)


def bf16(x):
    b = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    b = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16  # round to nearest even
    return b.astype(np.uint32).view(np.float32).astype(np.float64)


def q8_0(x):
    """ggml quantize_row_q8_0 then dequantize: d = amax/127 (stored as f16), q = round(x/d)."""
    x = x.astype(np.float32).reshape(-1, 32)
    d = np.abs(x).max(axis=1) / np.float32(127)
    inv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, 1), 0).astype(np.float32)
    q = np.rint(x * inv[:, None])
    return (f16(d)[:, None] * q).reshape(-1)


def q8_k(x):
    """ggml quantize_row_q8_K then dequantize: signed max, iscale = -127/max, f32 d = 1/iscale."""
    x = x.astype(np.float32).reshape(-1, 256)
    out = np.zeros(x.shape, np.float64)
    for i, row in enumerate(x):
        mx = row[np.argmax(np.abs(row))]
        if mx == 0:
            continue
        iscale = np.float32(-127.0) / mx
        out[i] = np.float64(np.float32(1) / iscale) * np.minimum(np.rint(iscale * row), 127)
    return out.reshape(-1)


ACT = {Q.F32: lambda x: x, Q.F16: f16, Q.BF16: bf16}
ACT.update({t: q8_0 for t in (Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0)})
ACT.update({t: q8_k for t in (Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K)})


class Llama:
    def __init__(self, path):
        r = GGUFReader(path)

        def kv(key):
            f = r.fields[key]
            return f.parts[f.data[0]][0]

        self.n_layer = int(kv("llama.block_count"))
        self.n_head = int(kv("llama.attention.head_count"))
        self.n_head_kv = int(kv("llama.attention.head_count_kv"))
        self.eps = float(kv("llama.attention.layer_norm_rms_epsilon"))
        self.base = float(kv("llama.rope.freq_base"))
        self.t = {}
        for t in r.tensors:
            w = dequantize(t.data, t.tensor_type).astype(np.float64)
            self.t[t.name] = (t.tensor_type, w.reshape([int(d) for d in reversed(t.shape)]))

    def w(self, name):
        return self.t[name][1]

    def matmul(self, name, x):
        ty, w = self.t[name]
        return np.stack([ACT[ty](row) for row in x]) @ w.T

    def rms(self, x, name):
        return x / np.sqrt((x * x).mean(axis=1, keepdims=True) + self.eps) * self.w(name)

    def rope(self, x, pos):  # LLAMA_ROPE_TYPE_NORM: rotates adjacent pairs
        hd = x.shape[2]
        ang = pos[:, None] * (self.base ** (-np.arange(0, hd, 2) / hd))[None, :]
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        out = np.empty_like(x)
        out[..., 0::2] = x[..., 0::2] * c - x[..., 1::2] * s
        out[..., 1::2] = x[..., 0::2] * s + x[..., 1::2] * c
        return out

    def logits(self, tokens):
        """Logits at every position of `tokens` (one causal pass)."""
        n, nh, nkv = len(tokens), self.n_head, self.n_head_kv
        x = self.w("token_embd.weight")[np.array(tokens)]
        pos = np.arange(n, dtype=np.float64)
        mask = np.triu(np.full((n, n), -np.inf), 1)
        for il in range(self.n_layer):
            p = f"blk.{il}."
            h = self.rms(x, p + "attn_norm.weight")
            q, k, v = (self.matmul(p + m, h) for m in ("attn_q.weight", "attn_k.weight", "attn_v.weight"))
            hd = q.shape[1] // nh
            q = self.rope(q.reshape(n, nh, hd), pos)
            k = self.rope(k.reshape(n, nkv, hd), pos)
            v = v.reshape(n, nkv, hd)
            att = np.empty((n, nh, hd))
            for hh in range(nh):
                kh = hh // (nh // nkv)
                s = q[:, hh, :] @ k[:, kh, :].T / np.sqrt(hd) + mask
                s = np.exp(s - s.max(axis=1, keepdims=True))
                att[:, hh, :] = (s / s.sum(axis=1, keepdims=True)) @ v[:, kh, :]
            x = x + self.matmul(p + "attn_output.weight", att.reshape(n, -1))
            h = self.rms(x, p + "ffn_norm.weight")
            g, u = self.matmul(p + "ffn_gate.weight", h), self.matmul(p + "ffn_up.weight", h)
            x = x + self.matmul(p + "ffn_down.weight", g / (1 + np.exp(-g)) * u)
        h = self.rms(x, "output_norm.weight")
        return self.matmul("output.weight" if "output.weight" in self.t else "token_embd.weight", h)


def check(models_dir, fixture_path):
    fx = json.loads(fixture_path.read_text())
    model = Llama(models_dir / fx["model"])
    print(f"{fx['model']}:")
    for ci, c in enumerate(fx["cases"]):
        prompt, greedy = c["prompt_tokens"], c["greedy_tokens"]
        logits = model.logits(prompt + greedy[:-1])[len(prompt) - 1:]
        per_step = [max(abs(logits[i][tid] - l) for tid, l in st["top"]) for i, st in enumerate(c["steps"])]
        first = next((i for i, d in enumerate(per_step) if d > 1e-3), None)
        same = sum(int(np.argmax(logits[i])) == g for i, g in enumerate(greedy))
        print(f"  case {ci}: max |ref - llama.cpp| {max(per_step):.1e}, first step above 1e-3: {first}, "
              f"argmax equal at {same}/{len(greedy)} steps")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    models_dir = Path(sys.argv[1])
    variants = sys.argv[2:] or sorted(p.stem.removeprefix("synthetic-") for p in FIXTURES.glob("synthetic-*.json"))
    for v in variants:
        check(models_dir, FIXTURES / f"synthetic-{v}.json")


if __name__ == "__main__":
    main()
