"""TFLite Micro's integer algorithms for the int8 ops whose arithmetic is not a plain requantization.

TFLM evaluates LOGISTIC, HARD_SWISH and SOFTMAX on int8 tensors with gemmlowp-style fixed-point
arithmetic and computes their parameters in double precision from the float32 scales of the
.tflite file. tinygen reproduces those results bit for bit:

* element-wise functions (logistic, hard-swish, int8->int8 requantize) become 256-entry tables
  (`tinygen/ops/lut.py` registers them as "tflm_logistic", "tflm_hard_swish", "tflm_requantize"),
* softmax keeps a per-row reciprocal at run time (`tinygen/ops/softmax.py`), fed by a 256-entry
  table of exp() values computed here.

Everything is vectorised numpy on int64 arrays whose values stay inside the C type the TFLM code
uses (int32, or int16 for hard-swish); wrap-around never happens for the operand ranges these ops
produce. Written from the documented behaviour of TFLM's reference kernels and gemmlowp's
fixedpoint.h (Q-format fixed point: a FixedPoint<int32, I> value v has raw integer v * 2^(31-I)).
"""

from __future__ import annotations

import math

import numpy as np

from tinygen.quant.multiplier import quantize_multiplier
from tinygen.quant.rounding import round_half_away
from tinygen.reference import fixedpoint as fx

INT32_MIN, INT32_MAX = fx.INT32_MIN, fx.INT32_MAX
INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1


# -- TFLM's parameter helpers (double precision, like quantization_util.cc; TFLM's QuantizeMultiplier is
# tinygen.quant.multiplier.quantize_multiplier with saturate=True) ---------------------------------------
def input_radius(integer_bits: int, left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLM CalculateInputRadius: the largest |input difference| that cannot saturate."""
    real = 1.0 * ((1 << integer_bits) - 1) * (1 << (total_signed_bits - integer_bits)) / (1 << left_shift)
    return int(math.floor(real))


def multiply_by_quantized_multiplier(x, m, shift) -> np.ndarray:
    """TFLM MultiplyByQuantizedMultiplier (double rounding), on in-range int32 values."""
    return fx.requantize(x, m, shift)


# -- gemmlowp fixed point on int32 raw values ----------------------------------------------------------
def _i32(x) -> np.ndarray:
    return np.asarray(x, np.int64)


def srdhm(a, b) -> np.ndarray:
    return fx.srdhm(a, b)


def rdbpot(x, exponent: int) -> np.ndarray:
    return fx.rounding_divide_by_pot(x, exponent)


def sat_mul_pot(x, exponent: int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT<exponent> on int32: saturating left shift or rounding right shift."""
    x = _i32(x)
    if exponent <= 0:
        return rdbpot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << exponent))


def _exp_on_quarter_interval(a) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out: 4th-order Taylor series around -1/8."""
    a = _i32(a)
    exp_minus_eighth = 1895147668  # exp(-1/8) in Q0.31
    one_third = 715827883
    x = a + (1 << 28)  # a + 1/8
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    poly = rdbpot(srdhm(x4_over_4 + x3, one_third) + x2, 1)  # x^4/24 + x^3/6 + x^2/2
    return exp_minus_eighth + srdhm(exp_minus_eighth, x + poly)


# exp(-2^k) in Q0.31 for k = -2..4: multiplied in once per set bit of the whole-quarters part
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535),
               (3, 720401), (4, 242))


def exp_on_negative_values(a, integer_bits: int) -> np.ndarray:
    """exp(a) for a <= 0 given as Q(integer_bits).(31-integer_bits); result Q0.31."""
    a = _i32(a)
    frac_bits = 31 - integer_bits
    quarter = 1 << (frac_bits - 2)
    a_mod = (a & (quarter - 1)) - quarter  # in [-1/4, 0)
    result = _exp_on_quarter_interval(sat_mul_pot(a_mod, integer_bits))
    remainder = a_mod - a  # the multiple of 1/4 that a_mod dropped
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = 1 << (frac_bits + exponent)
            result = np.where((remainder & bit) != 0, srdhm(result, multiplier), result)
    if integer_bits > 5:
        result = np.where(a < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a == 0, INT32_MAX, result)


def _rounding_half_sum(a, b) -> np.ndarray:
    s = _i32(a) + _i32(b)
    t = s + np.where(s >= 0, 1, -1)
    return np.where(t >= 0, t // 2, -((-t) // 2))  # C division truncates toward zero


def one_over_one_plus_x(a) -> np.ndarray:
    """1 / (1 + a) for a in [0, 1), Q0.31 in and out: Newton-Raphson, 3 steps, from 48/17 - 32/17 d."""
    half_denominator = _rounding_half_sum(a, INT32_MAX)  # (1 + a) / 2, Q0.31
    x = 1515870810 + srdhm(half_denominator, -1010580540)  # Q2.29
    one_q2 = 1 << 29
    for _ in range(3):
        err = one_q2 - srdhm(half_denominator, x)
        x = x + sat_mul_pot(srdhm(x, err), 2)
    return sat_mul_pot(x, 1)  # x / 2 as Q1.30, rescaled to Q0.31


def logistic_fixed(a, integer_bits: int) -> np.ndarray:
    """1 / (1 + exp(-a)) for any Q(integer_bits) a; result Q0.31."""
    a = _i32(a)
    positive = a > 0
    abs_a = np.where(positive, a, -a)
    pos = one_over_one_plus_x(exp_on_negative_values(-abs_a, integer_bits))
    return np.where(a == 0, 1 << 30, np.where(positive, pos, INT32_MAX - pos))


def reciprocal(x, integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLM GetReciprocal: (Q0.31 scale, num_bits_over_unit) with 1/x ~= scale * 2^-num_bits_over_unit.

    x > 0 holds a Q(integer_digits) value."""
    x = _i32(x)
    headroom = np.array([32 - int(v).bit_length() for v in np.ravel(x)], np.int64).reshape(x.shape)
    bits_over_unit = integer_digits - headroom
    shifted = ((x << headroom) & 0xFFFFFFFF) - (1 << 31)  # (uint32(x) << headroom) - 1.0, as int32
    return one_over_one_plus_x(shifted), bits_over_unit


