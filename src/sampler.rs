//! Next-token selection: penalties, truncation (top-k, top-p, min-p), temperature and a seeded
//! draw — in llama.cpp's order (penalties → top-k → top-p → min-p → temperature → draw).
//!
//! Determinism: the same seed gives the same tokens on every platform. Everything after the
//! logits is done in plain IEEE arithmetic with our own `exp`, because libm's `exp` differs
//! in the last bit between native targets and wasm, which would flip rare draws.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// Sampling settings. The defaults are greedy decoding with no penalties.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerConfig {
    /// 0 (or less) selects greedy decoding: the highest logit, ties to the lowest id.
    pub temperature: f32,
    /// Keep only the k most likely tokens; 0 disables.
    pub top_k: usize,
    /// Keep the smallest set whose probability mass reaches p; 1 disables.
    pub top_p: f32,
    /// Drop tokens whose probability is below `min_p` × the top probability; 0 disables.
    pub min_p: f32,
    /// Divides positive / multiplies negative logits of recent tokens; 1 disables.
    pub repeat_penalty: f32,
    /// Subtracted once from the logit of every recent token; 0 disables.
    pub presence_penalty: f32,
    /// Subtracted per occurrence of a recent token; 0 disables.
    pub frequency_penalty: f32,
    /// How many of the most recent tokens the penalties look at; 0 disables penalties.
    pub repeat_last_n: usize,
    pub seed: u64,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repeat_penalty: 1.0,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            repeat_last_n: 64,
            seed: 0x5eed,
        }
    }
}

impl SamplerConfig {
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }

    /// True when repetition/presence/frequency penalties change the logits.
    pub fn has_penalties(&self) -> bool {
        self.repeat_last_n > 0
            && (self.repeat_penalty != 1.0
                || self.presence_penalty != 0.0
                || self.frequency_penalty != 0.0)
    }

    /// Rejects settings that would make sampling meaningless (NaN, negative, out of range).
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, value: f32, expected: &'static str| {
            Err(Error::InvalidOption {
                name,
                value: value.to_string(),
                expected,
            })
        };
        if self.temperature.is_nan() || self.temperature.is_infinite() {
            return bad(
                "temperature",
                self.temperature,
                "a finite number (0 = greedy)",
            );
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("topP", self.top_p, "a number in (0, 1]");
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return bad("minP", self.min_p, "a number in [0, 1]");
        }
        if !(self.repeat_penalty.is_finite() && self.repeat_penalty > 0.0) {
            return bad(
                "repeatPenalty",
                self.repeat_penalty,
                "a positive number (1 = off)",
            );
        }
        if !self.presence_penalty.is_finite() {
            return bad("presencePenalty", self.presence_penalty, "a finite number");
        }
        if !self.frequency_penalty.is_finite() {
            return bad(
                "frequencyPenalty",
                self.frequency_penalty,
                "a finite number",
            );
        }
        Ok(())
    }
}

/// A sampler holds the settings, the random state and the recent-token window.
#[derive(Debug, Clone)]
pub struct Sampler {
    cfg: SamplerConfig,
    rng: SplitMix64,
    recent: std::collections::VecDeque<u32>,
    /// Scratch reused across calls so sampling a 262k vocabulary allocates nothing per token.
    candidates: Vec<(f32, u32)>,
}

impl Sampler {
    pub fn new(cfg: SamplerConfig) -> Result<Sampler> {
        cfg.validate()?;
        Ok(Sampler {
            rng: SplitMix64(cfg.seed),
            recent: std::collections::VecDeque::with_capacity(cfg.repeat_last_n.min(4096)),
            candidates: Vec::new(),
            cfg,
        })
    }

    pub fn config(&self) -> &SamplerConfig {
        &self.cfg
    }

    /// Records a token (prompt or generated) in the penalty window.
    pub fn accept(&mut self, token: u32) {
        if self.cfg.repeat_last_n == 0 {
            return;
        }
        if self.recent.len() == self.cfg.repeat_last_n {
            self.recent.pop_front();
        }
        self.recent.push_back(token);
    }

    /// Forgets the penalty window (a new, unrelated generation).
    pub fn reset(&mut self) {
        self.recent.clear();
    }

    /// Picks the next token. `logits` is modified in place by the penalties. An empty slice
    /// or one with no finite logit is an error, not a panic.
    pub fn sample(&mut self, logits: &mut [f32]) -> Result<u32> {
        if self.cfg.has_penalties() {
            apply_penalties(logits, &self.recent, &self.cfg);
        }
        if self.cfg.is_greedy() {
            return argmax(logits).ok_or(Error::NoCandidates {
                n_vocab: logits.len(),
            });
        }
        self.sample_distribution(logits)
    }

