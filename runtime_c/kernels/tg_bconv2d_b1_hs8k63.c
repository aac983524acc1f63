/* Carry-save bconv2d for k_h*k_w*ceil(in_c/32) == 63 words per output (7 blocks unrolled + 7 tail words:
 * a 3x3 layer on 224 channels). See tg_bconv2d_hs_body.inc. */
#define TG_BCONV_TAIL 7
#define TG_BCONV_NB 7
#define TG_BCONV_SYMBOL tg_bconv2d_b1_hs8k63
#define TG_BCONV_SCRATCH_BYTES tg_bconv2d_b1_hs8k63_scratch_bytes
#include "tg_bconv2d_hs_body.inc"
