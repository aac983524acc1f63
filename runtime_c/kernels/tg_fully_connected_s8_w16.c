/* Fast int8 fully connected layer: each batch row is widened once into scratch (int16 pairs as
 * SXTB16 splits them), then four output channels at a time share each widened row word (per 4 k:
 * 1 LDRD + 4 x (LDR + 2 SXTB16 + 2 SMLAD) + CMP/BNE = 23 instructions for 16 MACs, against 30 for
 * the two-row int8 tile, whose rows a batch-1 layer cannot fill). Output stage: tg_gemm_w16.h's
 * records; four channels' outputs packed and stored as one word.
 * Weights (tinygen/ops/fully_connected.py writes them): out_features padded with zero channels to
 * a multiple of 4, in_features with zeros to k4; per group of 4 channels, per 4-k block, the 4
 * bytes of each channel in order. Records: one per padded channel. */
#include "tg_fully_connected.h"
#include "tg_gemm_w16.h"

size_t tg_fully_connected_s8_w16_scratch_bytes(const tg_fully_connected_params *p)
{
    return (size_t)(2 * tg_w16_k4(p->in_features));
}

#if TG_DSP_NATIVE
/* Two weight-register pairs alternate so no SXTB16 waits on the LDR just before it (M4). */
#define TG_FC_DOT4(w, c, end, a0, a1, a2, a3)                                                       \
    do {                                                                                          \
        uint32_t x0_, x1_, wa_, wo_, wb_, wp_;                                                    \
        __asm__ volatile("1:\n\t"                                                                 \
                         "ldrd %[x0], %[x1], [%[c]], #8\n\t"                                      \
                         "ldr %[wa], [%[w]], #4\n\t"                                              \
                         "ldr %[wb], [%[w]], #4\n\t"                                              \
                         "sxtb16 %[wo], %[wa], ror #8\n\t"                                        \
                         "sxtb16 %[wa], %[wa]\n\t"                                                \
                         "smlad %[a0], %[x0], %[wa], %[a0]\n\t"                                   \
                         "smlad %[a0], %[x1], %[wo], %[a0]\n\t"                                   \
                         "ldr %[wa], [%[w]], #4\n\t"                                              \
                         "sxtb16 %[wp], %[wb], ror #8\n\t"                                        \
                         "sxtb16 %[wb], %[wb]\n\t"                                                \
                         "smlad %[a1], %[x0], %[wb], %[a1]\n\t"                                   \
                         "smlad %[a1], %[x1], %[wp], %[a1]\n\t"                                   \
                         "ldr %[wb], [%[w]], #4\n\t"                                              \
                         "sxtb16 %[wo], %[wa], ror #8\n\t"                                        \
                         "sxtb16 %[wa], %[wa]\n\t"                                                \
                         "smlad %[a2], %[x0], %[wa], %[a2]\n\t"                                   \
                         "smlad %[a2], %[x1], %[wo], %[a2]\n\t"                                   \
                         "sxtb16 %[wp], %[wb], ror #8\n\t"                                        \
                         "sxtb16 %[wb], %[wb]\n\t"                                                \
                         "smlad %[a3], %[x0], %[wb], %[a3]\n\t"                                   \
                         "smlad %[a3], %[x1], %[wp], %[a3]\n\t"                                   \
                         "cmp %[c], %[e]\n\t"                                                     \
                         "bne 1b"                                                                 \
                         : [w] "+r"(w), [c] "+r"(c), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),  \
                           [a3] "+r"(a3), [x0] "=&r"(x0_), [x1] "=&r"(x1_), [wa] "=&r"(wa_),      \
                           [wo] "=&r"(wo_), [wb] "=&r"(wb_), [wp] "=&r"(wp_)                      \
                         : [e] "r"(end)                                                           \
                         : "cc", "memory");                                                       \
    } while (0)
#else
#define TG_FC_DOT4(w, c, end, a0, a1, a2, a3)                                                       \
    do {                                                                                          \
        for (; c != end; c += 2, w += 16) {                                                       \
            a0 = tg_smlad(c[1], tg_sxtb16_ror8(tg_load_u32(w)), tg_smlad(c[0], tg_sxtb16(tg_load_u32(w)), a0)); \
            a1 = tg_smlad(c[1], tg_sxtb16_ror8(tg_load_u32(w + 4)), tg_smlad(c[0], tg_sxtb16(tg_load_u32(w + 4)), a1)); \
            a2 = tg_smlad(c[1], tg_sxtb16_ror8(tg_load_u32(w + 8)), tg_smlad(c[0], tg_sxtb16(tg_load_u32(w + 8)), a2)); \
            a3 = tg_smlad(c[1], tg_sxtb16_ror8(tg_load_u32(w + 12)), tg_smlad(c[0], tg_sxtb16(tg_load_u32(w + 12)), a3)); \
        }                                                                                         \
    } while (0)
#endif

static inline int32_t tg_fc_scale(int32_t acc, const int32_t *q)
{
    return tg_w16_scale(acc, q[1], (uint32_t)q[2], q[3], q[4]);
}

void tg_fully_connected_s8_w16(const tg_fully_connected_params *p, const int8_t *input, int8_t *output,
                               void *scratch)
{
    uint32_t *cols = (uint32_t *)scratch;
    const int32_t k = p->in_features, n = p->out_features, blocks = tg_w16_k4(k) >> 2;
    const uint32_t lo4 = tg_w16_rep4(p->act_min), hi4 = tg_w16_rep4(p->act_max);
    const uint32_t *const end = cols + 2 * blocks;
    for (int32_t b = 0; b < p->batches; ++b, input += k, output += n) {
        /* the row widened: block j -> words 2j (k 4j, 4j+2) and 2j+1 (4j+1, 4j+3), zero padded */
        for (int32_t j = 0; j < blocks; ++j) {
            uint32_t u;
            if (4 * j + 4 <= k) {
                u = tg_load_u32(input + 4 * j);
            } else {
                u = 0;
                for (int32_t t = 4 * j; t < k; ++t) u |= (uint32_t)(uint8_t)input[t] << (8 * (t - 4 * j));
            }
            cols[2 * j] = tg_sxtb16(u);
            cols[2 * j + 1] = tg_sxtb16_ror8(u);
        }
        const int8_t *w = p->weight;
        const int32_t *q = p->bias;
        for (int32_t o = 0; o < n; o += 4, q += 4 * TG_W16_Q) {
            int32_t a0 = q[0], a1 = q[TG_W16_Q], a2 = q[2 * TG_W16_Q], a3 = q[3 * TG_W16_Q];
            const uint32_t *c = cols;
            TG_FC_DOT4(w, c, end, a0, a1, a2, a3);
            uint32_t v = (uint32_t)tg_fc_scale(a0, q);
            TG_W16_BFI(v, tg_fc_scale(a1, q + TG_W16_Q), 8);
            TG_W16_BFI(v, tg_fc_scale(a2, q + 2 * TG_W16_Q), 16);
            TG_W16_BFI(v, tg_fc_scale(a3, q + 3 * TG_W16_Q), 24);
            v = tg_w16_clamp4(v, lo4, hi4);
            if (o + 4 <= n) {
                tg_store_u32(output + o, v);
            } else {
                for (int32_t r = 0; o + r < n; ++r) output[o + r] = (int8_t)(v >> (8 * r));
            }
        }
    }
}
