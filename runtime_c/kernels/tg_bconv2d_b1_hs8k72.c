/* Carry-save bconv2d for k_h*k_w*ceil(in_c/32) == 72 words per output (9 blocks unrolled + 0 tail words:
 * a 3x3 layer on 256 channels). See tg_bconv2d_hs_body.inc. */
#define TG_BCONV_TAIL 0
#define TG_BCONV_NB 9
#define TG_BCONV_SYMBOL tg_bconv2d_b1_hs8k72
#define TG_BCONV_SCRATCH_BYTES tg_bconv2d_b1_hs8k72_scratch_bytes
#include "tg_bconv2d_hs_body.inc"
