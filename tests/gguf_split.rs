//! Split models (llama.cpp's gguf-split layout), natively: our splitter's shards of synthetic
//! models of several architectures, joined, give the single file's tensors, metadata and —
//! bit for bit — its logits (the single file is checked against llama.cpp in
//! tests/engine_conformance.rs); a missing, duplicated or foreign shard, and one shard alone,
//! are GGUF_SPLIT_INVALID errors naming it.

#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

use std::sync::Arc;

use support::engine::conformance::session;
use support::engine::oracle_from_json;
use support::oracle_json::synthetic_fixture;
use support::synthetic_models::{Variant, VARIANTS};
use wasm_chord::gguf::{split, LoadedGguf};
use wasm_chord::model::{KvType, Model, ModelOptions};

fn variant(name: &str) -> &'static Variant {
    VARIANTS.iter().find(|v| v.name == name).expect("variant")
}

/// `bytes` split into shards of at most a quarter of the file each, named as gguf-split does.
fn shards(name: &str, bytes: &[u8]) -> Vec<(String, LoadedGguf)> {
    let parts = split::split_bytes(bytes, bytes.len() as u64 / 4).expect("splits");
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let file = format!("{name}-{:05}-of-{n:05}.gguf", i + 1);
            (
                file,
                LoadedGguf::from_bytes(b).expect("a shard is a valid GGUF file"),
            )
        })
        .collect()
}

fn split_error(r: wasm_chord::Result<LoadedGguf>) -> String {
    let e = r.expect_err("the set must be rejected");
    assert_eq!(e.code(), "GGUF_SPLIT_INVALID", "{e}");
    e.to_string()
}

#[test]
fn split_models_are_the_single_file() {
    // phi3: fused tensors split into row views; gemma2: soft-caps; qwen2: biases.
    for name in ["llama3", "qwen2", "phi3", "gemma2"] {
        let v = variant(name);
        let bytes = (v.build)();
        let whole = LoadedGguf::from_bytes(bytes.clone()).unwrap();
        let parts = shards(name, &bytes);
        assert!(parts.len() >= 3, "{name}: {} shards", parts.len());
        for (_, p) in &parts {
            let data: u64 = p.tensors().map(|t| t.info.n_bytes).sum();
            assert!(data <= bytes.len() as u64 / 4 || p.header().tensors.len() == 1);
        }
        // Given in another order: the shards are sorted by split.no.
        let mut given = parts;
        given.reverse();
        let joined = split::join(given).expect("joins");
        assert_eq!(
            joined.shard_count() as u64,
            joined.metadata().get_uint("split.count").unwrap()
        );
        for t in whole.tensors() {
            let j = joined.tensor(&t.info.name).expect(&t.info.name);
            assert!(
                j.bytes == t.bytes,
                "{name}: {} differs (shard {}, offset {})",
                t.info.name,
                j.info.shard,
                j.info.offset
            );
        }
        assert_eq!(joined.header().tensors.len(), whole.header().tensors.len());
        for (k, val) in whole.metadata().iter() {
            assert_eq!(joined.metadata().get(k), Some(val), "{name}: {k}");
        }

        let fx = oracle_from_json(synthetic_fixture(&v.fixture_name()));
        let a = Arc::new(Model::load(whole, &ModelOptions::default()).unwrap());
        let b = Arc::new(Model::load(joined, &ModelOptions::default()).unwrap());
        let (mut sa, mut sb) = (
            session(&a, fx.n_ctx, KvType::F32),
            session(&b, fx.n_ctx, KvType::F32),
        );
        let mut steps = 0;
        for case in &fx.cases {
            sa.clear();
            sb.clear();
            let la = sa.prefill(&case.prompt_tokens).unwrap().to_vec();
            assert_eq!(
                la,
                sb.prefill(&case.prompt_tokens).unwrap(),
                "{name}: prompt logits"
            );
            for &t in &case.greedy_tokens {
                let la = sa.decode(t).unwrap().to_vec();
                assert_eq!(la, sb.decode(t).unwrap(), "{name}: decode logits");
                steps += 1;
            }
        }
        println!(
            "{name}: split into {} shards, identical logits at {steps} steps",
            b.gguf().shard_count()
        );
    }
}

#[test]
fn incomplete_duplicated_or_foreign_shards_are_named() {
    let bytes = (variant("llama3").build)();
    let parts = || shards("llama3", &bytes);
    let n = parts().len();

    let mut missing = parts();
    missing.remove(1);
    let e = split_error(split::join(missing));
    assert!(e.contains(&format!("shard 2 of {n} is missing")), "{e}");

    let mut twice = parts();
    let copy = ("copy.gguf".to_string(), twice[1].1.clone());
    twice[2] = copy;
    let e = split_error(split::join(twice));
    assert!(
        e.contains("shard 2 is given twice") && e.contains("copy.gguf"),
        "{e}"
    );

    // Shard 2 of another model split the same way (Qwen2 has more tensors: its biases).
    let qwen = (variant("qwen2").build)();
    let mut other = shards("qwen2", &qwen);
    assert_eq!(other.len(), n, "the test needs the same shard count");
    let mut foreign = parts();
    foreign[1] = other.remove(1);
    let e = split_error(split::join(foreign));
    assert!(
        e.contains("qwen2-00002") && e.contains("different models"),
        "{e}"
    );

    // One shard alone is not a model.
    let first = parts().remove(0).1;
    let e = Model::load(first, &ModelOptions::default()).expect_err("a lone shard");
    assert_eq!(e.code(), "GGUF_SPLIT_INVALID");
    assert!(e.to_string().contains(&format!("shard 1 of {n}")), "{e}");

    // Splitting a shard again is refused; an unsplit single file joins as itself.
    let shard = split::split_bytes(
        &split::split_bytes(&bytes, bytes.len() as u64 / 4).unwrap()[0],
        1 << 20,
    );
    assert_eq!(shard.expect_err("a shard").code(), "GGUF_SPLIT_INVALID");
    let single = split::join(vec![(
        "whole.gguf".into(),
        LoadedGguf::from_bytes(bytes.clone()).unwrap(),
    )])
    .unwrap();
    assert_eq!(single.shard_count(), 1);
}
