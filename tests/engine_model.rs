//! Model loading (configuration from metadata, tensor validation) and the session's KV cache:
//! typed errors, context overflow, chunking invariance, KV reuse, the sliding window.

#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

use std::sync::Arc;

use support::engine::{edited, remove_kv, set_kv, Tiny};
use wasm_chord::gguf::{LoadedGguf, Value};
use wasm_chord::model::{Arch, KvType, Model, ModelOptions, Session, SessionOptions};
use wasm_chord::quant::GgmlType;
use wasm_chord::Error;

fn load(g: LoadedGguf) -> Result<Model, Error> {
    Model::load(g, &ModelOptions::default())
}

fn model(t: &Tiny) -> Arc<Model> {
    Arc::new(load(t.gguf()).expect("tiny model loads"))
}

fn session(m: &Arc<Model>, n_ctx: usize, n_batch: usize) -> Session {
    Session::new(
        Arc::clone(m),
        &SessionOptions {
            n_ctx,
            n_batch,
            kv_type: KvType::F16,
        },
    )
    .expect("session")
}

fn remove_tensor(w: &mut wasm_chord::gguf::GgufWriter, name: &str) {
    let before = w.tensors.len();
    w.tensors.retain(|t| t.name.as_slice() != name.as_bytes());
    assert_eq!(w.tensors.len(), before - 1, "{name} not in the writer");
}

/// Deterministic pseudo-random token ids in `4..n` (no control tokens).
fn tokens(n_vocab: usize, len: usize, seed: u32) -> Vec<u32> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            4 + x % (n_vocab as u32 - 4)
        })
        .collect()
}

// ---- configuration and validation ---------------------------------------------------------

#[test]
fn config_comes_from_metadata() {
    let t = Tiny::gemma3();
    let m = model(&t);
    let c = m.config();
    assert_eq!(c.arch, Arch::Gemma3);
    assert_eq!((c.n_layer, c.n_embd, c.n_head, c.n_head_kv), (2, 64, 4, 1));
    assert_eq!((c.head_dim, c.n_ff, c.n_vocab), (32, 96, t.n_vocab()));
    assert!(c.rope_neox && c.qk_norm && c.post_norms);
    assert_eq!(c.embed_scale, Some(8.0));
    assert_eq!(c.sliding_window, Some(8));
    assert_eq!((c.rope_base, c.rope_base_swa), (10000.0, 10000.0));
    assert_eq!(c.window(0), Some(8));

    let l = model(&Tiny::llama());
    let c = l.config();
    assert_eq!(c.arch, Arch::Llama);
    assert!(!c.rope_neox && !c.qk_norm && c.embed_scale.is_none());
    assert_eq!(c.window(0), None);
    assert_eq!(c.attn_scale, 0.25);
}

#[test]
fn qwen_configs_come_from_metadata() {
    let m = model(&Tiny::qwen2());
    let c = m.config();
    assert_eq!(c.arch, Arch::Qwen2);
    assert!(c.rope_neox && c.qkv_bias && !c.qk_norm && !c.post_norms);
    assert_eq!(c.attn_scale, 0.25);

    let m = model(&Tiny::qwen3());
    let c = m.config();
    assert_eq!(c.arch, Arch::Qwen3);
    assert!(c.rope_neox && c.qk_norm && !c.qkv_bias && !c.scale_queries);
    // attention.key_length (32), not n_embd / n_head (16).
    assert_eq!((c.head_dim, c.q_dim(), c.k_dim()), (32, 128, 64));
}

