/* Unit tests for common/caa.c. The evaluation rules are a table of cases,
 * each named for the rule it checks (RFC 8659 §3-4, RFC 8657, RFC 9495 §4,
 * BR §3.2.2.8), run by one loop that reports every failing case by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caa.h"

#define MAX_RECS 6
#define MAX_ISSUERS 3

struct rec {
    uint8_t flags;
    const char *tag; /* NULL ends the list */
    const char *value;
};

enum cert { TLS, SMIME };

struct eval_case {
    const char *name;
    struct rec recs[MAX_RECS];
    bool wildcard;
    enum cert cert;
    const char *issuers[MAX_ISSUERS]; /* NULL ends the list; empty means "ca.example" */
    const char *account;
    const char *method;
    bool flag1;
    bool permitted;
    enum mpic_caa_reason reason;
};

#define R(f, t, v) { (f), (t), (v) }
#define OK_MATCH true, MPIC_CAA_ISSUER_MATCHED
#define OK_NONE true, MPIC_CAA_NO_RESTRICTING_TAGS
#define OK_EMPTY true, MPIC_CAA_NO_RECORDS
#define DENY_ISSUER false, MPIC_CAA_NO_MATCHING_ISSUER
#define DENY_CRIT false, MPIC_CAA_CRITICAL_UNKNOWN_TAG

