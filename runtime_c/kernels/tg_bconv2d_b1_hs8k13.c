/* Carry-save bconv2d for 13 words per output (1 block unrolled + 5 tail words: a 3x3 layer on 42..46
 * channels with a compact field). See tg_bconv2d_hs_body.inc. */
#define TG_BCONV_TAIL 5
#define TG_BCONV_NB 1
#define TG_BCONV_SYMBOL tg_bconv2d_b1_hs8k13
#define TG_BCONV_SCRATCH_BYTES tg_bconv2d_b1_hs8k13_scratch_bytes
#include "tg_bconv2d_hs_body.inc"
