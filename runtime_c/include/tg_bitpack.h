/* Bit-packed binary tensors and sub-byte weights. Mirrors tinygen/reference/bitpack.py.
 *
 * Binary (+-1) tensors (Larq Compute Engine's convention):
 *   packed along channels, 32 channels per uint32_t word; bit 1 means -1, bit 0 means +1;
 *   bit i of word w is channel 32*w + i; padding bits (channels >= C in the last word) are 0.
 *   NHWC [N][H][W][C] is stored as uint32_t [N][H][W][ceil(C/32)]; [N][F] as [N][ceil(F/32)].
 *   +-1 dot product over K real channels: dot = K - 2*popcount(a ^ w) (padding bits cancel).
 *   Sign of an int8 value q with zero point zp: bit = (q < zp), so real 0 maps to +1.
 *
 * Output stage of a binary dot product (per output channel c):
 *   binary: out bit = flip[c] ? dot > threshold[c] : dot < threshold[c]   (1 means -1)
 *   int8:   acc = dot * 2^pre_shift + bias[c]   (int32: the generator keeps
 *                                                 |dot|max * 2^pre_shift + |bias| < 2^31)
 *           out = clamp(tg_requantize(acc, multiplier[c], shift[c]) + output_offset, act_min, act_max)
 *           (bias is in units of 2^-pre_shift dot, so nothing is rounded before the requantization;
 *           multiplier may be negative; pre_shift and output_offset are per layer)
 *
 * Sub-byte weights (k = 1, 2, 4 bits): element j of a row sits at bits (j*k) % 8 of byte
 *   (j*k) / 8 (little-endian within bytes); every row starts on a byte boundary; unused bits are
 *   0. value = code * step + offset, (step, offset) = (-2, 1) for k = 1, (1, weight_offset) else.
 */
#ifndef TG_BITPACK_H
#define TG_BITPACK_H

#include <stdint.h>

#include "tg_fixedpoint.h"

#define TG_WORD_BITS 32

/* ceil(channels / 32) */
static inline int32_t tg_bitpack_words(int32_t channels)
{
    return (channels + TG_WORD_BITS - 1) / TG_WORD_BITS;
}

/* Bits set in x: portable SWAR (no libgcc call on Cortex-M). */
static inline int32_t tg_popcount32(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (int32_t)((x * 0x01010101u) >> 24);
}

/* sum over n words of popcount(a[i] ^ b[i]) */
static inline int32_t tg_xor_popcount(const uint32_t *a, const uint32_t *b, int32_t n)
{
    int32_t count = 0;
    for (int32_t i = 0; i < n; ++i) count += tg_popcount32(a[i] ^ b[i]);
    return count;
}

/* sum over n words of popcount(a[i]) */
static inline int32_t tg_popcount_words(const uint32_t *a, int32_t n)
{
    int32_t count = 0;
    for (int32_t i = 0; i < n; ++i) count += tg_popcount32(a[i]);
    return count;
}

/* Pack the signs of c int8 values (zero point zp) into ceil(c / 32) words. */
static inline void tg_pack_signs_s8(const int8_t *in, int32_t c, int32_t zp, uint32_t *out)
{
    uint32_t word = 0;
    for (int32_t i = 0; i < c; ++i) {
        word |= (uint32_t)((int32_t)in[i] < zp) << (i % TG_WORD_BITS);
        if (i % TG_WORD_BITS == TG_WORD_BITS - 1 || i == c - 1) {
            out[i / TG_WORD_BITS] = word;
            word = 0;
        }
    }
}

/* Binary output bit of a thresholded dot product (see the output stage above). */
static inline uint32_t tg_threshold_bit(int32_t dot, int32_t threshold, uint8_t flip)
{
    return (uint32_t)(flip ? dot > threshold : dot < threshold);
}

/* int8 output of a dot product (see the output stage above). */
static inline int8_t tg_bdot_to_s8(int32_t dot, int32_t pre_shift, int32_t bias, int32_t multiplier, int32_t shift,
                                   int32_t output_offset, int32_t act_min, int32_t act_max)
{
    const int32_t acc = dot * ((int32_t)1 << pre_shift) + bias;
    const int64_t v = (int64_t)tg_requantize(acc, multiplier, shift) + output_offset;
    return (int8_t)(v < act_min ? act_min : (v > act_max ? act_max : v));
}

/* The output stage above for output channel o of one pixel, as the binary ops' plain kernels run
 * it (p: params with output_binary, thresholds, flip, pre_shift, bias, multiplier, shift,
 * output_offset, act_min, act_max, out_c): binary, bit o of the packed output from the threshold,
 * `word` gathering the bits and stored at out_bits[o / 32] when full or at the last channel;
 * int8, out_s8[o]. A macro: the ops' params are different structs with these fields. */
#define TG_BDOT_STORE(p, dot, o, word, out_bits, out_s8)                                                  \
    do {                                                                                               \
        if ((p)->output_binary) {                                                                      \
            (word) |= tg_threshold_bit((dot), (p)->thresholds[o], (p)->flip[o]) << ((o) % TG_WORD_BITS); \
            if ((o) % TG_WORD_BITS == TG_WORD_BITS - 1 || (o) == (p)->out_c - 1) {                     \
                (out_bits)[(o) / TG_WORD_BITS] = (word);                                               \
                (word) = 0;                                                                            \
            }                                                                                          \
        } else {                                                                                       \
            (out_s8)[o] = tg_bdot_to_s8((dot), (p)->pre_shift, (p)->bias[o], (p)->multiplier[o],       \
                                        (p)->shift[o], (p)->output_offset, (p)->act_min, (p)->act_max); \
        }                                                                                              \
    } while (0)

/* Code of element j of a packed k-bit row. */
static inline int32_t tg_subbyte_code(const uint8_t *row, int32_t j, int32_t bits)
{
    const int32_t bit = j * bits;
    return (row[bit >> 3] >> (bit & 7)) & ((1 << bits) - 1);
}

#endif /* TG_BITPACK_H */
