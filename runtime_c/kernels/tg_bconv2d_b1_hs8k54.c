/* Carry-save bconv2d for k_h*k_w*ceil(in_c/32) == 54 words per output (6 blocks unrolled + 6 tail words:
 * a 3x3 layer on 192 channels). See tg_bconv2d_hs_body.inc. */
#define TG_BCONV_TAIL 6
#define TG_BCONV_NB 6
#define TG_BCONV_SYMBOL tg_bconv2d_b1_hs8k54
#define TG_BCONV_SCRATCH_BYTES tg_bconv2d_b1_hs8k54_scratch_bytes
#include "tg_bconv2d_hs_body.inc"
