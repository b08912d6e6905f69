/* Cohort selection: splits the configured perspectives into disjoint cohorts
 * for one target, the same way every time for the same secret and target.
 *
 * Why a keyed permutation: the Open MPIC spec wants cohorts that are stable
 * per (secret, lower-cased target) but that an outsider cannot predict, so
 * that an attacker who can hijack routes near some perspectives cannot learn
 * in advance which perspectives will look at their target. Each perspective
 * gets the rank HMAC-SHA256(secret, target || 0x00 || code); sorting by rank
 * (ties, which need a collision, by code) gives a permutation that only the
 * secret's holder can compute. The 0x00 separates target from code, so no
 * (target, code) pair can collide with another by shifting characters across
 * the boundary.
 *
 * Why a search rather than one greedy pass: a cohort must not hold two
 * perspectives that are too close (listed in either direction, so that a
 * one-sided list in a hand-written config still keeps them apart), and a
 * cohort of more than two must span at least two RIRs. Taking candidates
 * greedily in keyed order can paint itself into a corner twice over: inside
 * a cohort (two ARIN picks, and the only other-RIR perspective is too close
 * to one of them) and across cohorts (the first cohort takes every non-ARIN
 * perspective, so the second is all ARIN), and then reports "impossible"
 * although a valid split exists. So we look for the largest number of
 * cohorts (bisecting between 0 and floor(n / size): if k cohorts can be
 * built, so can k - 1), and for that number take the first solution of a
 * depth-first search that tries perspectives in keyed order. When greedy
 * finds as many cohorts as are possible at all, the search returns exactly
 * its cohorts; otherwise it departs from the keyed order only as far as the
 * rules force it to. Each cohort's members are taken in increasing keyed
 * position, and each cohort starts after the previous one's first member:
 * every split is then visited once, not once per order of its cohorts.
 *
 * The RIR rule is checked at the last free slot: a cohort whose members so
 * far share one RIR accepts only another RIR there. Checking earlier would
 * turn away candidates that a later slot could still balance, and so bend
 * the keyed order more than the rule needs. Before each cohort we also check
 * that, for every RIR, enough perspectives outside it remain to give each
 * remaining cohort one; this ends the hopeless single-RIR cases at once.
 *
 * The search is bounded by a node budget per cohort count so that a hostile
 * config with many too-close pairs cannot make a request spin; a real
 * catalogue never gets near it, and running out means "try fewer cohorts". */
#include "cohort.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define COHORT_MAC_LEN 32
/* Candidate placements tried per cohort count before trying fewer; with the
 * bisection this bounds a build at about log2(n) times this many. */
#define COHORT_SEARCH_BUDGET 200000UL

struct cohort_rank {
    unsigned char mac[COHORT_MAC_LEN];
    const char *code;
    size_t index;
};

struct cohort_search {
    const struct mpic_perspective *p;
    const size_t *order;  /* indices into p, keyed order */
    size_t n;
    size_t size;
    size_t want;          /* cohorts to find */
    size_t built;         /* cohorts complete so far */
    size_t *members;      /* want * size indices into p, cohort after cohort */
    size_t *pos;          /* keyed position of each entry of members */
    const bool *close;    /* n * n: close[i * n + j], symmetric */
    bool *used;
    size_t unused;
    size_t unused_rir[MPIC_RIR_COUNT];
    unsigned long budget;
};

static int rank_cmp(const void *a, const void *b)
{
    const struct cohort_rank *x = a, *y = b;
    int c = memcmp(x->mac, y->mac, COHORT_MAC_LEN);
    if (c == 0)
        c = strcmp(x->code, y->code);
    if (c == 0)
        c = (x->index > y->index) - (x->index < y->index);
    return c;
}

/* The too-close relation as a symmetric matrix, so that the search tests a
 * pair in O(1); a listing in either direction marks both. Codes that name no
 * perspective are ignored (config validation reports them). */
static void close_matrix(const struct mpic_perspective *p, size_t n, bool *close)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < p[i].too_close.n; k++)
            for (size_t j = 0; j < n; j++)
                if (p[i].too_close.v[k] != NULL && strcmp(p[i].too_close.v[k], p[j].code) == 0)
                    close[i * n + j] = close[j * n + i] = true;
}

/* Whether cand may take slot depth of the cohort m. */
static bool fits(const struct cohort_search *s, const size_t *m, size_t depth, size_t cand)
{
    const struct mpic_perspective *c = &s->p[cand];
    for (size_t i = 0; i < depth; i++)
        if (s->close[m[i] * s->n + cand])
            return false;
    if (s->size > 2 && depth == s->size - 1) {
        enum mpic_rir first = s->p[m[0]].rir;
        for (size_t i = 1; i < depth; i++)
            if (s->p[m[i]].rir != first)
                return true;
        return c->rir != first;
    }
    return true;
}

/* A necessary condition for the cohorts still to build: enough perspectives
 * left, and (RIR rule) for every RIR one outside it per cohort. */
static bool feasible(const struct cohort_search *s)
{
    size_t left = s->want - s->built;
    if (s->unused < left * s->size)
        return false;
    if (s->size > 2)
        for (size_t r = 0; r < MPIC_RIR_COUNT; r++)
            if (s->unused - s->unused_rir[r] < left)
                return false;
    return true;
}

