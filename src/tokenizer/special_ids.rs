//! Special token ids as llama.cpp's `llama_vocab::load` resolves them: defaults, metadata
//! keys, detection by text, the end-of-generation set and the attribute fix-ups that go with
//! them.

use crate::error::{Error, Result};
use crate::gguf::{Metadata, Value};

use super::{SpecialTokens, TokenAttr, Vocab};

/// Texts llama.cpp treats as end-of-turn when `eot_token_id` is absent.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const EOM_TEXTS: &[&str] = &["<|eom_id|>"];
const FIM_PRE_TEXTS: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_TEXTS: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_TEXTS: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_TEXTS: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];
/// Texts llama.cpp treats as end-of-generation.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

/// The metadata keys of [`SpecialTokens`]' ids, in field order.
const ID_KEYS: [&str; 14] = [
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.eot_token_id",
    "tokenizer.ggml.eom_token_id",
    "tokenizer.ggml.unknown_token_id",
    "tokenizer.ggml.seperator_token_id",
    "tokenizer.ggml.padding_token_id",
    "tokenizer.ggml.mask_token_id",
    "tokenizer.ggml.fim_pre_token_id",
    "tokenizer.ggml.fim_suf_token_id",
    "tokenizer.ggml.fim_mid_token_id",
    "tokenizer.ggml.fim_pad_token_id",
    "tokenizer.ggml.fim_rep_token_id",
    "tokenizer.ggml.fim_sep_token_id",
];
/// Deprecated FIM keys and their index in [`ID_KEYS`].
const DEPRECATED_FIM_KEYS: [(usize, &str); 3] = [
    (8, "tokenizer.ggml.prefix_token_id"),
    (9, "tokenizer.ggml.suffix_token_id"),
    (10, "tokenizer.ggml.middle_token_id"),
];

/// The ids llama.cpp assumes per model type before reading the metadata.
#[derive(Debug, Clone, Copy)]
pub(super) struct DefaultIds {
    pub(super) bos: Option<u64>,
    pub(super) eos: Option<u64>,
    pub(super) unk: Option<u64>,
}

/// An optional token-id key: any non-negative integer type (llama.cpp insists on u32; a
/// negative value is taken as "absent").
fn opt_id(meta: &Metadata, key: &str) -> Result<Option<u64>> {
    match meta.get(key) {
        None => Ok(None),
        Some(v) => match v.as_uint() {
            Some(x) => Ok(Some(x)),
            None if matches!(
                v,
                Value::I8(_) | Value::I16(_) | Value::I32(_) | Value::I64(_)
            ) =>
            {
                Ok(None)
            }
            None => Err(Error::WrongValueType {
                key: key.to_owned(),
                expected: "u32",
                found: v.type_name(),
            }),
        },
    }
}

/// The special ids from the defaults and the `tokenizer.ggml.*_token_id` keys (`nl` is left
/// unset: it needs the finished tokenizer).
pub(super) fn read_ids(meta: &Metadata, n: usize, defaults: DefaultIds) -> Result<SpecialTokens> {
    // Defaults out of range are disabled; a metadata id in range replaces the default.
    let n64 = n as u64;
    let in_range = |id: Option<u64>| id.filter(|&x| x < n64);
    let bos = in_range(defaults.bos);
    let eos = in_range(defaults.eos);
    let unk = in_range(defaults.unk);
    let mut ids: [Option<u64>; 14] = [
        bos, eos, None, None, unk, None, None, None, None, None, None, None, None, None,
    ];
    for (slot, key) in ids.iter_mut().zip(ID_KEYS) {
        if let Some(v) = opt_id(meta, key)? {
            if v < n64 {
                *slot = Some(v);
            }
        }
    }
    // Deprecated FIM keys, read after the current ones.
    for (idx, key) in DEPRECATED_FIM_KEYS {
        if let Some(v) = opt_id(meta, key)? {
            if v < n64 {
                ids[idx] = Some(v);
            }
        }
    }
    let id32 = |x: Option<u64>| x.and_then(|v| u32::try_from(v).ok());
    Ok(SpecialTokens {
        bos: id32(ids[0]),
        eos: id32(ids[1]),
        eot: id32(ids[2]),
        eom: id32(ids[3]),
        unk: id32(ids[4]),
        sep: id32(ids[5]),
        pad: id32(ids[6]),
        mask: id32(ids[7]),
        fim_pre: id32(ids[8]),
        fim_suf: id32(ids[9]),
        fim_mid: id32(ids[10]),
        fim_pad: id32(ids[11]),
        fim_rep: id32(ids[12]),
        fim_sep: id32(ids[13]),
        nl: None,
    })
}

/// Fills the EOT, EOM and FIM ids the metadata left unset from their usual texts.
///
/// Detection by text, in id order (llama.cpp iterates a hash map: with several candidates its
/// pick is unspecified; here the lowest id wins). Detected tokens become control tokens.
pub(super) fn detect_by_text(vocab: &mut Vocab, special: &mut SpecialTokens) {
    let detect = |vocab: &mut Vocab, slot: &mut Option<u32>, texts: &[&str]| {
        if slot.is_some() {
            return;
        }
        if let Some(t) = texts.iter().filter_map(|t| vocab.token_id(t)).min() {
            *slot = Some(t);
            if let Some(a) = vocab.attr_mut(t) {
                *a |= TokenAttr::CONTROL;
            }
        }
    };
    detect(vocab, &mut special.eot, EOT_TEXTS);
    detect(vocab, &mut special.eom, EOM_TEXTS);
    detect(vocab, &mut special.fim_pre, FIM_PRE_TEXTS);
    detect(vocab, &mut special.fim_suf, FIM_SUF_TEXTS);
    detect(vocab, &mut special.fim_mid, FIM_MID_TEXTS);
    detect(vocab, &mut special.fim_pad, FIM_PAD_TEXTS);
    detect(vocab, &mut special.fim_rep, FIM_REP_TEXTS);
    detect(vocab, &mut special.fim_sep, FIM_SEP_TEXTS);
}

