//! The kernels as typed calls that record into a [`Batch`]. Offsets and strides are in
//! elements; every call checks its ranges against the buffers so a shape bug is an `Error`
//! here, not a silent out-of-bounds clamp on the GPU.

use super::batch::{grid, Batch};
use super::shaders;
use super::tensor::{GpuBuffer, GpuMatrix, MatrixPart};
use crate::error::{Error, Result};

fn range_error(what: &'static str, needed: usize, len: usize) -> Error {
    Error::LengthMismatch {
        what,
        left: needed,
        right: len,
    }
}

fn check(what: &'static str, b: &GpuBuffer, end: usize) -> Result<()> {
    if end > b.len {
        return Err(range_error(what, end, b.len));
    }
    Ok(())
}

/// Threads per row of the GEMV: enough that each does a few 8-weight units, at least 4.
/// On a software adapter (SwiftShader, lavapipe) workgroup barriers cost a fiber switch per
/// thread, which made the 262144-row Gemma head take seconds: there every row gets one
/// thread and no reduction (TPR 1, no barrier).
pub(crate) fn gemv_tpr(cols: usize, barrier_free: bool) -> u32 {
    if barrier_free {
        return 1;
    }
    let units = cols / 8;
    (units / 3).next_power_of_two().clamp(4, 64) as u32
}

/// A view of `n` activation rows: element `x_off + i · stride + k`.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    pub buf: &'a GpuBuffer,
    pub off: usize,
    pub stride: usize,
    /// Where [`quantize_activations`] put the rows' Q8_1 block sums in `buf`, if it did.
    pub sums: Option<usize>,
}

