/* Cohort selection rules: keyed and deterministic order, RIR diversity,
 * too-close pairs kept apart, disjoint cohorts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cohort.h"

#define MAXP 16
#define MAXCLOSE 4

/* A hand-built catalogue; perspectives point into its own storage, so it is
 * filled in place and never copied. */
struct catalog {
    struct mpic_perspective p[MAXP];
    char codes[MAXP][64];
    char *close[MAXP][MAXCLOSE];
    size_t n;
};

static const unsigned char secret_a[] = "0123456789abcdef-secret-A";
static const unsigned char secret_b[] = "0123456789abcdef-secret-B";
#define SECRET_A secret_a, sizeof secret_a - 1
#define SECRET_B secret_b, sizeof secret_b - 1

/* The number of cohorts; selection itself must not fail here. */
static size_t build(const struct mpic_perspective *p, size_t n, const unsigned char *secret, size_t secret_len,
                    const char *target, size_t size, size_t *out)
{
    struct mpic_error err;
    size_t count = 0;
    if (mpic_cohorts_build(p, n, secret, secret_len, target, size, out, &count, &err) != 0)
        fail_msg("cohort selection failed: %s", err.msg);
    return count;
}

static size_t catalog_add(struct catalog *c, const char *code, enum mpic_rir rir)
{
    assert_true(c->n < MAXP);
    size_t i = c->n++;
    snprintf(c->codes[i], sizeof c->codes[i], "%s", code);
    memset(&c->p[i], 0, sizeof c->p[i]);
    c->p[i].code = c->codes[i];
    c->p[i].rir = rir;
    c->p[i].too_close.v = c->close[i];
    return i;
}

static size_t catalog_find(const struct catalog *c, const char *code)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->codes[i], code) == 0)
            return i;
    fail_msg("no perspective %s", code);
    return 0;
}

/* from lists to as too close; one direction only. */
static void catalog_list(struct catalog *c, const char *from, const char *to)
{
    size_t f = catalog_find(c, from), t = catalog_find(c, to);
    assert_true(c->p[f].too_close.n < MAXCLOSE);
    c->close[f][c->p[f].too_close.n++] = c->codes[t];
}

/* Ten perspectives over five RIRs, with two mutual too-close pairs and two
 * listed by one side only. Three ARIN ones are free of too-close pairs, so
 * only the RIR rule keeps them from forming a cohort of three. Largest set
 * free of too-close pairs: 8. */
static void catalog_ten(struct catalog *c)
{
    memset(c, 0, sizeof *c);
    catalog_add(c, "us-east-1", MPIC_RIR_ARIN);
    catalog_add(c, "us-east-2", MPIC_RIR_ARIN);
    catalog_add(c, "us-west-2", MPIC_RIR_ARIN);
    catalog_add(c, "ca-central-1", MPIC_RIR_ARIN);
    catalog_add(c, "eu-west-1", MPIC_RIR_RIPE_NCC);
    catalog_add(c, "eu-west-2", MPIC_RIR_RIPE_NCC);
    catalog_add(c, "eu-central-1", MPIC_RIR_RIPE_NCC);
    catalog_add(c, "ap-northeast-1", MPIC_RIR_APNIC);
    catalog_add(c, "sa-east-1", MPIC_RIR_LACNIC);
    catalog_add(c, "af-south-1", MPIC_RIR_AFRINIC);
    catalog_list(c, "us-east-1", "us-east-2");
    catalog_list(c, "us-east-2", "us-east-1");
    catalog_list(c, "eu-west-1", "eu-west-2");
    catalog_list(c, "eu-west-2", "eu-west-1");
    catalog_list(c, "eu-central-1", "eu-west-2");
    catalog_list(c, "ca-central-1", "us-east-1");
}

static void target_name(char *buf, size_t len, unsigned i)
{
    snprintf(buf, len, "host%u.example%u.com", i, i % 7);
}

static int listed(const struct mpic_perspective *a, const struct mpic_perspective *b)
{
    for (size_t i = 0; i < a->too_close.n; i++)
        if (strcmp(a->too_close.v[i], b->code) == 0)
            return 1;
    return 0;
}

/* Checks every rule on one result; returns nothing, fails the test. */
static void assert_cohorts_valid(const struct catalog *c, const size_t *out, size_t count,
                                 size_t size, const char *target)
{
    int seen[MAXP] = { 0 };
    assert_true(count * size <= c->n);
    for (size_t k = 0; k < count; k++) {
        const size_t *m = out + k * size;
        unsigned rirs = 0;
        for (size_t i = 0; i < size; i++) {
            assert_true(m[i] < c->n);
            if (seen[m[i]]++)
                fail_msg("%s size %zu: %s in two cohorts", target, size, c->codes[m[i]]);
            rirs |= 1u << c->p[m[i]].rir;
            for (size_t j = i + 1; j < size; j++)
                if (listed(&c->p[m[i]], &c->p[m[j]]) || listed(&c->p[m[j]], &c->p[m[i]]))
                    fail_msg("%s size %zu: too-close %s and %s together", target, size,
                             c->codes[m[i]], c->codes[m[j]]);
        }
        if (size > 2 && (rirs & (rirs - 1)) == 0)
            fail_msg("%s size %zu: cohort %zu has a single RIR", target, size, k);
    }
}

