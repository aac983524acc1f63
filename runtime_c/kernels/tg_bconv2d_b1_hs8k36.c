/* Carry-save bconv2d for k_h*k_w*ceil(in_c/32) == 36 words per output (4 blocks unrolled + 4 tail words:
 * a 3x3 layer on 128 channels). See tg_bconv2d_hs_body.inc. */
#define TG_BCONV_TAIL 4
#define TG_BCONV_NB 4
#define TG_BCONV_SYMBOL tg_bconv2d_b1_hs8k36
#define TG_BCONV_SCRATCH_BYTES tg_bconv2d_b1_hs8k36_scratch_bytes
#include "tg_bconv2d_hs_body.inc"
