//! What the synthetic models draw their weights from: random valid K-quant blocks, and a
//! deterministic, platform-independent random number generator seeded per tensor name.

use half::f16;

use super::synthetic_models::SEED;
use wasm_chord::quant::QK_K;

// ---- random valid K-quant blocks ----------------------------------------------------------
//
// ggml has search-based K-quantizers only; a random block with small positive f16 super-block
// scales, random sub-block scales and random quants is just as valid. Mins are chosen to
// centre each sub-block on ~0. The `d` of each type is `std` / (rms of scale × quant).

fn f16le(x: f32) -> [u8; 2] {
    f16::from_f32(x).to_bits().to_le_bytes()
}

fn random_bytes(rng: &mut Rng, out: &mut Vec<u8>, n: usize) {
    out.extend((0..n).map(|_| rng.byte()));
}

/// Q4_K/Q5_K 6-bit scales and mins (8 each) packed into 12 bytes, as `get_scale_min_k4`
/// unpacks them.
fn pack_scale_min_k4(sc: &[u8; 8], m: &[u8; 8]) -> [u8; 12] {
    let mut q = [0u8; 12];
    for j in 0..4 {
        q[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
        q[j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
        q[j + 8] = (sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4);
    }
    q
}

/// `d`·sc·q − `dmin`·m with q in [0, 2^bits): sc in [24, 63], dmin = 2^(bits−1)·d and
/// m = round(sc·(2^bits − 1)/2^bits) so each sub-block's mean is ~0.
fn k4_scales(rng: &mut Rng, bits: u32) -> ([u8; 8], [u8; 8]) {
    let mut sc = [0u8; 8];
    let mut m = [0u8; 8];
    let levels = 1u32 << bits;
    for j in 0..8 {
        let s = 24 + (rng.next_u64() % 40) as u32;
        sc[j] = s as u8;
        // round(s * (levels - 1) / levels) in integers
        m[j] = ((2 * s * (levels - 1) + levels) / (2 * levels)) as u8;
    }
    (sc, m)
}

pub fn q4_k_block(rng: &mut Rng, std: f32) -> Vec<u8> {
    // rms(sc) ≈ 45, std(q) = sqrt(255/12)
    let d = std / (45.0 * 4.61);
    let (sc, m) = k4_scales(rng, 4);
    let mut b = Vec::with_capacity(144);
    b.extend(f16le(d));
    b.extend(f16le(d * 8.0));
    b.extend(pack_scale_min_k4(&sc, &m));
    random_bytes(rng, &mut b, QK_K / 2);
    b
}

pub fn q5_k_block(rng: &mut Rng, std: f32) -> Vec<u8> {
    // rms(sc) ≈ 45, std(q) = sqrt(1023/12)
    let d = std / (45.0 * 9.23);
    let (sc, m) = k4_scales(rng, 5);
    let mut b = Vec::with_capacity(176);
    b.extend(f16le(d));
    b.extend(f16le(d * 16.0));
    b.extend(pack_scale_min_k4(&sc, &m));
    random_bytes(rng, &mut b, QK_K / 8 + QK_K / 2);
    b
}

pub fn q6_k_block(rng: &mut Rng, std: f32) -> Vec<u8> {
    // d·sc·(q − 32): |sc| in [24, 63] (rms ≈ 45) with a random sign, std(q) = sqrt(4095/12)
    let d = std / (45.0 * 18.47);
    let mut b = Vec::with_capacity(210);
    random_bytes(rng, &mut b, QK_K / 2 + QK_K / 4);
    for _ in 0..QK_K / 16 {
        let r = rng.next_u64();
        let mag = 24 + (r % 40) as i8;
        let s = if (r >> 32) & 1 == 1 { -mag } else { mag };
        b.push(s as u8);
    }
    b.extend(f16le(d));
    b
}

pub fn q3_k_block(rng: &mut Rng, std: f32) -> Vec<u8> {
    // d·(sc − 32)·(q − 4·!hbit), q − 4·!hbit uniform in [−4, 3]; |sc − 32| in [12, 31]
    // (rms ≈ 22.7) with a random sign
    let d = std / (22.7 * 2.35);
    let mut b = Vec::with_capacity(110);
    random_bytes(rng, &mut b, QK_K / 8 + QK_K / 4);
    let mut scales = [0u8; 12];
    for j in 0..16 {
        let r = rng.next_u64();
        let mag = 12 + (r % 20) as u8;
        let l = if (r >> 32) & 1 == 1 {
            32 - mag
        } else {
            32 + mag
        };
        if j < 8 {
            scales[j] = l & 0xF;
        } else {
            scales[j - 8] |= (l & 0xF) << 4;
        }
        scales[j % 4 + 8] |= (l >> 4) << (2 * (j / 4));
    }
    b.extend(scales);
    b.extend(f16le(d));
    b
}

pub fn q2_k_block(rng: &mut Rng, std: f32) -> Vec<u8> {
    // d·sc·q − dmin·m, q in [0, 3], sc in [4, 15] (rms ≈ 10.1), dmin = 2d, m = round(0.75·sc)
    let d = std / (10.1 * 1.118);
    let mut b = Vec::with_capacity(84);
    for _ in 0..QK_K / 16 {
        let sc = 4 + (rng.next_u64() % 12) as u8;
        let m = (3 * sc + 2) / 4;
        b.push(sc | (m << 4));
    }
    random_bytes(rng, &mut b, QK_K / 4);
    b.extend(f16le(d));
    b.extend(f16le(2.0 * d));
    b
}

// ---- deterministic randomness ---------------------------------------------------------------

/// SplitMix64 seeded from a tensor name; `normal` is an Irwin–Hall(4) approximation of a
/// unit normal, so no transcendental function (whose last bit may vary by platform) is used.
pub struct Rng(u64);

impl Rng {
    pub fn for_tensor(name: &str) -> Rng {
        // FNV-1a of the name, mixed with the global seed.
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for &b in name.as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng(h ^ SEED)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }

    /// Uniform in [0, 1), 24 random bits (exact in f32).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0)
    }

    /// Mean 0, standard deviation 1, support (−2√3, 2√3).
    pub fn normal(&mut self) -> f32 {
        let s = self.unit() + self.unit() + self.unit() + self.unit();
        (s - 2.0) * 1.732_050_8
    }
}