static void cohorts_same_inputs_give_same_cohorts(void **state)
{
    (void)state;
    struct catalog c;
    catalog_ten(&c);
    for (size_t size = 1; size <= 5; size++) {
        size_t a[MAXP], b[MAXP];
        memset(a, 0xa5, sizeof a);
        memset(b, 0x5a, sizeof b);
        size_t na = build(c.p, c.n, SECRET_A, "example.com", size, a);
        size_t nb = build(c.p, c.n, SECRET_A, "example.com", size, b);
        assert_true(na > 0);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na * size * sizeof a[0]);
    }
}

static void cohorts_order_is_hmac_of_target_nul_code(void **state)
{
    (void)state;
    struct catalog c;
    catalog_ten(&c);
    /* Size 1 has no rule to bend the order, so it is the keyed order itself. */
    size_t out[MAXP];
    assert_int_equal(build(c.p, c.n, SECRET_A, "Example.COM", 1, out), c.n);
    unsigned char prev[32] = { 0 };
    for (size_t i = 0; i < c.n; i++) {
        unsigned char msg[128], mac[32];
        unsigned maclen = 0;
        int len = snprintf((char *)msg, sizeof msg, "example.com%c%s", 0, c.codes[out[i]]);
        assert_non_null(HMAC(EVP_sha256(), secret_a, (int)sizeof secret_a - 1, msg, (size_t)len,
                             mac, &maclen));
        if (i > 0)
            assert_true(memcmp(prev, mac, sizeof mac) < 0);
        memcpy(prev, mac, sizeof mac);
    }
}

static void cohorts_other_secret_gives_other_order(void **state)
{
    (void)state;
    struct catalog c;
    catalog_ten(&c);
    unsigned differ = 0, targets = 200;
    for (unsigned t = 0; t < targets; t++) {
        char name[64];
        size_t a[MAXP], b[MAXP];
        target_name(name, sizeof name, t);
        assert_int_equal(build(c.p, c.n, SECRET_A, name, 1, a), c.n);
        assert_int_equal(build(c.p, c.n, SECRET_B, name, 1, b), c.n);
        differ += memcmp(a, b, sizeof a) != 0;
    }
    /* Two independent orders of ten agree with chance 1/10!. */
    assert_true(differ >= targets - 5);
}

static void cohorts_other_target_gives_other_order(void **state)
{
    (void)state;
    struct catalog c;
    catalog_ten(&c);
    size_t first[MAXP], other[MAXP];
    assert_int_equal(build(c.p, c.n, SECRET_A, "a.example", 1, first), c.n);
    unsigned differ = 0;
    for (unsigned t = 0; t < 50; t++) {
        char name[64];
        target_name(name, sizeof name, t);
        assert_int_equal(build(c.p, c.n, SECRET_A, name, 1, other), c.n);
        differ += memcmp(first, other, sizeof first) != 0;
    }
    assert_true(differ >= 45);
}

static void cohorts_target_case_insensitive(void **state)
{
    (void)state;
    struct catalog c;
    catalog_ten(&c);
    const char *spellings[] = { "www.example.com", "WWW.EXAMPLE.COM", "Www.ExAmple.coM" };
    for (size_t size = 1; size <= 4; size++) {
        size_t ref[MAXP];
        size_t nref = build(c.p, c.n, SECRET_A, spellings[0], size, ref);
        assert_true(nref > 0);
        for (size_t s = 1; s < 3; s++) {
            size_t out[MAXP];
            assert_int_equal(build(c.p, c.n, SECRET_A, spellings[s], size, out), nref);
            assert_memory_equal(ref, out, nref * size * sizeof ref[0]);
        }
    }
}

/* Every size on many targets: each result obeys RIR, too-close and
 * disjointness; a cohort is found whenever one exists (up to 8 here). */
static void cohorts_obey_rules_for_every_size(void **state)
{
    (void)state;
    struct catalog c;
    catalog_ten(&c);
    for (unsigned t = 0; t < 300; t++) {
        char name[64];
        target_name(name, sizeof name, t);
        for (size_t size = 2; size <= c.n; size++) {
            size_t out[MAXP];
            size_t count = build(c.p, c.n, SECRET_A, name, size, out);
            assert_cohorts_valid(&c, out, count, size, name);
            if (size <= 8 && count == 0)
                fail_msg("%s size %zu: no cohort although one exists", name, size);
            if (size > 8)
                assert_int_equal(count, 0);
        }
    }
}

