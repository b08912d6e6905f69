/* Unit tests for the DCV matching rules (common/dcv.c) and the method table
 * (common/dcv_method.c). Each rule is a table of cases named for what they
 * check; one loop per table reports every failing case by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dcv.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Reports a failing case by name and lets the loop go on, so one run lists
 * every broken case; the test fails at the end if any did. */
static int report(const char *table, const char *name, const char *detail)
{
    print_error("%s: case %s failed%s%s\n", table, name, detail[0] != '\0' ? ": " : "", detail);
    return 1;
}

/* ---- method table ---- */

static void method_names_round_trip(void **state)
{
    (void)state;
    static const char *const names[MPIC_DCV_METHOD_COUNT] = {
        "acme-http-01", "acme-dns-01", "acme-tls-alpn-01", "website-change", "dns-change",
        "contact-email-txt", "contact-phone-txt", "contact-email-caa", "contact-phone-caa",
        "ip-address", "reverse-address-lookup", "dns-persistent", "dns-account-01",
    };
    for (unsigned i = 0; i < MPIC_DCV_METHOD_COUNT; i++) {
        enum mpic_dcv_method m;
        assert_string_equal(mpic_dcv_method_name((enum mpic_dcv_method)i), names[i]);
        assert_int_equal(mpic_dcv_method_parse(names[i], &m), 0);
        assert_int_equal(m, i);
    }
}

static void method_parse_rejects_unknown_and_case_variants(void **state)
{
    (void)state;
    static const char *const bad[] = { "", "http-01", "ACME-HTTP-01", "acme-http-01 ", "dns_change", "dns-persist-01" };
    enum mpic_dcv_method m;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_int_equal(mpic_dcv_method_parse(bad[i], &m), -1);
    assert_int_equal(mpic_dcv_method_parse(NULL, &m), -1);
}

static void method_kinds_http_tls_dns(void **state)
{
    (void)state;
    for (unsigned i = 0; i < MPIC_DCV_METHOD_COUNT; i++) {
        enum mpic_dcv_kind want = MPIC_DCV_KIND_DNS;
        if (i == MPIC_DCV_ACME_HTTP_01 || i == MPIC_DCV_WEBSITE_CHANGE)
            want = MPIC_DCV_KIND_HTTP;
        else if (i == MPIC_DCV_ACME_TLS_ALPN_01)
            want = MPIC_DCV_KIND_TLS_ALPN;
        assert_int_equal(mpic_dcv_method_kind((enum mpic_dcv_method)i), want);
    }
}

static void rrtype_names_are_presentation_mnemonics(void **state)
{
    (void)state;
    assert_string_equal(mpic_dcv_rrtype_name(MPIC_RR_A), "A");
    assert_string_equal(mpic_dcv_rrtype_name(MPIC_RR_AAAA), "AAAA");
    assert_string_equal(mpic_dcv_rrtype_name(MPIC_RR_CNAME), "CNAME");
    assert_string_equal(mpic_dcv_rrtype_name(MPIC_RR_TXT), "TXT");
    assert_string_equal(mpic_dcv_rrtype_name(MPIC_RR_CAA), "CAA");
}

static void params_free_clears_everything(void **state)
{
    (void)state;
    struct mpic_dcv_params p = { 0 };
    p.token = strdup("t");
    p.challenge_value = strdup("v");
    p.issuer_domain_names.v = calloc(2, sizeof(char *));
    assert_non_null(p.issuer_domain_names.v);
    p.issuer_domain_names.v[0] = strdup("ca.example");
    p.issuer_domain_names.v[1] = strdup("ca2.example");
    p.issuer_domain_names.n = 2;
    mpic_dcv_params_free(&p);
    assert_null(p.token);
    assert_null(p.issuer_domain_names.v);
    mpic_dcv_params_free(&p); /* a cleared set frees again safely */
}

/* ---- acme-http-01 body rule ---- */

struct http01_case {
    const char *name;
    const char *body;
    size_t len; /* 0: strlen(body) */
    const char *key_authorization;
    bool match;
};

