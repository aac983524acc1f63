"""Bit-packed binary tensors and sub-byte weights. Mirrors runtime_c/include/tg_bitpack.h.

Binary (+-1) tensors, the Larq Compute Engine convention:

    packed along the channel (last) axis, 32 channels per uint32 word;
    bit 1 means -1, bit 0 means +1; bit i of word w is channel 32*w + i;
    padding bits (channels >= C in the last word) are 0.
    [N, H, W, C] (or [N, F]) is stored as uint32 [N, H, W, ceil(C/32)] (or [N, ceil(F/32)]).
    +-1 dot product over K real channels: dot = K - 2*popcount(a ^ w)  (padding bits cancel)
    sign of an int8 value q with zero point zp: bit = (q < zp), so real 0 maps to +1

Sub-byte weights (k = 1, 2 or 4 bits per weight):

    codes are packed little-endian within bytes: element j of a row sits at bits (j*k) % 8 of
    byte (j*k) // 8; every row (one output channel) starts on a byte boundary; unused bits are 0.
    value = code * step + offset, with (step, offset) = (-2, 1) for k = 1 (bit 1 means -1, as
    above) and (1, weight_offset) for k in {2, 4} (any number of levels up to 2^k).

Every function is vectorised over leading axes and returns fresh arrays.
"""

from __future__ import annotations

import numpy as np

WORD_BITS = 32
SUBBYTE_BITS = (1, 2, 4)

_SHIFTS32 = np.arange(WORD_BITS, dtype=np.uint32)


def words_for(channels: int) -> int:
    """uint32 words holding `channels` packed bits: ceil(channels / 32)."""
    return (int(channels) + WORD_BITS - 1) // WORD_BITS


# -- binary tensors ---------------------------------------------------------------------------------
def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Bits (bool or 0/1, last axis = channels) -> uint32 words [..., ceil(C/32)]."""
    bits = np.asarray(bits)
    c = bits.shape[-1]
    nw = words_for(c)
    padded = np.zeros(bits.shape[:-1] + (nw * WORD_BITS,), np.uint32)
    padded[..., :c] = bits != 0
    grouped = padded.reshape(bits.shape[:-1] + (nw, WORD_BITS)) << _SHIFTS32
    return np.bitwise_or.reduce(grouped, axis=-1).astype(np.uint32)


def unpack_bits(words: np.ndarray, channels: int) -> np.ndarray:
    """uint32 words [..., W] -> uint8 bits [..., channels] (0 or 1)."""
    words = np.asarray(words, np.uint32)
    if words.shape[-1] != words_for(channels):
        raise ValueError(f"{channels} channels take {words_for(channels)} words, got {words.shape[-1]}")
    bits = (words[..., None] >> _SHIFTS32) & np.uint32(1)
    return bits.reshape(words.shape[:-1] + (-1,))[..., :channels].astype(np.uint8)


def pack_pm1(values: np.ndarray) -> np.ndarray:
    """+-1 values (last axis = channels) -> packed words. Anything other than +1/-1 is an error."""
    values = np.asarray(values)
    if not np.all(np.abs(values) == 1):
        raise ValueError("pack_pm1 takes +1/-1 values only")
    return pack_bits(values < 0)


def unpack_pm1(words: np.ndarray, channels: int) -> np.ndarray:
    """Packed words -> int8 +-1 values [..., channels] (value = 1 - 2*bit)."""
    return (1 - 2 * unpack_bits(words, channels).astype(np.int8)).astype(np.int8)


def sign_bits(q: np.ndarray, zero_point: int) -> np.ndarray:
    """Bits of the sign of quantized values: 1 (-1) iff q < zero_point (real value < 0)."""
    return np.asarray(q).astype(np.int32) < int(zero_point)


def padding_bits_zero(words: np.ndarray, channels: int) -> bool:
    """True when every bit of channels >= `channels` in the last word is 0."""
    words = np.asarray(words, np.uint32)
    used = channels - (words_for(channels) - 1) * WORD_BITS
    if used == WORD_BITS:
        return True
    mask = np.uint32(((1 << WORD_BITS) - 1) ^ ((1 << used) - 1))
    return not np.any(words[..., -1] & mask)


def popcount32(words: np.ndarray) -> np.ndarray:
    """Bits set in each uint32 word (int32), by the same SWAR steps as tg_popcount32."""
    x = np.asarray(words, np.uint32)
    x = x - ((x >> np.uint32(1)) & np.uint32(0x55555555))
    x = (x & np.uint32(0x33333333)) + ((x >> np.uint32(2)) & np.uint32(0x33333333))
    x = (x + (x >> np.uint32(4))) & np.uint32(0x0F0F0F0F)
    return ((x * np.uint32(0x01010101)) >> np.uint32(24)).astype(np.int32)


def binary_dot(a: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """+-1 dot products of packed vectors over the last (word) axis: k - 2*popcount(a ^ w)."""
    a = np.asarray(a, np.uint32)
    w = np.asarray(w, np.uint32)
    return (int(k) - 2 * popcount32(a ^ w).sum(axis=-1, dtype=np.int32)).astype(np.int32)


# -- sub-byte weights --------------------------------------------------------------------------------
def _check_bits(bits: int) -> None:
    if bits not in SUBBYTE_BITS:
        raise ValueError(f"sub-byte weights take {SUBBYTE_BITS} bits, got {bits}")


def row_bytes(count: int, bits: int) -> int:
    """Bytes of one packed row of `count` k-bit codes: ceil(count * k / 8)."""
    _check_bits(bits)
    return (int(count) * bits + 7) // 8


def weight_step_offset(bits: int, weight_offset: int) -> tuple[int, int]:
    """(step, offset) with value = code * step + offset: (-2, 1) for k = 1, (1, weight_offset) else."""
    _check_bits(bits)
    return (-2, 1) if bits == 1 else (1, int(weight_offset))


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Codes [rows, count] (each < 2^bits) -> uint8 [rows, ceil(count*bits/8)]."""
    _check_bits(bits)
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError("pack_codes takes a 2-D [rows, count] array")
    if codes.size and (codes.min() < 0 or codes.max() >= 1 << bits):
        raise ValueError(f"codes must lie in [0, {(1 << bits) - 1}]")
    rows, count = codes.shape
    per = 8 // bits
    nbytes = row_bytes(count, bits)
    padded = np.zeros((rows, nbytes * per), np.uint8)
    padded[:, :count] = codes
    shifts = (np.arange(per, dtype=np.uint8) * bits).astype(np.uint8)
    return np.bitwise_or.reduce(padded.reshape(rows, nbytes, per) << shifts, axis=-1).astype(np.uint8)