/// Control tokens named "unused…" are unused.
pub(super) fn mark_unused(vocab: &mut Vocab) {
    for id in 0..vocab.len() as u32 {
        let a = vocab.attr(id);
        if a.contains(TokenAttr::CONTROL) && vocab.text(id).is_some_and(|t| t.contains("unused")) {
            if let Some(a) = vocab.attr_mut(id) {
                *a |= TokenAttr::UNUSED;
            }
        }
    }
}

/// The end-of-generation set, ascending (llama.cpp `special_eog_ids`), with the attribute
/// changes llama.cpp makes while building it.
pub(super) fn eog_set(vocab: &mut Vocab, special: &SpecialTokens) -> Vec<u32> {
    let mut eog: Vec<u32> = [special.fim_pad, special.fim_rep, special.fim_sep]
        .into_iter()
        .flatten()
        .collect();
    for t in EOG_TEXTS {
        if let Some(id) = vocab.token_id(t) {
            eog.push(id);
            if let Some(a) = vocab.attr_mut(id) {
                *a |= TokenAttr::CONTROL;
            }
        }
    }
    // gpt-oss: always rendered.
    for t in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
        if let Some(a) = vocab.token_id(t).and_then(|id| vocab.attr_mut(id)) {
            *a = TokenAttr::USER_DEFINED;
        }
    }
    eog.extend(
        [special.eos, special.eot, special.eom]
            .into_iter()
            .flatten(),
    );
    eog.sort_unstable();
    eog.dedup();
    drop_false_eog(vocab, &mut eog);
    eog
}

/// llama.cpp's exceptions to the end-of-generation texts: vocabularies in which `<|end|>` or
/// `</s>` does not end generation.
fn drop_false_eog(vocab: &mut Vocab, eog: &mut Vec<u32>) {
    let eog_has = |eog: &[u32], vocab: &Vocab, text: &str| {
        eog.iter().copied().find(|&id| vocab.text(id) == Some(text))
    };
    // o200k_harmony / solar-open: "<|end|>" is not end-of-generation there.
    let has_return = eog_has(eog, vocab, "<|return|>").is_some();
    let has_call =
        eog_has(eog, vocab, "<|call|>").is_some() || eog_has(eog, vocab, "<|calls|>").is_some();
    let has_flush = eog_has(eog, vocab, "<|flush|>").is_some();
    if let Some(end) = eog_has(eog, vocab, "<|end|>") {
        if has_call && (has_return || has_flush) {
            eog.retain(|&x| x != end);
            if let Some(a) = vocab.attr_mut(end) {
                *a = TokenAttr::USER_DEFINED;
            }
        }
    }
    // gemma4 / paddleocr: "</s>" is not end-of-generation when "<|tool_response>" is.
    if eog_has(eog, vocab, "<|tool_response>").is_some() {
        if let Some(s) = eog_has(eog, vocab, "</s>") {
            eog.retain(|&x| x != s);
            if let Some(a) = vocab.attr_mut(s) {
                *a = TokenAttr::NORMAL;
            }
        }
    }
}

/// The tokens whose text is matched in a prompt (control, user-defined, unknown), by id.
pub(super) fn matchable_ids(vocab: &Vocab) -> Vec<u32> {
    (0..vocab.len() as u32)
        .filter(|&id| {
            vocab
                .attr(id)
                .intersects(TokenAttr::CONTROL | TokenAttr::USER_DEFINED | TokenAttr::UNKNOWN)
        })
        .collect()
}

/// Per-model attributes llama.cpp sets by name. `special_ids` are the [`matchable_ids`]:
/// Phi-3 right-strips all of them.
pub(super) fn apply_fixups_by_name(
    meta: &Metadata,
    pre_name: &str,
    vocab: &mut Vocab,
    special_ids: &[u32],
) -> Result<()> {
    let model_name = meta.opt_str("general.name")?.unwrap_or("").to_lowercase();
    let arch = meta.opt_str("general.architecture")?.unwrap_or("");
    let set_attr = |vocab: &mut Vocab, text: &str, attr: TokenAttr, on: bool| {
        if let Some(a) = vocab.token_id(text).and_then(|id| vocab.attr_mut(id)) {
            a.set(attr, on);
        }
    };
    if ["jina-v2-de", "jina-v2-es", "jina-v2-code"]
        .iter()
        .any(|s| pre_name.contains(s))
        || ["nomic-bert-moe", "jina-bert-v3"]
            .iter()
            .any(|s| arch.contains(s))
    {
        set_attr(vocab, "<mask>", TokenAttr::LSTRIP, true);
    } else if ["phi-3", "phi3"].iter().any(|s| model_name.contains(s)) {
        for &id in special_ids {
            if let Some(a) = vocab.attr_mut(id) {
                a.set(TokenAttr::RSTRIP, true);
            }
        }
        set_attr(vocab, "</s>", TokenAttr::RSTRIP, true);
        for t in ["<unk>", "<s>", "<|endoftext|>"] {
            set_attr(vocab, t, TokenAttr::RSTRIP, false);
        }
    } else if model_name.contains("modern-bert") {
        set_attr(vocab, "[MASK]", TokenAttr::LSTRIP, true);
    }
    Ok(())
}