static void take(struct cohort_search *s, size_t c, bool taken)
{
    /* An out-of-range RIR is simply not counted: the prune stays a
     * necessary condition and fits() still compares the raw values. */
    unsigned rir = (unsigned)s->p[c].rir;
    s->used[c] = taken;
    if (taken) {
        s->unused--;
        if (rir < MPIC_RIR_COUNT)
            s->unused_rir[rir]--;
    } else {
        s->unused++;
        if (rir < MPIC_RIR_COUNT)
            s->unused_rir[rir]++;
    }
}

static void reset(struct cohort_search *s, size_t want)
{
    s->want = want;
    s->built = 0;
    s->unused = s->n;
    memset(s->unused_rir, 0, sizeof s->unused_rir);
    for (size_t i = 0; i < s->n; i++) {
        s->used[i] = false;
        if ((unsigned)s->p[i].rir < MPIC_RIR_COUNT)
            s->unused_rir[s->p[i].rir]++;
    }
    s->budget = COHORT_SEARCH_BUDGET;
}

/* Fills slot depth of cohort s->built from keyed positions >= from, then
 * the remaining slots and cohorts. */
static bool extend(struct cohort_search *s, size_t depth, size_t from)
{
    if (depth == s->size) {
        if (++s->built == s->want)
            return true;
        size_t start = s->pos[(s->built - 1) * s->size] + 1;
        if (feasible(s) && extend(s, 0, start))
            return true;
        s->built--;
        return false;
    }
    size_t base = s->built * s->size;
    size_t need = s->size - depth;
    for (size_t k = from; k < s->n && s->n - k >= need; k++) {
        size_t c = s->order[k];
        if (s->used[c] || !fits(s, s->members + base, depth, c))
            continue;
        if (s->budget == 0)
            return false;
        s->budget--;
        s->members[base + depth] = c;
        s->pos[base + depth] = k;
        take(s, c, true);
        if (extend(s, depth + 1, k + 1))
            return true;
        take(s, c, false);
    }
    return false;
}

int mpic_cohorts_build(const struct mpic_perspective *p, size_t n, const unsigned char *secret, size_t secret_len,
                       const char *target, size_t cohort_size, size_t *out, size_t *n_cohorts,
                       struct mpic_error *err)
{
    *n_cohorts = 0;
    if (p == NULL || out == NULL || target == NULL || cohort_size < 1 || cohort_size > n)
        return 0;
    /* An empty secret would make the order public; config refuses it, so
     * reaching here is a caller bug, and no cohort is the safe answer. */
    if (secret == NULL || secret_len == 0 || secret_len > INT_MAX)
        return mpic_error_set(err, "cohort selection: no usable cohort secret");

    size_t tlen = strlen(target), max_code = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(p[i].code);
        if (l > max_code)
            max_code = l;
    }

    int rc = -1;
    size_t built = 0;
    struct cohort_rank *ranks = calloc(n, sizeof *ranks);
    size_t *order = calloc(n, sizeof *order);
    size_t *members = calloc(n, sizeof *members);
    size_t *pos = calloc(n, sizeof *pos);
    bool *used = calloc(n, sizeof *used);
    bool *close = n <= SIZE_MAX / n ? calloc(n * n, sizeof *close) : NULL;
    unsigned char *msg = NULL;
    if (tlen <= SIZE_MAX - 1 - max_code)
        msg = malloc(tlen + 1 + max_code);
    if (ranks == NULL || order == NULL || members == NULL || pos == NULL || used == NULL ||
        close == NULL || msg == NULL) {
        mpic_error_set(err, "cohort selection: out of memory");
        goto done;
    }

    for (size_t i = 0; i < tlen; i++) {
        unsigned char ch = (unsigned char)target[i];
        msg[i] = ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
    }
    msg[tlen] = 0x00;
    for (size_t i = 0; i < n; i++) {
        size_t clen = strlen(p[i].code);
        unsigned int maclen = 0;
        memcpy(msg + tlen + 1, p[i].code, clen);
        if (HMAC(EVP_sha256(), secret, (int)secret_len, msg, tlen + 1 + clen, ranks[i].mac,
                 &maclen) == NULL ||
            maclen != COHORT_MAC_LEN) {
            mpic_error_set(err, "cohort selection: HMAC-SHA256 failed");
            goto done;
        }
        ranks[i].code = p[i].code;
        ranks[i].index = i;
    }
    qsort(ranks, n, sizeof *ranks, rank_cmp);
    for (size_t i = 0; i < n; i++)
        order[i] = ranks[i].index;

    close_matrix(p, n, close);
    struct cohort_search s = {
        .p = p, .order = order, .n = n, .size = cohort_size,
        .members = members, .pos = pos, .close = close, .used = used,
    };
    /* Bisection on the count: any k-1 of k valid cohorts are valid too. */
    size_t hi = n / cohort_size;
    while (built < hi) {
        size_t want = built + (hi - built + 1) / 2;
        reset(&s, want);
        if (feasible(&s) && extend(&s, 0, 0)) {
            built = want;
            memcpy(out, members, want * cohort_size * sizeof *out);
        } else {
            hi = want - 1;
        }
    }
    *n_cohorts = built;
    rc = 0;

done:
    free(msg);
    free(close);
    free(used);
    free(pos);
    free(members);
    free(order);
    free(ranks);
    return rc;
}