impl<'a> Rows<'a> {
    pub fn new(buf: &'a GpuBuffer, off: usize, stride: usize) -> Rows<'a> {
        Rows {
            buf,
            off,
            stride,
            sums: None,
        }
    }

    /// Rows quantized by [`quantize_activations`] at offset 0, sums at `sums`.
    pub fn quantized(buf: &'a GpuBuffer, stride: usize, sums: usize) -> Rows<'a> {
        Rows {
            buf,
            off: 0,
            stride,
            sums: Some(sums),
        }
    }

    /// Whether a matmul with `ty` weights takes the Q8_1 path (block min × block sum).
    fn q8_1(&self, ty: crate::quant::GgmlType) -> bool {
        ty.needs_q8_1_sums() && self.sums.is_some()
    }
}

/// Activation rows up to which the GEMV (one pass over the weights per row) beats the
/// tiled GEMM (ggml's threshold too): below it a tile would be mostly padding.
pub const GEMV_MAX_N: usize = 4;

/// GEMM tile: weight rows × activation rows × K per step. 8 × 8 threads with a 4 × 4
/// micro-tile each; the f32 weight and activation tiles take 2 · 32 · 32 · 4 = 8 KiB of
/// workgroup memory, half of WebGPU's guaranteed 16 KiB.
const GEMM_TM: usize = 32;
const GEMM_TN: usize = 32;
const GEMM_TK: u32 = 32;

/// `y[i] = W · x[i]` for `n` rows of `x` (each `cols` long) into rows of `y` (each at least
/// `rows` long): the GEMV for `n ≤ GEMV_MAX_N`, the tiled GEMM above.
pub fn matmul(b: &mut Batch, w: &GpuMatrix, x: Rows, y: Rows, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    check(
        "matmul: activations",
        x.buf,
        x.off + (n - 1) * x.stride + w.cols,
    )?;
    check(
        "matmul: outputs",
        y.buf,
        y.off + (n - 1) * y.stride + w.rows,
    )?;
    if n > GEMV_MAX_N {
        return gemm(b, w, x, y, n);
    }
    let tpr = gemv_tpr(w.cols, b.gpu().barrier_free_gemv());
    let q8_1 = x.q8_1(w.ty) as u32;
    let key = format!("gemv:{}:{tpr}:{q8_1}", w.ty.name());
    let consts = [("TPR", tpr), ("Q8_1_SUMS", q8_1)];
    let src = || shaders::with_weights(w.ty, shaders::GEMV, &consts).unwrap_or_default();
    let pipeline = b.gpu().pipeline(&key, src);
    let rpw = 64 / tpr as usize;
    for part in &w.parts {
        b.dispatch(
            pipeline.clone(),
            &matmul_params(w, part, x, y),
            &[&part.buf, &x.buf.buf, &y.buf.buf],
            grid(part.rows.div_ceil(rpw), n as u32),
        );
    }
    Ok(())
}

/// The Params words the GEMV and the GEMM share (the GEMM appends `n`).
fn matmul_params(w: &GpuMatrix, part: &MatrixPart, x: Rows, y: Rows) -> [u32; 9] {
    [
        part.rows as u32,
        w.cols as u32,
        w.row_bytes as u32,
        0,
        x.off as u32,
        x.stride as u32,
        (y.off + part.row0) as u32,
        y.stride as u32,
        x.sums.unwrap_or(0) as u32,
    ]
}

/// The tiled GEMM of shaders/gemm.wgsl; `matmul` has checked the ranges.
fn gemm(b: &mut Batch, w: &GpuMatrix, x: Rows, y: Rows, n: usize) -> Result<()> {
    // The Q8_1 path adds each block's min term once per K step: one step is one block.
    const _: () = assert!(GEMM_TK as usize == crate::quant::QK32);
    let q8_1 = x.q8_1(w.ty) as u32;
    let key = format!("gemm:{}:{GEMM_TM}x{GEMM_TN}x{GEMM_TK}:{q8_1}", w.ty.name());
    let consts = [
        ("TM", GEMM_TM as u32),
        ("TN", GEMM_TN as u32),
        ("TK", GEMM_TK),
        ("Q8_1_SUMS", q8_1),
    ];
    let src = || shaders::with_weights(w.ty, shaders::GEMM, &consts).unwrap_or_default();
    let pipeline = b.gpu().pipeline(&key, src);
    let tiles = u32::try_from(n.div_ceil(GEMM_TN))
        .ok()
        .filter(|&t| t <= super::batch::MAX_GROUPS)
        .ok_or_else(|| {
            range_error(
                "matmul: activation rows",
                n,
                GEMM_TN * super::batch::MAX_GROUPS as usize,
            )
        })?;
    for part in &w.parts {
        let mut params = matmul_params(w, part, x, y).to_vec();
        params.push(n as u32);
        b.dispatch(
            pipeline.clone(),
            &params,
            &[&part.buf, &x.buf.buf, &y.buf.buf],
            grid(part.rows.div_ceil(GEMM_TM), tiles),
        );
    }
    Ok(())
}

/// Dequantizes all of `w` into `y` (`rows × cols` f32): the decoder test kernel.
pub fn dequantize(b: &mut Batch, w: &GpuMatrix, y: &GpuBuffer) -> Result<()> {
    check("dequantize: output", y, w.rows * w.cols)?;
    let key = format!("dequant:{}", w.ty.name());
    let src = || shaders::with_weights(w.ty, shaders::DEQUANT, &[]).unwrap_or_default();
    let pipeline = b.gpu().pipeline(&key, src);
    for part in &w.parts {
        // The kernel writes row r at r · cols: shift the output by binding a view is not
        // possible for storage arrays, so parts are dequantized one by one through `cols`.
        let units = part.rows * (w.cols / 8);
        let params = [part.rows as u32, w.cols as u32, w.row_bytes as u32, 0];
        if part.row0 != 0 {
            // Only the test helper calls this; it never splits.
            return Err(Error::Gpu {
                op: "dequantize".into(),
                message: "split matrices are not supported by the dequantize test kernel".into(),
            });
        }
        b.dispatch(
            pipeline.clone(),
            &params,
            &[&part.buf, &y.buf],
            grid(units.div_ceil(64), 1),
        );
    }
    Ok(())
}

// ---- the other kernels of the forward pass ------------------------------------------------

fn f(x: f32) -> u32 {
    x.to_bits()
}

/// Looks up `n` token rows of the (possibly quantized, possibly split) table `w`, times
/// `scale`, into `y[y_off..]`.
pub fn embed(
    b: &mut Batch,
    w: &GpuMatrix,
    tokens: &GpuBuffer,
    n: usize,
    scale: f32,
    y: &GpuBuffer,
    y_off: usize,
) -> Result<()> {
    check("embed: tokens", tokens, n)?;
    check("embed: output", y, y_off + n * w.cols)?;
    let key = format!("embed:{}", w.ty.name());
    let src = || shaders::with_weights(w.ty, shaders::EMBED, &[]).unwrap_or_default();
    let pipeline = b.gpu().pipeline(&key, src);
    let units = n * (w.cols / 8);
    for part in &w.parts {
        let params = [
            n as u32,
            w.cols as u32,
            w.row_bytes as u32,
            part.row0 as u32,
            part.rows as u32,
            f(scale),
            y_off as u32,
            0,
        ];
        b.dispatch(
            pipeline.clone(),
            &params,
            &[&part.buf, &tokens.buf, &y.buf],
            grid(units.div_ceil(64), 1),
        );
    }
    Ok(())
}

/// Where an RMS norm's result goes.
#[derive(Debug, Clone, Copy)]
pub enum NormOut<'a> {
    /// `y = norm(x)`.
    Into(Rows<'a>),
    /// `x = norm(x)`.
    InPlace,
    /// `y += norm(x)`.
    Add(Rows<'a>),
}

/// RMS norm of `rows` rows of `dim` values, times `norms[w_off..w_off + dim]`.
#[allow(clippy::too_many_arguments)]
pub fn rms_norm(
    b: &mut Batch,
    x: Rows,
    rows: usize,
    dim: usize,
    norms: &GpuBuffer,
    w_off: usize,
    eps: f32,
    out: NormOut,
) -> Result<()> {
    if rows == 0 {
        return Ok(());
    }
    check(
        "rms_norm: input",
        x.buf,
        x.off + (rows - 1) * x.stride + dim,
    )?;
    check("rms_norm: weights", norms, w_off + dim)?;
    let (mode, y) = match out {
        NormOut::Into(y) => (0, Some(y)),
        NormOut::InPlace => (1, None),
        NormOut::Add(y) => (2, Some(y)),
    };
    if let Some(y) = y {
        check(
            "rms_norm: output",
            y.buf,
            y.off + (rows - 1) * y.stride + dim,
        )?;
    }
    let key = format!("rmsnorm:{mode}");
    let src = || {
        let tail = match mode {
            0 => "@group(0) @binding(3) var<storage, read_write> Y: array<f32>;\nfn store(y: u32, x: u32, v: f32) { Y[y] = v; }",
            1 => "fn store(y: u32, x: u32, v: f32) { X[x] = v; }",
            _ => "@group(0) @binding(3) var<storage, read_write> Y: array<f32>;\nfn store(y: u32, x: u32, v: f32) { Y[y] += v; }",
        };
        shaders::plain(&shaders::RMSNORM.replace("#if_y", tail), &[])
    };
    let pipeline = b.gpu().pipeline(&key, src);
    let (y_off, y_stride) = y.map_or((0, 0), |y| (y.off, y.stride));
    let params = [
        rows as u32,
        dim as u32,
        x.off as u32,
        x.stride as u32,
        y_off as u32,
        y_stride as u32,
        w_off as u32,
        f(eps),
    ];
    let mut bufs = vec![&norms.buf, &x.buf.buf];
    if let Some(y) = &y {
        bufs.push(&y.buf.buf);
    }
    b.dispatch(pipeline, &params, &bufs, grid(rows, 1));
    Ok(())
}

/// RoPE in place on `n × heads` heads of `head_dim` at `x[x_off..]`; the table holds
/// `n × half` cosines at `cos_off` and sines at `sin_off`.
#[allow(clippy::too_many_arguments)]
pub fn rope(
    b: &mut Batch,
    x: &GpuBuffer,
    x_off: usize,
    n: usize,
    heads: usize,
    head_dim: usize,
    half: usize,
    neox: bool,
    table: &GpuBuffer,
    cos_off: usize,
    sin_off: usize,
) -> Result<()> {
    check("rope: input", x, x_off + n * heads * head_dim)?;
    check("rope: table", table, cos_off.max(sin_off) + n * half)?;
    let pipeline = b
        .gpu()
        .pipeline("rope", || shaders::plain(shaders::ROPE, &[]));
    let params = [
        (n * heads) as u32,
        heads as u32,
        head_dim as u32,
        half as u32,
        u32::from(neox),
        x_off as u32,
        cos_off as u32,
        sin_off as u32,
    ];
    b.dispatch(
        pipeline,
        &params,
        &[&table.buf, &x.buf],
        grid((n * heads * half).div_ceil(64), 1),
    );
    Ok(())
}

/// `x = x · s` on `n` values, rounded to f16 when `round`.
pub fn scale(
    b: &mut Batch,
    x: &GpuBuffer,
    x_off: usize,
    n: usize,
    s: f32,
    round: bool,
) -> Result<()> {
    elementwise_scale(b, x, x_off, n, 0, s, round)
}

/// `x = c · tanh(x / c)` on `n` values.
pub fn softcap(b: &mut Batch, x: &GpuBuffer, x_off: usize, n: usize, c: f32) -> Result<()> {
    elementwise_scale(b, x, x_off, n, 1, c, false)
}

fn elementwise_scale(
    b: &mut Batch,
    x: &GpuBuffer,
    x_off: usize,
    n: usize,
    op: u32,
    s: f32,
    round: bool,
) -> Result<()> {
    check("scale: input", x, x_off + n)?;
    let pipeline = b
        .gpu()
        .pipeline("scale", || shaders::with_f16(shaders::SCALE));
    let params = [n as u32, x_off as u32, op, u32::from(round), f(s), 0, 0, 0];
    b.dispatch(pipeline, &params, &[&x.buf], grid(n.div_ceil(64), 1));
    Ok(())
}

/// `y[y_off..][..n] += x[x_off..][..n]`.
pub fn add(
    b: &mut Batch,
    x: &GpuBuffer,
    x_off: usize,
    y: &GpuBuffer,
    y_off: usize,
    n: usize,
) -> Result<()> {
    add_periodic(b, x, x_off, n, y, y_off, n)
}

/// `y[y_off + i] += bias[b_off + i % len]` for `n` values: a bias added to every row of `len`.
pub fn add_rows(
    b: &mut Batch,
    bias: &GpuBuffer,
    b_off: usize,
    len: usize,
    y: &GpuBuffer,
    y_off: usize,
    n: usize,
) -> Result<()> {
    add_periodic(b, bias, b_off, len, y, y_off, n)
}

fn add_periodic(
    b: &mut Batch,
    x: &GpuBuffer,
    x_off: usize,
    period: usize,
    y: &GpuBuffer,
    y_off: usize,
    n: usize,
) -> Result<()> {
    check("add: input", x, x_off + period.min(n))?;
    check("add: output", y, y_off + n)?;
    if period == 0 {
        return Ok(());
    }
    let pipeline = b
        .gpu()
        .pipeline("add", || shaders::plain(shaders::ADD, &[]));
    let params = [n as u32, x_off as u32, y_off as u32, period as u32];
    b.dispatch(
        pipeline,
        &params,
        &[&x.buf, &y.buf],
        grid(n.div_ceil(64), 1),
    );
    Ok(())
}

/// Gated activation of the FFN: `gate = act(gate) · up` on `n` values from `off` of both.
pub fn glu(
    b: &mut Batch,
    gate: &GpuBuffer,
    up: &GpuBuffer,
    off: usize,
    n: usize,
    gelu: bool,
) -> Result<()> {
    check("glu: gate", gate, off + n)?;
    check("glu: up", up, off + n)?;
    let pipeline = b.gpu().pipeline("glu", || shaders::with_f16(shaders::GLU));
    let params = [n as u32, if gelu { 0 } else { 1 }, off as u32, 0];
    b.dispatch(
        pipeline,
        &params,
        &[&up.buf, &gate.buf],
        grid(n.div_ceil(64), 1),
    );
    Ok(())
}

/// One layer's attention shapes.
#[derive(Debug, Clone, Copy)]
pub struct AttnDims {
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub head_dim_v: usize,
    /// Sliding window (0: none).
    pub window: usize,
    /// Multiplies every q·k.
    pub kq_scale: f32,
    /// `c · tanh(score / c)` on every scaled score (0: none).
    pub softcap: f32,
}

/// Stores `n` tokens' keys and values (rows of `k`, `v`) at positions `p0..` of the f16
/// caches `kc`, `vc`.
#[allow(clippy::too_many_arguments)]
pub fn kv_store(
    b: &mut Batch,
    d: &AttnDims,
    k: &GpuBuffer,
    v: &GpuBuffer,
    n: usize,
    p0: usize,
    kc: &GpuBuffer,
    vc: &GpuBuffer,
) -> Result<()> {
    let (kp, vp) = (d.n_head_kv * d.head_dim / 2, d.n_head_kv * d.head_dim_v / 2);
    check("kv_store: keys", k, n * 2 * kp)?;
    check("kv_store: values", v, n * 2 * vp)?;
    check("kv_store: key cache", kc, (p0 + n) * kp)?;
    check("kv_store: value cache", vc, (p0 + n) * vp)?;
    let pipeline = b
        .gpu()
        .pipeline("kv_store", || shaders::with_f16(shaders::KV_STORE));
    let params = [n as u32, kp as u32, vp as u32, p0 as u32, 0, 0, 0, 0];
    b.dispatch(
        pipeline,
        &params,
        &[&k.buf, &v.buf, &kc.buf, &vc.buf],
        grid((n * (kp + vp)).div_ceil(64), 1),
    );
    Ok(())
}

/// Causal attention of `n` queries at positions `p0..` (keys already stored) over the caches:
/// scores into `scores` (`n × n_head × (p0 + n)`), softmax, values into `out`.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    b: &mut Batch,
    d: &AttnDims,
    q: &GpuBuffer,
    kc: &GpuBuffer,
    vc: &GpuBuffer,
    n: usize,
    p0: usize,
    scores: &GpuBuffer,
    out: &GpuBuffer,
) -> Result<()> {
    let n_kv = p0 + n;
    let group = d.n_head / d.n_head_kv.max(1);
    check("attention: queries", q, n * d.n_head * d.head_dim)?;
    check("attention: scores", scores, n * d.n_head * n_kv)?;
    check("attention: output", out, n * d.n_head * d.head_dim_v)?;
    check(
        "attention: key cache",
        kc,
        n_kv * d.n_head_kv * d.head_dim / 2,
    )?;
    check(
        "attention: value cache",
        vc,
        n_kv * d.n_head_kv * d.head_dim_v / 2,
    )?;
    let gpu = b.gpu();
    let sp = gpu.pipeline("attn_scores", || shaders::plain(shaders::ATTN_SCORES, &[]));
    let params = [
        n_kv as u32,
        d.n_head as u32,
        group as u32,
        d.head_dim as u32,
        p0 as u32,
        d.window as u32,
        0,
        f(d.kq_scale),
        f(d.softcap),
        0,
        0,
        0,
    ];
    b.dispatch(
        sp,
        &params,
        &[&q.buf, &kc.buf, &scores.buf],
        [n_kv.div_ceil(64) as u32, d.n_head as u32, n as u32],
    );
    let mp = gpu.pipeline("softmax", || shaders::plain(shaders::SOFTMAX, &[]));
    let rows = n * d.n_head;
    b.dispatch(
        mp,
        &[rows as u32, n_kv as u32, 0, 0],
        &[&scores.buf],
        grid(rows, 1),
    );
    let vp = gpu.pipeline("attn_values", || shaders::plain(shaders::ATTN_VALUES, &[]));
    let params = [
        n_kv as u32,
        d.n_head as u32,
        group as u32,
        d.head_dim_v as u32,
        p0 as u32,
        d.window as u32,
        0,
        0,
    ];
    b.dispatch(
        vp,
        &params,
        &[&scores.buf, &vc.buf, &out.buf],
        [
            (d.head_dim_v / 2).div_ceil(64) as u32,
            d.n_head as u32,
            n as u32,
        ],
    );
    Ok(())
}

/// Index of the largest of `n` values at `x[x_off..]` (ties: lowest index) into
/// `result[slot]`; `partial` holds 2 words per 4096 values.
pub fn argmax(
    b: &mut Batch,
    x: &GpuBuffer,
    x_off: usize,
    n: usize,
    partial: &GpuBuffer,
    result: &GpuBuffer,
    slot: usize,
) -> Result<()> {
    let groups = n.div_ceil(shaders::ARGMAX_CHUNK);
    check("argmax: input", x, x_off + n)?;
    check("argmax: partials", partial, 2 * groups)?;
    check("argmax: result", result, slot + 1)?;
    let gpu = b.gpu();
    let p1 = gpu.pipeline("argmax_partial", || {
        shaders::with_best(shaders::ARGMAX_PARTIAL)
    });
    b.dispatch(
        p1,
        &[n as u32, x_off as u32, 0, 0],
        &[&x.buf, &partial.buf],
        [groups as u32, 1, 1],
    );
    let p2 = gpu.pipeline("argmax_final", || shaders::with_best(shaders::ARGMAX_FINAL));
    b.dispatch(
        p2,
        &[groups as u32, slot as u32, 0, 0],
        &[&partial.buf, &result.buf],
        [1, 1, 1],
    );
    Ok(())
}

/// Rounds `n` rows of `cols` contiguous activations at `x[x_off..]` the way the CPU path
/// quantizes them for weights of type `weight` (Q8_0 or Q8_K blocks), dequantized into
/// `y[0..n · cols]`; for Q8_0 blocks also their Q8_1 sums into `y[sums..sums + n · cols / 32]`
/// (what Q4_1/Q5_1 weights need, [`Rows::quantized`]). Returns false (and records nothing)
/// for weights multiplied by f32 activations.
#[allow(clippy::too_many_arguments)]
pub fn quantize_activations(
    b: &mut Batch,
    weight: crate::quant::GgmlType,
    x: &GpuBuffer,
    x_off: usize,
    n: usize,
    cols: usize,
    y: &GpuBuffer,
    sums: usize,
) -> Result<bool> {
    use crate::quant::reference::ActivationKind;
    let (kind, len) = match weight.activation_kind() {
        Some(ActivationKind::Q8_0) => (0, crate::quant::QK32),
        Some(ActivationKind::Q8K) => (1, crate::quant::QK_K),
        _ => return Ok(false),
    };
    if cols % len != 0 {
        return Err(Error::Gpu {
            op: "quantize_activations".into(),
            message: format!("rows of {cols} are not whole {len}-value blocks"),
        });
    }
    check("quantize_activations: input", x, x_off + n * cols)?;
    check("quantize_activations: output", y, n * cols)?;
    let blocks = n * cols / len;
    if kind == 0 {
        check("quantize_activations: Q8_1 sums", y, sums + blocks)?;
    }
    let pipeline = b
        .gpu()
        .pipeline("act_quant", || shaders::with_f16(shaders::ACT_QUANT));
    b.dispatch(
        pipeline,
        &[blocks as u32, x_off as u32, kind, sums as u32],
        &[&x.buf, &y.buf],
        grid(blocks.div_ceil(64), 1),
    );
    Ok(true)
}

/// The `k` (≤ [`shaders::TOPK_MAX`]) largest of `n` values at `x[x_off..]`, by value then
/// lowest index, as (value bits, index) pairs into `result[0..2k]`.
pub fn top_k(
    b: &mut Batch,
    x: &GpuBuffer,
    x_off: usize,
    n: usize,
    k: usize,
    result: &GpuBuffer,
) -> Result<()> {
    if k == 0 || k > shaders::TOPK_MAX {
        return Err(Error::InvalidOption {
            name: "topK",
            value: k.to_string(),
            expected: "1 to 64 for the GPU top-k",
        });
    }
    check("top_k: input", x, x_off + n)?;
    check("top_k: result", result, 2 * k)?;
    let pipeline = b
        .gpu()
        .pipeline("topk", || shaders::with_best(shaders::TOPK));
    b.dispatch(
        pipeline,
        &[n as u32, k as u32, x_off as u32, 0],
        &[&x.buf, &result.buf],
        [1, 1, 1],
    );
    Ok(())
}
