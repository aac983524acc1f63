/* Carry-save bconv2d for k_h*k_w*ceil(in_c/32) == 18 words per output (2 blocks unrolled + 2 tail words:
 * a 3x3 layer on 64 channels). See tg_bconv2d_hs_body.inc. */
#define TG_BCONV_TAIL 2
#define TG_BCONV_NB 2
#define TG_BCONV_SYMBOL tg_bconv2d_b1_hs8k18
#define TG_BCONV_SCRATCH_BYTES tg_bconv2d_b1_hs8k18_scratch_bytes
#include "tg_bconv2d_hs_body.inc"