/* Whether the perspectives in mask form one valid cohort, by the rules
 * stated directly (every pair apart, >= 2 RIRs above size 2). */
static int brute_valid(const struct catalog *c, unsigned mask, size_t size)
{
    unsigned rirs = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!(mask & (1u << i)))
            continue;
        rirs |= 1u << c->p[i].rir;
        for (size_t j = i + 1; j < c->n; j++)
            if ((mask & (1u << j)) &&
                (listed(&c->p[i], &c->p[j]) || listed(&c->p[j], &c->p[i])))
                return 0;
    }
    return size <= 2 || (rirs & (rirs - 1)) != 0;
}

/* Most disjoint valid cohorts of size inside all, by exhaustive packing. */
static size_t brute_max(const struct catalog *c, size_t size)
{
    unsigned char best[1u << MAXP];
    unsigned all = (1u << c->n) - 1;
    for (unsigned mask = 0; mask <= all; mask++) {
        best[mask] = 0;
        if (mask == 0)
            continue;
        unsigned low = mask & -mask;
        best[mask] = best[mask & ~low];
        for (unsigned sub = mask; sub; sub = (sub - 1) & mask)
            if ((sub & low) && (size_t)__builtin_popcount(sub) == size &&
                brute_valid(c, sub, size) && best[mask & ~sub] + 1 > best[mask])
                best[mask] = (unsigned char)(best[mask & ~sub] + 1);
    }
    return best[all];
}

/* Greedy cohort building would stop early for some targets (one cohort
 * hoarding the other RIRs, or picks that leave no valid completion); the
 * count must always be the largest a split allows. */
static void cohorts_count_is_largest_possible(void **state)
{
    (void)state;
    struct catalog c;
    catalog_ten(&c);
    for (size_t size = 1; size <= c.n; size++) {
        size_t want = brute_max(&c, size);
        for (unsigned t = 0; t < 100; t++) {
            char name[64];
            size_t out[MAXP];
            target_name(name, sizeof name, t);
            size_t got = build(c.p, c.n, SECRET_A, name, size, out);
            if (got != want)
                fail_msg("%s size %zu: %zu cohorts, %zu possible", name, size, got, want);
        }
    }
}

static void cohorts_one_sided_too_close_keeps_apart(void **state)
{
    (void)state;
    struct catalog c;
    memset(&c, 0, sizeof c);
    catalog_add(&c, "us-east-1", MPIC_RIR_ARIN);
    catalog_add(&c, "eu-west-1", MPIC_RIR_RIPE_NCC);
    catalog_list(&c, "us-east-1", "eu-west-1");
    size_t out[2];
    assert_int_equal(build(c.p, c.n, SECRET_A, "example.com", 2, out), 0);

    memset(&c, 0, sizeof c);
    catalog_add(&c, "us-east-1", MPIC_RIR_ARIN);
    catalog_add(&c, "eu-west-1", MPIC_RIR_RIPE_NCC);
    catalog_list(&c, "eu-west-1", "us-east-1");
    assert_int_equal(build(c.p, c.n, SECRET_A, "example.com", 2, out), 0);
}

static void cohorts_six_perspectives_size_three_gives_two(void **state)
{
    (void)state;
    struct catalog c;
    memset(&c, 0, sizeof c);
    catalog_add(&c, "us-east-1", MPIC_RIR_ARIN);
    catalog_add(&c, "us-west-2", MPIC_RIR_ARIN);
    catalog_add(&c, "ca-central-1", MPIC_RIR_ARIN);
    catalog_add(&c, "eu-west-1", MPIC_RIR_RIPE_NCC);
    catalog_add(&c, "eu-central-1", MPIC_RIR_RIPE_NCC);
    catalog_add(&c, "ap-south-1", MPIC_RIR_APNIC);
    for (unsigned t = 0; t < 100; t++) {
        char name[64];
        size_t out[6];
        target_name(name, sizeof name, t);
        size_t count = build(c.p, c.n, SECRET_A, name, 3, out);
        assert_int_equal(count, 2);
        assert_cohorts_valid(&c, out, count, 3, name);
    }
}