#[test]
fn gemma_and_gemma2_configs_come_from_metadata() {
    let m = model(&Tiny {
        arch: "gemma",
        window: None,
        ..Tiny::gemma3()
    });
    let c = m.config();
    assert_eq!(c.arch, Arch::Gemma);
    assert!(c.rope_neox && c.scale_queries && c.tied_head && !c.post_norms && !c.qk_norm);
    assert_eq!(
        (c.embed_scale, c.attn_softcap, c.window(0)),
        (Some(8.0), None, None)
    );

    let m = model(&Tiny::gemma2());
    let c = m.config();
    assert_eq!(c.arch, Arch::Gemma2);
    assert!(c.post_norms && c.tied_head && !c.qk_norm);
    // llama.cpp's defaults when the file has no caps; the even layers slide.
    assert_eq!(
        (c.attn_softcap, c.final_logit_softcap),
        (Some(50.0), Some(30.0))
    );
    assert_eq!((c.window(0), c.window(1)), (Some(4), None));

    let g = edited(&Tiny::gemma2().writer(), |w| {
        w.kv("gemma2.attn_logit_softcapping", 0.0f32);
    });
    let e = load(g).unwrap_err();
    assert_eq!(e.code(), "BAD_MODEL_CONFIG");
    assert!(
        e.to_string().contains("gemma2.attn_logit_softcapping"),
        "{e}"
    );
}

/// llama.cpp's Gemma 1/2 graphs always use `token_embd` as the head, even beside an
/// `output.weight`.
#[test]
fn gemma2_head_is_the_embedding_even_with_an_output_tensor() {
    let t = Tiny::gemma2();
    let n_vocab = t.n_vocab();
    // An all-zero F32 head: used, it would make every logit 0.
    let g = edited(&t.writer(), |w| {
        let zeros = vec![0u8; 64 * n_vocab * 4];
        w.tensor("output.weight", GgmlType::F32, &[64, n_vocab as u64], zeros);
    });
    let with_output = Arc::new(load(g).expect("loads"));
    let toks = tokens(n_vocab, 6, 3);
    let a = session(&model(&t), 32, 8).prefill(&toks).unwrap().to_vec();
    let b = session(&with_output, 32, 8)
        .prefill(&toks)
        .unwrap()
        .to_vec();
    assert!(a == b, "the output.weight was used");
    assert!(b.iter().any(|&l| l.abs() > 0.1));
}

#[test]
fn projection_biases_are_required_by_qwen2_and_used_by_llama() {
    let g = edited(&Tiny::qwen2().writer(), |w| {
        remove_tensor(w, "blk.1.attn_k.bias")
    });
    assert_eq!(
        load(g).unwrap_err(),
        Error::MissingTensor {
            tensor: "blk.1.attn_k.bias".into()
        }
    );
    // A llama file may carry them (llama.cpp uses them when present): they change the logits.
    let t = Tiny::llama();
    let plain = model(&t);
    let g = edited(&t.writer(), |w| {
        let bias: Vec<u8> = (0..64)
            .flat_map(|i| (i as f32 * 0.1).to_le_bytes())
            .collect();
        w.tensor("blk.0.attn_q.bias", GgmlType::F32, &[64], bias);
    });
    let biased = Arc::new(load(g).expect("llama with a query bias loads"));
    let toks = tokens(t.n_vocab(), 6, 7);
    let a = session(&plain, 32, 8).prefill(&toks).unwrap().to_vec();
    let b = session(&biased, 32, 8).prefill(&toks).unwrap().to_vec();
    assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-3));
    // Of the wrong length: a shape error naming it.
    let g = edited(&t.writer(), |w| {
        w.tensor("blk.0.attn_v.bias", GgmlType::F32, &[64], vec![0; 256]);
    });
    let e = load(g).unwrap_err();
    assert!(e.to_string().contains("blk.0.attn_v.bias"), "{e}");
}

#[test]
fn ffn_biases_are_refused_not_ignored() {
    let g = edited(&Tiny::llama().writer(), |w| {
        w.tensor("blk.0.ffn_up.bias", GgmlType::F32, &[96], vec![0; 384]);
    });
    let e = load(g).unwrap_err();
    assert_eq!(e.code(), "UNSUPPORTED_MODEL_FEATURE");
    assert!(e.to_string().contains("blk.0.ffn_up.bias"), "{e}");
}

