/* Reference float32 softmax with tinygen's deterministic exp. See tg_float.h and
 * tinygen/ops/softmax_float.py (the same float32 operations in the same order). */
#include "tg_float.h"

static float tg_expf(float x)
{
    static const float poly[7] = {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f};
    const float min_x = -87.3f;
    if (x < min_x) return 0.0f;
    const float t = x * 1.44269504088896341f + 0.5f;
    int32_t n = (int32_t)t; /* floor(t): truncation, then one step down for negative non-integers */
    if ((float)n > t) n -= 1;
    const float nf = (float)n;
    float r = x - nf * 0.693359375f;
    r = r - nf * -2.12194440e-4f;
    float p = poly[0];
    for (int i = 1; i < 7; ++i) {
        p = p * r;
        p = p + poly[i];
    }
    uint32_t scale_bits = (uint32_t)(n + 127) << 23;
    float scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return p * scale;
}

void tg_softmax_f32_ref(const tg_softmax_f32_params *p, const float *input, float *output)
{
    const float beta = tg_f32(p->beta);
    for (int32_t r = 0; r < p->rows; ++r) {
        const float *in = input + r * p->row_size;
        float *out = output + r * p->row_size;
        float m = in[0];
        for (int32_t c = 1; c < p->row_size; ++c) {
            if (in[c] > m) m = in[c];
        }
        float s = 0.0f;
        for (int32_t c = 0; c < p->row_size; ++c) {
            const float d = in[c] - m;
            out[c] = tg_expf(d * beta);
            s = s + out[c];
        }
        for (int32_t c = 0; c < p->row_size; ++c) {
            out[c] = out[c] / s;
        }
    }
}
