//! One fused forward + backward for the sigmoid losses' row sums on Burn's flex CPU backend.
//!
//! [`SigmoidTerms::elements`](crate::sigmoid::SigmoidTerms::elements) composes about fifteen
//! element-wise tensor operations, each a pass over `[B, C]` forward and one or two backward,
//! each an autodiff node. Here one loop over `[B, C]` computes every element loss `e_{n,c}`, its
//! row sum `Σ_c w_c·e_{n,c}` and the derivative `w_c·∂e_{n,c}/∂z_{n,c}`; the backward is one
//! more loop, `∂L/∂z_{n,c} = ∂L/∂r_n · w_c·∂e_{n,c}/∂z_{n,c}`. The arithmetic follows the
//! composition's operations in `f32`, with vectorized `exp` and `ln` (and one rewrite, the focal
//! factor of hard targets as a product; see [`elements`]), so the two agree to float precision;
//! the unit tests below check values and gradients against it.
//!
//! On Burn's CubeCL backend (wgpu, with this crate's `wgpu` feature) the same pass is a
//! `#[cube]` kernel over the elements and Burn's row sum, in `fused/cube.rs`.
//!
//! It goes through Burn's backend-extension API (`Tensor::try_into_primitive` /
//! `Tensor::from_primitive`, the `extension` feature) down to `FlexTensor`'s storage, with a
//! hand-written `Backward` registered in `Autodiff<Flex>`. Any other backend (but `Cube`, above),
//! an `f16`/`f64` float type, or an autodiff device with gradient checkpointing gets `None`, and
//! the caller runs the composition: the result is the same everywhere, only the fused paths are
//! faster. (Burn's
//! `#[backend_extension]` macro routes one trait to several backends' implementations; with one
//! implementation and a fallback written in tensor operations, the primitive conversions are
//! all it would generate.)

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex, TensorMetadata};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use wide::{f32x4, f32x8};

#[cfg(feature = "wgpu")]
mod cube;

/// The targets of a batch: class indices `[B]` or float (multi-hot or soft) rows `[B, C]`.
pub(crate) enum SigmoidTargets {
    /// Class indices; an index outside `0..C` is a row without a positive label.
    Indices(Tensor<1, Int>),
    /// Targets in `[0, 1]`, `[B, C]`.
    Dense(Tensor<2>),
}

/// The element loss's parameters, in `f32` as the composition applies them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ElementParams {
    /// The focal exponent; 0 for BCE.
    gamma: f32,
    /// `γ` when it is 1, 2, 3 or 4: the focal factor is then a product.
    power: Option<u32>,
    /// The focal `α` as the factor `α_t = y·(2α - 1) + (1 - α)` takes it: `(2α - 1, 1 - α)`,
    /// each rounded from `f64` once, as `mul_scalar` and `add_scalar` do; `None` for no `α`.
    alpha: Option<(f32, f32)>,
}

impl ElementParams {
    /// The parameters of focal exponent `gamma` (0 for BCE) and focal `alpha`.
    pub(crate) fn new(gamma: f64, alpha: Option<f64>) -> Self {
        Self {
            gamma: gamma as f32,
            power: (1..=4).find(|&power| gamma == f64::from(power)),
            alpha: alpha.map(|alpha| ((2.0 * alpha - 1.0) as f32, (1.0 - alpha) as f32)),
        }
    }
}

/// Per-class constants, `[C]` each, read to the host (the fused path runs on the CPU).
#[derive(Clone, Debug)]
struct Columns {
    /// `pos_weight`, `None` for 1.
    pos_weight: Option<Vec<f32>>,
    /// The column weights `w_c`, `None` for 1.
    weights: Option<Vec<f32>>,
}

/// A vector of `f32` lanes, `wide`'s `f32x8` (most of a row) or `f32x4` (the rest of it).
trait Lanes:
    Copy
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::AddAssign
    + std::ops::MulAssign
    + std::ops::BitAnd<Output = Self>
{
    /// The number of lanes.
    const WIDTH: usize;
    /// Every lane `x`.
    fn splat(x: f32) -> Self;
    /// `values` (at most `WIDTH`), the missing lanes `pad`.
    fn load(values: &[f32], pad: f32) -> Self;
    /// The lanes `start`, `start + 1`, ... as floats.
    fn indices(start: usize) -> Self;
    /// 1.0 where `self < other`, else 0.0.
    fn lt(self, other: Self) -> Self;
    /// 1.0 where `self == other`, else 0.0.
    fn eq(self, other: Self) -> Self;
    /// 1.0 where `self != other`, else 0.0.
    fn ne(self, other: Self) -> Self;
    /// `-|x|`.
    fn neg_abs(self) -> Self;
    /// `e^x` for `x ≤ 0` (every `exp` of the sigmoid losses: `-|z|` and `-γ·(-ln p_t)`),
    /// within 2 ulp of libm's `expf` down to `-87.33`, `e^-87.33` below it (within `1.2e-38`
    /// of libm's); saturating at `e^88` above. See [`exp_nonpositive`].
    fn exp(self) -> Self;
    /// `ln x` for `x` in `[1, 2]` (the sigmoid losses' `ln(1 + e^{-|z|})`), within 2 ulp of
    /// libm's `logf`. See [`ln_one_to_two`].
    fn ln(self) -> Self;
    /// The sum of the lanes.
    fn sum(self) -> f32;
    /// Appends the first `len` lanes to `out`.
    fn extend(self, out: &mut Vec<f32>, len: usize);
}

macro_rules! lanes {
    ($vector:ty, $int:ty, $width:literal) => {
        impl Lanes for $vector {
            const WIDTH: usize = $width;
            #[inline(always)]
            fn splat(x: f32) -> Self {
                <$vector>::splat(x)
            }
            #[inline(always)]
            fn load(values: &[f32], pad: f32) -> Self {
                match <[f32; $width]>::try_from(values) {
                    Ok(lanes) => <$vector>::from(lanes),
                    Err(_) => {
                        let mut lanes = [pad; $width];
                        lanes[..values.len()].copy_from_slice(values);
                        <$vector>::from(lanes)
                    }
                }
            }
            #[inline(always)]
            fn indices(start: usize) -> Self {
                <$vector>::from(std::array::from_fn::<f32, $width, _>(|k| {
                    (start + k) as f32
                }))
            }
            #[inline(always)]
            fn lt(self, other: Self) -> Self {
                self.simd_lt(other) & <$vector>::ONE
            }
            #[inline(always)]
            fn eq(self, other: Self) -> Self {
                self.simd_eq(other) & <$vector>::ONE
            }
            #[inline(always)]
            fn ne(self, other: Self) -> Self {
                self.simd_ne(other) & <$vector>::ONE
            }
            #[inline(always)]
            fn neg_abs(self) -> Self {
                -self.abs()
            }
            #[inline(always)]
            fn exp(self) -> Self {
                exp_nonpositive!(self, $vector, $int)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                ln_one_to_two!(self, $vector)
            }
            #[inline(always)]
            fn sum(self) -> f32 {
                self.reduce_add()
            }
            #[inline(always)]
            fn extend(self, out: &mut Vec<f32>, len: usize) {
                let lanes = self.to_array();
                if len == $width {
                    out.extend_from_slice(&lanes);
                } else {
                    out.extend_from_slice(&lanes[..len]);
                }
            }
        }
    };
}

