//! The forward pass: the element loss `e_{n,c}` and its derivatives, vector by vector, and the
//! loop over the rows that sums them.

use wide::{f32x4, f32x8};

use super::simd::Lanes;
use super::{Columns, ElementParams};

/// A vector of elements: `(e, ∂e/∂z)` at logits `z`, targets `y` and `pos_weight` `pw`, with
/// the composition's operations in its order (`sigmoid.rs`): `b = [z < 0]`, `s = 2b - 1`,
/// `u = exp(s·z)`, `t = ln(u + 1)`, `f = y·(pw - 1) + 1`, `L = z·((1 - y) - f·b) + f·t`, then
/// `L·exp(-γ·(z·(y - b) + t))` and `·(y·(2α - 1) + (1 - α))`; `∂e/∂z` as autodiff takes it
/// through the same operations. `exp` and `ln` are vectorized (`exp_nonpositive`,
/// `ln_one_to_two` in `fused/simd.rs`), within 2 ulp of libm's (Burn's flex calls libm's one element at a time):
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
pub(super) fn element_dy(z: f32, y: f32, pw: Option<f32>, params: ElementParams) -> f32 {
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
pub(super) enum RowTargets<'a> {
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
pub(super) fn forward(
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