# -- LOGISTIC ------------------------------------------------------------------------------------------
def logistic_table(s_in: float, zp_in: int) -> np.ndarray:
    """TFLM int8 LOGISTIC for every input q in -128..127 (output grid fixed: 1/256, zero point -128)."""
    input_bits = 4
    real = float(s_in) * float(1 << (31 - input_bits))
    frac, left_shift = math.frexp(real)
    multiplier = int(round_half_away(np.float64(frac * (1 << 31))))
    radius = input_radius(input_bits, left_shift, 31)
    x = np.arange(-128, 128, dtype=np.int64) - int(zp_in)
    q4 = multiply_by_quantized_multiplier(np.clip(x, -radius, radius), multiplier, left_shift)
    y = rdbpot(logistic_fixed(q4, input_bits), 31 - 8)
    y = np.clip(y - 128, -128, 127)
    return np.where(x <= -radius, -128, np.where(x >= radius, 127, y)).astype(np.int64)


# -- TANH ----------------------------------------------------------------------------------------------
def _one_minus_x_over_one_plus_x(a) -> np.ndarray:
    """(1 - a) / (1 + a) for a in [0, 1), Q0.31 in and out: the Newton-Raphson of one_over_one_plus_x,
    whose Q2.29 estimate x of 2 / (1 + a) gives the result as x - 1."""
    half_denominator = _rounding_half_sum(a, INT32_MAX)
    x = 1515870810 + srdhm(half_denominator, -1010580540)
    one_q2 = 1 << 29
    for _ in range(3):
        err = one_q2 - srdhm(half_denominator, x)
        x = x + sat_mul_pot(srdhm(x, err), 2)
    return sat_mul_pot(x - one_q2, 2)


def tanh_fixed(a, integer_bits: int) -> np.ndarray:
    """tanh(a) for any Q(integer_bits) a; result Q0.31. tanh(-|a|) = -(1 - e) / (1 + e) with
    e = exp(-2|a|), 2|a| read as Q(integer_bits + 1) on the same raw value."""
    a = _i32(a)
    negative = a < 0
    n = np.where(negative, a, -a)
    t = _one_minus_x_over_one_plus_x(exp_on_negative_values(n, integer_bits + 1))
    return np.where(a == 0, 0, np.where(negative, -t, t))


def tanh_table(s_in: float, zp_in: int) -> np.ndarray:
    """TFLM int8 TANH for every input q in -128..127 (output grid fixed: 1/128, zero point 0); the input
    stage is LOGISTIC's (Q4.27 input, radius)."""
    input_bits = 4
    real = float(s_in) * float(1 << (31 - input_bits))
    frac, left_shift = math.frexp(real)
    multiplier = int(round_half_away(np.float64(frac * (1 << 31))))
    radius = input_radius(input_bits, left_shift, 31)
    x = np.arange(-128, 128, dtype=np.int64) - int(zp_in)
    q4 = multiply_by_quantized_multiplier(np.clip(x, -radius, radius), multiplier, left_shift)
    y = np.clip(rdbpot(tanh_fixed(q4, input_bits), 31 - 7), -128, 127)
    return np.where(x <= -radius, -128, np.where(x >= radius, 127, y)).astype(np.int64)