static const struct http01_case http01_cases[] = {
    { "http01_exact_body_matches", "tok.thumb", 0, "tok.thumb", true },
    { "http01_trailing_lf_trimmed", "tok.thumb\n", 0, "tok.thumb", true },
    { "http01_trailing_crlf_trimmed", "tok.thumb\r\n", 0, "tok.thumb", true },
    { "http01_trailing_sp_htab_mix_trimmed", "tok.thumb \t\r\n \n", 0, "tok.thumb", true },
    { "http01_leading_space_not_trimmed", " tok.thumb", 0, "tok.thumb", false },
    { "http01_leading_newline_not_trimmed", "\ntok.thumb", 0, "tok.thumb", false },
    { "http01_trailing_vtab_not_whitespace", "tok.thumb\v", 0, "tok.thumb", false },
    { "http01_trailing_nul_not_trimmed", "tok.thumb\0", 10, "tok.thumb", false },
    { "http01_prefix_of_key_authorization_fails", "tok.thu", 0, "tok.thumb", false },
    { "http01_extra_content_fails", "tok.thumb.extra", 0, "tok.thumb", false },
    { "http01_case_differs_fails", "TOK.thumb", 0, "tok.thumb", false },
    { "http01_empty_body_fails", "", 0, "tok.thumb", false },
    { "http01_whitespace_only_body_fails", " \n", 0, "tok.thumb", false },
    { "http01_empty_key_authorization_never_matches", "\n", 0, "", false },
    { "http01_length_bounds_body", "tok.thumbXYZ", 9, "tok.thumb", true },
};

static void http01_rules(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < ARRAY_LEN(http01_cases); i++) {
        const struct http01_case *c = &http01_cases[i];
        size_t len = c->len != 0 ? c->len : strlen(c->body);
        if (mpic_dcv_http01_match(c->body, len, c->key_authorization) != c->match)
            failed += report("http01", c->name, "");
    }
    assert_false(mpic_dcv_http01_match(NULL, 0, "x"));
    assert_false(mpic_dcv_http01_match("x", 1, NULL));
    assert_int_equal(failed, 0);
}

/* ---- TXT join ---- */

static void txt_join_concatenates_without_separator(void **state)
{
    (void)state;
    const uint8_t *s[] = { (const uint8_t *)"abc", (const uint8_t *)"", (const uint8_t *)"def" };
    size_t l[] = { 3, 0, 3 };
    char *j = mpic_dcv_txt_join(s, l, 3);
    assert_non_null(j);
    assert_string_equal(j, "abcdef");
    free(j);
}

static void txt_join_of_no_strings_is_empty(void **state)
{
    (void)state;
    char *j = mpic_dcv_txt_join(NULL, NULL, 0);
    assert_non_null(j);
    assert_string_equal(j, "");
    free(j);
}

static void txt_join_keeps_spaces_inside_strings(void **state)
{
    (void)state;
    const uint8_t *s[] = { (const uint8_t *)"a ", (const uint8_t *)" b" };
    size_t l[] = { 2, 2 };
    char *j = mpic_dcv_txt_join(s, l, 2);
    assert_non_null(j);
    assert_string_equal(j, "a  b");
    free(j);
}

static void txt_join_refuses_nul_octet(void **state)
{
    (void)state;
    /* "abc\0xyz" would read as "abc" and pass an exact match for "abc". */
    const uint8_t *s[] = { (const uint8_t *)"abc\0xyz" };
    size_t l[] = { 7 };
    assert_null(mpic_dcv_txt_join(s, l, 1));
}

/* ---- dns-change / website-change value rule ---- */

struct value_case {
    const char *name;
    const char *observed;
    const char *expected;
    bool exact;
    bool exact_case;
    bool match;
};

static const struct value_case value_cases[] = {
    { "value_substring_case_sensitive_found", "xx-Chal-xx", "Chal", false, true, true },
    { "value_substring_case_sensitive_wrong_case_fails", "xx-chal-xx", "Chal", false, true, false },
    { "value_substring_case_insensitive_found", "xx-CHAL-xx", "chal", false, false, true },
    { "value_substring_at_end_found", "prefix-chal", "chal", false, true, true },
    { "value_substring_absent_fails", "prefix-cha", "chal", false, false, false },
    { "value_substring_longer_than_observed_fails", "ch", "chal", false, false, false },
    { "value_exact_equal_matches", "chal", "chal", true, true, true },
    { "value_exact_with_extra_fails", "chal ", "chal", true, true, false },
    { "value_exact_case_differs_fails", "CHAL", "chal", true, true, false },
    { "value_exact_case_insensitive_matches", "CHAL", "chal", true, false, true },
    { "value_exact_case_insensitive_extra_fails", "CHALx", "chal", true, false, false },
    { "value_empty_expected_never_matches_substring", "anything", "", false, false, false },
    { "value_empty_expected_never_matches_exact", "", "", true, true, false },
    { "value_fold_is_ascii_only", "\xc3\x89", "\xc3\xa9", true, false, false },
    { "value_non_ascii_equal_bytes_match", "x\xc3\xa9x", "\xc3\xa9", false, false, true },
};

