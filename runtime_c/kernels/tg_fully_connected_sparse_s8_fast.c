/* Fast int8 fully connected layer with sparse weights (tg_sparse.h): the input offset is folded
 * into the bias (bias' = bias + input_offset * sum(w)), and the entries are one stream in `steps`
 * (per pair: its step byte, low nibble first, then its two values; `values` is NULL), so a pair
 * of entries costs one step load, two input loads, two value loads, two multiply-adds and the
 * pointer steps: 12 instructions in the Cortex-M loop below. The output stage is
 * tg_requant_smmulr.h's (operand bound checked by the generator). */
#include "tg_requant_smmulr.h"
#include "tg_sparse.h"

/* acc + sum of the row's entries from s to e against x */
static inline int32_t row(const int8_t *x, const uint8_t *s, const uint8_t *e, int32_t acc)
{
#if TG_DSP_NATIVE
    if (s != e) {
        uint32_t d, t;
        int32_t a, v;
        __asm__ volatile("1:\n\t"
                         "ldrb %[d], [%[s]], #3\n\t"
                         "and %[t], %[d], #15\n\t"
                         "add %[x], %[x], %[t]\n\t"
                         "ldrsb %[a], [%[x]]\n\t"
                         "ldrsb %[v], [%[s], #-2]\n\t"
                         "mla %[acc], %[v], %[a], %[acc]\n\t"
                         "add %[x], %[x], %[d], lsr #4\n\t"
                         "ldrsb %[a], [%[x]]\n\t"
                         "ldrsb %[v], [%[s], #-1]\n\t"
                         "mla %[acc], %[v], %[a], %[acc]\n\t"
                         "cmp %[s], %[e]\n\t"
                         "bne 1b"
                         : [x] "+r"(x), [s] "+r"(s), [acc] "+r"(acc), [d] "=&r"(d), [t] "=&r"(t), [a] "=&r"(a),
                           [v] "=&r"(v)
                         : [e] "r"(e)
                         : "cc", "memory");
    }
#else
    for (; s != e; s += 3) {
        x += s[0] & 15u;
        acc += (int8_t)s[1] * x[0];
        x += s[0] >> 4;
        acc += (int8_t)s[2] * x[0];
    }
#endif
    return acc;
}

void tg_fully_connected_sparse_s8_fast(const tg_fully_connected_sparse_params *p, const int8_t *input,
                                       int8_t *output)
{
    for (int32_t n = 0; n < p->batches; ++n) {
        const uint8_t *s = p->steps;
        for (int32_t o = 0; o < p->out_features; ++o) {
            const uint8_t *const e = s + 3 * (int32_t)p->pairs[o];
            const int32_t acc = row(input + n * p->in_features, s, e, p->bias[o]);
            s = e;
            const tg_rq rq = tg_rq_make(p->multiplier[o], p->shift[o]);
            const int32_t y = tg_rq_apply(&rq, acc) + p->output_offset;
            output[n * p->out_features + o] = (int8_t)(y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y));
        }
    }
}