static void cohorts_single_rir_larger_than_two_impossible(void **state)
{
    (void)state;
    struct catalog c;
    memset(&c, 0, sizeof c);
    catalog_add(&c, "us-east-1", MPIC_RIR_ARIN);
    catalog_add(&c, "us-west-1", MPIC_RIR_ARIN);
    catalog_add(&c, "us-west-2", MPIC_RIR_ARIN);
    catalog_add(&c, "ca-central-1", MPIC_RIR_ARIN);
    size_t out[4];
    assert_int_equal(build(c.p, c.n, SECRET_A, "example.com", 3, out), 0);
    assert_int_equal(build(c.p, c.n, SECRET_A, "example.com", 4, out), 0);
    /* Size 2 has no RIR rule (reference semantics). */
    assert_int_equal(build(c.p, c.n, SECRET_A, "example.com", 2, out), 2);
}

static void cohorts_size_out_of_range_gives_zero(void **state)
{
    (void)state;
    struct catalog c;
    catalog_ten(&c);
    size_t out[MAXP];
    assert_int_equal(build(c.p, c.n, SECRET_A, "example.com", 0, out), 0);
    assert_int_equal(build(c.p, c.n, SECRET_A, "example.com", c.n + 1, out), 0);
    assert_int_equal(build(c.p, 0, SECRET_A, "example.com", 1, out), 0);
}

static void cohorts_without_secret_refused(void **state)
{
    (void)state;
    struct catalog c;
    catalog_ten(&c);
    size_t out[MAXP];
    struct mpic_error err;
    size_t count = 99;
    /* The server's failure, answered 500, not "no cohort of this size" (a 400). */
    assert_int_equal(mpic_cohorts_build(c.p, c.n, secret_a, 0, "example.com", 2, out, &count, &err), -1);
    assert_int_equal(count, 0);
    assert_non_null(strstr(err.msg, "cohort secret"));
    assert_int_equal(mpic_cohorts_build(c.p, c.n, NULL, 16, "example.com", 2, out, &count, &err), -1);
}

/* The first two keyed picks may leave no valid third member; the search must
 * then revise them rather than report "impossible". Only {us-west-2,
 * ca-central-1, eu-west-1} is valid here. */
static void cohorts_found_when_first_picks_must_be_revised(void **state)
{
    (void)state;
    struct catalog c;
    memset(&c, 0, sizeof c);
    catalog_add(&c, "us-east-1", MPIC_RIR_ARIN);
    catalog_add(&c, "us-east-2", MPIC_RIR_ARIN);
    size_t w2 = catalog_add(&c, "us-west-2", MPIC_RIR_ARIN);
    size_t ca = catalog_add(&c, "ca-central-1", MPIC_RIR_ARIN);
    size_t eu = catalog_add(&c, "eu-west-1", MPIC_RIR_RIPE_NCC);
    catalog_list(&c, "eu-west-1", "us-east-1");
    catalog_list(&c, "us-east-2", "eu-west-1");
    for (unsigned t = 0; t < 100; t++) {
        char name[64];
        size_t out[5];
        target_name(name, sizeof name, t);
        assert_int_equal(build(c.p, c.n, SECRET_A, name, 3, out), 1);
        int got[MAXP] = { 0 };
        for (size_t i = 0; i < 3; i++)
            got[out[i]] = 1;
        assert_true(got[w2] && got[ca] && got[eu]);
    }
}

static void cohorts_every_perspective_sometimes_first(void **state)
{
    (void)state;
    struct catalog c;
    catalog_ten(&c);
    for (size_t size = 2; size <= 4; size++) {
        unsigned first[MAXP] = { 0 };
        for (unsigned t = 0; t < 600; t++) {
            char name[64];
            size_t out[MAXP];
            target_name(name, sizeof name, t);
            assert_true(build(c.p, c.n, SECRET_A, name, size, out) > 0);
            first[out[0]]++;
        }
        for (size_t i = 0; i < c.n; i++)
            if (first[i] == 0)
                fail_msg("size %zu: %s never first in 600 targets", size, c.codes[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cohorts_same_inputs_give_same_cohorts),
        cmocka_unit_test(cohorts_order_is_hmac_of_target_nul_code),
        cmocka_unit_test(cohorts_other_secret_gives_other_order),
        cmocka_unit_test(cohorts_other_target_gives_other_order),
        cmocka_unit_test(cohorts_target_case_insensitive),
        cmocka_unit_test(cohorts_obey_rules_for_every_size),
        cmocka_unit_test(cohorts_count_is_largest_possible),
        cmocka_unit_test(cohorts_one_sided_too_close_keeps_apart),
        cmocka_unit_test(cohorts_six_perspectives_size_three_gives_two),
        cmocka_unit_test(cohorts_single_rir_larger_than_two_impossible),
        cmocka_unit_test(cohorts_size_out_of_range_gives_zero),
        cmocka_unit_test(cohorts_without_secret_refused),
        cmocka_unit_test(cohorts_found_when_first_picks_must_be_revised),
        cmocka_unit_test(cohorts_every_perspective_sometimes_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