static void value_rules(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < ARRAY_LEN(value_cases); i++) {
        const struct value_case *c = &value_cases[i];
        if (mpic_dcv_value_match(c->observed, c->expected, c->exact, c->exact_case) != c->match)
            failed += report("value", c->name, "");
    }
    assert_false(mpic_dcv_value_match(NULL, "x", false, false));
    assert_false(mpic_dcv_value_match("x", NULL, false, false));
    assert_int_equal(failed, 0);
}

/* ---- ip-address ---- */

struct ip_case {
    const char *name;
    const char *observed;
    const char *expected;
    bool match;
};

static const struct ip_case ip_cases[] = {
    { "ip_v4_same_address", "203.0.113.7", "203.0.113.7", true },
    { "ip_v4_different_address", "203.0.113.7", "203.0.113.8", false },
    { "ip_v6_compressed_equals_expanded", "2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", true },
    { "ip_v6_hex_case_ignored", "2001:DB8::A", "2001:db8::a", true },
    { "ip_v6_different_address", "2001:db8::1", "2001:db8::2", false },
    { "ip_v4_never_equals_v4_mapped_v6", "203.0.113.7", "::ffff:203.0.113.7", false },
    { "ip_v4_mapped_v6_never_equals_v4", "::ffff:203.0.113.7", "203.0.113.7", false },
    { "ip_v4_never_equals_v4_compatible_v6", "203.0.113.7", "::203.0.113.7", false },
    { "ip_v6_mapped_spellings_equal", "::ffff:203.0.113.7", "::ffff:cb00:7107", true },
    { "ip_observed_not_literal_fails", "host.example", "203.0.113.7", false },
    { "ip_expected_not_literal_fails", "203.0.113.7", "host.example", false },
    { "ip_leading_zero_octet_rejected", "203.0.113.07", "203.0.113.7", false },
    { "ip_surrounding_space_rejected", " 203.0.113.7", "203.0.113.7", false },
    { "ip_short_v4_form_rejected", "127.1", "127.0.0.1", false },
    { "ip_v6_zone_rejected", "fe80::1%eth0", "fe80::1", false },
    { "ip_empty_fails", "", "", false },
};

static void ip_rules(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < ARRAY_LEN(ip_cases); i++) {
        const struct ip_case *c = &ip_cases[i];
        if (mpic_dcv_ip_match(c->observed, c->expected) != c->match)
            failed += report("ip", c->name, "");
    }
    assert_false(mpic_dcv_ip_match(NULL, "203.0.113.7"));
    assert_int_equal(failed, 0);
}

/* ---- base32 and the dns-account-01 label ---- */

struct b32_case {
    const char *name;
    const char *in;
    size_t n;
    const char *out;
};

static const struct b32_case b32_cases[] = {
    /* RFC 4648 §10 vectors, lower-cased and without padding */
    { "base32_rfc4648_empty", "", 0, "" },
    { "base32_rfc4648_1_byte", "f", 1, "my" },
    { "base32_rfc4648_2_bytes", "fo", 2, "mzxq" },
    { "base32_rfc4648_3_bytes", "foo", 3, "mzxw6" },
    { "base32_rfc4648_4_bytes", "foob", 4, "mzxw6yq" },
    { "base32_rfc4648_5_bytes_one_block", "fooba", 5, "mzxw6ytb" },
    { "base32_rfc4648_6_bytes", "foobar", 6, "mzxw6ytboi" },
    { "base32_all_zero_bits", "\0\0\0\0\0", 5, "aaaaaaaa" },
    { "base32_all_one_bits", "\xff\xff\xff\xff\xff", 5, "77777777" },
    { "base32_10_bytes_two_blocks", "\xff\xff\xff\xff\xff\0\0\0\0\0", 10, "77777777aaaaaaaa" },
    { "base32_single_ff_last_bits_padded_with_zero", "\xff", 1, "74" },
};

static void base32_rules(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < ARRAY_LEN(b32_cases); i++) {
        const struct b32_case *c = &b32_cases[i];
        char buf[64];
        size_t n = mpic_dcv_base32((const uint8_t *)c->in, c->n, buf, sizeof buf);
        if (n != strlen(c->out) || strcmp(buf, c->out) != 0)
            failed += report("base32", c->name, buf);
    }
    assert_int_equal(failed, 0);
}