/// `e^x` for `x ≤ 0`, Cephes' `expf` without its range checks: with `r = round(x·log2 e)` and
/// `f = x - r·ln 2` (`ln 2` in two parts, exact products), `e^x = 2^r·(1 + f + f²·P(f))`, `P`
/// the Taylor terms up to `f⁵/7!` (`|f| ≤ ln2/2`, truncation below `6e-9` relative), `2^r`
/// built in the exponent bits. `x` is clamped to `[-87.33, 88]`, where `2^r` stays a normal
/// power of two: below, the result is `e^-87.33 = 1.2e-38` where libm's is smaller (the losses
/// add it to 1, where it vanishes), above it saturates at `e^88` (only targets outside `[0, 1]`
/// take the focal factor's argument there). On platforms whose `max` drops a NaN (wasm,
/// `wide`'s scalar fallback) a NaN `x` gives `e^-87.33`; the loss is NaN all the same, through
/// its `z·a` term. `wide`'s `exp` handles these edges exactly, behind data-dependent branches,
/// and is not inlined: this form is about a third of its instructions.
macro_rules! exp_nonpositive {
    ($x:expr, $vector:ty, $int:ty) => {{
        let x: $vector = $x;
        // `maxps`/`minps` return their second operand when either is NaN: on x86 (and NEON,
        // whose max and min propagate NaN) a NaN `x` stays NaN.
        let clamped = <$vector>::splat(88.0).fast_min(<$vector>::splat(-87.33).fast_max(x));
        let r = (clamped * <$vector>::splat(std::f32::consts::LOG2_E)).fast_round_int();
        let rf = r.round_float();
        let f =
            clamped - rf * <$vector>::splat(0.693_359_4) - rf * <$vector>::splat(-2.121_944_4e-4);
        let mut p = <$vector>::splat(1.0 / 5040.0);
        for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5] {
            p = p * f + <$vector>::splat(c);
        }
        let mantissa = p * (f * f) + f + <$vector>::splat(1.0);
        // -126 <= r <= 127: a normal power of two.
        let scale: $vector = wide::bytemuck::cast((r + <$int>::splat(127)) << 23u32);
        mantissa * scale
    }};
}

/// `ln x` for `x` in `[1, 2]`, Cephes' `logf` with the exponent known: `x = 2^e·(1 + f)` with
/// `e = 1` above `√2` (`f = x/2 - 1`) and `e = 0` below (`f = x - 1`, both exact), then
/// `ln x = e·ln 2 + f - f²/2 + f³·P(f)` with Cephes' degree-8 minimax `P`. `wide`'s `ln` takes
/// the exponent apart and checks for zero, negative and infinite arguments behind a branch.
macro_rules! ln_one_to_two {
    ($x:expr, $vector:ty) => {{
        let x: $vector = $x;
        let one = <$vector>::splat(1.0);
        let upper = x.simd_gt(<$vector>::splat(std::f32::consts::SQRT_2));
        let f = upper.bitselect(x * <$vector>::splat(0.5), x) - one;
        let e = upper & one;
        let mut p = <$vector>::splat(7.037_683_6e-2);
        for c in [
            -1.151_461_1e-1,
            1.167_699_9e-1,
            -1.242_014_1e-1,
            1.424_932_3e-1,
            -1.666_805_8e-1,
            2.000_071_5e-1,
            -2.499_999_4e-1,
            3.333_333e-1,
        ] {
            p = p * f + <$vector>::splat(c);
        }
        let f2 = f * f;
        let ln = f2 * f * p + e * <$vector>::splat(-2.121_944_4e-4);
        let ln = ln + (f - f2 * <$vector>::splat(0.5));
        ln + e * <$vector>::splat(0.693_359_4)
    }};
}

lanes!(f32x8, wide::i32x8, 8);
lanes!(f32x4, wide::i32x4, 4);

