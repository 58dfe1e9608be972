//! The GGML tensor type table: the single source of truth for type ids, names and block
//! geometry. Ids follow ggml's `enum ggml_type` (append-only, with gaps for removed types).

/// A tensor element type wasm-chord can read, compute with, or produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(non_camel_case_types)]
pub enum GgmlType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    /// Activation type for the K-quant dot products (ggml never stores weights in it).
    Q8_K,
}

/// Geometry of one type: how many elements a block holds and how many bytes it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    pub ty: GgmlType,
    pub id: u32,
    pub name: &'static str,
    pub block_len: usize,
    pub block_bytes: usize,
}

/// K-quant super-block length (ggml `QK_K`).
pub const QK_K: usize = 256;
/// Block length of the 32-element quant types (ggml `QK4_0` … `QK8_0`).
pub const QK32: usize = 32;

use crate::quant::blocks::*;
use core::mem::size_of;

/// Every supported type. Byte sizes come from the `#[repr(C)]` block structs, whose sizes are
/// asserted at compile time in `blocks.rs`, so this table cannot drift from the layouts.
pub const TYPES: [TypeInfo; 14] = [
    TypeInfo {
        ty: GgmlType::F32,
        id: 0,
        name: "F32",
        block_len: 1,
        block_bytes: 4,
    },
    TypeInfo {
        ty: GgmlType::F16,
        id: 1,
        name: "F16",
        block_len: 1,
        block_bytes: 2,
    },
    TypeInfo {
        ty: GgmlType::Q4_0,
        id: 2,
        name: "Q4_0",
        block_len: QK32,
        block_bytes: size_of::<BlockQ4_0>(),
    },
    TypeInfo {
        ty: GgmlType::Q4_1,
        id: 3,
        name: "Q4_1",
        block_len: QK32,
        block_bytes: size_of::<BlockQ4_1>(),
    },
    TypeInfo {
        ty: GgmlType::Q5_0,
        id: 6,
        name: "Q5_0",
        block_len: QK32,
        block_bytes: size_of::<BlockQ5_0>(),
    },
    TypeInfo {
        ty: GgmlType::Q5_1,
        id: 7,
        name: "Q5_1",
        block_len: QK32,
        block_bytes: size_of::<BlockQ5_1>(),
    },
    TypeInfo {
        ty: GgmlType::Q8_0,
        id: 8,
        name: "Q8_0",
        block_len: QK32,
        block_bytes: size_of::<BlockQ8_0>(),
    },
    TypeInfo {
        ty: GgmlType::Q2_K,
        id: 10,
        name: "Q2_K",
        block_len: QK_K,
        block_bytes: size_of::<BlockQ2K>(),
    },
    TypeInfo {
        ty: GgmlType::Q3_K,
        id: 11,
        name: "Q3_K",
        block_len: QK_K,
        block_bytes: size_of::<BlockQ3K>(),
    },
    TypeInfo {
        ty: GgmlType::Q4_K,
        id: 12,
        name: "Q4_K",
        block_len: QK_K,
        block_bytes: size_of::<BlockQ4K>(),
    },
    TypeInfo {
        ty: GgmlType::Q5_K,
        id: 13,
        name: "Q5_K",
        block_len: QK_K,
        block_bytes: size_of::<BlockQ5K>(),
    },
    TypeInfo {
        ty: GgmlType::Q6_K,
        id: 14,
        name: "Q6_K",
        block_len: QK_K,
        block_bytes: size_of::<BlockQ6K>(),
    },
    TypeInfo {
        ty: GgmlType::Q8_K,
        id: 15,
        name: "Q8_K",
        block_len: QK_K,
        block_bytes: size_of::<BlockQ8K>(),
    },
    TypeInfo {
        ty: GgmlType::BF16,
        id: 30,
        name: "BF16",
        block_len: 1,
        block_bytes: 2,
    },
];

/// Type ids ggml defines that wasm-chord recognises but does not compute with. A tensor of
/// one of these is rejected by name (`UNSUPPORTED_TYPE`), not as an unknown id.
pub const UNSUPPORTED: [(u32, &str); 21] = [
    (9, "Q8_1"),
    (16, "IQ2_XXS"),
    (17, "IQ2_XS"),
    (18, "IQ3_XXS"),
    (19, "IQ1_S"),
    (20, "IQ4_NL"),
    (21, "IQ3_S"),
    (22, "IQ2_S"),
    (23, "IQ4_XS"),
    (24, "I8"),
    (25, "I16"),
    (26, "I32"),
    (27, "I64"),
    (28, "F64"),
    (29, "IQ1_M"),
    (34, "TQ1_0"),
    (35, "TQ2_0"),
    (39, "MXFP4"),
    (40, "NVFP4"),
    (41, "Q1_0"),
    (42, "Q2_0"),
];