static void base32_buffer_exactly_fits(void **state)
{
    (void)state;
    char buf[11]; /* 6 bytes -> 10 characters + NUL */
    assert_int_equal(mpic_dcv_base32((const uint8_t *)"foobar", 6, buf, sizeof buf), 10);
    assert_string_equal(buf, "mzxw6ytboi");
}

static void base32_buffer_one_short_refused(void **state)
{
    (void)state;
    char buf[10];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(mpic_dcv_base32((const uint8_t *)"foobar", 6, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
}

static void account_label_matches_draft_vector(void **state)
{
    (void)state;
    char buf[32];
    mpic_dcv_account_label("https://example.com/acme/acct/ExampleAccount", buf, sizeof buf);
    assert_string_equal(buf, "_ujmmovf2vn55tgye");
}

static void account_label_is_case_sensitive_in_uri(void **state)
{
    (void)state;
    char a[32], b[32];
    mpic_dcv_account_label("https://example.com/acme/acct/ExampleAccount", a, sizeof a);
    mpic_dcv_account_label("https://example.com/acme/acct/exampleaccount", b, sizeof b);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(b), 17);
    for (size_t i = 1; i < 17; i++)
        assert_true((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '2' && b[i] <= '7'));
}

static void account_label_needs_18_bytes(void **state)
{
    (void)state;
    char buf[18];
    mpic_dcv_account_label("https://example.com/acme/acct/ExampleAccount", buf, 17);
    assert_string_equal(buf, "");
    mpic_dcv_account_label("https://example.com/acme/acct/ExampleAccount", buf, 18);
    assert_string_equal(buf, "_ujmmovf2vn55tgye");
}

/* ---- contact addresses ---- */

struct contact_case {
    const char *name;
    const char *value;
    bool valid;
};

static const struct contact_case email_cases[] = {
    { "email_plain_address", "user@example.com", true },
    { "email_dotted_local_part", "first.last@example.com", true },
    { "email_plus_tag_and_subdomain", "user+tag@mail.example.co.uk", true },
    { "email_all_atext_specials", "!#$%&'*+-/=?^_`{|}~@example.com", true },
    { "email_uppercase_allowed", "User@Example.COM", true },
    { "email_quoted_local_with_space", "\"john doe\"@example.com", true },
    { "email_quoted_local_with_at", "\"a@b\"@example.com", true },
    { "email_quoted_pair_escaped_quote", "\"a\\\"b\"@example.com", true },
    { "email_rfc6532_utf8_local_part", "jos\xc3\xa9@example.com", true },
    { "email_rfc6532_utf8_local_and_u_label", "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", true },
    { "email_a_label_domain", "user@xn--bcher-kva.example", true },
    { "email_hyphen_inside_label", "user@my-host.example", true },
    { "email_digit_labels_with_alpha_tld", "user@123.example", true },
    { "email_local_64_octets", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com", true },
    { "email_label_63_octets", "u@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", true },
    { "email_empty", "", false },
    { "email_no_at", "user.example.com", false },
    { "email_empty_local", "@example.com", false },
    { "email_empty_domain", "user@", false },
    { "email_leading_space", " user@example.com", false },
    { "email_trailing_space", "user@example.com ", false },
    { "email_trailing_newline", "user@example.com\n", false },
    { "email_two_ats_unquoted", "user@host@example.com", false },
    { "email_leading_dot_local", ".user@example.com", false },
    { "email_trailing_dot_local", "user.@example.com", false },
    { "email_double_dot_local", "us..er@example.com", false },
    { "email_space_in_unquoted_local", "us er@example.com", false },
    { "email_comma_in_unquoted_local", "us,er@example.com", false },
    { "email_mailto_uri_not_address", "mailto:user@example.com", false },
    { "email_display_name_form_refused", "User <user@example.com>", false },
    { "email_single_label_domain", "user@localhost", false },
    { "email_numeric_tld", "user@10.0.0.1", false },
    { "email_address_literal_refused", "user@[10.0.0.1]", false },
    { "email_label_leading_hyphen", "user@-example.com", false },
    { "email_label_trailing_hyphen", "user@example-.com", false },
    { "email_empty_label", "user@example..com", false },
    { "email_leading_dot_domain", "user@.example.com", false },
    { "email_trailing_dot_domain", "user@example.com.", false },
    { "email_underscore_in_domain", "user@ex_ample.com", false },
    { "email_space_in_domain", "user@exa mple.com", false },
    { "email_local_65_octets", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com", false },
    { "email_label_64_octets", "u@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", false },
    { "email_empty_quoted_local", "\"\"@example.com", false },
    { "email_unterminated_quote", "\"user@example.com", false },
    { "email_quote_inside_quoted_unescaped", "\"a\"b\"@example.com", false },
    { "email_quoted_then_atext", "\"a\"b@example.com", false },
    { "email_control_char_in_quoted", "\"a\x01" "b\"@example.com", false },
    { "email_invalid_utf8", "\xc3\x28@example.com", false },
    { "email_overlong_utf8", "\xc0\xaf@example.com", false },
    { "email_utf16_surrogate", "\xed\xa0\x80@example.com", false },
    { "email_above_u10ffff", "\xf4\x90\x80\x80@example.com", false },
    { "email_truncated_utf8", "a\xe7\x94@example.com", false },
};

static const struct contact_case phone_cases[] = {
    { "phone_digits_only", "+15555550100", true },
    { "phone_spaces", "+1 555 555 0100", true },
    { "phone_hyphens", "+1-555-555-0100", true },
    { "phone_dots", "+1.555.555.0100", true },
    { "phone_parentheses", "+44 (20) 7946 0000", true },
    { "phone_one_digit", "+1", true },
    { "phone_15_digits_e164_max", "+123456789012345", true },
    { "phone_separator_before_first_digit", "+(1)555", true },
    { "phone_empty", "", false },
    { "phone_plus_only", "+", false },
    { "phone_separators_only", "+-().", false },
    { "phone_missing_plus", "15555550100", false },
    { "phone_double_plus", "++15555550100", false },
    { "phone_leading_space", " +15555550100", false },
    { "phone_trailing_space", "+15555550100 ", false },
    { "phone_extension_parameter", "+15555550100;ext=1", false },
    { "phone_tel_uri_not_number", "tel:+15555550100", false },
    { "phone_letter", "+1555555O100", false },
    { "phone_tab_separator", "+1\t5555550100", false },
    { "phone_16_digits", "+1234567890123456", false },
    { "phone_newline", "+15555550100\n", false },
};

static void contact_table(const char *table, const struct contact_case *cases, size_t n, bool (*fn)(const char *))
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (fn(cases[i].value) != cases[i].valid)
            failed += report(table, cases[i].name, cases[i].value);
    }
    assert_false(fn(NULL));
    assert_int_equal(failed, 0);
}

static void contact_email_rules(void **state)
{
    (void)state;
    contact_table("email", email_cases, ARRAY_LEN(email_cases), mpic_dcv_contact_email_valid);
}

static void contact_email_domain_255_octets_limit(void **state)
{
    (void)state;
    /* Domains of exactly D octets built from labels of at most 63 octets. */
    char buf[400];
    for (size_t d = 250; d <= 258; d++) {
        size_t pos = 0, rem = d;
        buf[pos++] = 'u';
        buf[pos++] = '@';
        while (rem > 63) {
            size_t l = rem == 64 ? 62 : 63;
            memset(buf + pos, 'a', l);
            pos += l;
            buf[pos++] = '.';
            rem -= l + 1;
        }
        memset(buf + pos, 'b', rem);
        pos += rem;
        buf[pos] = '\0';
        assert_int_equal(pos, d + 2);
        bool want = d <= 255;
        if (mpic_dcv_contact_email_valid(buf) != want)
            fail_msg("domain of %zu octets: expected %s", d, want ? "valid" : "invalid");
    }
}

static void contact_phone_rules(void **state)
{
    (void)state;
    contact_table("phone", phone_cases, ARRAY_LEN(phone_cases), mpic_dcv_contact_phone_valid);
}

/* ---- dns-persistent ---- */

#define NOW ((time_t)1800000000)
#define ACCT "https://ca.example/acct/123"

struct persist_case {
    const char *name;
    const char *txt;
    bool wildcard;
    time_t now;
    bool pass;
    const char *why; /* substring of the reason when it fails */
};

static const struct persist_case persist_cases[] = {
    { "persist_issuer_and_account_pass", "ca.example; accounturi=" ACCT, false, NOW, true, NULL },
    { "persist_issuer_compared_case_insensitively", "CA.Example; accounturi=" ACCT, false, NOW, true, NULL },
    { "persist_second_listed_issuer_passes", "ca2.example; accounturi=" ACCT, false, NOW, true, NULL },
    { "persist_whitespace_around_separators_allowed", "  ca.example ;  accounturi = " ACCT " ", false, NOW, true, NULL },
    { "persist_issuer_not_listed_fails", "other.example; accounturi=" ACCT, false, NOW, false, "issuer" },
    { "persist_issuer_suffix_not_enough", "sub.ca.example; accounturi=" ACCT, false, NOW, false, "issuer" },
    { "persist_empty_issuer_fails", "; accounturi=" ACCT, false, NOW, false, "issuer" },
    { "persist_empty_txt_fails", "", false, NOW, false, "issuer" },
    { "persist_accounturi_missing_fails", "ca.example", false, NOW, false, "accounturi" },
    { "persist_accounturi_missing_with_policy_fails", "ca.example; policy=wildcard", false, NOW, false, "accounturi" },
    { "persist_accounturi_host_case_differs_fails", "ca.example; accounturi=https://CA.example/acct/123", false, NOW,
      false, "accounturi" },
    { "persist_accounturi_path_case_differs_fails", "ca.example; accounturi=https://ca.example/Acct/123", false, NOW,
      false, "accounturi" },
    { "persist_accounturi_prefix_fails", "ca.example; accounturi=https://ca.example/acct/12", false, NOW, false,
      "accounturi" },
    { "persist_accounturi_longer_fails", "ca.example; accounturi=" ACCT "4", false, NOW, false, "accounturi" },
    { "persist_accounturi_empty_fails", "ca.example; accounturi=", false, NOW, false, "accounturi" },
    { "persist_parameter_names_case_insensitive", "ca.example; AccountURI=" ACCT "; PersistUntil=1800000000; POLICY=wildcard",
      true, NOW, true, NULL },
    { "persist_duplicate_accounturi_fails", "ca.example; accounturi=" ACCT "; accounturi=" ACCT, false, NOW, false,
      "more than once" },
    { "persist_duplicate_accounturi_other_case_fails", "ca.example; accounturi=" ACCT "; ACCOUNTURI=" ACCT, false, NOW,
      false, "more than once" },
    { "persist_duplicate_policy_fails", "ca.example; accounturi=" ACCT "; policy=wildcard; policy=wildcard", true, NOW,
      false, "more than once" },
    { "persist_duplicate_policy_fails_for_non_wildcard", "ca.example; accounturi=" ACCT "; policy=x; policy=y", false,
      NOW, false, "more than once" },
    { "persist_duplicate_persistuntil_fails",
      "ca.example; accounturi=" ACCT "; persistUntil=1900000000; persistuntil=1900000000", false, NOW, false,
      "more than once" },
    { "persist_until_equal_now_passes", "ca.example; accounturi=" ACCT "; persistUntil=1800000000", false, NOW, true,
      NULL },
    { "persist_until_now_plus_1_passes", "ca.example; accounturi=" ACCT "; persistUntil=1800000001", false, NOW, true,
      NULL },
    { "persist_until_now_minus_1_fails", "ca.example; accounturi=" ACCT "; persistUntil=1799999999", false, NOW, false,
      "past" },
    { "persist_until_zero_fails", "ca.example; accounturi=" ACCT "; persistUntil=0", false, NOW, false, "past" },
    { "persist_until_leading_zeros_still_decimal", "ca.example; accounturi=" ACCT "; persistUntil=01800000000", false,
      NOW, true, NULL },
    { "persist_until_non_integer_fails", "ca.example; accounturi=" ACCT "; persistUntil=tomorrow", false, NOW, false,
      "base-10" },
    { "persist_until_exponent_fails", "ca.example; accounturi=" ACCT "; persistUntil=18e8", false, NOW, false,
      "base-10" },
    { "persist_until_negative_fails", "ca.example; accounturi=" ACCT "; persistUntil=-1", false, NOW, false, "base-10" },
    { "persist_until_plus_sign_fails", "ca.example; accounturi=" ACCT "; persistUntil=+1900000000", false, NOW, false,
      "base-10" },
    { "persist_until_hex_fails", "ca.example; accounturi=" ACCT "; persistUntil=0x7fffffff", false, NOW, false,
      "base-10" },
    { "persist_until_empty_fails", "ca.example; accounturi=" ACCT "; persistUntil=", false, NOW, false, "base-10" },
    { "persist_until_overflowing_int64_fails", "ca.example; accounturi=" ACCT "; persistUntil=99999999999999999999",
      false, NOW, false, "base-10" },
    { "persist_until_int64_max_passes", "ca.example; accounturi=" ACCT "; persistUntil=9223372036854775807", false, NOW,
      true, NULL },
    { "persist_wildcard_without_policy_fails", "ca.example; accounturi=" ACCT, true, NOW, false, "policy" },
    { "persist_wildcard_with_policy_wildcard_passes", "ca.example; accounturi=" ACCT "; policy=wildcard", true, NOW, true,
      NULL },
    { "persist_wildcard_policy_value_case_insensitive", "ca.example; accounturi=" ACCT "; policy=WILDCARD", true, NOW,
      true, NULL },
    { "persist_wildcard_other_policy_fails", "ca.example; accounturi=" ACCT "; policy=fqdn", true, NOW, false, "policy" },
    { "persist_wildcard_policy_prefix_fails", "ca.example; accounturi=" ACCT "; policy=wildcards", true, NOW, false,
      "policy" },
    { "persist_non_wildcard_ignores_policy_value", "ca.example; accounturi=" ACCT "; policy=fqdn", false, NOW, true,
      NULL },
    { "persist_unknown_parameter_ignored", "ca.example; accounturi=" ACCT "; foo=bar", false, NOW, true, NULL },
    { "persist_repeated_unknown_parameter_ignored", "ca.example; foo=1; accounturi=" ACCT "; foo=2", false, NOW, true,
      NULL },
    { "persist_malformed_missing_semicolon", "ca.example accounturi=" ACCT, false, NOW, false, "issue-value" },
    { "persist_malformed_parameter_without_value_sign", "ca.example; accounturi", false, NOW, false, "issue-value" },
    { "persist_malformed_space_inside_value", "ca.example; accounturi=https://ca.example/acct/1 23", false, NOW, false,
      "issue-value" },
    { "persist_malformed_trailing_dot_issuer", "ca.example.; accounturi=" ACCT, false, NOW, false, "issue-value" },
    { "persist_malformed_trailing_semicolon", "ca.example; accounturi=" ACCT ";", false, NOW, false, "issue-value" },
    { "persist_malformed_quoted_value", "\"ca.example; accounturi=" ACCT "\"", false, NOW, false, "issue-value" },
};

static void persist_rules(void **state)
{
    (void)state;
    char *issuers[] = { "ca.example", "ca2.example" };
    struct mpic_strv iss = { issuers, 2 };
    int failed = 0;
    for (size_t i = 0; i < ARRAY_LEN(persist_cases); i++) {
        const struct persist_case *c = &persist_cases[i];
        char why[256];
        memset(why, 'x', sizeof why);
        bool got = mpic_dcv_persist_match(c->txt, &iss, ACCT, c->wildcard, c->now, why, sizeof why);
        if (got != c->pass)
            failed += report("persist", c->name, why);
        else if (!got && (why[0] == '\0' || (c->why != NULL && strstr(why, c->why) == NULL)))
            failed += report("persist", c->name, why);
    }
    assert_int_equal(failed, 0);
}

static void persist_no_issuer_domains_fails(void **state)
{
    (void)state;
    struct mpic_strv none = { NULL, 0 };
    assert_false(mpic_dcv_persist_match("ca.example; accounturi=" ACCT, &none, ACCT, false, NOW, NULL, 0));
    assert_false(mpic_dcv_persist_match("ca.example; accounturi=" ACCT, NULL, ACCT, false, NOW, NULL, 0));
}

static void persist_missing_expected_account_fails(void **state)
{
    (void)state;
    char *issuers[] = { "ca.example" };
    struct mpic_strv iss = { issuers, 1 };
    assert_false(mpic_dcv_persist_match("ca.example; accounturi=", &iss, "", false, NOW, NULL, 0));
    assert_false(mpic_dcv_persist_match("ca.example; accounturi=" ACCT, &iss, NULL, false, NOW, NULL, 0));
    assert_false(mpic_dcv_persist_match(NULL, &iss, ACCT, false, NOW, NULL, 0));
}

static void persist_why_is_bounded(void **state)
{
    (void)state;
    char *issuers[] = { "ca.example" };
    struct mpic_strv iss = { issuers, 1 };
    char why[8];
    memset(why, 'x', sizeof why);
    assert_false(mpic_dcv_persist_match("other.example; accounturi=" ACCT, &iss, ACCT, false, NOW, why, sizeof why));
    assert_int_equal(strlen(why), sizeof why - 1);
}

/* ---- website-change regex ---- */

struct regex_case {
    const char *name;
    const char *pattern;
    const char *subject;
    size_t len; /* 0: strlen(subject) */
    int result;
};

static const struct regex_case regex_cases[] = {
    { "regex_literal_found", "chal-[0-9]+", "xx chal-42 xx", 0, 1 },
    { "regex_not_found", "^chal-[0-9]+$", "xx chal-42 xx", 0, 0 },
    { "regex_case_sensitive_by_default", "CHAL", "chal", 0, 0 },
    { "regex_inline_case_insensitive", "(?i)CHAL", "chal", 0, 1 },
    { "regex_length_bounds_subject", "tail", "headtail", 4, 0 },
    { "regex_subject_may_contain_nul", "b$", "a\0b", 3, 1 },
    { "regex_bytes_not_utf8_still_match", "\xff", "a\xff", 0, 1 },
    { "regex_unbalanced_paren_is_error", "(chal", "chal", 0, -1 },
    { "regex_bad_quantifier_is_error", "*chal", "chal", 0, -1 },
    { "regex_utf_mode_refused", "(*UTF)chal", "chal", 0, -1 },
    /* About 2^20 backtracking steps: inside PCRE2's default budget (10^7),
     * outside ours (10^5), so this fails if our limit is not applied. */
    { "regex_budget_is_tighter_than_pcre2_default", "(a+)+$", "aaaaaaaaaaaaaaaaaaaab", 0, -1 },
};

static void regex_rules(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < ARRAY_LEN(regex_cases); i++) {
        const struct regex_case *c = &regex_cases[i];
        char why[256] = "";
        size_t len = c->len != 0 ? c->len : strlen(c->subject);
        int got = mpic_dcv_regex_match(c->pattern, c->subject, len, why, sizeof why);
        if (got != c->result || (got == -1 && why[0] == '\0'))
            failed += report("regex", c->name, why);
    }
    assert_int_equal(failed, 0);
}

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static void regex_catastrophic_backtracking_hits_limit_quickly(void **state)
{
    (void)state;
    char subject[64];
    memset(subject, 'a', sizeof subject - 2);
    subject[sizeof subject - 2] = 'b';
    subject[sizeof subject - 1] = '\0';
    char why[256] = "";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int got = mpic_dcv_regex_match("(a+)+$", subject, strlen(subject), why, sizeof why);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(got, -1);
    assert_non_null(strstr(why, "budget"));
    /* Generous for sanitizer builds; unbounded, this takes centuries. */
    assert_true(elapsed_ms(&t0, &t1) < 1000.0);
}