    fn sample_distribution(&mut self, logits: &[f32]) -> Result<u32> {
        let cfg = &self.cfg;
        let cands = &mut self.candidates;
        cands.clear();
        cands.extend(
            logits
                .iter()
                .enumerate()
                .filter(|(_, l)| l.is_finite())
                .map(|(i, &l)| (l, i as u32)),
        );
        if cands.is_empty() {
            return Err(Error::NoCandidates {
                n_vocab: logits.len(),
            });
        }
        // Highest logit first; equal logits by id so the order is total and platform-free.
        let by_logit = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));

        // Truncate to top-k, or to a generous prefix when only top-p/min-p are active (a full
        // sort of 262k logits per token would dominate decode time). The prefix is widened
        // to everything when it turns out not to hold the top-p mass.
        let want_k = if cfg.top_k > 0 {
            cfg.top_k.min(cands.len())
        } else {
            cands.len()
        };
        let mut k = if cfg.top_k == 0 && cfg.top_p < 1.0 {
            want_k.min(1024)
        } else {
            want_k
        };
        loop {
            if k < cands.len() {
                cands.select_nth_unstable_by(k - 1, by_logit);
            }
            let head = &mut cands[..k];
            head.sort_unstable_by(by_logit);
            if k == want_k || cfg.top_p >= 1.0 {
                break;
            }
            // Does the prefix already carry the top-p mass of the whole distribution?
            let max = head[0].0;
            let head_mass: f64 = head.iter().map(|c| exp64((c.0 - max) as f64)).sum();
            let tail_mass: f64 = cands[k..].iter().map(|c| exp64((c.0 - max) as f64)).sum();
            if head_mass / (head_mass + tail_mass) >= cfg.top_p as f64 {
                break;
            }
            k = want_k;
        }
        cands.truncate(k);

        // Probabilities at temperature 1 decide top-p and min-p (as llama.cpp does).
        let max = cands[0].0;
        let mut probs: Vec<f64> = cands.iter().map(|c| exp64((c.0 - max) as f64)).collect();
        let total: f64 = probs.iter().sum();
        let mut keep = cands.len();
        if cfg.top_p < 1.0 {
            let mut cum = 0.0;
            for (i, p) in probs.iter().enumerate() {
                cum += p / total;
                if cum >= cfg.top_p as f64 {
                    keep = i + 1;
                    break;
                }
            }
        }
        if cfg.min_p > 0.0 {
            // probs[0] is the maximum (= 1 before normalisation).
            let floor = cfg.min_p as f64;
            keep = keep.min(probs.iter().take_while(|&&p| p >= floor).count().max(1));
        }
        cands.truncate(keep);
        probs.truncate(keep);

        // Temperature reshapes what survived, then one seeded draw.
        let inv_t = 1.0 / cfg.temperature as f64;
        for (p, c) in probs.iter_mut().zip(cands.iter()) {
            *p = exp64((c.0 - max) as f64 * inv_t);
        }
        let total: f64 = probs.iter().sum();
        let u = self.rng.next_f64() * total;
        let mut cum = 0.0;
        for (p, c) in probs.iter().zip(cands.iter()) {
            cum += p;
            if u < cum {
                return Ok(c.1);
            }
        }
        // Rounding left `u` at the very top: the last survivor.
        Ok(cands[cands.len() - 1].1)
    }
}

/// Highest finite logit, ties to the lowest id; `None` if there is none.
pub fn argmax(logits: &[f32]) -> Option<u32> {
    let mut best: Option<(f32, u32)> = None;
    for (i, &l) in logits.iter().enumerate() {
        if l.is_nan() {
            continue;
        }
        match best {
            Some((b, _)) if l <= b => {}
            _ => best = Some((l, i as u32)),
        }
    }
    best.map(|(_, i)| i)
}

/// llama.cpp's penalties: repeat divides positive / multiplies negative logits, then
/// frequency × count and presence are subtracted, for every token in the recent window.
fn apply_penalties(
    logits: &mut [f32],
    recent: &std::collections::VecDeque<u32>,
    cfg: &SamplerConfig,
) {
    let mut counts: HashMap<u32, u32> = HashMap::with_capacity(recent.len());
    for &t in recent {
        *counts.entry(t).or_insert(0) += 1;
    }
    for (&t, &n) in &counts {
        let Some(l) = logits.get_mut(t as usize) else {
            continue;
        };
        if *l > 0.0 {
            *l /= cfg.repeat_penalty;
        } else {
            *l *= cfg.repeat_penalty;
        }
        *l -= n as f32 * cfg.frequency_penalty + cfg.presence_penalty;
    }
}