#[test]
fn gemma3_swa_pattern_is_five_sliding_then_one_global() {
    let t = Tiny {
        n_layer: 12,
        ..Tiny::gemma3()
    };
    let m = model(&t);
    let c = m.config();
    let global: Vec<usize> = (0..12).filter(|&il| c.window(il).is_none()).collect();
    assert_eq!(global, [5, 11]);
    assert_eq!(c.rope_base_swa, 10000.0);
}

#[test]
fn unsupported_architecture_is_typed() {
    let w = Tiny::llama().writer();
    let g = edited(&w, |w| {
        set_kv(w, "general.architecture", Value::from("mamba"))
    });
    let e = load(g).unwrap_err();
    assert_eq!(e.code(), "UNSUPPORTED_ARCHITECTURE");
    assert!(e.to_string().contains("mamba"), "{e}");
    // It lists what would load, each name one that does.
    let listed = e.to_string();
    let listed = listed
        .split("supported: ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')');
    for name in listed.split(", ") {
        assert_eq!(Arch::from_name(name).unwrap().name(), name, "{e}");
    }
    assert_eq!(listed.split(", ").count(), Arch::ALL.len(), "{e}");
}

#[test]
fn missing_key_names_it() {
    let w = Tiny::llama().writer();
    let g = edited(&w, |w| remove_kv(w, "llama.block_count"));
    let e = load(g).unwrap_err();
    assert_eq!(
        e,
        Error::MissingKey {
            key: "llama.block_count".into()
        }
    );
    assert_eq!(e.code(), "GGUF_MISSING_KEY");

    let g = edited(&w, |w| {
        remove_kv(w, "llama.attention.layer_norm_rms_epsilon")
    });
    assert_eq!(load(g).unwrap_err().code(), "GGUF_MISSING_KEY");
}

#[test]
fn wrong_key_type_and_bad_values_are_typed() {
    let w = Tiny::llama().writer();
    let g = edited(&w, |w| {
        set_kv(w, "llama.embedding_length", Value::from("64"))
    });
    assert_eq!(load(g).unwrap_err().code(), "GGUF_WRONG_VALUE_TYPE");

    let g = edited(&w, |w| {
        set_kv(w, "llama.attention.head_count_kv", Value::from(3u32))
    });
    let e = load(g).unwrap_err();
    assert_eq!(e.code(), "BAD_MODEL_CONFIG");
    assert!(
        e.to_string().contains("llama.attention.head_count_kv"),
        "{e}"
    );

    let g = edited(&w, |w| set_kv(w, "llama.block_count", Value::from(0u32)));
    assert_eq!(load(g).unwrap_err().code(), "BAD_MODEL_CONFIG");

    let g = edited(&w, |w| {
        w.kv("llama.rope.scaling.type", "yarn");
    });
    assert_eq!(load(g).unwrap_err().code(), "UNSUPPORTED_MODEL_FEATURE");
}

#[test]
fn missing_tensor_names_it() {
    for name in [
        "token_embd.weight",
        "output_norm.weight",
        "blk.1.ffn_down.weight",
        "blk.0.attn_k.weight",
    ] {
        let g = edited(&Tiny::llama().writer(), |w| remove_tensor(w, name));
        let e = load(g).unwrap_err();
        assert_eq!(
            e,
            Error::MissingTensor {
                tensor: name.into()
            },
            "{name}"
        );
        assert_eq!(e.code(), "MISSING_TENSOR");
    }
    // Gemma's extra norms are required.
    let g = edited(&Tiny::gemma3().writer(), |w| {
        remove_tensor(w, "blk.1.post_ffw_norm.weight")
    });
    assert_eq!(
        load(g).unwrap_err(),
        Error::MissingTensor {
            tensor: "blk.1.post_ffw_norm.weight".into()
        }
    );
}

#[test]
fn wrong_shape_names_the_tensor_and_both_shapes() {
    let t = Tiny::llama();
    let g = edited(&t.writer(), |w| {
        let spec = w
            .tensors
            .iter_mut()
            .find(|s| s.name == b"blk.0.attn_q.weight")
            .unwrap();
        // Same byte count, transposed shape would still be [64, 64]; use half the rows and
        // keep the bytes consistent.
        spec.dims = vec![64, 32];
        spec.data.truncate(spec.data.len() / 2);
    });
    let e = load(g).unwrap_err();
    assert_eq!(
        e,
        Error::TensorShape {
            tensor: "blk.0.attn_q.weight".into(),
            expected: vec![64, 64],
            found: vec![64, 32],
        }
    );
    assert_eq!(e.code(), "TENSOR_SHAPE");

    let g = edited(&t.writer(), |w| {
        let spec = w
            .tensors
            .iter_mut()
            .find(|s| s.name == b"blk.1.ffn_norm.weight")
            .unwrap();
        spec.dims = vec![32];
        spec.data.truncate(32 * 4);
    });
    assert_eq!(load(g).unwrap_err().code(), "TENSOR_SHAPE");
}

#[test]
fn activation_only_type_as_weight_is_typed() {
    // Q8_K rows are 256 elements: a model with n_embd = 256.
    let t = Tiny {
        n_embd: 256,
        head_dim: 64,
        ..Tiny::llama()
    };
    let g = edited(&t.writer(), |w| {
        let spec = w
            .tensors
            .iter_mut()
            .find(|s| s.name == b"blk.0.attn_q.weight")
            .unwrap();
        spec.type_id = 15; // Q8_K
        spec.data = vec![0u8; 256 * 292];
    });
    let e = load(g).unwrap_err();
    assert_eq!(e.code(), "TENSOR_TYPE");
    assert!(e.to_string().contains("blk.0.attn_q.weight"), "{e}");
}

#[test]
fn tied_and_separate_output_heads_load() {
    for tied in [true, false] {
        for ty in [GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::F16, GgmlType::F32] {
            let t = Tiny {
                tied,
                weight_ty: ty,
                ..Tiny::llama()
            };
            let m = model(&t);
            let mut s = session(&m, 32, 8);
            let l = s.prefill(&[1, 100, 200]).unwrap();
            assert_eq!(l.len(), t.n_vocab());
            assert!(l.iter().all(|x| x.is_finite()));
        }
    }
}

// ---- session ------------------------------------------------------------------------------

#[test]
fn context_overflow_is_a_typed_error() {
    let m = model(&Tiny::llama());
    let mut s = session(&m, 8, 4);
    let toks = tokens(m.config().n_vocab, 9, 1);
    let e = s.prefill(&toks).unwrap_err();
    assert_eq!(
        e,
        Error::ContextOverflow {
            n_ctx: 8,
            needed: 9
        }
    );
    assert_eq!(e.code(), "CONTEXT_OVERFLOW");
    assert_eq!(s.n_past(), 0, "a refused prefill evaluates nothing");

    s.prefill(&toks[..6]).unwrap();
    assert_eq!(
        s.prefill(&toks[6..9]).unwrap_err().code(),
        "CONTEXT_OVERFLOW"
    );
    s.decode(toks[6]).unwrap();
    s.decode(toks[7]).unwrap();
    assert_eq!(
        s.decode(toks[8]).unwrap_err(),
        Error::ContextOverflow {
            n_ctx: 8,
            needed: 9
        }
    );
}

#[test]
fn bad_tokens_and_empty_input_are_typed() {
    let m = model(&Tiny::llama());
    let mut s = session(&m, 16, 4);
    let n = m.config().n_vocab as u32;
    assert_eq!(s.prefill(&[1, n]).unwrap_err().code(), "INVALID_TOKEN");
    assert_eq!(s.decode(u32::MAX).unwrap_err().code(), "INVALID_TOKEN");
    assert_eq!(s.prefill(&[]).unwrap_err().code(), "INVALID_OPTION");
    assert_eq!(s.n_past(), 0);
}

#[test]
fn default_context_is_model_context_capped_at_4096() {
    let m = model(&Tiny::llama());
    let s = Session::new(Arc::clone(&m), &SessionOptions::default()).unwrap();
    assert_eq!(s.n_ctx(), 256);
    let big = model(&Tiny {
        n_ctx_train: 32768,
        ..Tiny::llama()
    });
    let s = Session::new(big, &SessionOptions::default()).unwrap();
    assert_eq!(s.n_ctx(), 4096);
}

/// Every position's logits, evaluated `batch` tokens at a time (prefill) or one by one.
fn logits_by(m: &Arc<Model>, toks: &[u32], n_batch: usize, one_by_one: bool) -> Vec<Vec<f32>> {
    let mut s = session(m, 128, n_batch);
    if one_by_one {
        toks.iter()
            .map(|&t| s.decode(t).unwrap().to_vec())
            .collect()
    } else {
        let n = m.config().n_vocab;
        s.prefill_logits_all(toks)
            .unwrap()
            .chunks(n)
            .map(<[f32]>::to_vec)
            .collect()
    }
}

/// Natively every kernel computes each row the same way whatever the batch, and attention
/// tiles are aligned to absolute positions, so chunking must not change a single bit. This
/// also exercises the sliding-window ring (window 8, 70 positions, rings of 8 + batch − 1).
#[test]
fn chunking_does_not_change_logits() {
    for t in [Tiny::llama(), Tiny::gemma3()] {
        let m = model(&t);
        let toks = tokens(m.config().n_vocab, 70, 7);
        let reference = logits_by(&m, &toks, 64, false);
        for (batch, one) in [(1, true), (5, false), (16, false), (1, false)] {
            assert!(
                logits_by(&m, &toks, batch, one) == reference,
                "{}: batch {batch}, one by one {one}",
                t.arch
            );
        }
        // prefill() returns the last row of prefill_logits_all().
        let mut s = session(&m, 128, 16);
        assert_eq!(s.prefill(&toks).unwrap(), &reference[69][..]);
        assert_eq!(s.logits(), &reference[69][..]);
    }
}

/// With a single sliding-window layer of window w, the logits at position p depend on the
/// tokens at p-w+1..=p only (llama.cpp masks keys with p - key >= w).
#[test]
fn sliding_window_sees_exactly_window_positions() {
    let t = Tiny {
        n_layer: 1,
        window: Some(4),
        ..Tiny::gemma3()
    };
    let m = model(&t);
    assert_eq!(m.config().window(0), Some(4));
    let base = tokens(m.config().n_vocab, 12, 3);
    let last = |toks: &[u32]| {
        let mut s = session(&m, 32, 4);
        s.prefill(toks).unwrap().to_vec()
    };
    let l0 = last(&base);
    // Position 11 sees 8..=11: changing position 7 changes nothing, position 8 does.
    let mut far = base.clone();
    far[7] = base[7] % 500 + 7;
    assert_ne!(far[7], base[7]);
    assert_eq!(last(&far), l0);
    let mut near = base.clone();
    near[8] = base[8] % 500 + 7;
    assert_ne!(last(&near), l0);
}

/// The same model without the window attends to everything (control for the test above).
#[test]
fn global_attention_sees_everything() {
    let t = Tiny {
        n_layer: 1,
        window: None,
        ..Tiny::gemma3()
    };
    let m = model(&t);
    let base = tokens(m.config().n_vocab, 12, 3);
    let last = |toks: &[u32]| {
        let mut s = session(&m, 32, 4);
        s.prefill(toks).unwrap().to_vec()
    };
    let mut far = base.clone();
    far[1] = base[1] % 500 + 7;
    assert_ne!(last(&far), last(&base));
}

#[test]
fn rewind_reuses_the_prefix_exactly() {
    for t in [Tiny::llama(), Tiny::gemma3()] {
        let m = model(&t);
        let toks = tokens(m.config().n_vocab, 40, 11);
        let mut fresh = session(&m, 64, 8);
        let want = fresh.prefill(&toks).unwrap().to_vec();

        let mut s = session(&m, 64, 8);
        s.prefill(&toks[..30]).unwrap();
        for &x in &tokens(m.config().n_vocab, 3, 99) {
            s.decode(x).unwrap();
        }
        // Keep 27 of 33: the window (8) plus a batch (8) of slots still hold what position 27
        // needs, so the rewind succeeds.
        assert!(s.rewind(27));
        assert_eq!(s.n_past(), 27);
        assert_eq!(s.prefill(&toks[27..]).unwrap(), &want[..], "{}", t.arch);
    }
}

#[test]
fn rewind_too_far_back_for_the_ring_clears() {
    let m = model(&Tiny::gemma3());
    let toks = tokens(m.config().n_vocab, 60, 5);
    let mut s = session(&m, 64, 4);
    s.prefill(&toks).unwrap();
    // Rings hold 8 + 4 - 1 = 11 slots: positions 49..=59. Continuing at 20 needs 13..=19.
    assert!(!s.rewind(20));
    assert_eq!(s.n_past(), 0);
    // A llama model (no ring) can always rewind.
    let m = model(&Tiny::llama());
    let mut s = session(&m, 64, 4);
    s.prefill(&toks).unwrap();
    assert!(s.rewind(20));
    assert_eq!(s.n_past(), 20);
}

#[test]
fn kv_cache_memory_is_budgeted() {
    let m = model(&Tiny::gemma3());
    let s16 = session(&m, 256, 8);
    // 2 ring layers of 8 + 8 - 1 slots, 32 keys + 32 values per slot, 2 bytes each.
    assert_eq!(s16.kv_bytes(), 2 * 15 * 64 * 2);
    let s32 = Session::new(
        Arc::clone(&m),
        &SessionOptions {
            n_ctx: 256,
            n_batch: 8,
            kv_type: KvType::F32,
        },
    )
    .unwrap();
    assert_eq!(s32.kv_bytes(), 2 * s16.kv_bytes());
    let l = model(&Tiny::llama());
    // Full layers: n_ctx slots × (2 heads × 16) × (k + v) × 2 bytes × 2 layers.
    assert_eq!(session(&l, 100, 8).kv_bytes(), 100 * 32 * 2 * 2 * 2);
}

#[test]
fn f16_and_f32_caches_agree_closely() {
    let m = model(&Tiny::llama());
    let toks = tokens(m.config().n_vocab, 20, 2);
    let a = session(&m, 32, 8).prefill(&toks).unwrap().to_vec();
    let b = Session::new(
        Arc::clone(&m),
        &SessionOptions {
            n_ctx: 32,
            n_batch: 8,
            kv_type: KvType::F32,
        },
    )
    .unwrap()
    .prefill(&toks)
    .unwrap()
    .to_vec();
    let d = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(d > 0.0 && d < 0.05, "max |Δ| {d}");
}

/// Llama 3's `rope_freqs.weight` divides each RoPE angle: factors of 1 change nothing,
/// others change the result; a wrong length is a shape error.
#[test]
fn llama3_rope_freqs() {
    let t = Tiny::llama();
    let toks = tokens(t.n_vocab(), 12, 4);
    let run = |g: LoadedGguf| {
        let m = Arc::new(load(g).unwrap());
        assert!(m.graph().ropes.iter().all(|r| r.factors.is_some()));
        session(&m, 32, 8).prefill(&toks).unwrap().to_vec()
    };
    let plain = session(&model(&t), 32, 8).prefill(&toks).unwrap().to_vec();
    let with = |f: f32, n: usize| {
        edited(&t.writer(), |w| {
            let data: Vec<u8> = (0..n).flat_map(|_| f.to_le_bytes()).collect();
            w.tensor("rope_freqs.weight", GgmlType::F32, &[n as u64], data);
        })
    };
    // head_dim 16: 8 frequencies.
    assert_eq!(run(with(1.0, 8)), plain);
    assert_ne!(run(with(4.0, 8)), plain);
    assert_eq!(load(with(1.0, 7)).unwrap_err().code(), "TENSOR_SHAPE");
}