# -- RELU, RELU6, LEAKY_RELU ---------------------------------------------------------------------------
def relu_table(s_in: float, zp_in: int, s_out: float, zp_out: int) -> np.ndarray:
    """TFLM int8 RELU: requantize q - zp_in by s_in / s_out, add zp_out, clamp below at zp_out (real 0)."""
    m, shift = quantize_multiplier(float(s_in) / float(s_out), saturate=True)
    x = np.arange(-128, 128, dtype=np.int64) - int(zp_in)
    y = multiply_by_quantized_multiplier(x, m, shift) + int(zp_out)
    return np.clip(y, max(-128, int(zp_out)), 127).astype(np.int64)


def relu6_table(s_in: float, zp_in: int) -> np.ndarray:
    """TFLM int8 RELU6: a clamp of the raw codes to [zp_in, quantized 6.0] on the INPUT grid (TFLM does not
    requantize here; the output codes are the clamped input codes whatever the output's parameters)."""
    six = int(np.clip(round_half_away(np.float32(6.0) / np.float32(s_in)) + int(zp_in), -128, 127))
    q = np.arange(-128, 128, dtype=np.int64)
    return np.clip(q, int(zp_in), six).astype(np.int64)


def leaky_relu_table(s_in: float, zp_in: int, s_out: float, zp_out: int, alpha: float) -> np.ndarray:
    """TFLM int8 LEAKY_RELU: q - zp_in >= 0 requantized by s_in / s_out, below 0 by s_in * alpha / s_out
    (alpha >= 0; the importer refuses a negative one)."""
    m_id, sh_id = quantize_multiplier(float(s_in) / float(s_out), saturate=True)
    m_a, sh_a = quantize_multiplier(float(s_in) * float(np.float32(alpha)) / float(s_out), saturate=True)
    x = np.arange(-128, 128, dtype=np.int64) - int(zp_in)
    neg = multiply_by_quantized_multiplier(x, m_a, sh_a)
    y = np.where(x >= 0, multiply_by_quantized_multiplier(x, m_id, sh_id), neg) + int(zp_out)
    return np.clip(y, -128, 127).astype(np.int64)