static void regex_null_subject_is_empty(void **state)
{
    (void)state;
    assert_int_equal(mpic_dcv_regex_match("^$", NULL, 0, NULL, 0), 1);
    assert_int_equal(mpic_dcv_regex_match(NULL, "x", 1, NULL, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(method_names_round_trip),
        cmocka_unit_test(method_parse_rejects_unknown_and_case_variants),
        cmocka_unit_test(method_kinds_http_tls_dns),
        cmocka_unit_test(rrtype_names_are_presentation_mnemonics),
        cmocka_unit_test(params_free_clears_everything),
        cmocka_unit_test(http01_rules),
        cmocka_unit_test(txt_join_concatenates_without_separator),
        cmocka_unit_test(txt_join_of_no_strings_is_empty),
        cmocka_unit_test(txt_join_keeps_spaces_inside_strings),
        cmocka_unit_test(txt_join_refuses_nul_octet),
        cmocka_unit_test(value_rules),
        cmocka_unit_test(ip_rules),
        cmocka_unit_test(base32_rules),
        cmocka_unit_test(base32_buffer_exactly_fits),
        cmocka_unit_test(base32_buffer_one_short_refused),
        cmocka_unit_test(account_label_matches_draft_vector),
        cmocka_unit_test(account_label_is_case_sensitive_in_uri),
        cmocka_unit_test(account_label_needs_18_bytes),
        cmocka_unit_test(contact_email_rules),
        cmocka_unit_test(contact_email_domain_255_octets_limit),
        cmocka_unit_test(contact_phone_rules),
        cmocka_unit_test(persist_rules),
        cmocka_unit_test(persist_no_issuer_domains_fails),
        cmocka_unit_test(persist_missing_expected_account_fails),
        cmocka_unit_test(persist_why_is_bounded),
        cmocka_unit_test(regex_rules),
        cmocka_unit_test(regex_catastrophic_backtracking_hits_limit_quickly),
        cmocka_unit_test(regex_null_subject_is_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