/// A vector of elements: `(e, ∂e/∂z)` at logits `z`, targets `y` and `pos_weight` `pw`, with
/// the composition's operations in its order (`sigmoid.rs`): `b = [z < 0]`, `s = 2b - 1`,
/// `u = exp(s·z)`, `t = ln(u + 1)`, `f = y·(pw - 1) + 1`, `L = z·((1 - y) - f·b) + f·t`, then
/// `L·exp(-γ·(z·(y - b) + t))` and `·(y·(2α - 1) + (1 - α))`; `∂e/∂z` as autodiff takes it
/// through the same operations. `exp` and `ln` are vectorized ([`exp_nonpositive`],
/// [`ln_one_to_two`]), within 2 ulp of libm's (Burn's flex calls libm's one element at a time):
/// that is most of the speed-up.
///
/// With hard targets (all 0 or 1: class indices, multi-hot rows) and an integer `γ` up to 4, the focal
/// factor `exp(-γ·(z·(y - b) + t)) = (1 - p_t)^γ` is a product instead: `1 - p_t` is
/// `u/(1 + u)` where `y ≠ b` and `1/(1 + u)` where `y = b`, with `1/(1 + u)` already at hand
/// for the gradient. That saves an `exp` per element. The two forms agree to float precision;
/// the product is the more accurate at large `|z|`, where the `exp` form's argument `γ·|z|`
/// carries a rounding error of `γ·|z|·2^-24`. They differ at an infinite logit on the wrong
/// side: the composition's `∞·0` makes the loss NaN, the product `+∞` (both non-finite).
///
/// The terms are compile-time constants, so that each combination is a loop of its own without
/// branches: `POS_WEIGHT` (else `pw` is unused), `FOCAL` ([`NO_FOCAL`], [`FOCAL_PRODUCT`] or
/// [`FOCAL_EXP`]) and `ALPHA`.
#[inline(always)]
fn elements<V: Lanes, const POS_WEIGHT: bool, const FOCAL: u8, const ALPHA: bool>(
    z: V,
    y: V,
    pw: V,
    params: ElementParams,
) -> (V, V) {
    let one = V::splat(1.0);
    let zero = V::splat(0.0);
    let below = z.lt(zero);
    let sign = below + below - one;
    // z·s = -|z| exactly.
    let exp = z.neg_abs().exp();
    let tail = (exp + one).ln();
    // d tail / dz, as autodiff takes it through log, add and exp.
    let reciprocal = one / (exp + one);
    let tail_dz = reciprocal * exp * sign;
    let negative = one - y;
    let (mut loss, mut dz) = match POS_WEIGHT {
        true => {
            let f = y * (pw - one) + one;
            let a = negative - f * below;
            (z * a + f * tail, a + f * tail_dz)
        }
        false => {
            let a = negative - below;
            (z * a + tail, a + tail_dz)
        }
    };
    if FOCAL != NO_FOCAL {
        let gamma = V::splat(-params.gamma);
        let modulator = match params.power {
            Some(power) if FOCAL == FOCAL_PRODUCT => {
                // 1 - p_t: u/(1 + u) where y != b, else 1/(1 + u).
                let complement = (y - below).ne(zero);
                let base = reciprocal * (complement * exp + (one - complement));
                let mut modulator = base;
                for _ in 1..power {
                    modulator *= base;
                }
                modulator
            }
            _ => ((z * (y - below) + tail) * gamma).exp(),
        };
        let modulator_dz = modulator * gamma * ((y - below) + tail_dz);
        dz = dz * modulator + loss * modulator_dz;
        loss *= modulator;
    }
    if let (true, Some((scale, offset))) = (ALPHA, params.alpha) {
        let alpha_t = y * V::splat(scale) + V::splat(offset);
        loss *= alpha_t;
        dz *= alpha_t;
    }
    (loss, dz)
}

/// No focal factor (BCE).
const NO_FOCAL: u8 = 0;
/// The focal factor as a product: hard targets, `γ` in 1..=4.
const FOCAL_PRODUCT: u8 = 1;
/// The focal factor as an `exp`.
const FOCAL_EXP: u8 = 2;

/// `∂e/∂y` of one element of [`elements`] (`b = [z < 0]` is a constant, as a comparison is in
/// the graph), in scalar arithmetic: it runs only when the targets are tracked.
fn element_dy(z: f32, y: f32, pw: Option<f32>, params: ElementParams) -> f32 {
    let below = if z < 0.0 { 1.0f32 } else { 0.0 };
    let sign = below * 2.0 - 1.0;
    let tail = ((z * sign).exp() + 1.0).ln();
    let pw_minus_1 = pw.map_or(0.0, |pw| pw - 1.0);
    let f = y * pw_minus_1 + 1.0;
    let loss = z * ((1.0 - y) - f * below) + f * tail;
    let mut dy = z * (-1.0 - pw_minus_1 * below) + pw_minus_1 * tail;
    let mut value = loss;
    if params.gamma > 0.0 {
        let modulator = ((z * (y - below) + tail) * -params.gamma).exp();
        dy = dy * modulator + loss * (-params.gamma * z * modulator);
        value = loss * modulator;
    }
    if let Some((scale, offset)) = params.alpha {
        let alpha_t = y * scale + offset;
        dy = dy * alpha_t + value * scale;
    }
    dy
}

/// Row `n`'s targets: `y_{n,c}` for `c` in `0..C`.
enum RowTargets<'a> {
    /// The class of each row.
    Indices(&'a [i64]),
    /// `[B, C]`, row-major.
    Dense(&'a [f32]),
}

/// One row's constants: its logits, targets, `pos_weight`s and column weights, `[C]` each.
struct Row<'a> {
    z: &'a [f32],
    /// Float targets, or `None` with `class` (NaN, equal to nothing, outside `0..C`).
    dense: Option<&'a [f32]>,
    class: f32,
    pos_weight: Option<&'a [f32]>,
    weights: &'a [f32],
    params: ElementParams,
}

impl Row<'_> {
    /// The classes `start..start + len` (`len` at most `V::WIDTH`, the rest padded with weight
    /// 0): adds their weighted losses to `sum` and appends their weighted derivatives to `out`.
    #[inline(always)]
    fn span<V: Lanes, const POS_WEIGHT: bool, const FOCAL: u8, const ALPHA: bool>(
        &self,
        start: usize,
        len: usize,
        sum: &mut V,
        out: Option<&mut Vec<f32>>,
    ) {
        let lanes = start..start + len;
        let z = V::load(&self.z[lanes.clone()], 0.0);
        let y = match self.dense {
            Some(y) => V::load(&y[lanes.clone()], 0.0),
            None => V::indices(start).eq(V::splat(self.class)),
        };
        let pw = match self.pos_weight {
            Some(pw) if POS_WEIGHT => V::load(&pw[lanes.clone()], 1.0),
            _ => V::splat(1.0),
        };
        let w = V::load(&self.weights[lanes], 0.0);
        let (e, dz) = elements::<V, POS_WEIGHT, FOCAL, ALPHA>(z, y, pw, self.params);
        *sum += e * w;
        if let Some(out) = out {
            (dz * w).extend(out, len);
        }
    }
}

/// The forward loop: row sums `Σ_c w_c·e_{n,c}` `[B]`, and `w_c·∂e_{n,c}/∂z_{n,c}` `[B, C]`
/// when `with_grad`, by the loop compiled for this call's terms.
fn forward(
    z: &[f32],
    targets: &RowTargets<'_>,
    columns: &Columns,
    params: ElementParams,
    shape: [usize; 2],
    with_grad: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    // Hard targets (all 0 or 1: class indices, and multi-hot rows) allow the focal product.
    let hard = || match targets {
        RowTargets::Indices(_) => true,
        // A branch-free test per chunk (it vectorizes), stopping at the first soft chunk.
        RowTargets::Dense(y) => y.chunks(256).all(|chunk| {
            chunk
                .iter()
                .fold(true, |hard, &y| hard & ((y == 0.0) | (y == 1.0)))
        }),
    };
    let focal = match (params.gamma > 0.0, params.power) {
        (false, _) => NO_FOCAL,
        (true, Some(_)) if hard() => FOCAL_PRODUCT,
        (true, _) => FOCAL_EXP,
    };
    macro_rules! forward_with {
        ($($pos_weight:literal, $focal:ident, $alpha:literal);* $(;)?) => {
            match (columns.pos_weight.is_some(), focal, params.alpha.is_some()) {
                $(($pos_weight, $focal, $alpha) => forward_rows::<$pos_weight, $focal, $alpha>(
                    z, targets, columns, params, shape, with_grad,
                ),)*
                _ => unreachable!("focal is one of the three forms"),
            }
        };
    }
    forward_with!(
        false, NO_FOCAL, false; false, NO_FOCAL, true;
        false, FOCAL_PRODUCT, false; false, FOCAL_PRODUCT, true;
        false, FOCAL_EXP, false; false, FOCAL_EXP, true;
        true, NO_FOCAL, false; true, NO_FOCAL, true;
        true, FOCAL_PRODUCT, false; true, FOCAL_PRODUCT, true;
        true, FOCAL_EXP, false; true, FOCAL_EXP, true;
    )
}

