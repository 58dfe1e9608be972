//! The WGSL sources (`shaders/*.wgsl`) and how kernels are composed from them.
//!
//! WGSL has no includes, so a kernel's module is the concatenation of
//! 1. constants from the host — block geometry from the one type table
//!    ([`crate::quant::GgmlType`]), workgroup-shape choices;
//! 2. `common.wgsl` (byte loaders for raw GGUF blocks);
//! 3. for kernels that read weights, the type's decoder `shaders/quant/<type>.wgsl`, which
//!    defines `dq8(block_byte, part) -> D8`: eight consecutive weights;
//! 4. the kernel itself.

use crate::quant::GgmlType;

pub const COMMON: &str = include_str!("../../shaders/common.wgsl");
pub const GEMV: &str = include_str!("../../shaders/gemv.wgsl");
pub const DEQUANT: &str = include_str!("../../shaders/dequant.wgsl");

/// The WGSL decoder of each weight type the GPU kernels take.
pub fn decoder(ty: GgmlType) -> Option<&'static str> {
    use GgmlType as T;
    Some(match ty {
        T::F32 => include_str!("../../shaders/quant/f32.wgsl"),
        T::Q8_0 => include_str!("../../shaders/quant/q8_0.wgsl"),
        _ => return None,
    })
}

/// Weights per decoding block as the kernels see it: the type's block, or eight scalars for
/// F32/F16 (the kernels work in units of eight weights).
pub fn unit_block(ty: GgmlType) -> (usize, usize) {
    let (len, bytes) = (ty.block_len(), ty.block_bytes());
    if len >= 8 {
        (len, bytes)
    } else {
        (8, bytes * (8 / len))
    }
}

/// A kernel over weights of type `ty`: host constants, common helpers, decoder, kernel.
/// `consts` are extra `name = value` u32 constants (workgroup shapes).
pub fn with_weights(ty: GgmlType, kernel: &str, consts: &[(&str, u32)]) -> Option<String> {
    let dec = decoder(ty)?;
    let (len, bytes) = unit_block(ty);
    let mut s = format!(
        "// {} weights\nconst BLOCK_ELEMS: u32 = {len}u;\nconst BLOCK_BYTES: u32 = {bytes}u;\n",
        ty.name()
    );
    push_consts(&mut s, consts);
    s.push_str(COMMON);
    s.push_str(dec);
    s.push_str(kernel);
    Some(s)
}

/// A kernel that reads no weights.
pub fn plain(kernel: &str, consts: &[(&str, u32)]) -> String {
    let mut s = String::new();
    push_consts(&mut s, consts);
    s.push_str(kernel);
    s
}

fn push_consts(s: &mut String, consts: &[(&str, u32)]) {
    for (name, v) in consts {
        s.push_str(&format!("const {name}: u32 = {v}u;\n"));
    }
}