# -- RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR (source tables) ---------------------------------------------
def resize_nearest_index(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> list[int]:
    """TFLM's nearest source index of each output position, in float32 as TFLM computes it:
    scale = in / out ((in - 1) / (out - 1) with align_corners), then round half away (align_corners) or
    floor of (i + 0.5 with half-pixel centres) * scale, clamped to the input."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    pos = (np.arange(out_size, dtype=f32) + f32(0.5 if half_pixel_centers else 0.0)) * scale
    idx = round_half_away(pos) if align_corners else np.floor(pos)
    idx = np.minimum(idx.astype(np.int64), in_size - 1)
    if half_pixel_centers:
        idx = np.maximum(idx, 0)
    return [int(v) for v in idx]


def resize_bilinear_taps(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool):
    """TFLM's integer bilinear sources along one axis: (lower, upper, Q10 weight of upper) per output
    position, from the Q10 scale round((in << 10) / out) ((in - 1) / (out - 1) with align_corners)."""
    if align_corners and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = ((1 << 10) * in_size + out_size // 2) // out_size
    i = np.arange(out_size, dtype=np.int64)
    pos = i * scale + (scale // 2 - (1 << 9) if half_pixel_centers else 0)
    lower = np.maximum(np.where(pos >= 0, pos >> 10, -((-pos) >> 10)), 0)  # C division truncates toward zero
    upper = np.minimum((pos + (1 << 10) - 1) >> 10, in_size - 1)  # pos > -2^9: the sum is positive
    weight = pos - (lower << 10)
    return [int(v) for v in lower], [int(v) for v in upper], [int(v) for v in weight]


# -- HARD_SWISH (int16 fixed point) --------------------------------------------------------------------
def _srdhm16(a, b) -> np.ndarray:
    a, b = _i32(a), _i32(b)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    t = ab + nudge
    r = np.where(t >= 0, t >> 15, -((-t) >> 15))
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, r)


def _sdhm16(a, b) -> np.ndarray:
    """Saturating doubling high multiply without rounding: (a * b) / 2^15, truncated toward zero."""
    a, b = _i32(a), _i32(b)
    ab = a * b
    r = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, r)


def _sat_left_shift16(x, amount: int) -> np.ndarray:
    return np.clip(_i32(x) << amount, INT16_MIN, INT16_MAX)


def _int16_multiplier(m32: int) -> int:
    """TFLM DownScaleInt32ToInt16Multiplier."""
    if m32 >= INT32_MAX - (1 << 15):
        return INT16_MAX
    return (m32 + (1 << 15)) >> 16


def hard_swish_table(s_in: float, zp_in: int, s_out: float, zp_out: int) -> np.ndarray:
    """TFLM int8 HARD_SWISH for every input q in -128..127."""
    f32 = np.float32
    hires_scale = f32(1.0 / 128.0) * f32(s_in)
    out_m32, out_exp = quantize_multiplier(float(hires_scale / f32(s_out)), saturate=True)
    rel_m32, rel_exp = quantize_multiplier(float(hires_scale / (f32(3.0) / f32(32768.0))), saturate=True)
    if out_exp > 0:
        raise ValueError(f"hard-swish output scale {s_out} is too small for input scale {s_in} (TFLM requires "
                         "output_multiplier_exponent <= 0)")
    out_m16, rel_m16 = _int16_multiplier(out_m32), _int16_multiplier(rel_m32)
    x = np.arange(-128, 128, dtype=np.int64) - int(zp_in)
    hires = x * 128
    pre_out = _srdhm16(hires, out_m16)
    rel = hires
    if rel_exp > 0:
        rel = _sat_left_shift16(rel, rel_exp - 1)
    rel = _srdhm16(rel, rel_m16)
    if rel_exp > 0:
        rel = _sat_left_shift16(rel, 1)
    if rel_exp < 0:
        rel = rdbpot(rel, -rel_exp)
    rel = (rel + (1 << 15)) >> 1
    y = rdbpot(_sdhm16(rel, pre_out), -out_exp) + int(zp_out)
    return np.clip(y, -128, 127).astype(np.int64)


# -- QUANTIZE int8 -> int8 -----------------------------------------------------------------------------
def requantize_table(s_in: float, zp_in: int, s_out: float, zp_out: int) -> np.ndarray:
    """TFLM int8 -> int8 QUANTIZE: MultiplyByQuantizedMultiplier(q - zp_in, s_in / s_out) + zp_out."""
    m, shift = quantize_multiplier(float(s_in) / float(s_out), saturate=True)
    x = np.arange(-128, 128, dtype=np.int64) - int(zp_in)
    return np.clip(multiply_by_quantized_multiplier(x, m, shift) + int(zp_out), -128, 127).astype(np.int64)


# -- SOFTMAX -------------------------------------------------------------------------------------------
SOFTMAX_DIFF_BITS = 5  # input differences are Q5.26
SOFTMAX_ACCUM_BITS = 12  # the sum of exps is Q12.19


def softmax_exp_table(beta: float, s_in: float) -> tuple[np.ndarray, int]:
    """(exp_table, diff_min) of TFLM's int8 softmax for input scale s_in.

    exp_table[d] is exp(beta * s_in * -d) in Q0.31 as TFLM computes it for the input difference
    -d (d = 0..255 = max_in_row - x), and 0 where -d < diff_min (TFLM skips those entries: they add
    nothing to the sum and produce the minimum output, which a 0 entry reproduces exactly)."""
    real = min(float(beta) * float(s_in) * float(1 << (31 - SOFTMAX_DIFF_BITS)), float((1 << 31) - 1))
    multiplier, left_shift = quantize_multiplier(real, saturate=True)
    if left_shift < 0:
        raise ValueError(f"softmax input scale {s_in} (beta {beta}) is too small for TFLM's int8 softmax")
    diff_min = -input_radius(SOFTMAX_DIFF_BITS, left_shift, 31)
    diff = -np.arange(256, dtype=np.int64)
    scaled = srdhm(diff << left_shift, multiplier)
    table = exp_on_negative_values(scaled, SOFTMAX_DIFF_BITS)
    return np.where(diff >= diff_min, table, 0).astype(np.int64), int(diff_min)


def softmax_rows(x: np.ndarray, exp_table: np.ndarray) -> np.ndarray:
    """TFLM int8 softmax over the last axis (output grid 1/256, zero point -128)."""
    x = np.asarray(x, np.int64)
    d = x.max(axis=-1, keepdims=True) - x
    e = np.asarray(exp_table, np.int64)[d]
    total = rdbpot(e, SOFTMAX_ACCUM_BITS).sum(axis=-1, keepdims=True)
    scale, bits_over_unit = reciprocal(total, SOFTMAX_ACCUM_BITS)
    exponent = bits_over_unit + 31 - 8
    out = rdbpot(srdhm(scale, e), exponent) - 128
    return np.clip(out, -128, 127).astype(np.int8)