/// [`forward`] for one combination of terms. Each row goes eight classes at a time, then four,
/// then the rest padded to four with weight 0.
fn forward_rows<const POS_WEIGHT: bool, const FOCAL: u8, const ALPHA: bool>(
    z: &[f32],
    targets: &RowTargets<'_>,
    columns: &Columns,
    params: ElementParams,
    [batch, classes]: [usize; 2],
    with_grad: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let ones;
    let weights = match &columns.weights {
        Some(w) => w.as_slice(),
        None => {
            ones = vec![1.0f32; classes];
            ones.as_slice()
        }
    };
    let mut rows = Vec::with_capacity(batch);
    let mut grad = with_grad.then(|| Vec::with_capacity(batch * classes));
    for n in 0..batch {
        let range = n * classes..(n + 1) * classes;
        let row = Row {
            z: &z[range.clone()],
            dense: match targets {
                RowTargets::Dense(y) => Some(&y[range.clone()]),
                RowTargets::Indices(_) => None,
            },
            class: match targets {
                RowTargets::Indices(y) if (0..classes as i64).contains(&y[n]) => y[n] as f32,
                _ => f32::NAN,
            },
            pos_weight: columns.pos_weight.as_deref(),
            weights,
            params,
        };
        let mut wide = f32x8::ZERO;
        let mut narrow = f32x4::ZERO;
        let mut start = 0;
        while start < classes {
            let remaining = classes - start;
            let eight = remaining >= <f32x8 as Lanes>::WIDTH;
            let len = remaining.min(if eight {
                <f32x8 as Lanes>::WIDTH
            } else {
                <f32x4 as Lanes>::WIDTH
            });
            if eight {
                row.span::<_, POS_WEIGHT, FOCAL, ALPHA>(start, len, &mut wide, grad.as_mut());
            } else {
                row.span::<_, POS_WEIGHT, FOCAL, ALPHA>(start, len, &mut narrow, grad.as_mut());
            }
            start += len;
        }
        rows.push(wide.sum() + narrow.sum());
    }
    (rows, grad)
}

/// A float primitive's values, row-major; `None` unless it holds `f32`.
fn f32_values(tensor: &FlexTensor) -> Option<std::borrow::Cow<'_, [f32]>> {
    if tensor.dtype() != DType::F32 {
        return None;
    }
    Some(match tensor.as_slice::<f32>() {
        Some(values) => std::borrow::Cow::Borrowed(values),
        None => std::borrow::Cow::Owned(tensor.to_contiguous().as_slice::<f32>()?.to_vec()),
    })
}

/// The flex primitive of class indices (an autodiff device's integers are its inner backend's).
fn index_primitive(targets: &Tensor<1, Int>) -> Option<FlexTensor> {
    let primitive = targets.clone().try_into_primitive::<Flex>();
    primitive
        .or_else(|_| targets.clone().try_into_primitive::<Autodiff<Flex>>())
        .ok()
}

/// Class indices as `i64`, borrowed when they are stored so.
fn index_values(tensor: &FlexTensor) -> std::borrow::Cow<'_, [i64]> {
    match (tensor.dtype(), tensor.as_slice::<i64>()) {
        (DType::I64, Some(values)) => std::borrow::Cow::Borrowed(values),
        _ => std::borrow::Cow::Owned(tensor.clone().into_data().iter::<i64>().collect()),
    }
}

fn flex_tensor(values: Vec<f32>, shape: [usize; 2]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

fn flex_vector(values: Vec<f32>) -> FlexTensor {
    let len = values.len();
    FlexTensor::from_data(TensorData::new(values, [len]))
}

/// A `[C]` constant on the host, `None` unless `f32`.
fn host_vector(tensor: Option<&Tensor<1>>) -> Option<Option<Vec<f32>>> {
    match tensor {
        None => Some(None),
        Some(t) if t.dtype() == DType::F32 => {
            Some(Some(t.clone().into_data().iter::<f32>().collect()))
        }
        Some(_) => None,
    }
}

/// `∂L/∂z = ∂L/∂r_n · g_{n,c}`: the upstream gradient of the row sums `[B]` spread over the
/// stored `[B, C]` derivatives, in place (the backward owns them, and they were written
/// contiguous by [`forward`]): the gradient costs no allocation of its own.
fn spread(upstream: &FlexTensor, mut derivatives: FlexTensor) -> FlexTensor {
    let shape = derivatives.shape();
    let [batch, classes] = [shape[0], shape[1]];
    // The upstream gradient has the output's dtype, f32; anything else is converted.
    let upstream = f32_values(upstream).unwrap_or_else(|| {
        std::borrow::Cow::Owned(upstream.clone().into_data().iter::<f32>().collect())
    });
    let scale = |values: &mut [f32]| {
        for (row, &u) in values.chunks_exact_mut(classes.max(1)).zip(upstream.iter()) {
            row.iter_mut().for_each(|g| *g *= u);
        }
    };
    if derivatives.is_contiguous()
        && let Some(values) = derivatives.try_storage_mut::<f32>()
        && values.len() == batch * classes
    {
        scale(values);
        return derivatives;
    }
    let mut values = f32_values(&derivatives)
        .expect("the stored derivatives are f32")
        .into_owned();
    scale(&mut values);
    flex_tensor(values, [batch, classes])
}

/// The backward of row sums over class-index targets (no gradient to integers).
#[derive(Debug)]
struct IndexRowSumsBackward;

impl Backward<Flex, 1> for IndexRowSumsBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [logits] = ops.parents;
        let upstream = grads.consume::<Flex>(&ops.node);
        if let Some(node) = logits {
            grads.register::<Flex>(node.id, spread(&upstream, ops.state));
        }
    }
}

