/* Fast int8 strided slice (same contract as tg_slice_s8_ref, see tg_slice.h) for a unit step on
 * the last axis (in_sc == 1): each run of out_c contiguous bytes moves as a word block copy, and
 * whole rows (or planes) merge into one run where the input is contiguous across them. */
#include "tg_block_copy.h"
#include "tg_slice.h"

void tg_slice_s8_fast(const tg_slice_params *p, const int8_t *input, int8_t *output)
{
    const int8_t *base = input + p->in_offset;
    int32_t run = p->out_c, ws = p->out_w, hs = p->out_h;
    if (p->in_sw == run || ws == 1) { /* rows are contiguous: one run per (n, h) */
        run *= ws;
        ws = 1;
        if (p->in_sh == run || hs == 1) {
            run *= hs;
            hs = 1;
        }
    }
    for (int32_t n = 0; n < p->out_n; ++n) {
        for (int32_t h = 0; h < hs; ++h) {
            for (int32_t w = 0; w < ws; ++w) {
                tg_copy_s8(output, base + n * p->in_sn + h * p->in_sh + w * p->in_sw, run);
                output += run;
            }
        }
    }
}
