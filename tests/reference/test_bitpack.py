import numpy as np
import pytest

from tinygen.reference import bitpack

EDGE_CHANNELS = (1, 31, 32, 33, 63, 64, 65)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("channels", EDGE_CHANNELS)
def test_pack_unpack_round_trip_and_zero_padding(channels, seed):
    rng = np.random.default_rng(seed * 100 + channels)
    bits = rng.integers(0, 2, (2, 3, channels)).astype(np.uint8)
    words = bitpack.pack_bits(bits)
    assert words.dtype == np.uint32 and words.shape == (2, 3, (channels + 31) // 32)
    np.testing.assert_array_equal(bitpack.unpack_bits(words, channels), bits)
    # padding bits are 0 even when every real bit is set
    full = bitpack.pack_bits(np.ones((channels,), np.uint8))
    used = channels - 32 * (len(full) - 1)
    assert int(full[-1]) == (1 << used) - 1
    assert bitpack.padding_bits_zero(words, channels) and bitpack.padding_bits_zero(full, channels)
    if used < 32:
        bad = full.copy()
        bad[-1] |= np.uint32(1 << used)
        assert not bitpack.padding_bits_zero(bad, channels)
    pm1 = (1 - 2 * bits.astype(np.int8)).astype(np.int8)
    np.testing.assert_array_equal(bitpack.pack_pm1(pm1), words)
    np.testing.assert_array_equal(bitpack.unpack_pm1(words, channels), pm1)


@pytest.mark.parametrize("channels", EDGE_CHANNELS)
def test_bit_layout_channel_i_is_bit_i_mod_32(channels):
    for c in range(channels):
        values = np.ones(channels, np.int8)
        values[c] = -1  # bit 1 means -1
        words = bitpack.pack_pm1(values)
        expect = np.zeros((channels + 31) // 32, np.uint32)
        expect[c // 32] = np.uint32(1 << (c % 32))
        np.testing.assert_array_equal(words, expect)


def test_popcount32_matches_python():
    rng = np.random.default_rng(3)
    words = np.concatenate([[0, 1, 0x80000000, 0xFFFFFFFF, 0x55555555], rng.integers(0, 2**32, 500)]).astype(np.uint32)
    np.testing.assert_array_equal(bitpack.popcount32(words), [bin(int(w)).count("1") for w in words])


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("channels", EDGE_CHANNELS)
def test_binary_dot_equals_pm1_dot(channels, seed):
    rng = np.random.default_rng(seed * 100 + channels)
    a = rng.choice([-1, 1], (5, channels))
    w = rng.choice([-1, 1], (7, channels))
    dot = bitpack.binary_dot(bitpack.pack_pm1(a)[:, None, :], bitpack.pack_pm1(w)[None], channels)
    np.testing.assert_array_equal(dot, a @ w.T)


def test_sign_bits_zero_maps_to_plus_one():
    q = np.arange(-128, 128, dtype=np.int8)
    for zp in (-128, -5, 0, 7, 127):
        bits = bitpack.sign_bits(q, zp)
        np.testing.assert_array_equal(bits, q.astype(int) < zp)
        assert not bits[q == zp].any()  # real 0 -> +1 -> bit 0


# -- sub-byte weights ------------------------------------------------------------------------------------
def test_subbyte_byte_layout_little_endian():
    # element j at bits (j*k) % 8 of byte (j*k) // 8
    np.testing.assert_array_equal(bitpack.pack_codes(np.array([[1, 2, 3]]), 2), [[0b00_11_10_01]])
    np.testing.assert_array_equal(bitpack.pack_codes(np.array([[0xA, 0x5, 0xF]]), 4), [[0x5A, 0x0F]])
    np.testing.assert_array_equal(bitpack.pack_codes(np.array([[1, 0, 0, 0, 0, 0, 0, 1, 1]]), 1), [[0x81, 0x01]])
    # each row starts on a byte boundary
    np.testing.assert_array_equal(bitpack.pack_codes(np.array([[3], [1]]), 2), [[3], [1]])


@pytest.mark.parametrize("bits", [1, 2, 4])
@pytest.mark.parametrize("count", [1, 3, 7, 8, 9, 27, 33])
def test_subbyte_round_trip_and_zero_padding(bits, count):
    rng = np.random.default_rng(bits * 1000 + count)
    codes = rng.integers(0, 1 << bits, (5, count))
    packed = bitpack.pack_codes(codes, bits)
    assert packed.dtype == np.uint8 and packed.shape == (5, (count * bits + 7) // 8)
    np.testing.assert_array_equal(bitpack.unpack_codes(packed, bits, count), codes)
    full = bitpack.pack_codes(np.full((1, count), (1 << bits) - 1), bits)
    assert bitpack.row_padding_zero(full, bits, count)
    used = (count * bits) % 8
    if used:
        assert int(full[0, -1]) == (1 << used) - 1


@pytest.mark.parametrize("bits,offset,levels", [(1, 0, 2), (2, -2, 4), (2, -1, 3), (4, -8, 16), (4, -7, 15), (4, 3, 5)])
def test_subbyte_weight_values(bits, offset, levels):
    rng = np.random.default_rng(bits * 100 + levels)
    if bits == 1:
        values = rng.choice([-1, 1], (4, 3, 3, 5))
    else:
        values = rng.integers(offset, offset + levels, (4, 3, 3, 5))
    packed = bitpack.pack_weights(values, bits, offset)
    np.testing.assert_array_equal(bitpack.unpack_weights(packed, bits, offset, 45), values.reshape(4, 45))
    if bits == 1:  # bit 1 means -1, as for binary tensors
        np.testing.assert_array_equal(bitpack.unpack_codes(packed, 1, 45), values.reshape(4, 45) < 0)
    with pytest.raises(ValueError):
        bitpack.encode_weights(np.array([offset + (1 << bits)]), bits, offset)
    with pytest.raises(ValueError):
        bitpack.encode_weights(np.array([0]) if bits == 1 else np.array([offset - 1]), bits, offset)