/// What the backward of dense targets keeps: the `[B, C]` derivatives in `z`, and what the
/// derivatives in `y` need if the targets turn out to be tracked.
#[derive(Clone, Debug)]
struct DenseState {
    derivatives: FlexTensor,
    logits: FlexTensor,
    targets: FlexTensor,
    columns: Columns,
    params: ElementParams,
}

/// The backward of row sums over float targets: to the logits, and to the targets when they
/// are tracked (soft targets computed from a model).
#[derive(Debug)]
struct DenseRowSumsBackward;

impl Backward<Flex, 2> for DenseRowSumsBackward {
    type State = DenseState;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [logits, targets] = ops.parents;
        let upstream = grads.consume::<Flex>(&ops.node);
        let state = ops.state;
        if let Some(node) = targets {
            grads.register::<Flex>(node.id, target_gradient(&upstream, &state));
        }
        if let Some(node) = logits {
            grads.register::<Flex>(node.id, spread(&upstream, state.derivatives));
        }
    }
}

/// `∂L/∂y_{n,c} = ∂L/∂r_n · w_c·∂e_{n,c}/∂y_{n,c}`.
fn target_gradient(upstream: &FlexTensor, state: &DenseState) -> FlexTensor {
    let shape = state.logits.shape();
    let [batch, classes] = [shape[0], shape[1]];
    let z = f32_values(&state.logits).expect("the fused path takes f32 logits");
    let y = f32_values(&state.targets).expect("the fused path takes f32 targets");
    let mut dy = vec![0.0f32; batch * classes];
    for n in 0..batch {
        for c in 0..classes {
            let i = n * classes + c;
            let pw = state.columns.pos_weight.as_ref().map(|pw| pw[c]);
            let w = state.columns.weights.as_ref().map_or(1.0, |w| w[c]);
            dy[i] = element_dy(z[i], y[i], pw, state.params) * w;
        }
    }
    spread(upstream, flex_tensor(dy, [batch, classes]))
}

/// The multi-hot row weights `s_n = Σ_{c: y_nc > 0} w_c` (`no_label_weight` for a row without
/// a positive entry), `[B]`, in one pass over the targets on flex; `None` elsewhere, where
/// [`composed_positive_sums`](crate::sigmoid::composed_positive_sums) runs. A constant of the
/// graph either way (the targets enter through a comparison).
pub(crate) fn positive_sums(
    targets: &Tensor<2>,
    weights: &Tensor<1>,
    no_label_weight: f64,
) -> Option<Tensor<1>> {
    let [batch, classes] = targets.dims();
    let primitive = match targets.clone().try_into_primitive::<Autodiff<Flex>>() {
        Ok(tensor) => tensor.primitive().clone(),
        Err(_) => targets.clone().try_into_primitive::<Flex>().ok()?,
    };
    let y = f32_values(&primitive)?;
    let w = host_vector(Some(weights))??;
    if w.len() != classes {
        return None;
    }
    let sums: Vec<f32> = y
        .chunks_exact(classes.max(1))
        .take(batch)
        .map(|row| {
            // Four running sums (one would chain every addition of the row), which the
            // compiler keeps in one vector register; the rest of the row after them.
            let (mut sums, mut any) = ([0.0f32; 4], false);
            let (ys, ws) = (row.chunks_exact(4), w.chunks_exact(4));
            let rest = ys.remainder().iter().zip(ws.remainder());
            for (y, w) in ys.zip(ws) {
                for k in 0..4 {
                    sums[k] += if y[k] > 0.0 { w[k] } else { 0.0 };
                    any |= y[k] > 0.0;
                }
            }
            let mut sum = (sums[0] + sums[1]) + (sums[2] + sums[3]);
            for (&y, &w) in rest {
                sum += if y > 0.0 { w } else { 0.0 };
                any |= y > 0.0;
            }
            if any || no_label_weight == 0.0 {
                sum
            } else {
                sum + no_label_weight as f32
            }
        })
        .collect();
    if sums.len() != batch {
        return None;
    }
    Some(Tensor::from_data(
        TensorData::new(sums, [batch]),
        &targets.device(),
    ))
}

/// `Σ_c w_c·e_{n,c}`, `[B]`, in one fused pass, or `None` where the composition must run
/// (neither flex nor, with the `wgpu` feature, the CubeCL backend (`fused/cube.rs`); not `f32`;
/// gradient checkpointing; targets or `[C]` constants of the wrong shape; more than 2^24
/// classes, where class indices stop being exact in `f32` lanes). Nothing is read back from a
/// device before the backend is known to be flex.
pub(crate) fn row_sums(
    logits: &Tensor<2>,
    targets: &SigmoidTargets,
    pos_weight: Option<&Tensor<1>>,
    weights: Option<&Tensor<1>>,
    params: ElementParams,
) -> Option<Tensor<1>> {
    let shape @ [batch, classes] = logits.dims();
    match targets {
        SigmoidTargets::Indices(t) if t.dims() != [batch] || classes > 1 << 24 => return None,
        SigmoidTargets::Dense(t) if t.dims() != shape => return None,
        _ => {}
    }
    // The backend first: the constants below are read to the host only on flex.
    let (tracked, plain) = match logits.clone().try_into_primitive::<Autodiff<Flex>>() {
        Ok(logits) => (Some(logits), None),
        Err(_) => match logits.clone().try_into_primitive::<Flex>() {
            Ok(logits) => (None, Some(logits)),
            // Not flex: the CubeCL kernel where it is compiled, else the composition.
            #[cfg(feature = "wgpu")]
            Err(_) => return cube::row_sums(logits, targets, pos_weight, weights, params),
            #[cfg(not(feature = "wgpu"))]
            Err(_) => return None,
        },
    };
    let columns = Columns {
        pos_weight: host_vector(pos_weight)?,
        weights: host_vector(weights)?,
    };
    let [pos_weight, weights] = [&columns.pos_weight, &columns.weights];
    if [pos_weight, weights]
        .into_iter()
        .flatten()
        .any(|v| v.len() != classes)
    {
        // A `[C]` constant of another length: the composition's error to report.
        return None;
    }
    if let Some(logits) = tracked {
        return autodiff_row_sums(logits, targets, columns, params, shape);
    }
    let logits = plain?;
    let z = f32_values(&logits)?;
    let rows = match targets {
        SigmoidTargets::Indices(t) => {
            let t = index_primitive(t)?;
            let y = index_values(&t);
            forward(&z, &RowTargets::Indices(&y), &columns, params, shape, false).0
        }
        SigmoidTargets::Dense(t) => {
            let t = t.clone().try_into_primitive::<Flex>().ok()?;
            let y = f32_values(&t)?;
            forward(&z, &RowTargets::Dense(&y), &columns, params, shape, false).0
        }
    };
    Some(Tensor::<1>::from_primitive::<Flex>(flex_vector(rows)))
}

