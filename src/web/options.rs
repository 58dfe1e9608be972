//! Generation options as JavaScript passes them (camelCase), validated into engine options.

use serde::Deserialize;

use crate::engine::{GenerateOptions, DEFAULT_MAX_TOKENS};
use crate::error::{Error, Result};
use crate::sampler::SamplerConfig;

/// Matches the `GenerateOptions` TypeScript interface (src/js/index.d.ts).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsGenerateOptions {
    pub max_tokens: Option<f64>,
    pub temperature: Option<f32>,
    pub top_k: Option<f64>,
    pub top_p: Option<f32>,
    pub min_p: Option<f32>,
    pub repeat_penalty: Option<f32>,
    pub presence_penalty: Option<f32>,
    pub frequency_penalty: Option<f32>,
    pub repeat_last_n: Option<f64>,
    pub seed: Option<f64>,
    pub stop: Option<Vec<String>>,
    pub ignore_eos: Option<bool>,
    pub add_special: Option<bool>,
    pub parse_special: Option<bool>,
    pub reuse_cache: Option<bool>,
}

fn count(name: &'static str, v: Option<f64>, default: usize) -> Result<usize> {
    match v {
        None => Ok(default),
        Some(x) if x >= 0.0 && x.fract() == 0.0 && x <= 1e9 => Ok(x as usize),
        Some(x) => Err(Error::InvalidOption {
            name,
            value: x.to_string(),
            expected: "a non-negative integer",
        }),
    }
}

impl JsGenerateOptions {
    pub fn to_engine(&self) -> Result<GenerateOptions> {
        let d = SamplerConfig::default();
        let seed = match self.seed {
            None => d.seed,
            Some(s) if s.fract() == 0.0 && s.abs() <= 9_007_199_254_740_991.0 => s as i64 as u64,
            Some(s) => {
                return Err(Error::InvalidOption {
                    name: "seed",
                    value: s.to_string(),
                    expected: "an integer (a safe JavaScript integer)",
                })
            }
        };
        let sampler = SamplerConfig {
            temperature: self.temperature.unwrap_or(d.temperature),
            top_k: count("topK", self.top_k, d.top_k)?,
            top_p: self.top_p.unwrap_or(d.top_p),
            min_p: self.min_p.unwrap_or(d.min_p),
            repeat_penalty: self.repeat_penalty.unwrap_or(d.repeat_penalty),
            presence_penalty: self.presence_penalty.unwrap_or(d.presence_penalty),
            frequency_penalty: self.frequency_penalty.unwrap_or(d.frequency_penalty),
            repeat_last_n: count("repeatLastN", self.repeat_last_n, d.repeat_last_n)?,
            seed,
        };
        sampler.validate()?;
        Ok(GenerateOptions {
            sampler,
            max_tokens: count("maxTokens", self.max_tokens, DEFAULT_MAX_TOKENS)?,
            stop: self
                .stop
                .clone()
                .unwrap_or_default()
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
            ignore_eos: self.ignore_eos.unwrap_or(false),
            reuse_cache: self.reuse_cache.unwrap_or(true),
        })
    }
}
