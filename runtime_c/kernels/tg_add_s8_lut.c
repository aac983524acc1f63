/* int8 broadcasting add with the two input requantizations looked up (tg_elementwise.h states
 * the tables): per element two loads, two table loads, an add and the output requantization in
 * tg_requant_smmulr.h's form, whose left shift the tables already hold. Two more folds, both
 * checked for this layer by the generator (ops/add.py, _lut_ok):
 *   - output_shift < 0, so the rounding shift e >= 1 and the tie correction for negative y is
 *     y >> 31 (tg_requant_smmulr.h's `neg` is -1);
 *   - the output offset rides in the rounding constant: (y + r + oo * 2^e + (y >> 31)) >> e equals
 *     ((y + r + (y >> 31)) >> e) + oo, since adding a multiple of 2^e commutes with the floor
 *     shift, and |y| + r + |oo| * 2^e < 2^31 keeps it free of overflow.
 * The clamp bounds are then the activation bounds themselves. */
#include "tg_elementwise.h"
#include "tg_requant_smmulr.h"

typedef struct {
    const int32_t *t1, *t2; /* indexed by the int8 value */
    int32_t m, rr, e, lo, hi;
} add_lut;

/* out is not restrict: it may be an input's buffer (element i is read before it is written). */
static inline __attribute__((always_inline)) void add_lut_body(const add_lut *k, const int8_t *in1, int32_t s1,
                                                                const int8_t *in2, int32_t s2, int8_t *out,
                                                                int32_t count)
{
    const int32_t *t1 = k->t1, *t2 = k->t2;
    const int32_t m = k->m, rr = k->rr, e = k->e, lo = k->lo, hi = k->hi;
    for (int32_t i = 0; i < count; ++i, in1 += s1, in2 += s2) {
        const int32_t y = tg_smmulr(t1[*in1] + t2[*in2], m);
        out[i] = (int8_t)tg_clamp((y + rr + (y >> 31)) >> e, lo, hi);
    }
}

/* Not inlined (in the caller's frame gcc keeps the tables and strides on the stack and reloads
 * them for every element), and with unit strides as constants where neither input broadcasts. */
__attribute__((noinline)) static void add_lut_run(const add_lut *k, const int8_t *in1, int32_t s1, const int8_t *in2,
                                                  int32_t s2, int8_t *out, int32_t count)
{
    if (s1 == 1 && s2 == 1) {
        add_lut_body(k, in1, 1, in2, 1, out, count);
    } else {
        add_lut_body(k, in1, s1, in2, s2, out, count);
    }
}

void tg_add_s8_lut(const tg_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const tg_rq q = tg_rq_make(p->output_multiplier, p->output_shift);
    const add_lut k = {p->table1 + 128, p->table2 + 128, q.m, q.r + p->output_offset * ((int32_t)1 << q.e), q.e,
                       p->act_min, p->act_max};
    TG_BROADCAST_RUNS(p, input1, input2, output, add_lut_run, &k);
}
