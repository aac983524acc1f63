/* Carry-save bconv2d for k_h*k_w*ceil(in_c/32) == 27 words per output (3 blocks unrolled + 3 tail words:
 * a 3x3 layer on 96 channels). See tg_bconv2d_hs_body.inc. */
#define TG_BCONV_TAIL 3
#define TG_BCONV_NB 3
#define TG_BCONV_SYMBOL tg_bconv2d_b1_hs8k27
#define TG_BCONV_SCRATCH_BYTES tg_bconv2d_b1_hs8k27_scratch_bytes
#include "tg_bconv2d_hs_body.inc"
