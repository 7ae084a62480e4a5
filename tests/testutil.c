/* tests/testutil.c - see testutil.h. */
#include "tests/testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tu_tmpdir(char *out, size_t outsz)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, outsz, "%s/kinora-test.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(out)) out[0] = '\0';
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

void tu_rmtree(const char *path)
{
    if (path && *path) nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb; cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

const char *tu_src(const char *rel)
{
    static char buf[4096];
#ifdef KN_SOURCE_DIR
    snprintf(buf, sizeof buf, "%s/%s", KN_SOURCE_DIR, rel);
#else
    snprintf(buf, sizeof buf, "%s", rel);
#endif
    return buf;
}
