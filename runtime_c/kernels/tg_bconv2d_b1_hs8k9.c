/* Carry-save bconv2d for k_h*k_w*ceil(in_c/32) == 9 words per output (1 blocks unrolled + 1 tail words:
 * a 3x3 layer on 32 channels). See tg_bconv2d_hs_body.inc. */
#define TG_BCONV_TAIL 1
#define TG_BCONV_NB 1
#define TG_BCONV_SYMBOL tg_bconv2d_b1_hs8k9
#define TG_BCONV_SCRATCH_BYTES tg_bconv2d_b1_hs8k9_scratch_bytes
#include "tg_bconv2d_hs_body.inc"
