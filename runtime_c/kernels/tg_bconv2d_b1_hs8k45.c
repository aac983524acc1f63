/* Carry-save bconv2d for k_h*k_w*ceil(in_c/32) == 45 words per output (5 blocks unrolled + 5 tail words:
 * a 3x3 layer on 160 channels). See tg_bconv2d_hs_body.inc. */
#define TG_BCONV_TAIL 5
#define TG_BCONV_NB 5
#define TG_BCONV_SYMBOL tg_bconv2d_b1_hs8k45
#define TG_BCONV_SCRATCH_BYTES tg_bconv2d_b1_hs8k45_scratch_bytes
#include "tg_bconv2d_hs_body.inc"