/// What a GGUF type id denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeLookup {
    Supported(GgmlType),
    Unsupported(&'static str),
    Unknown,
}

impl GgmlType {
    pub const fn info(self) -> &'static TypeInfo {
        // TYPES is ordered by the enum's declaration order except BF16; look it up by scan.
        let mut i = 0;
        while i < TYPES.len() {
            if TYPES[i].ty as u8 == self as u8 {
                return &TYPES[i];
            }
            i += 1;
        }
        // Unreachable: every variant has a row (checked by `every_variant_has_one_row`).
        &TYPES[0]
    }
    pub const fn id(self) -> u32 {
        self.info().id
    }
    pub const fn name(self) -> &'static str {
        self.info().name
    }
    pub const fn block_len(self) -> usize {
        self.info().block_len
    }
    pub const fn block_bytes(self) -> usize {
        self.info().block_bytes
    }
    /// True for the block-quantized types (everything but F32/F16/BF16).
    pub const fn is_quantized(self) -> bool {
        !matches!(self, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16)
    }

    /// Classifies a GGUF type id.
    pub fn lookup(id: u32) -> TypeLookup {
        if let Some(t) = TYPES.iter().find(|t| t.id == id) {
            return TypeLookup::Supported(t.ty);
        }
        match UNSUPPORTED.iter().find(|(uid, _)| *uid == id) {
            Some((_, name)) => TypeLookup::Unsupported(name),
            None => TypeLookup::Unknown,
        }
    }

    /// Every type a GGUF weight tensor can have (the table minus the activation-only Q8_K).
    pub fn weight_types() -> impl Iterator<Item = GgmlType> {
        TYPES.iter().map(|t| t.ty).filter(|&t| t != GgmlType::Q8_K)
    }

    pub fn from_name(name: &str) -> Option<GgmlType> {
        TYPES.iter().find(|t| t.name == name).map(|t| t.ty)
    }

    /// Bytes taken by `n_elements` of this type, or `None` when `n_elements` is not a whole
    /// number of blocks or the size overflows.
    pub fn bytes_for(self, n_elements: u64) -> Option<u64> {
        let bl = self.block_len() as u64;
        if n_elements % bl != 0 {
            return None;
        }
        (n_elements / bl).checked_mul(self.block_bytes() as u64)
    }
}

impl core::fmt::Display for GgmlType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [GgmlType; 14] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::Q8_K,
    ];

    #[test]
    fn every_variant_has_one_row() {
        for t in ALL {
            assert_eq!(TYPES.iter().filter(|r| r.ty == t).count(), 1, "{t:?}");
            assert_eq!(t.info().ty, t);
        }
    }

    /// The numbers from ggml's `type_traits` (ggml.c), written out independently of the structs.
    #[test]
    fn geometry_matches_ggml() {
        let expected: [(&str, u32, usize, usize); 14] = [
            ("F32", 0, 1, 4),
            ("F16", 1, 1, 2),
            ("Q4_0", 2, 32, 18),
            ("Q4_1", 3, 32, 20),
            ("Q5_0", 6, 32, 22),
            ("Q5_1", 7, 32, 24),
            ("Q8_0", 8, 32, 34),
            ("Q2_K", 10, 256, 84),
            ("Q3_K", 11, 256, 110),
            ("Q4_K", 12, 256, 144),
            ("Q5_K", 13, 256, 176),
            ("Q6_K", 14, 256, 210),
            ("Q8_K", 15, 256, 292),
            ("BF16", 30, 1, 2),
        ];
        for (name, id, bl, bb) in expected {
            let t = GgmlType::from_name(name).unwrap();
            assert_eq!(
                (t.id(), t.block_len(), t.block_bytes()),
                (id, bl, bb),
                "{name}"
            );
            assert_eq!(GgmlType::lookup(id), TypeLookup::Supported(t));
        }
    }

    #[test]
    fn unsupported_and_unknown_ids() {
        assert_eq!(GgmlType::lookup(20), TypeLookup::Unsupported("IQ4_NL"));
        assert_eq!(GgmlType::lookup(39), TypeLookup::Unsupported("MXFP4"));
        for gap in [4, 5, 31, 32, 33, 36, 37, 38, 43, 1000, u32::MAX] {
            assert_eq!(GgmlType::lookup(gap), TypeLookup::Unknown, "{gap}");
        }
        // no id is in both lists
        for (id, _) in UNSUPPORTED {
            assert!(TYPES.iter().all(|t| t.id != id));
        }
    }

    #[test]
    fn bytes_for_checks_blocks_and_overflow() {
        assert_eq!(GgmlType::Q8_0.bytes_for(640), Some(20 * 34));
        assert_eq!(GgmlType::Q4_K.bytes_for(640), None);
        assert_eq!(GgmlType::F32.bytes_for(u64::MAX), None);
    }
}
