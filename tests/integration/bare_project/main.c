/* A user's own firmware with two tinygen model libraries: net_a runs in an arena the application
 * owns (in the linker section .user_arena), net_b in its built-in arena (placed in the same
 * section by -DNET_B_ARENA_SECTION). Checks both against the reference outputs in vectors.h and
 * exits 0 (QEMU's status) only when both match. */
#include <stdint.h>

#include "net_a.h"
#include "net_b.h"
#include "tg_platform.h"
#include "vectors.h"

#define SHARED_BYTES (NET_A_ARENA_BYTES + 32)
static uint8_t shared_arena[SHARED_BYTES] __attribute__((section(".user_arena"), aligned(16)));

static void say(const char *s)
{
    uint32_t n = 0;
    while (s[n] != '\0') ++n;
    tg_console_write(s, n);
}

static int same(const int8_t *a, const int8_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return 0;
    return 1;
}

int main(void)
{
    static int8_t out_a[NET_A_OUTPUT0_SIZE], out_b[NET_B_OUTPUT0_SIZE];
    int ok = 1;
    tg_platform_init();
    /* The checks: too small and misaligned arenas are refused, no arena means no inference. */
    if (net_a_invoke(in_a, out_a) != NET_A_ERR_NO_ARENA) ok = 0, say("no-arena check failed\n");
    if (net_a_init(shared_arena, NET_A_ARENA_BYTES - 1u) != NET_A_ERR_ARENA_SIZE) ok = 0, say("size check failed\n");
    if (net_a_init(shared_arena + 8, NET_A_ARENA_BYTES) != NET_A_ERR_ARENA_ALIGN) ok = 0, say("align check failed\n");
    if (net_a_init(shared_arena, SHARED_BYTES) != NET_A_OK) ok = 0, say("init failed\n");
    if (net_a_invoke(in_a, out_a) != NET_A_OK || !same(out_a, expect_a, NET_A_OUTPUT0_SIZE)) {
        ok = 0;
        say("net_a MISMATCH\n");
    } else {
        say("net_a ok\n");
    }
    if (net_b_invoke(in_b, out_b) != NET_B_OK || !same(out_b, expect_b, NET_B_OUTPUT0_SIZE)) {
        ok = 0;
        say("net_b MISMATCH\n");
    } else {
        say("net_b ok\n");
    }
    say(ok ? "PASS\n" : "FAIL\n");
    tg_platform_exit(ok ? 0 : 1);
}