/// A tiny, well-mixed generator with a fixed algorithm (so seeds mean the same everywhere).
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 random bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// e^x for x ≤ 0 using only IEEE-exact operations (range reduction by ln 2, a degree-13
/// Taylor polynomial on |r| ≤ ln2/2, scaling by a power of two built from bits), so it gives
/// identical results on every platform. Relative error < 1e-15; underflows to 0 below -745.
pub fn exp64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < -745.0 {
        return 0.0;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let k = (x * std::f64::consts::LOG2_E).round();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // Horner form of sum r^n / n!, n = 0..=13.
    let mut p = 1.0 / 6_227_020_800.0;
    for d in [
        479_001_600.0,
        39_916_800.0,
        3_628_800.0,
        362_880.0,
        40_320.0,
        5_040.0,
        720.0,
        120.0,
        24.0,
        6.0,
        2.0,
        1.0,
        1.0,
    ] {
        p = p * r + 1.0 / d;
    }
    // 2^k, split in two factors so subnormal results are reached without overflow of the exponent.
    let k = k as i64;
    let (k1, k2) = (k / 2, k - k / 2);
    p * pow2(k1) * pow2(k2)
}

fn pow2(k: i64) -> f64 {
    f64::from_bits(((k + 1023).clamp(1, 2046) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(cfg: SamplerConfig) -> Sampler {
        Sampler::new(cfg).unwrap()
    }

    #[test]
    fn exp64_matches_std_closely() {
        for i in 0..20_000 {
            let x = -(i as f64) * 0.037;
            let (a, b) = (exp64(x), x.exp());
            assert!(
                (a - b).abs() <= 4e-15 * b.max(f64::MIN_POSITIVE),
                "{x}: {a} vs {b}"
            );
        }
        assert_eq!(exp64(0.0), 1.0);
        assert_eq!(exp64(-1e9), 0.0);
    }

    #[test]
    fn greedy_ties_go_to_lowest_id() {
        let mut s = sampler(SamplerConfig::default());
        let mut l = vec![0.5, 2.0, -1.0, 2.0, 2.0];
        assert_eq!(s.sample(&mut l).unwrap(), 1);
        assert_eq!(argmax(&[f32::NAN, -3.0, f32::NAN]), Some(1));
        assert_eq!(argmax(&[]), None);
        assert!(matches!(
            s.sample(&mut []),
            Err(Error::NoCandidates { n_vocab: 0 })
        ));
    }

    #[test]
    fn penalties_follow_llama_cpp() {
        let cfg = SamplerConfig {
            repeat_penalty: 2.0,
            presence_penalty: 0.5,
            frequency_penalty: 0.25,
            repeat_last_n: 3,
            ..Default::default()
        };
        let mut s = sampler(cfg);
        for t in [9, 0, 1, 1] {
            s.accept(t); // window keeps the last 3: [0, 1, 1]; token 9 fell out
        }
        let mut l = vec![4.0, -4.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0];
        s.sample(&mut l).unwrap();
        assert_eq!(l[0], 4.0 / 2.0 - 0.25 - 0.5);
        assert_eq!(l[1], -4.0 * 2.0 - 2.0 * 0.25 - 0.5);
        assert_eq!(l[2], 1.0);
        assert_eq!(l[9], 3.0);
    }

    /// With top-k = 1 any temperature is greedy; with top-p tiny, only the top token survives.
    #[test]
    fn truncation_bounds_the_draw() {
        let logits: Vec<f32> = (0..5000)
            .map(|i| ((i * 7919) % 5000) as f32 / 500.0)
            .collect();
        let best = argmax(&logits).unwrap();
        for cfg in [
            SamplerConfig {
                temperature: 5.0,
                top_k: 1,
                ..Default::default()
            },
            SamplerConfig {
                temperature: 5.0,
                top_p: 1e-6,
                ..Default::default()
            },
            SamplerConfig {
                temperature: 5.0,
                min_p: 1.0,
                ..Default::default()
            },
        ] {
            let mut s = sampler(cfg);
            for _ in 0..50 {
                assert_eq!(s.sample(&mut logits.clone()).unwrap(), best);
            }
        }
        // top-k = 3: only the three best ids ever appear.
        let mut sorted: Vec<u32> = (0..logits.len() as u32).collect();
        sorted.sort_by(|&a, &b| {
            logits[b as usize]
                .total_cmp(&logits[a as usize])
                .then(a.cmp(&b))
        });
        let top3 = &sorted[..3];
        let mut s = sampler(SamplerConfig {
            temperature: 100.0,
            top_k: 3,
            ..Default::default()
        });
        for _ in 0..300 {
            assert!(top3.contains(&s.sample(&mut logits.clone()).unwrap()));
        }
    }

    /// The empirical distribution matches softmax(logits / T) (chi-square style bound).
    #[test]
    fn draws_follow_the_tempered_softmax() {
        let logits = [1.0f32, 2.0, 0.0, 3.0];
        let t = 1.5f64;
        let w: Vec<f64> = logits
            .iter()
            .map(|&l| ((l as f64 - 3.0) / t).exp())
            .collect();
        let z: f64 = w.iter().sum();
        let mut s = sampler(SamplerConfig {
            temperature: t as f32,
            seed: 7,
            ..Default::default()
        });
        let n = 40_000;
        let mut counts = [0usize; 4];
        for _ in 0..n {
            counts[s.sample(&mut logits.to_vec()).unwrap() as usize] += 1;
        }
        for i in 0..4 {
            let expected = w[i] / z * n as f64;
            let sd = (expected * (1.0 - w[i] / z)).sqrt();
            assert!(
                (counts[i] as f64 - expected).abs() < 5.0 * sd,
                "{i}: {counts:?}"
            );
        }
    }

    /// top-p keeps the smallest prefix reaching p: with p just above the top two's mass,
    /// exactly three tokens appear — also when the vocabulary is larger than the fast prefix.
    #[test]
    fn top_p_keeps_the_smallest_sufficient_prefix() {
        let mut logits = vec![-30.0f32; 300_000];
        logits[10] = 2.0;
        logits[20] = 1.0;
        logits[30] = 0.5;
        logits[40] = 0.0;
        let w = [2.0f64, 1.0, 0.5, 0.0].map(|l| l.exp());
        let z: f64 = w.iter().sum::<f64>() + 299_996.0 * (-30.0f64).exp();
        let p_two = (w[0] + w[1]) / z;
        let cfg = SamplerConfig {
            temperature: 1.0,
            top_p: (p_two + 0.01) as f32,
            ..Default::default()
        };
        let mut s = sampler(cfg);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..400 {
            seen.insert(s.sample(&mut logits.clone()).unwrap());
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![10, 20, 30]);

        // With a flat tail holding most of the mass, the prefix must widen to the whole vocab.
        let mut flat = vec![0.0f32; 5000];
        flat[0] = 1.0;
        let mut s = sampler(SamplerConfig {
            temperature: 1.0,
            top_p: 0.99,
            seed: 3,
            ..Default::default()
        });
        let far = (0..500)
            .map(|_| s.sample(&mut flat.clone()).unwrap())
            .filter(|&t| t >= 1024)
            .count();
        assert!(far > 300, "tail never sampled: {far}");
    }

    #[test]
    fn same_seed_same_tokens_and_known_sequence() {
        let logits: Vec<f32> = (0..1000).map(|i| ((i * 31) % 97) as f32 / 10.0).collect();
        let cfg = SamplerConfig {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            seed: 42,
            ..Default::default()
        };
        let run = || {
            let mut s = sampler(cfg.clone());
            (0..16)
                .map(|_| s.sample(&mut logits.clone()).unwrap())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        // Pinned: a change here means seeds no longer reproduce earlier outputs.
        assert_eq!(SplitMix64(42).next_u64(), 0xbdd7_3226_2feb_6e95);
        let other = {
            let mut s = sampler(SamplerConfig {
                seed: 43,
                ..cfg.clone()
            });
            (0..16)
                .map(|_| s.sample(&mut logits.clone()).unwrap())
                .collect::<Vec<_>>()
        };
        assert_ne!(a, other);
    }

    #[test]
    fn invalid_settings_are_typed_errors() {
        for cfg in [
            SamplerConfig {
                temperature: f32::NAN,
                ..Default::default()
            },
            SamplerConfig {
                top_p: 0.0,
                ..Default::default()
            },
            SamplerConfig {
                top_p: 1.5,
                ..Default::default()
            },
            SamplerConfig {
                min_p: -0.1,
                ..Default::default()
            },
            SamplerConfig {
                repeat_penalty: 0.0,
                ..Default::default()
            },
            SamplerConfig {
                frequency_penalty: f32::INFINITY,
                ..Default::default()
            },
        ] {
            let e = Sampler::new(cfg).unwrap_err();
            assert_eq!(e.code(), "INVALID_OPTION", "{e}");
        }
    }
}