fn autodiff_row_sums(
    logits: FloatTensor<Autodiff<Flex>>,
    targets: &SigmoidTargets,
    columns: Columns,
    params: ElementParams,
    shape: [usize; 2],
) -> Option<Tensor<1>> {
    let z_primitive = logits.primitive().clone();
    let z = f32_values(&z_primitive)?;
    let output = match targets {
        SigmoidTargets::Indices(t) => {
            let t = index_primitive(t)?;
            let y = index_values(&t);
            let y = RowTargets::Indices(&y);
            match IndexRowSumsBackward
                .prepare::<NoCheckpointing>([logits.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let (rows, grad) = forward(&z, &y, &columns, params, shape, true);
                    let grad = flex_tensor(grad?, shape);
                    prep.finish(grad, flex_vector(rows))
                }
                OpsKind::UnTracked(prep) => prep.finish(flex_vector(
                    forward(&z, &y, &columns, params, shape, false).0,
                )),
            }
        }
        SigmoidTargets::Dense(t) => {
            let targets = t.clone().try_into_primitive::<Autodiff<Flex>>().ok()?;
            let y_primitive = targets.primitive().clone();
            let y = f32_values(&y_primitive)?;
            let y = RowTargets::Dense(&y);
            match DenseRowSumsBackward
                .prepare::<NoCheckpointing>([logits.node(), targets.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let (rows, grad) = forward(&z, &y, &columns, params, shape, true);
                    let state = DenseState {
                        derivatives: flex_tensor(grad?, shape),
                        logits: z_primitive.clone(),
                        targets: y_primitive.clone(),
                        columns,
                        params,
                    };
                    prep.finish(state, flex_vector(rows))
                }
                OpsKind::UnTracked(prep) => prep.finish(flex_vector(
                    forward(&z, &y, &columns, params, shape, false).0,
                )),
            }
        }
    };
    Some(Tensor::<1>::from_primitive::<Autodiff<Flex>>(output))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! The fused pass against the composition it replaces (`SigmoidTerms::composed_row_sums`),
    //! values and gradients, on flex with and without autodiff.
    use super::*;
    use crate::LabelWeighting;
    use crate::sigmoid::SigmoidTerms;

    const B: usize = 6;
    /// One whole vector of eight classes and a padded rest of five.
    const C: usize = 13;

    /// Logits over the whole range: confident both ways, near 0, exactly 0, and ±40.
    fn logits_data() -> Vec<f32> {
        (0..B * C)
            .map(|i| match i {
                0 => 0.0,
                1 => 40.0,
                2 => -40.0,
                3 => 1e-4,
                _ => 6.0 * ((i as f32) * 1.7).sin() + 0.3 * (i % 3) as f32,
            })
            .collect()
    }

    /// Soft, multi-hot and empty rows.
    pub(super) fn dense_targets() -> Vec<f32> {
        (0..B * C)
            .map(|i| match i / C {
                0 => f32::from(u8::from(i % C == 1)),
                1 => 0.0,
                2 => f32::from(u8::from(i % 2 == 0)),
                _ => ((i * 37 % 11) as f32) / 10.0,
            })
            .collect()
    }

    /// Every class, and one index outside `0..C` (a row with no positive label).
    fn indices() -> Vec<i64> {
        vec![0, 12, 2, 9, 20, 7]
    }

    pub(super) struct Case {
        pos_weight: Option<Vec<f32>>,
        weights: Option<Vec<f32>>,
        gamma: f64,
        alpha: Option<f64>,
    }

    pub(super) fn cases() -> Vec<Case> {
        let pw = Some((0..C).map(|c| [0.5, 1.0, 3.0, 7.5, 0.1][c % 5]).collect());
        let w = Some(
            (0..C)
                .map(|c| [2.0, 0.25, 1.0, 0.6, 4.0, 0.0][c % 6])
                .collect(),
        );
        vec![
            Case {
                pos_weight: None,
                weights: None,
                gamma: 0.0,
                alpha: None,
            },
            Case {
                pos_weight: pw.clone(),
                weights: None,
                gamma: 0.0,
                alpha: None,
            },
            Case {
                pos_weight: None,
                weights: w.clone(),
                gamma: 0.0,
                alpha: None,
            },
            Case {
                pos_weight: None,
                weights: None,
                gamma: 2.0,
                alpha: Some(0.25),
            },
            Case {
                pos_weight: pw.clone(),
                weights: w.clone(),
                gamma: 0.5,
                alpha: None,
            },
            Case {
                pos_weight: pw,
                weights: w,
                gamma: 1.0,
                alpha: Some(0.9),
            },
        ]
    }

    fn vector(values: &Option<Vec<f32>>, device: &Device) -> Option<Tensor<1>> {
        values
            .as_ref()
            .map(|v| Tensor::<1>::from_floats(v.as_slice(), device))
    }

    fn assert_close(name: &str, fused: &[f32], composed: &[f32]) {
        assert_eq!(fused.len(), composed.len(), "{name}: lengths");
        for (i, (f, c)) in fused.iter().zip(composed).enumerate() {
            let tolerance = 2e-6 * c.abs().max(1.0);
            assert!(
                (f - c).abs() <= tolerance,
                "{name}[{i}]: fused {f} vs composed {c}"
            );
        }
    }

    fn values(tensor: Tensor<1>) -> Vec<f32> {
        tensor.into_data().iter::<f32>().collect()
    }

    fn values2(tensor: Tensor<2>) -> Vec<f32> {
        tensor.into_data().iter::<f32>().collect()
    }

    /// Row sums and gradients (under a non-uniform upstream gradient) of both paths.
    /// Multi-hot rows of 0 and 1 only, one of them empty: the focal product on float targets.
    pub(super) fn hard_dense_targets() -> Vec<f32> {
        dense_targets()
            .iter()
            .map(|&y| f32::from(u8::from(y > 0.5)))
            .collect()
    }

    fn compare(autodiff: bool, case: &Case, dense: bool, track_targets: bool) {
        compare_with(autodiff, case, dense, track_targets, dense_targets());
    }

    fn compare_with(
        autodiff: bool,
        case: &Case,
        dense: bool,
        track_targets: bool,
        dense_values: Vec<f32>,
    ) {
        compare_on(
            &Device::flex(),
            autodiff,
            case,
            dense,
            track_targets,
            dense_values,
            true,
        );
    }

    /// [`compare_with`] on `base` (or its autodiff device); `fused` says whether the fused
    /// path must run, else it must decline (`None`) and the composition be used.
    pub(super) fn compare_on(
        base: &Device,
        autodiff: bool,
        case: &Case,
        dense: bool,
        track_targets: bool,
        dense_values: Vec<f32>,
        fused: bool,
    ) {
        let device = &if autodiff {
            base.clone().autodiff()
        } else {
            base.clone()
        };
        let name = format!(
            "dense={dense} track_targets={track_targets} pw={:?} w={:?} gamma={} alpha={:?}",
            case.pos_weight, case.weights, case.gamma, case.alpha
        );
        let pos_weight = vector(&case.pos_weight, device);
        let weights = vector(&case.weights, device);
        let terms = SigmoidTerms {
            weights: None,
            pos_weight: pos_weight.as_ref(),
            alpha: case.alpha,
            gamma: case.gamma,
            label_weighting: LabelWeighting::PositiveSum,
            no_label_weight: 0.0,
        };
        let upstream = Tensor::<1>::from_floats([1.0, -0.5, 2.0, 0.25, 3.0, -1.5], device);
        let run = |fused_path: bool| {
            let z = Tensor::<2>::from_data(TensorData::new(logits_data(), [B, C]), device);
            let z = if autodiff { z.require_grad() } else { z };
            let y = Tensor::<2>::from_data(TensorData::new(dense_values.clone(), [B, C]), device);
            let y = if track_targets { y.require_grad() } else { y };
            let targets = if dense {
                SigmoidTargets::Dense(y.clone())
            } else {
                SigmoidTargets::Indices(Tensor::<1, Int>::from_ints(indices().as_slice(), device))
            };
            let fused_rows = match fused_path {
                true => row_sums(
                    &z,
                    &targets,
                    pos_weight.as_ref(),
                    weights.as_ref(),
                    terms.params(),
                ),
                false => None,
            };
            if fused_path {
                assert_eq!(fused_rows.is_some(), fused, "{name}: the fused path ran");
            }
            let rows = fused_rows
                .unwrap_or_else(|| terms.composed_row_sums(z.clone(), targets, weights.as_ref()));
            let out = values(rows.clone());
            if !autodiff {
                return (out, None, None);
            }
            let grads = (rows * upstream.clone()).sum().backward();
            let dz = values2(z.grad(&grads).unwrap());
            let dy = track_targets.then(|| values2(y.grad(&grads).unwrap()));
            (out, Some(dz), dy)
        };
        let (fused_rows, fused_dz, fused_dy) = run(true);
        let (rows, dz, dy) = run(false);
        assert_close(&format!("rows {name}"), &fused_rows, &rows);
        assert_eq!(fused_dz.is_some(), autodiff, "{name}: gradients computed");
        if let (Some(f), Some(c)) = (fused_dz, dz) {
            assert_close(&format!("d/dz {name}"), &f, &c);
        }
        assert_eq!(
            fused_dy.is_some(),
            track_targets,
            "{name}: target gradients"
        );
        if let (Some(f), Some(c)) = (fused_dy, dy) {
            assert_close(&format!("d/dy {name}"), &f, &c);
        }
    }

    /// The distance between two floats of one sign in units in the last place.
    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exp_and_ln_are_within_two_ulp_of_libm_over_their_ranges() {
        // exp over [-104, 0] in steps of 2^-10 (and a NaN), both vector widths.
        let xs: Vec<f32> = (0..=104 * 1024).map(|i| -(i as f32) / 1024.0).collect();
        for chunk in xs.chunks(8) {
            // `Lanes::exp`, not `wide`'s inherent `exp` that method syntax would pick.
            let wide8 = Lanes::exp(<f32x8 as Lanes>::load(chunk, 0.0)).to_array();
            let wide4 =
                Lanes::exp(<f32x4 as Lanes>::load(&chunk[..chunk.len().min(4)], 0.0)).to_array();
            for (k, &x) in chunk.iter().enumerate() {
                let libm = x.exp();
                let narrow = wide4.get(k).map(|&got| (4, got));
                for (width, got) in [(8, wide8[k])].into_iter().chain(narrow) {
                    if x < -87.33 {
                        assert!(
                            (got - libm).abs() < 1.2e-38,
                            "exp({x}) = {got}, f32x{width}"
                        );
                    } else {
                        assert!(
                            ulps(got, libm) <= 2,
                            "exp({x}) = {got} vs {libm}, f32x{width}"
                        );
                    }
                }
            }
        }
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        assert!(Lanes::exp(<f32x8 as Lanes>::splat(f32::NAN)).to_array()[0].is_nan());
        // Beyond the losses' range: close up to 88, then e^88 (never garbage).
        for x in [0.5f32, 10.0, 60.0, 87.9, 88.0] {
            let got = Lanes::exp(<f32x4 as Lanes>::splat(x)).to_array()[0];
            assert!(ulps(got, x.exp()) <= 2, "exp({x}) = {got} vs {}", x.exp());
        }
        let highest = Lanes::exp(<f32x4 as Lanes>::splat(88.0)).to_array()[0];
        for x in [88.1f32, 100.0, 1e30, f32::INFINITY] {
            assert_eq!(
                Lanes::exp(<f32x8 as Lanes>::splat(x)).to_array(),
                [highest; 8]
            );
        }
        let lowest = Lanes::exp(<f32x4 as Lanes>::splat(-87.33)).to_array()[0];
        let minus_infinity = Lanes::exp(<f32x4 as Lanes>::splat(f32::NEG_INFINITY));
        assert_eq!(minus_infinity.to_array(), [lowest; 4]);
        // ln over [1, 2]: every float in [1, 1 + 2^-10], then steps of 2^-20.
        let xs: Vec<f32> = (0..1 << 13)
            .map(|i| f32::from_bits(1f32.to_bits() + i))
            .chain((0..=1 << 20).map(|i| 1.0 + i as f32 / (1 << 20) as f32))
            .collect();
        for chunk in xs.chunks(8) {
            let wide8 = Lanes::ln(<f32x8 as Lanes>::load(chunk, 1.0)).to_array();
            let wide4 =
                Lanes::ln(<f32x4 as Lanes>::load(&chunk[..chunk.len().min(4)], 1.0)).to_array();
            for (k, &x) in chunk.iter().enumerate() {
                let libm = x.ln();
                let narrow = wide4.get(k).map(|&got| (4, got));
                for (width, got) in [(8, wide8[k])].into_iter().chain(narrow) {
                    assert!(
                        ulps(got, libm) <= 2,
                        "ln({x}) = {got} vs {libm}, f32x{width}"
                    );
                }
            }
        }
    }

    #[test]
    fn fused_row_sums_and_gradients_equal_the_composition() {
        for case in cases() {
            for dense in [false, true] {
                compare(true, &case, dense, false);
                compare(false, &case, dense, false);
            }
            // Soft targets computed from a model: the targets' gradient too.
            compare(true, &case, true, true);
            compare_with(true, &case, true, false, hard_dense_targets());
        }
    }

    #[test]
    fn positive_sums_equal_the_composition() {
        let weights: Vec<f32> = (0..C).map(|c| 0.1 + c as f32 * 0.37).collect();
        for device in [Device::flex(), Device::flex().autodiff()] {
            let targets = Tensor::<2>::from_data(TensorData::new(dense_targets(), [B, C]), &device);
            let w = Tensor::<1>::from_floats(weights.as_slice(), &device);
            for no_label_weight in [0.0, 0.75] {
                let fused = positive_sums(&targets, &w, no_label_weight).unwrap();
                let composed =
                    crate::sigmoid::composed_positive_sums(&targets, &w, no_label_weight);
                assert_close("positive sums", &values(fused), &values(composed));
            }
        }
    }

    #[test]
    #[allow(deprecated)] // burn-ndarray: any backend but flex would do.
    fn other_backends_and_wrong_shapes_fall_back_to_the_composition() {
        let params = ElementParams::new(0.0, None);
        let ndarray = Device::ndarray();
        let z = Tensor::<2>::zeros([2, 3], &ndarray);
        let y = SigmoidTargets::Indices(Tensor::<1, Int>::from_ints([0, 1], &ndarray));
        assert!(row_sums(&z, &y, None, None, params).is_none());
        // Targets or class constants of the wrong length are the composition's to report.
        let flex = Device::flex();
        let z = Tensor::<2>::zeros([2, 3], &flex);
        let y = SigmoidTargets::Indices(Tensor::<1, Int>::from_ints([0, 1, 2], &flex));
        assert!(row_sums(&z, &y, None, None, params).is_none());
        let y = SigmoidTargets::Indices(Tensor::<1, Int>::from_ints([0, 1], &flex));
        let four = Tensor::<1>::ones([4], &flex);
        assert!(row_sums(&z, &y, Some(&four), None, params).is_none());
        assert!(row_sums(&z, &y, None, Some(&four), params).is_none());
        assert!(row_sums(&z, &y, None, None, params).is_some());
    }

    #[test]
    fn an_empty_batch_or_no_classes_give_rows_of_zero() {
        empty_shapes_on(&Device::flex());
        empty_shapes_on(&Device::flex().autodiff());
    }

    /// An empty batch, or no classes, on `device`: rows of 0 (or none) from the fused path.
    pub(super) fn empty_shapes_on(device: &Device) {
        let params = ElementParams::new(2.0, None);
        for shape in [[0, 3], [2, 0]] {
            let z = Tensor::<2>::zeros(shape, device);
            let y = SigmoidTargets::Dense(Tensor::<2>::zeros(shape, device));
            let rows = row_sums(&z, &y, None, None, params);
            let rows = rows.map(|r| r.into_data().iter::<f32>().collect::<Vec<_>>());
            assert_eq!(rows, Some(vec![0.0; shape[0]]), "{shape:?}");
        }
    }

    #[test]
    fn spread_scales_in_place_only_derivatives_it_alone_holds() {
        let values = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let upstream = flex_vector(vec![2.0, -1.0]);
        let expected = [2.0, 4.0, 6.0, -4.0, -5.0, -6.0];
        // Shared: scaled into a new buffer, the other holder's values untouched.
        let shared = flex_tensor(values.clone(), [2, 3]);
        let kept = shared.clone();
        let out = spread(&upstream, shared);
        assert_eq!(out.as_slice::<f32>().unwrap(), expected);
        assert_eq!(kept.as_slice::<f32>().unwrap(), values.as_slice());
        assert_ne!(out.bytes().as_ptr(), kept.bytes().as_ptr());
        // Alone: scaled where it lies.
        let alone = flex_tensor(values, [2, 3]);
        let at = alone.bytes().as_ptr();
        let out = spread(&upstream, alone);
        assert_eq!(out.as_slice::<f32>().unwrap(), expected);
        assert_eq!(out.bytes().as_ptr(), at);
    }

    #[test]
    fn gradients_flow_through_a_non_contiguous_logits_view_and_a_broadcast_upstream() {
        non_contiguous_logits_on(&Device::flex());
    }

    /// A transposed logits view and `mean`'s broadcast upstream gradient, on `base`'s autodiff
    /// device: the fused path against the composition.
    pub(super) fn non_contiguous_logits_on(base: &Device) {
        let device = base.clone().autodiff();
        let params = ElementParams::new(2.0, Some(0.25));
        let base =
            Tensor::<2>::from_data(TensorData::new(logits_data(), [C, B]), &device).require_grad();
        let targets =
            SigmoidTargets::Indices(Tensor::<1, Int>::from_ints(indices().as_slice(), &device));
        // A transposed view, and `mean`, whose backward is a broadcast (stride-0) gradient.
        let run = |fused_path: bool| {
            let z = base.clone().transpose();
            let rows = if fused_path {
                row_sums(&z, &targets_clone(&targets), None, None, params).unwrap()
            } else {
                let terms = SigmoidTerms {
                    weights: None,
                    pos_weight: None,
                    alpha: Some(0.25),
                    gamma: 2.0,
                    label_weighting: LabelWeighting::PositiveSum,
                    no_label_weight: 0.0,
                };
                terms.composed_row_sums(z, targets_clone(&targets), None)
            };
            let grads = rows.clone().mean().backward();
            (values(rows), values2(base.grad(&grads).unwrap()))
        };
        let (fused_rows, fused_grad) = run(true);
        let (rows, grad) = run(false);
        assert_close("rows", &fused_rows, &rows);
        assert_close("grad", &fused_grad, &grad);
    }

    fn targets_clone(targets: &SigmoidTargets) -> SigmoidTargets {
        match targets {
            SigmoidTargets::Indices(t) => SigmoidTargets::Indices(t.clone()),
            SigmoidTargets::Dense(t) => SigmoidTargets::Dense(t.clone()),
        }
    }
}
