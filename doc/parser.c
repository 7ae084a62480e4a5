/*
 * doc/parser.c - the helpers every part of the document compiler uses (see
 * parser.h): failing at the current JSON pointer, turning an arena's refusal
 * into the document's error, and refusing unknown fields with a suggestion
 * of the name that was probably meant.
 *
 * Invariant: a suggestion is only ever added to an error, never decides one;
 * names longer than SUGGEST_MAX are left out so the distance table has a
 * fixed size on the stack.
 */
#include "doc/parser.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int doc_fail(parser *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kn_err_setv(p->err, code, p->path, fmt, ap);
    va_end(ap);
    return code;
}

int doc_arena_fail(parser *p)
{
    if (kn_arena_error(p->A) == KN_ENOMEM)
        return doc_fail(p, KN_ENOMEM, "out of memory while reading the document");
    return doc_fail(p, KN_ETOOBIG, "the document needs more memory than the limit of %zu bytes",
                    p->lim.max_bytes);
}

void **doc_defer(parser *p, void (*destroy)(void *))
{
    void **slot = kn_arena_defer(p->A, destroy);
    if (!slot) doc_arena_fail(p);
    return slot;
}

int doc_charge(parser *p, size_t n)
{
    if (kn_arena_charge(p->A, n) != KN_OK) return doc_arena_fail(p);
    return KN_OK;
}

int doc_charge_text(parser *p, int slot, size_t len)
{
    size_t had = slot >= 0 && (size_t)slot < p->nslots_max ? p->text_len[slot] : 0;
    if (len <= had) return KN_OK;
    /* len <= KN_DOC_MAX_TEXT or KN_TEMPLATE_MAX_OUT, so neither the product
     * nor the uint32_t can overflow. */
    size_t more = len - had;
    if (kn_arena_charge(p->A, more * KN_DOC_TEXT_COST) != KN_OK) {
        if (kn_arena_error(p->A) == KN_ENOMEM) return doc_arena_fail(p);
        return doc_fail(p, KN_ETOOBIG, "with this text the document needs more memory than the "
                        "job's limit of %zu bytes: drawing a text costs about %d bytes per byte "
                        "(each text counts once, at its longest value or the longest its "
                        "template can render), and the texts so far come to %zu bytes; shorten "
                        "them, or split the video into several jobs (the texts of one job may "
                        "total at most about %zu bytes, less what the rest of it needs)",
                        p->lim.max_bytes, KN_DOC_TEXT_COST, p->text_total + more,
                        p->lim.max_bytes / KN_DOC_TEXT_COST);
    }
    p->text_total += more;
    if (slot >= 0 && (size_t)slot < p->nslots_max) p->text_len[slot] = (uint32_t)len;
    return KN_OK;
}

char *doc_pstrdup(parser *p, const char *s)
{
    size_t n = strlen(s);
    char *d = doc_palloc(p, n + 1, 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

char *doc_pprintf(parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        doc_fail(p, KN_EINTERNAL, "cannot format a name");
        return NULL;
    }
    char *d = doc_palloc(p, (size_t)n + 1, 1);
    if (!d) return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

const char *doc_jdesc(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER:
    case JSON_REAL:    return "a number";
    case JSON_TRUE:
    case JSON_FALSE:   return "a boolean";
    default:           return "null";
    }
}

/* ---- did you mean ------------------------------------------------------- */

#define SUGGEST_MAX 64   /* longer names are not typos worth a suggestion */

/* The optimal string alignment distance between a and b (each at most
 * SUGGEST_MAX bytes): the fewest insertions, deletions, substitutions and
 * swaps of two neighbours that turn one into the other, no substring edited
 * twice. A swap counts 1 because "widht" is one slip, not two. Three rows of
 * the usual table are enough. */
static int osa_distance(const char *a, size_t na, const char *b, size_t nb)
{
    int rows[3][SUGGEST_MAX + 1];
    int *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= nb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int d = prev[j] + 1;
            if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
            if (prev[j - 1] + cost < d) d = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pp[j - 2] + 1 < d)
                d = pp[j - 2] + 1;
            cur[j] = d;
        }
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[nb];
}

const char *doc_suggest(const char *got, const char *const *names)
{
    size_t ng = strlen(got);
    if (!ng || ng > SUGGEST_MAX) return NULL;
    const char *best = NULL;
    int bestd = 3;   /* at most 2 */
    for (const char *const *n = names; *n; n++) {
        size_t nn = strlen(*n);
        if (nn > SUGGEST_MAX) continue;
        /* The length difference alone is a lower bound of the distance. */
        if ((nn > ng ? nn - ng : ng - nn) >= (size_t)bestd) continue;
        int d = osa_distance(got, ng, *n, nn);
        if (d < bestd) {
            bestd = d;
            best = *n;
        }
    }
    /* "x3" is one edit from "x1", "x2" and "y3": with a name that short a
     * guess is as likely wrong as right. */
    if (best && (size_t)(2 * bestd) >= ng) return NULL;
    return best;
}

int doc_check_keys(parser *p, const json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0) { ok = 1; break; }
        if (ok) continue;
        char list[384];
        size_t n = 0;
        list[0] = '\0';
        for (const char *const *a = allowed; *a && n < sizeof list; a++) {
            int w = snprintf(list + n, sizeof list - n, "%s%s", a == allowed ? "" : ", ", *a);
            if (w < 0) break;
            n += (size_t)w;
        }
        const char *hint = doc_suggest(key, allowed);
        size_t old = doc_push_key(p, key);
        int rc = hint ? doc_fail(p, KN_EINVAL, "unknown field \"%.64s\": did you mean \"%s\"? "
                                 "(allowed: %s)", key, hint, list)
                      : doc_fail(p, KN_EINVAL, "unknown field \"%.64s\" (allowed: %s)", key, list);
        doc_pop(p, old);
        return rc;
    }
    return KN_OK;
}