static const struct eval_case eval_cases[] = {
    /* RFC 8659 §3 and §4 examples */
    { "rfc8659_empty_rrset_permits", { { 0 } }, false, TLS, { 0 }, NULL, NULL, false, OK_EMPTY },
    { "rfc8659_issue_names_us_permits", { R(0, "issue", "ca.example") }, false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "rfc8659_issue_names_other_ca_denies", { R(0, "issue", "other.example") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "rfc8659_4_1_example_critical_tbs_denies",
      { R(0, "issue", "ca.example"), R(0, "iodef", "mailto:security@example.com"), R(128, "tbs", "Unknown") },
      false, TLS, { 0 }, NULL, NULL, false, DENY_CRIT },
    { "rfc8659_4_2_example_second_issuer_permits",
      { R(0, "issue", "ca1.example.net"), R(0, "issue", "ca.example") }, false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "rfc8659_4_2_example_neither_issuer_denies",
      { R(0, "issue", "ca1.example.net"), R(0, "issue", "ca2.example.org") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "rfc8659_4_2_example_account_param_permits", { R(0, "issue", "ca.example; account=230123") },
      false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "rfc8659_4_3_example_issuewild_permits_wildcard",
      { R(0, "issue", ";"), R(0, "issuewild", "ca.example") }, true, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "rfc8659_4_3_example_issuewild_does_not_permit_base_name",
      { R(0, "issue", ";"), R(0, "issuewild", "ca.example") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },

    /* tags are case-insensitive */
    { "caa_tag_upper_case_issue_counts", { R(0, "ISSUE", "ca.example") }, false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_tag_mixed_case_issue_counts", { R(0, "IsSuE", "ca.example") }, false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_tag_mixed_case_issue_restricts", { R(0, "IsSuE", "other.example") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_tag_upper_case_issuewild_overrides_issue",
      { R(0, "issue", "ca.example"), R(0, "ISSUEWILD", ";") }, true, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },

    /* critical flag on unknown tags */
    { "caa_flags_128_unknown_tag_denies", { R(128, "tbs", "x"), R(0, "issue", "ca.example") },
      false, TLS, { 0 }, NULL, NULL, false, DENY_CRIT },
    { "caa_flags_130_unknown_tag_denies", { R(130, "future", "x"), R(0, "issue", "ca.example") },
      false, TLS, { 0 }, NULL, NULL, false, DENY_CRIT },
    { "caa_flags_7e_unknown_tag_does_not_block", { R(0x7e, "future", "x"), R(0, "issue", "ca.example") },
      false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_flags_7e_unknown_tag_alone_is_unrestricted", { R(0x7e, "future", "x") },
      false, TLS, { 0 }, NULL, NULL, false, OK_NONE },
    { "caa_flag1_unknown_tag_blocks_with_alias", { R(1, "future", "x"), R(0, "issue", "ca.example") },
      false, TLS, { 0 }, NULL, NULL, true, DENY_CRIT },
    { "caa_flag1_unknown_tag_ignored_without_alias", { R(1, "future", "x"), R(0, "issue", "ca.example") },
      false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_flag1_known_tag_never_blocks_with_alias", { R(1, "issue", "ca.example"), R(1, "iodef", "mailto:a@b") },
      false, TLS, { 0 }, NULL, NULL, true, OK_MATCH },
    { "caa_critical_known_issue_tag_does_not_block", { R(128, "issue", "ca.example") },
      false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_critical_known_tags_never_block",
      { R(128, "iodef", "mailto:a@b"), R(128, "contactemail", "a@b"), R(128, "contactphone", "+1 555"),
        R(128, "issuevmc", "ca.example"), R(128, "issuemail", "ca.example"), R(128, "IODEF", "x") },
      false, TLS, { 0 }, NULL, NULL, true, OK_NONE },
    { "caa_critical_empty_tag_denies", { R(128, "", "x"), R(0, "issue", "ca.example") },
      false, TLS, { 0 }, NULL, NULL, false, DENY_CRIT },
    { "caa_critical_tag_with_hyphen_is_unknown_and_denies", { R(128, "is-sue", "ca.example"), R(0, "issue", "ca.example") },
      false, TLS, { 0 }, NULL, NULL, false, DENY_CRIT },
    { "caa_critical_unknown_tag_denies_smime", { R(128, "tbs", "x"), R(0, "issuemail", "ca.example") },
      false, SMIME, { 0 }, NULL, NULL, false, DENY_CRIT },
    { "caa_noncritical_unknown_tag_does_not_permit_other_ca", { R(0, "future", "ca.example"), R(0, "issue", "other.example") },
      false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },

    /* issuewild vs issue */
    { "caa_issuewild_ignored_for_non_wildcard", { R(0, "issue", "other.example"), R(0, "issuewild", "ca.example") },
      false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_issuewild_deny_ignored_for_non_wildcard", { R(0, "issue", "ca.example"), R(0, "issuewild", ";") },
      false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_issuewild_only_does_not_restrict_non_wildcard", { R(0, "issuewild", "other.example") },
      false, TLS, { 0 }, NULL, NULL, false, OK_NONE },
    { "caa_issuewild_deny_overrides_issue_permit_for_wildcard", { R(0, "issue", "ca.example"), R(0, "issuewild", "other.example") },
      true, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_issuewild_permit_overrides_issue_deny_for_wildcard", { R(0, "issue", ";"), R(0, "issuewild", "ca.example") },
      true, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_wildcard_without_issuewild_uses_issue_permit", { R(0, "issue", "ca.example") },
      true, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_wildcard_without_issuewild_uses_issue_deny", { R(0, "issue", "other.example") },
      true, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_malformed_issuewild_still_overrides_issue", { R(0, "issue", "ca.example"), R(0, "issuewild", "%%%") },
      true, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },

    /* empty and malformed values are an empty issuer */
    { "caa_empty_issuer_semicolon_denies", { R(0, "issue", ";") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_empty_value_denies", { R(0, "issue", "") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_malformed_percent_value_denies", { R(0, "issue", "%%%%%") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_trailing_dot_issuer_is_malformed", { R(0, "issue", "ca.example.") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_bad_parameter_tag_is_malformed", { R(0, "issue", "ca.example; a_b=1") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_space_in_parameter_value_is_malformed", { R(0, "issue", "ca.example; ab=1 2") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_html_in_value_does_not_match", { R(0, "issue", "<script>ca.example</script>") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_issuer_with_subdomain_of_ours_does_not_match", { R(0, "issue", "sub.ca.example") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "caa_issuer_suffix_of_ours_does_not_match", { R(0, "issue", "example") }, false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },

    /* parameters and whitespace allowed by the ABNF */
    { "caa_unknown_parameter_permits", { R(0, "issue", "ca.example; x=y") }, false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_spaces_around_issuer_and_semicolon_permit", { R(0, "issue", " ca.example ; x=y") }, false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_trailing_semicolon_permits", { R(0, "issue", "ca.example;") }, false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_tab_around_equals_permits", { R(0, "issue", "ca.example;\tx\t=\ty\t") }, false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },

    /* S/MIME (RFC 9495) */
    { "smime_issuemail_names_us_permits", { R(0, "issuemail", "ca.example") }, false, SMIME, { 0 }, NULL, NULL, false, OK_MATCH },
    { "smime_issuemail_other_ca_denies", { R(0, "issuemail", "other.example") }, false, SMIME, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "smime_issue_semicolon_only_does_not_restrict", { R(0, "issue", ";") }, false, SMIME, { 0 }, NULL, NULL, false, OK_NONE },
    { "smime_issue_and_issuewild_other_ca_do_not_restrict", { R(0, "issue", "other.example"), R(0, "issuewild", ";") },
      false, SMIME, { 0 }, NULL, NULL, false, OK_NONE },
    { "smime_issuemail_permits_despite_issue_deny", { R(0, "issue", ";"), R(0, "issuemail", "ca.example") },
      false, SMIME, { 0 }, NULL, NULL, false, OK_MATCH },
    { "smime_issuemail_empty_denies_despite_issue_permit", { R(0, "issue", "ca.example"), R(0, "issuemail", ";") },
      false, SMIME, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "tls_issuemail_only_does_not_restrict", { R(0, "issuemail", ";") }, false, TLS, { 0 }, NULL, NULL, false, OK_NONE },
    { "tls_issuemail_for_us_does_not_permit_over_issue", { R(0, "issue", "other.example"), R(0, "issuemail", "ca.example") },
      false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },

    /* additivity, other restricting-free sets, issuer comparison */
    { "caa_records_are_additive_one_match_permits",
      { R(0, "issue", "%%%%%"), R(0, "issue", ";"), R(0, "issue", "other.example"), R(0, "issue", "ca.example") },
      false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_iodef_only_does_not_restrict", { R(0, "iodef", "mailto:security@example.com") }, false, TLS, { 0 }, NULL, NULL, false, OK_NONE },
    { "caa_contact_tags_only_do_not_restrict", { R(0, "contactemail", "a@example.com"), R(0, "contactphone", "+1 555 0100") },
      false, TLS, { 0 }, NULL, NULL, false, OK_NONE },
    { "caa_issuer_compared_case_insensitively", { R(0, "issue", "CA.Example") }, false, TLS, { 0 }, NULL, NULL, false, OK_MATCH },
    { "caa_request_issuer_compared_case_insensitively", { R(0, "issue", "ca.example") },
      false, TLS, { "CA.EXAMPLE" }, NULL, NULL, false, OK_MATCH },
    { "caa_second_configured_issuer_matches", { R(0, "issue", "ca2.example") },
      false, TLS, { "ca1.example", "ca2.example" }, NULL, NULL, false, OK_MATCH },
    { "caa_empty_configured_issuer_never_matches_empty_issuer", { R(0, "issue", ";") },
      false, TLS, { "" }, NULL, NULL, false, DENY_ISSUER },

    /* RFC 8657 accounturi */
    { "rfc8657_accounturi_match_permits", { R(0, "issue", "ca.example; accounturi=https://ca.example/acct/1") },
      false, TLS, { 0 }, "https://ca.example/acct/1", NULL, false, OK_MATCH },
    { "rfc8657_accounturi_mismatch_denies", { R(0, "issue", "ca.example; accounturi=https://ca.example/acct/1") },
      false, TLS, { 0 }, "https://ca.example/acct/2", NULL, false, DENY_ISSUER },
    { "rfc8657_accounturi_prefix_is_not_a_match", { R(0, "issue", "ca.example; accounturi=https://ca.example/acct/1") },
      false, TLS, { 0 }, "https://ca.example/acct/12", NULL, false, DENY_ISSUER },
    { "rfc8657_accounturi_absent_in_request_denies", { R(0, "issue", "ca.example; accounturi=https://ca.example/acct/1") },
      false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "rfc8657_accounturi_duplicated_denies",
      { R(0, "issue", "ca.example; accounturi=https://ca.example/acct/1; accounturi=https://ca.example/acct/1") },
      false, TLS, { 0 }, "https://ca.example/acct/1", NULL, false, DENY_ISSUER },
    { "rfc8657_accounturi_parameter_tag_case_insensitive", { R(0, "issue", "ca.example; AccountURI=https://ca.example/acct/1") },
      false, TLS, { 0 }, "https://ca.example/acct/2", NULL, false, DENY_ISSUER },
    { "rfc8657_accounturi_mismatch_but_unrestricted_record_permits",
      { R(0, "issue", "ca.example; accounturi=https://ca.example/acct/1"), R(0, "issue", "ca.example") },
      false, TLS, { 0 }, "https://ca.example/acct/2", NULL, false, OK_MATCH },
    { "rfc8657_accounturi_absent_in_record_matches_any_account", { R(0, "issue", "ca.example") },
      false, TLS, { 0 }, "https://ca.example/acct/9", NULL, false, OK_MATCH },

    /* RFC 8657 validationmethods */
    { "rfc8657_validationmethods_contains_permits", { R(0, "issue", "ca.example; validationmethods=dns-01,http-01") },
      false, TLS, { 0 }, NULL, "http-01", false, OK_MATCH },
    { "rfc8657_validationmethods_not_contains_denies", { R(0, "issue", "ca.example; validationmethods=dns-01") },
      false, TLS, { 0 }, NULL, "http-01", false, DENY_ISSUER },
    { "rfc8657_validationmethods_empty_label_denies", { R(0, "issue", "ca.example; validationmethods=dns-01,,http-01") },
      false, TLS, { 0 }, NULL, "http-01", false, DENY_ISSUER },
    { "rfc8657_validationmethods_bad_label_char_denies", { R(0, "issue", "ca.example; validationmethods=http-01,dns_01") },
      false, TLS, { 0 }, NULL, "http-01", false, DENY_ISSUER },
    { "rfc8657_validationmethods_trailing_comma_denies", { R(0, "issue", "ca.example; validationmethods=http-01,") },
      false, TLS, { 0 }, NULL, "http-01", false, DENY_ISSUER },
    { "rfc8657_validationmethods_space_is_malformed", { R(0, "issue", "ca.example; validationmethods=dns-01, http-01") },
      false, TLS, { 0 }, NULL, "http-01", false, DENY_ISSUER },
    { "rfc8657_validationmethods_duplicated_denies",
      { R(0, "issue", "ca.example; validationmethods=http-01; validationmethods=http-01") },
      false, TLS, { 0 }, NULL, "http-01", false, DENY_ISSUER },
    { "rfc8657_validationmethods_unknown_labels_ignored", { R(0, "issue", "ca.example; validationmethods=ca-foo,x-9,http-01") },
      false, TLS, { 0 }, NULL, "http-01", false, OK_MATCH },
    { "rfc8657_validationmethods_method_unknown_in_request_denies", { R(0, "issue", "ca.example; validationmethods=http-01") },
      false, TLS, { 0 }, NULL, NULL, false, DENY_ISSUER },
    { "rfc8657_validationmethods_labels_compared_exactly", { R(0, "issue", "ca.example; validationmethods=HTTP-01") },
      false, TLS, { 0 }, NULL, "http-01", false, DENY_ISSUER },
    { "rfc8657_validationmethods_not_a_substring_match", { R(0, "issue", "ca.example; validationmethods=dns-01-x") },
      false, TLS, { 0 }, NULL, "dns-01", false, DENY_ISSUER },
    { "rfc8657_both_parameters_satisfied_permits",
      { R(0, "issue", "ca.example; validationmethods=dns-01; accounturi=acct:1") },
      false, TLS, { 0 }, "acct:1", "dns-01", false, OK_MATCH },
    { "rfc8657_issuewild_parameters_apply_to_wildcard", { R(0, "issuewild", "ca.example; validationmethods=dns-01") },
      true, TLS, { 0 }, NULL, "http-01", false, DENY_ISSUER },
};

static void fill_records(const struct eval_case *c, struct mpic_caa_record *out, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < MAX_RECS && c->recs[i].tag != NULL; i++) {
        out[i].flags = c->recs[i].flags;
        out[i].tag = (const uint8_t *)c->recs[i].tag;
        out[i].tag_len = strlen(c->recs[i].tag);
        out[i].value = (const uint8_t *)c->recs[i].value;
        out[i].value_len = strlen(c->recs[i].value);
        (*n)++;
    }
}

static const char *default_issuers[] = { "ca.example" };

static void caa_evaluation_table(void **state)
{
    (void)state;
    size_t n_cases = sizeof eval_cases / sizeof eval_cases[0];
    assert_true(n_cases >= 40);
    size_t failures = 0;
    for (size_t i = 0; i < n_cases; i++) {
        const struct eval_case *c = &eval_cases[i];
        struct mpic_caa_record recs[MAX_RECS];
        size_t n;
        fill_records(c, recs, &n);
        size_t n_issuers = 0;
        while (n_issuers < MAX_ISSUERS && c->issuers[n_issuers] != NULL)
            n_issuers++;
        struct mpic_caa_query q = {
            .wildcard = c->wildcard,
            .cert_type = c->cert == SMIME ? MPIC_CERT_SMIME : MPIC_CERT_TLS_SERVER,
            .issuer_domains = n_issuers > 0 ? c->issuers : default_issuers,
            .n_issuer_domains = n_issuers > 0 ? n_issuers : 1,
            .account_uri = c->account,
            .validation_method = c->method,
            .flag1_is_critical = c->flag1,
        };
        struct mpic_caa_decision d = mpic_caa_evaluate(recs, n, &q);
        if (d.permitted != c->permitted || d.reason != c->reason) {
            print_error("FAIL %s: got permitted=%d reason=%d (%s), want permitted=%d reason=%d\n", c->name,
                        d.permitted, d.reason, mpic_caa_reason_text(d.reason), c->permitted, c->reason);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* The cross-check from requirements B.7: a denial only because the issuer is
 * another CA turns into a permit once that issuer is ours; structural
 * denials stay denials whatever the issuer list holds. */
static void caa_issuer_only_denials_flip_when_issuer_added(void **state)
{
    (void)state;
    const char *both[] = { "ca.example", "other.example" };
    size_t n_cases = sizeof eval_cases / sizeof eval_cases[0];
    size_t failures = 0;
    for (size_t i = 0; i < n_cases; i++) {
        const struct eval_case *c = &eval_cases[i];
        if (c->issuers[0] != NULL || c->account != NULL || c->method != NULL)
            continue;
        struct mpic_caa_record recs[MAX_RECS];
        size_t n;
        fill_records(c, recs, &n);
        /* Cases named "..._other_ca_..." deny only because other.example is not ours. */
        bool other_only = strstr(c->name, "other_ca") != NULL;
        struct mpic_caa_query q = {
            .wildcard = c->wildcard,
            .cert_type = c->cert == SMIME ? MPIC_CERT_SMIME : MPIC_CERT_TLS_SERVER,
            .issuer_domains = both,
            .n_issuer_domains = 2,
            .flag1_is_critical = c->flag1,
        };
        struct mpic_caa_decision d = mpic_caa_evaluate(recs, n, &q);
        if (c->reason == MPIC_CAA_CRITICAL_UNKNOWN_TAG && d.permitted) {
            print_error("FAIL %s: critical unknown tag permitted with more issuers\n", c->name);
            failures++;
        }
        if (c->permitted && !d.permitted) {
            print_error("FAIL %s: adding an issuer turned a permit into a deny\n", c->name);
            failures++;
        }
        if (other_only && c->reason == MPIC_CAA_NO_MATCHING_ISSUER && !d.permitted) {
            print_error("FAIL %s: still denied with other.example added\n", c->name);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void caa_structural_denials_stay_denied(void **state)
{
    (void)state;
    static const char *const values[] = { ";", "", "%%%%%", "ca.example.", "ca.example; a_b=1", "ca.example; ab=1 2" };
    const char *many[] = { "ca.example", "other.example", "example", "" };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        struct mpic_caa_record r = { 0, (const uint8_t *)"issue", 5, (const uint8_t *)values[i], strlen(values[i]) };
        struct mpic_caa_query q = { .issuer_domains = many, .n_issuer_domains = 4 };
        struct mpic_caa_decision d = mpic_caa_evaluate(&r, 1, &q);
        if (d.permitted)
            print_error("FAIL value \"%s\" permitted\n", values[i]);
        assert_false(d.permitted);
        assert_int_equal(d.reason, MPIC_CAA_NO_MATCHING_ISSUER);
    }
}

static void caa_value_with_nul_octet_is_malformed(void **state)
{
    (void)state;
    static const uint8_t value[] = { 'c', 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 'x' };
    struct mpic_caa_record r = { 0, (const uint8_t *)"issue", 5, value, sizeof value };
    const char *ours[] = { "ca.example" };
    struct mpic_caa_query q = { .issuer_domains = ours, .n_issuer_domains = 1 };
    assert_false(mpic_caa_evaluate(&r, 1, &q).permitted);
}

static void caa_tag_with_nul_octet_is_unknown(void **state)
{
    (void)state;
    static const uint8_t tag[] = { 'i', 's', 's', 'u', 'e', 0 };
    struct mpic_caa_record r = { 128, tag, sizeof tag, (const uint8_t *)"ca.example", 10 };
    const char *ours[] = { "ca.example" };
    struct mpic_caa_query q = { .issuer_domains = ours, .n_issuer_domains = 1 };
    struct mpic_caa_decision d = mpic_caa_evaluate(&r, 1, &q);
    assert_false(d.permitted);
    assert_int_equal(d.reason, MPIC_CAA_CRITICAL_UNKNOWN_TAG);
}

static void caa_large_rrset_evaluated_in_full(void **state)
{
    (void)state;
    enum { N = 1001 };
    struct mpic_caa_record *recs = calloc(N, sizeof *recs);
    assert_non_null(recs);
    for (size_t i = 0; i < N; i++)
        recs[i] = (struct mpic_caa_record){ 0, (const uint8_t *)"issue", 5, (const uint8_t *)"other.example", 13 };
    recs[N - 1].value = (const uint8_t *)"ca.example";
    recs[N - 1].value_len = 10;
    const char *ours[] = { "ca.example" };
    struct mpic_caa_query q = { .issuer_domains = ours, .n_issuer_domains = 1 };
    assert_true(mpic_caa_evaluate(recs, N, &q).permitted);
    recs[N - 1].flags = 0;
    recs[N - 1].tag = (const uint8_t *)"zzz";
    recs[N - 1].tag_len = 3;
    recs[N - 1].flags = 128;
    assert_int_equal(mpic_caa_evaluate(recs, N, &q).reason, MPIC_CAA_CRITICAL_UNKNOWN_TAG);
    free(recs);
}

static void caa_reason_text_covers_every_reason(void **state)
{
    (void)state;
    for (int r = MPIC_CAA_NO_RECORDS; r <= MPIC_CAA_NOT_APPLICABLE; r++) {
        const char *t = mpic_caa_reason_text((enum mpic_caa_reason)r);
        assert_non_null(t);
        assert_null(strstr(t, "unknown CAA reason"));
    }
    assert_non_null(strstr(mpic_caa_reason_text(MPIC_CAA_CRITICAL_UNKNOWN_TAG), "denied"));
    assert_non_null(strstr(mpic_caa_reason_text(MPIC_CAA_NO_RECORDS), "permitted"));
}

/* ---- issue-value parser ---- */

struct parse_case {
    const char *name;
    const char *value;
    bool malformed;
    const char *issuer;
    size_t n_params;
    const char *params[6][2];
};

static const struct parse_case parse_cases[] = {
    { "parse_plain_issuer", "ca.example", false, "ca.example", 0, { { 0 } } },
    { "parse_issuer_lower_cased", "CA.Example.NET", false, "ca.example.net", 0, { { 0 } } },
    { "parse_empty_value", "", false, "", 0, { { 0 } } },
    { "parse_only_whitespace", " \t ", false, "", 0, { { 0 } } },
    { "parse_semicolon_only", ";", false, "", 0, { { 0 } } },
    { "parse_empty_issuer_with_params", "; accounturi=acct:1", false, "", 1, { { "accounturi", "acct:1" } } },
    { "parse_trailing_semicolon_valid", "ca.example;", false, "ca.example", 0, { { 0 } } },
    { "parse_whitespace_everywhere", " ca.example ; x = y ;\tz=w\t", false, "ca.example", 2, { { "x", "y" }, { "z", "w" } } },
    { "parse_params_kept_in_order", "ca.example; b=2; a=1; c=3", false, "ca.example", 3,
      { { "b", "2" }, { "a", "1" }, { "c", "3" } } },
    { "parse_duplicate_params_kept", "ca.example; a=1; a=2", false, "ca.example", 2, { { "a", "1" }, { "a", "2" } } },
    { "parse_param_tag_case_kept", "ca.example; AccountURI=X", false, "ca.example", 1, { { "AccountURI", "X" } } },
    { "parse_empty_param_value_valid", "ca.example; a=", false, "ca.example", 1, { { "a", "" } } },
    { "parse_equals_in_value_valid", "ca.example; a=b=c", false, "ca.example", 1, { { "a", "b=c" } } },
    { "parse_hyphens_in_labels_valid", "c--a.ex-ample; x--y=1", false, "c--a.ex-ample", 1, { { "x--y", "1" } } },
    { "parse_digit_labels_valid", "1.2.3", false, "1.2.3", 0, { { 0 } } },
    { "parse_value_chars_full_range", "ca; v=!~:<", false, "ca", 1, { { "v", "!~:<" } } },
    { "parse_trailing_dot_malformed", "ca.example.", true, "", 0, { { 0 } } },
    { "parse_leading_dot_malformed", ".ca.example", true, "", 0, { { 0 } } },
    { "parse_double_dot_malformed", "ca..example", true, "", 0, { { 0 } } },
    { "parse_label_ends_with_hyphen_malformed", "ca-.example", true, "", 0, { { 0 } } },
    { "parse_label_starts_with_hyphen_malformed", "-ca.example", true, "", 0, { { 0 } } },
    { "parse_underscore_in_issuer_malformed", "c_a.example", true, "", 0, { { 0 } } },
    { "parse_percent_malformed", "%%%%%", true, "", 0, { { 0 } } },
    { "parse_space_inside_issuer_malformed", "ca .example", true, "", 0, { { 0 } } },
    { "parse_bad_param_tag_malformed", "ca.example; a_b=1", true, "", 0, { { 0 } } },
    { "parse_space_in_param_value_malformed", "ca.example; ab=1 2", true, "", 0, { { 0 } } },
    { "parse_param_without_equals_malformed", "ca.example; ab", true, "", 0, { { 0 } } },
    { "parse_param_without_tag_malformed", "ca.example; =1", true, "", 0, { { 0 } } },
    { "parse_semicolon_after_params_malformed", "ca.example; a=1;", true, "", 0, { { 0 } } },
    { "parse_double_semicolon_malformed", "ca.example;;", true, "", 0, { { 0 } } },
    { "parse_two_issuers_malformed", "ca.example other.example", true, "", 0, { { 0 } } },
    { "parse_param_tag_ends_with_hyphen_malformed", "ca; a-=1", true, "", 0, { { 0 } } },
    { "parse_del_in_value_malformed", "ca; a=\x7f", true, "", 0, { { 0 } } },
    { "parse_high_octet_in_issuer_malformed", "ca.\xc3\xa9xample", true, "", 0, { { 0 } } },
};

static void caa_parse_table(void **state)
{
    (void)state;
    size_t failures = 0;
    struct mpic_caa_issue_value iv;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        memset(&iv, 0xa5, sizeof iv);
        mpic_caa_parse_issue_value((const uint8_t *)c->value, strlen(c->value), &iv);
        bool ok = iv.malformed == c->malformed && strcmp(iv.issuer, c->issuer) == 0 && iv.n_params == c->n_params;
        for (size_t k = 0; ok && k < c->n_params; k++)
            ok = strcmp(iv.params[k].tag, c->params[k][0]) == 0 && strcmp(iv.params[k].value, c->params[k][1]) == 0;
        if (!ok) {
            print_error("FAIL %s: value \"%s\" gave malformed=%d issuer=\"%s\" n_params=%zu\n", c->name, c->value,
                        iv.malformed, iv.issuer, iv.n_params);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void repeat_into(char *buf, size_t n, char c)
{
    memset(buf, c, n);
    buf[n] = '\0';
}

static void caa_parse_limits_fail_closed(void **state)
{
    (void)state;
    struct mpic_caa_issue_value iv;
    char buf[2048];

    /* 253-octet issuer: four labels of 63 separated by dots = 255; use 63+1+63+1+63+1+61 = 253. */
    char name[300];
    repeat_into(name, 63, 'a');
    strcat(name, ".");
    repeat_into(buf, 63, 'b');
    strcat(name, buf);
    strcat(name, ".");
    repeat_into(buf, 63, 'c');
    strcat(name, buf);
    strcat(name, ".");
    repeat_into(buf, 61, 'd');
    strcat(name, buf);
    assert_int_equal(strlen(name), 253);
    mpic_caa_parse_issue_value((const uint8_t *)name, strlen(name), &iv);
    assert_false(iv.malformed);
    assert_string_equal(iv.issuer, name);
    strcat(name, "d");
    mpic_caa_parse_issue_value((const uint8_t *)name, strlen(name), &iv);
    assert_true(iv.malformed);
    assert_string_equal(iv.issuer, "");

    /* MPIC_CAA_MAX_PARAMS parameters fit; one more is malformed, never truncated. */
    strcpy(buf, "ca.example");
    for (int i = 0; i < MPIC_CAA_MAX_PARAMS; i++)
        sprintf(buf + strlen(buf), "; p%d=%d", i, i);
    mpic_caa_parse_issue_value((const uint8_t *)buf, strlen(buf), &iv);
    assert_false(iv.malformed);
    assert_int_equal(iv.n_params, MPIC_CAA_MAX_PARAMS);
    strcat(buf, "; extra=1");
    mpic_caa_parse_issue_value((const uint8_t *)buf, strlen(buf), &iv);
    assert_true(iv.malformed);
    assert_int_equal(iv.n_params, 0);

    /* 63-octet tag fits, 64 does not. */
    strcpy(buf, "ca.example; ");
    repeat_into(buf + strlen(buf), 63, 't');
    strcat(buf, "=1");
    mpic_caa_parse_issue_value((const uint8_t *)buf, strlen(buf), &iv);
    assert_false(iv.malformed);
    strcpy(buf, "ca.example; ");
    repeat_into(buf + strlen(buf), 64, 't');
    strcat(buf, "=1");
    mpic_caa_parse_issue_value((const uint8_t *)buf, strlen(buf), &iv);
    assert_true(iv.malformed);

    /* 511-octet value fits, 512 does not. */
    strcpy(buf, "ca.example; accounturi=");
    repeat_into(buf + strlen(buf), 511, 'v');
    mpic_caa_parse_issue_value((const uint8_t *)buf, strlen(buf), &iv);
    assert_false(iv.malformed);
    assert_int_equal(strlen(iv.params[0].value), 511);
    strcat(buf, "v");
    mpic_caa_parse_issue_value((const uint8_t *)buf, strlen(buf), &iv);
    assert_true(iv.malformed);
}

static void caa_oversized_accounturi_never_matches_truncated(void **state)
{
    (void)state;
    char value[700];
    char account[600];
    strcpy(account, "https://ca.example/acct/");
    repeat_into(account + strlen(account), 520, '1');
    snprintf(value, sizeof value, "ca.example; accounturi=%s", account);
    struct mpic_caa_record r = { 0, (const uint8_t *)"issue", 5, (const uint8_t *)value, strlen(value) };
    const char *ours[] = { "ca.example" };
    struct mpic_caa_query q = { .issuer_domains = ours, .n_issuer_domains = 1 };
    /* The truncated 511-octet prefix must not match either. */
    account[511] = '\0';
    q.account_uri = account;
    assert_false(mpic_caa_evaluate(&r, 1, &q).permitted);
}

/* ---- presentation format ---- */

static void check_format(uint8_t flags, const uint8_t *tag, size_t tag_len, const uint8_t *value, size_t value_len,
                         const char *want)
{
    struct mpic_caa_record r = { flags, tag, tag_len, value, value_len };
    char *s = mpic_caa_record_format(&r);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
}

#define FMT(flags, tag, value, want) \
    check_format((flags), (const uint8_t *)(tag), sizeof(tag) - 1, (const uint8_t *)(value), sizeof(value) - 1, (want))

static void caa_format_plain_record(void **state)
{
    (void)state;
    FMT(0, "issue", "ca.example", "0 issue \"ca.example\"");
    FMT(128, "tbs", "Unknown", "128 tbs \"Unknown\"");
    FMT(255, "IsSuE", "ca.example; x=y", "255 IsSuE \"ca.example; x=y\"");
    FMT(5, "iodef", "", "5 iodef \"\"");
}

static void caa_format_escapes_quote_and_backslash(void **state)
{
    (void)state;
    FMT(0, "issue", "a\"b\\c", "0 issue \"a\\\"b\\\\c\"");
    FMT(0, "issue", "<script>alert(\"x\")</script>", "0 issue \"<script>alert(\\\"x\\\")</script>\"");
}

static void caa_format_escapes_binary_as_decimal(void **state)
{
    (void)state;
    FMT(0, "issue", "\x00\x01\x7f\x80\xff\n\t~ ", "0 issue \"\\000\\001\\127\\128\\255\\010\\009~ \"");
}

static void caa_format_escapes_unprintable_tag(void **state)
{
    (void)state;
    FMT(128, "a b", "x", "128 a\\032b \"x\"");
    FMT(128, "t\x00\xff", "x", "128 t\\000\\255 \"x\"");
    FMT(128, "t\"\\", "x", "128 t\\\"\\\\ \"x\"");
    FMT(128, "", "x", "128  \"x\"");
}

static void caa_format_long_binary_value(void **state)
{
    (void)state;
    size_t n = 70000;
    uint8_t *v = malloc(n);
    assert_non_null(v);
    memset(v, 0xff, n);
    struct mpic_caa_record r = { 0, (const uint8_t *)"issue", 5, v, n };
    char *s = mpic_caa_record_format(&r);
    assert_non_null(s);
    assert_int_equal(strlen(s), strlen("0 issue \"\"") + 4 * n);
    free(s);
    free(v);
}

/* ---- tree climbing names ---- */

static void expect_climb(const char *target, size_t max, int want_n, const char *const *want)
{
    char *names[16] = { 0 };
    int n = mpic_caa_climb_names(target, names, max);
    if (n != want_n)
        print_error("FAIL climb \"%s\": got %d names, want %d\n", target, n, want_n);
    assert_int_equal(n, want_n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(names[i], want[i]);
        free(names[i]);
    }
}

static void caa_climb_from_target_to_tld(void **state)
{
    (void)state;
    const char *want[] = { "www.sub.example.com", "sub.example.com", "example.com", "com" };
    expect_climb("www.sub.example.com", 16, 4, want);
}

static void caa_climb_strips_wildcard_label(void **state)
{
    (void)state;
    const char *want[] = { "example.com", "com" };
    expect_climb("*.example.com", 16, 2, want);
}

static void caa_climb_single_label_tld_included(void **state)
{
    (void)state;
    const char *want[] = { "com" };
    expect_climb("com", 16, 1, want);
}

static void caa_climb_names_lower_cased(void **state)
{
    (void)state;
    const char *want[] = { "www.example.com", "example.com", "com" };
    expect_climb("WWW.Example.COM", 16, 3, want);
}

static void caa_climb_respects_max(void **state)
{
    (void)state;
    const char *want[] = { "a.b.c", "b.c", "c" };
    expect_climb("a.b.c", 3, 3, want);
    expect_climb("a.b.c", 2, -1, NULL);
    expect_climb("a", 0, -1, NULL);
}

static void caa_climb_rejects_bad_names(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", ".", "*", "*.", "..", ".example.com", "example.com.", "example..com", "*.*.example.com",
        "a.*.com", "*.example.com.",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_climb(bad[i], 16, -1, NULL);
    char *names[4];
    assert_int_equal(mpic_caa_climb_names(NULL, names, 4), -1);
}

static void caa_climb_rejects_overlong_label_and_name(void **state)
{
    (void)state;
    char buf[300];
    repeat_into(buf, 63, 'a');
    strcat(buf, ".com");
    const char *want[] = { buf, "com" };
    expect_climb(buf, 16, 2, want);
    repeat_into(buf, 64, 'a');
    strcat(buf, ".com");
    expect_climb(buf, 16, -1, NULL);
    repeat_into(buf, 254, 'a');
    for (size_t i = 1; i < 254; i += 2)
        buf[i] = '.';
    expect_climb(buf, 200, -1, NULL);
}

/* ---- relevant level selection ---- */

#define E MPIC_CAA_LEVEL_EMPTY
#define REC MPIC_CAA_LEVEL_RECORDS
#define ERR MPIC_CAA_LEVEL_ERROR
#define PEN MPIC_CAA_LEVEL_PENDING

struct select_case {
    const char *name;
    size_t n;
    enum mpic_caa_level levels[5];
    int want;
};

static const struct select_case select_cases[] = {
    { "select_no_levels_is_empty", 0, { E }, MPIC_CAA_SELECT_EMPTY },
    { "select_all_empty_is_empty", 3, { E, E, E }, MPIC_CAA_SELECT_EMPTY },
    { "select_records_at_target", 3, { REC, E, E }, 0 },
    { "select_records_one_up", 3, { E, REC, E }, 1 },
    { "select_records_two_up", 3, { E, E, REC }, 2 },
    { "select_child_records_shadow_parent", 3, { E, REC, REC }, 1 },
    { "select_error_at_target_fails", 3, { ERR, REC, E }, MPIC_CAA_SELECT_ERROR },
    { "select_error_below_records_fails", 3, { E, ERR, REC }, MPIC_CAA_SELECT_ERROR },
    { "select_error_when_rest_empty_fails", 3, { E, E, ERR }, MPIC_CAA_SELECT_ERROR },
    { "select_error_above_records_ignored", 3, { REC, ERR, E }, 0 },
    { "select_pending_above_records_ignored", 3, { E, REC, PEN }, 1 },
    { "select_pending_below_records_waits", 3, { PEN, REC, E }, MPIC_CAA_SELECT_PENDING },
    { "select_pending_with_rest_empty_waits", 3, { E, E, PEN }, MPIC_CAA_SELECT_PENDING },
    { "select_pending_then_error_waits", 3, { PEN, ERR, E }, MPIC_CAA_SELECT_PENDING },
    { "select_error_then_pending_fails", 3, { ERR, PEN, REC }, MPIC_CAA_SELECT_ERROR },
    { "select_empty_error_pending_fails", 4, { E, ERR, PEN, REC }, MPIC_CAA_SELECT_ERROR },
    { "select_all_pending_waits", 3, { PEN, PEN, PEN }, MPIC_CAA_SELECT_PENDING },
    { "select_records_with_everything_after", 5, { E, E, REC, ERR, PEN }, 2 },
};

static void caa_select_level_table(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof select_cases / sizeof select_cases[0]; i++) {
        const struct select_case *c = &select_cases[i];
        int got = mpic_caa_select_level(c->levels, c->n);
        if (got != c->want) {
            print_error("FAIL %s: got %d, want %d\n", c->name, got, c->want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void caa_select_level_null_list_is_empty(void **state)
{
    (void)state;
    assert_int_equal(mpic_caa_select_level(NULL, 0), MPIC_CAA_SELECT_EMPTY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(caa_evaluation_table),
        cmocka_unit_test(caa_issuer_only_denials_flip_when_issuer_added),
        cmocka_unit_test(caa_structural_denials_stay_denied),
        cmocka_unit_test(caa_value_with_nul_octet_is_malformed),
        cmocka_unit_test(caa_tag_with_nul_octet_is_unknown),
        cmocka_unit_test(caa_large_rrset_evaluated_in_full),
        cmocka_unit_test(caa_reason_text_covers_every_reason),
        cmocka_unit_test(caa_parse_table),
        cmocka_unit_test(caa_parse_limits_fail_closed),
        cmocka_unit_test(caa_oversized_accounturi_never_matches_truncated),
        cmocka_unit_test(caa_format_plain_record),
        cmocka_unit_test(caa_format_escapes_quote_and_backslash),
        cmocka_unit_test(caa_format_escapes_binary_as_decimal),
        cmocka_unit_test(caa_format_escapes_unprintable_tag),
        cmocka_unit_test(caa_format_long_binary_value),
        cmocka_unit_test(caa_climb_from_target_to_tld),
        cmocka_unit_test(caa_climb_strips_wildcard_label),
        cmocka_unit_test(caa_climb_single_label_tld_included),
        cmocka_unit_test(caa_climb_names_lower_cased),
        cmocka_unit_test(caa_climb_respects_max),
        cmocka_unit_test(caa_climb_rejects_bad_names),
        cmocka_unit_test(caa_climb_rejects_overlong_label_and_name),
        cmocka_unit_test(caa_select_level_table),
        cmocka_unit_test(caa_select_level_null_list_is_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