def unpack_codes(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """uint8 [rows, row_bytes] -> codes uint8 [rows, count]."""
    _check_bits(bits)
    packed = np.asarray(packed, np.uint8)
    if packed.ndim != 2 or packed.shape[1] != row_bytes(count, bits):
        raise ValueError(f"{count} {bits}-bit codes take rows of {row_bytes(count, bits)} bytes, got {packed.shape}")
    per = 8 // bits
    shifts = (np.arange(per, dtype=np.uint8) * bits).astype(np.uint8)
    codes = (packed[..., None] >> shifts) & np.uint8((1 << bits) - 1)
    return codes.reshape(packed.shape[0], -1)[:, :count].astype(np.uint8)


def encode_weights(values: np.ndarray, bits: int, weight_offset: int = 0) -> np.ndarray:
    """Integer weight values -> codes, inverting value = code * step + offset (exact or an error)."""
    step, offset = weight_step_offset(bits, weight_offset)
    v = np.asarray(values).astype(np.int64)
    codes = (v - offset) // step
    if np.any(codes * step + offset != v) or np.any(codes < 0) or np.any(codes >= 1 << bits):
        raise ValueError(f"weights do not fit {bits}-bit codes with offset {offset}")
    return codes.astype(np.uint8)


def decode_weights(codes: np.ndarray, bits: int, weight_offset: int = 0) -> np.ndarray:
    """Codes -> int32 weight values: code * step + offset."""
    step, offset = weight_step_offset(bits, weight_offset)
    return (np.asarray(codes).astype(np.int32) * step + offset).astype(np.int32)


def pack_weights(values: np.ndarray, bits: int, weight_offset: int = 0) -> np.ndarray:
    """Weights [Cout, ...] -> uint8 [Cout, row_bytes], each output channel's row flattened (C order)."""
    values = np.asarray(values)
    return pack_codes(encode_weights(values.reshape(values.shape[0], -1), bits, weight_offset), bits)


def unpack_weights(packed: np.ndarray, bits: int, weight_offset: int, count: int) -> np.ndarray:
    """uint8 [Cout, row_bytes] -> int32 weight values [Cout, count]."""
    return decode_weights(unpack_codes(packed, bits, count), bits, weight_offset)


def row_padding_zero(packed: np.ndarray, bits: int, count: int) -> bool:
    """True when the unused high bits of every row's last byte are 0."""
    used = (count * bits) % 8
    if used == 0:
        return True
    return not np.any(np.asarray(packed, np.uint8)[:, -1] >> np.uint8(used))
