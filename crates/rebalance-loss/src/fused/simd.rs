//! Vectors of `f32` lanes (`wide`'s `f32x8` and `f32x4`) with the `exp` and `ln` of the fused
//! pass, vectorized and within 2 ulp of libm's over the ranges the sigmoid losses take them.

use wide::{f32x4, f32x8};

/// A vector of `f32` lanes, `wide`'s `f32x8` (most of a row) or `f32x4` (the rest of it).
pub(super) trait Lanes:
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
