"""Every DCV method end to end through the orchestrator, against the lab's zones and web lab.

Uses the session cluster (conftest.py: port 18080, DNS lab 127.0.60.1, web lab 127.0.60.11).
The fixtures are described in tests/lab/README.md ("DCV"): H below is the base64url SHA-256 the
zones hold at _acme-challenge.dcv.example.test and elsewhere. For every method: it passes, a
wrong value fails, and a missing record / page fails; plus the wildcard rules. Every 200 and 400
body goes through Cluster.mpic(), which validates it against spec/openapi.yaml.
"""
import base64
import json
import os
import re
import subprocess

import pytest

from conftest import REPO, describe

H = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
OTHER_H = "AAAAcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
KEYAUTH = "lab-token-ok.LabThumbprint0123456789"   # tests/lab/webroot/.well-known/acme-challenge/lab-token-ok
HTTP_TARGET = "http.dcv.example.test"
ACCOUNT = "https://example.com/acme/acct/ExampleAccount"   # label _ujmmovf2vn55tgye
ISSUER = "ca.example.net"
ACCT = "https://ca.example.net/acct/123"
LOOKUP = "mpic_error:dcv_checker:lookup"
HTTP_ERROR = "mpic_error:http"


def dcv(cluster, target, method, **params):
    return cluster.mpic({"check_type": "dcv", "domain_or_ip_target": target,
                         "dcv_check_parameters": dict(validation_method=method, **params)})


def responses(r):
    assert r.status_code == 200, describe(r)
    assert r.body["check_type"] == "dcv", describe(r)
    return [(p["perspective_code"], p["check_response"]) for p in r.body["perspectives"]]


def assert_passes(r):
    assert r.body is not None and r.body.get("is_valid") is True, describe(r)
    for code, cr in responses(r):
        assert cr["check_completed"] is True and cr["check_passed"] is True, f"{code}: {cr}"
        assert cr["errors"] is None, f"{code}: {cr}"
    return [cr["details"] for _, cr in responses(r)]


def assert_fails(r, completed=True, error_type=None):
    """is_valid false; every perspective failed the same way (completed or not, and with
    error_type as its only error when given)."""
    assert r.body is not None and r.body.get("is_valid") is False, describe(r)
    for code, cr in responses(r):
        where = f"{code}: {cr}"
        assert cr["check_passed"] is False, where
        assert cr["check_completed"] is completed, where
        if error_type is not None:
            assert cr["errors"] and [e["error_type"] for e in cr["errors"]] == [error_type], where
    return [cr["details"] for _, cr in responses(r)]


def assert_400(r, issue_type):
    assert r.status_code == 400, describe(r)
    assert issue_type in [i["issue_type"] for i in r.body["validation_issues"]], describe(r)


# ---- acme-http-01 -------------------------------------------------------------------------

def test_http01_passes_with_trailing_newline_stripped(cluster):
    r = dcv(cluster, HTTP_TARGET, "acme-http-01", token="lab-token-ok", key_authorization=KEYAUTH)
    for d in assert_passes(r):
        assert d["validation_method"] == "acme-http-01"
        assert d["response_url"] == f"http://{HTTP_TARGET}/.well-known/acme-challenge/lab-token-ok"
        assert d["response_status_code"] == 200
        assert d["response_history"] is None
        assert base64.b64decode(d["response_page"]) == (KEYAUTH + "\n").encode()
    assert r.body["dcv_check_parameters"] == {"validation_method": "acme-http-01", "token": "lab-token-ok",
                                             "key_authorization": KEYAUTH, "http_headers": None}


def test_http01_other_key_authorization_fails(cluster):
    r = dcv(cluster, HTTP_TARGET, "acme-http-01", token="lab-token-wrong", key_authorization=KEYAUTH)
    for d in assert_fails(r):
        assert d["response_status_code"] == 200


def test_http01_missing_token_404_fails_with_http_error(cluster):
    r = dcv(cluster, HTTP_TARGET, "acme-http-01", token="lab-token-missing", key_authorization=KEYAUTH)
    for d in assert_fails(r, error_type=HTTP_ERROR):
        assert d["response_status_code"] == 404


def test_http01_nxdomain_target_is_a_lookup_failure(cluster):
    r = dcv(cluster, "nohttp.dcv.example.test", "acme-http-01", token="lab-token-ok", key_authorization=KEYAUTH)
    assert_fails(r, completed=False, error_type=LOOKUP)


def test_http01_ip_target(cluster):
    web_ip = cluster.lab_ip.rsplit(".", 1)[0] + "." + str(int(cluster.lab_ip.rsplit(".", 1)[1]) * 10 + 1)
    r = dcv(cluster, web_ip, "acme-http-01", token="lab-token-ok", key_authorization=KEYAUTH)
    for d in assert_passes(r):
        assert d["response_url"] == f"http://{web_ip}/.well-known/acme-challenge/lab-token-ok"


# ---- acme-dns-01 --------------------------------------------------------------------------

def test_dns01_passes_beside_an_unrelated_value(cluster):
    r = dcv(cluster, "dcv.example.test", "acme-dns-01", key_authorization_hash=H)
    for d in assert_passes(r):
        assert sorted(d["records_seen"]) == sorted([H, "an-unrelated-token"])
        assert d["found_at"] == "_acme-challenge.dcv.example.test"
        assert d["response_code"] == 0 and d["ad_flag"] is True and d["cname_chain"] is None


def test_dns01_split_character_strings_are_joined(cluster):
    for d in assert_passes(dcv(cluster, "dcvsplit.example.test", "acme-dns-01", key_authorization_hash=H)):
        assert d["records_seen"] == [H]


def test_dns01_through_cname_chain_reports_it(cluster):
    for d in assert_passes(dcv(cluster, "dcvcname.example.test", "acme-dns-01", key_authorization_hash=H)):
        assert d["cname_chain"] == ["dcv-hop1.other.test.", "dcv-hop2.other.test."]
        assert d["ad_flag"] is False   # other.test is unsigned


def test_dns01_wrong_value_fails(cluster):
    for d in assert_fails(dcv(cluster, "dcv.example.test", "acme-dns-01", key_authorization_hash=OTHER_H)):
        assert H in d["records_seen"]


def test_dns01_missing_record_fails(cluster):
    for d in assert_fails(dcv(cluster, "dcvmissing.example.test", "acme-dns-01", key_authorization_hash=H)):
        assert d["records_seen"] == [] and d["response_code"] == 3


def test_dns01_wildcard_uses_the_base_name(cluster):
    for d in assert_passes(dcv(cluster, "*.dcv.example.test", "acme-dns-01", key_authorization_hash=H)):
        assert d["found_at"] == "_acme-challenge.dcv.example.test"


# ---- dns-account-01 -----------------------------------------------------------------------

def test_dns_account01_passes_at_account_label(cluster):
    r = dcv(cluster, "dcv.example.test", "dns-account-01", key_authorization_hash=H, account_uri=ACCOUNT)
    for d in assert_passes(r):
        assert d["found_at"] == "_ujmmovf2vn55tgye._acme-challenge.dcv.example.test"


def test_dns_account01_wrong_value_fails(cluster):
    assert_fails(dcv(cluster, "dcv.example.test", "dns-account-01", key_authorization_hash=OTHER_H, account_uri=ACCOUNT))


def test_dns_account01_other_account_label_is_missing(cluster):
    r = dcv(cluster, "dcv.example.test", "dns-account-01", key_authorization_hash=H,
            account_uri="https://example.com/acme/acct/OtherAccount")
    for d in assert_fails(r):
        assert d["records_seen"] == []
        assert d["found_at"] != "_ujmmovf2vn55tgye._acme-challenge.dcv.example.test"


def test_dns_account01_wildcard_uses_the_base_name(cluster):
    r = dcv(cluster, "*.dcv.example.test", "dns-account-01", key_authorization_hash=H, account_uri=ACCOUNT)
    for d in assert_passes(r):
        assert d["found_at"] == "_ujmmovf2vn55tgye._acme-challenge.dcv.example.test"


# ---- website-change -----------------------------------------------------------------------

def test_website_change_passes(cluster):
    r = dcv(cluster, HTTP_TARGET, "website-change", http_token_path="lab-change.txt", challenge_value="ChallengeValue-123")
    for d in assert_passes(r):
        assert d["response_url"] == f"http://{HTTP_TARGET}/.well-known/pki-validation/lab-change.txt"
    assert r.body["dcv_check_parameters"]["url_scheme"] == "http"
    assert r.body["dcv_check_parameters"]["require_exact_case"] is True


def test_website_change_wrong_value_fails(cluster):
    assert_fails(dcv(cluster, HTTP_TARGET, "website-change", http_token_path="lab-change.txt",
                     challenge_value="ChallengeValue-999"))


def test_website_change_missing_page_404_fails(cluster):
    r = dcv(cluster, HTTP_TARGET, "website-change", http_token_path="nothing.txt", challenge_value="ChallengeValue-123")
    for d in assert_fails(r, error_type=HTTP_ERROR):
        assert d["response_status_code"] == 404


def test_website_change_case_is_exact_by_default(cluster):
    assert_fails(dcv(cluster, HTTP_TARGET, "website-change", http_token_path="lab-change.txt",
                     challenge_value="challengevalue-123"))
    assert_passes(dcv(cluster, HTTP_TARGET, "website-change", http_token_path="lab-change.txt",
                      challenge_value="challengevalue-123", require_exact_case=False))


def test_website_change_match_regex(cluster):
    assert_passes(dcv(cluster, HTTP_TARGET, "website-change", http_token_path="lab-change.txt",
                      challenge_value="ChallengeValue-123", match_regex=r"^Lab website change: \S+ \(for [a-z.]+\)"))
    assert_fails(dcv(cluster, HTTP_TARGET, "website-change", http_token_path="lab-change.txt",
                     challenge_value="ChallengeValue-123", match_regex=r"^No such line"))


def test_website_change_https_scheme(cluster):
    # https-only.txt is 404 over http and the page over https (self-signed: not verified).
    r = dcv(cluster, HTTP_TARGET, "website-change", http_token_path="https-only.txt",
            challenge_value="ChallengeValue-456", url_scheme="https")
    for d in assert_passes(r):
        assert d["response_url"] == f"https://{HTTP_TARGET}/.well-known/pki-validation/https-only.txt"
    assert_fails(dcv(cluster, HTTP_TARGET, "website-change", http_token_path="https-only.txt",
                     challenge_value="ChallengeValue-456"), error_type=HTTP_ERROR)


def test_website_change_any_2xx_passes_but_500_fails(cluster):
    for d in assert_passes(dcv(cluster, HTTP_TARGET, "website-change", http_token_path="status-202.txt",
                               challenge_value="ChallengeValue-123")):
        assert d["response_status_code"] == 202
    for d in assert_fails(dcv(cluster, HTTP_TARGET, "website-change", http_token_path="status-500.txt",
                              challenge_value="ChallengeValue-123"), error_type=HTTP_ERROR):
        assert d["response_status_code"] == 500


def test_website_change_follows_redirect(cluster):
    r = dcv(cluster, HTTP_TARGET, "website-change", http_token_path="redirect.txt", challenge_value="ChallengeValue-123")
    for d in assert_passes(r):
        assert d["response_history"] == [
            {"status_code": 302, "url": f"http://{HTTP_TARGET}/.well-known/pki-validation/redirect.txt"}]


# ---- dns-change ---------------------------------------------------------------------------

def test_dns_change_txt_substring_passes(cluster):
    r = dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="TXT", challenge_value="ChallengeValue-123")
    for d in assert_passes(r):
        assert d["found_at"] == "dcv.example.test"
        assert d["records_seen"] == ["prefix-ChallengeValue-123-suffix"]


def test_dns_change_exact_match_refuses_substring(cluster):
    assert_fails(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="TXT",
                     challenge_value="ChallengeValue-123", require_exact_match=True))
    for d in assert_passes(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="TXT",
                               dns_name_prefix="_dnschange", challenge_value="ChallengeValue-123",
                               require_exact_match=True)):
        assert d["found_at"] == "_dnschange.dcv.example.test"


def test_dns_change_wrong_value_fails(cluster):
    assert_fails(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="TXT", challenge_value="ChallengeValue-999"))


def test_dns_change_missing_record_fails(cluster):
    for d in assert_fails(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="TXT",
                              dns_name_prefix="_nothing", challenge_value="ChallengeValue-123")):
        assert d["records_seen"] == [] and d["found_at"] == "_nothing.dcv.example.test"


def test_dns_change_case(cluster):
    assert_fails(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="TXT", challenge_value="challengevalue-123"))
    assert_passes(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="TXT",
                      challenge_value="challengevalue-123", require_exact_case=False))


def test_dns_change_caa(cluster):
    for d in assert_passes(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="CAA",
                               dns_name_prefix="_caachange", challenge_value="ChallengeValue-123")):
        assert d["records_seen"] == ['0 tbs "ChallengeValue-123"']
    assert_fails(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="CAA",
                     dns_name_prefix="_caachange", challenge_value="ChallengeValue-999"))


def test_dns_change_cname(cluster):
    # knot serves names inside RDATA in lower case (tests/lab/README.md), so the CNAME target
    # the agents see is challengevalue-123.validation.other.test.
    for d in assert_passes(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="CNAME",
                               dns_name_prefix="_cnamechange", challenge_value="ChallengeValue-123",
                               require_exact_case=False)):
        assert d["records_seen"] == ["challengevalue-123.validation.other.test."]
    assert_fails(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="CNAME",
                     dns_name_prefix="_cnamechange", challenge_value="ChallengeValue-999", require_exact_case=False))
    assert_fails(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="CNAME",
                     dns_name_prefix="_dnschange", challenge_value="ChallengeValue-123", require_exact_case=False))


def test_dns_change_cname_exact_match_with_or_without_final_dot(cluster):
    for value in ("challengevalue-123.validation.other.test", "challengevalue-123.validation.other.test."):
        assert_passes(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="CNAME",
                          dns_name_prefix="_cnamechange", challenge_value=value, require_exact_match=True))
    assert_fails(dcv(cluster, "dcv.example.test", "dns-change", dns_record_type="CNAME", dns_name_prefix="_cnamechange",
                     challenge_value="challengevalue-123.validation.other", require_exact_match=True))


# ---- contact-*-txt ------------------------------------------------------------------------
# Methods the BRs retire on a date run on the open-mpic-reference cluster from that date on
# (conftest.for_method); test_phase.py checks the cabf-br refusal.

@pytest.mark.parametrize("method,value,wrong", [
    ("contact-email-txt", "dcv-admin@example.test", "someone-else@example.test"),
    ("contact-phone-txt", "+1-555-0100", "+1-555-0199"),
])
def test_contact_txt(for_method, method, value, wrong):
    cluster = for_method(method)
    label = "_validation-contactemail" if "email" in method else "_validation-contactphone"
    for d in assert_passes(dcv(cluster, "dcv.example.test", method, challenge_value=value)):
        assert d["found_at"] == f"{label}.dcv.example.test"
        assert d["records_seen"] == [value]
    assert_fails(dcv(cluster, "dcv.example.test", method, challenge_value=wrong))
    for d in assert_fails(dcv(cluster, "dcvmissing.example.test", method, challenge_value=value)):
        assert d["records_seen"] == []


def test_contact_email_txt_with_structure_around_the_address_fails(for_method):
    cluster = for_method("contact-email-txt")
    # "email: dcv-admin@example.test": the whole RDATA must be the address (BR Appendix A).
    assert_fails(dcv(cluster, "dcvbad.example.test", "contact-email-txt", challenge_value="dcv-admin@example.test"))


# ---- contact-*-caa ------------------------------------------------------------------------

@pytest.mark.parametrize("method,value,wrong", [
    ("contact-email-caa", "dcv-admin@example.test", "someone-else@example.test"),
    ("contact-phone-caa", "+1-555-0100", "+1-555-0199"),
])
def test_contact_caa_climbs_the_tree(for_method, method, value, wrong):
    cluster = for_method(method)
    for d in assert_passes(dcv(cluster, "a.b.contactdcv.example.test", method, challenge_value=value)):
        assert d["found_at"] == "contactdcv.example.test"
    assert_fails(dcv(cluster, "a.b.contactdcv.example.test", method, challenge_value=wrong))
    # example.test's relevant CAA RRset has only an issue record: no contact at all.
    assert_fails(dcv(cluster, "www.example.test", method, challenge_value=value))


# ---- ip-address ---------------------------------------------------------------------------

def test_ip_address_a_passes(cluster):
    for d in assert_passes(dcv(cluster, "dcvip.example.test", "ip-address", dns_record_type="A",
                               challenge_value="127.0.0.2")):
        assert d["records_seen"] == ["127.0.0.2"]


def test_ip_address_aaaa_compared_as_addresses(cluster):
    assert_passes(dcv(cluster, "dcvip.example.test", "ip-address", dns_record_type="AAAA",
                      challenge_value="2001:0db8:0000::0078"))


def test_ip_address_wrong_value_fails(cluster):
    assert_fails(dcv(cluster, "dcvip.example.test", "ip-address", dns_record_type="A", challenge_value="127.0.0.3"))


def test_ip_address_missing_record_fails(cluster):
    # www.example.test has an A record but no AAAA.
    for d in assert_fails(dcv(cluster, "www.example.test", "ip-address", dns_record_type="AAAA",
                              challenge_value="2001:db8::78")):
        assert d["records_seen"] == []


# ---- reverse-address-lookup ---------------------------------------------------------------
# 203.0.113.0/24 only names PTR records in the lab: nothing is ever sent to those addresses.

def test_reverse_lookup_passes(for_method):
    cluster = for_method("reverse-address-lookup")
    for d in assert_passes(dcv(cluster, "203.0.113.5", "reverse-address-lookup", challenge_value="dcv.example.test")):
        assert d["found_at"] == "5.113.0.203.in-addr.arpa"


def test_reverse_lookup_ipv6(for_method):
    cluster = for_method("reverse-address-lookup")
    assert_passes(dcv(cluster, "2001:db8::78", "reverse-address-lookup", challenge_value="dcvip.example.test"))


def test_reverse_lookup_wrong_value_fails(for_method):
    cluster = for_method("reverse-address-lookup")
    assert_fails(dcv(cluster, "203.0.113.5", "reverse-address-lookup", challenge_value="www.example.test"))


def test_reverse_lookup_missing_ptr_fails(for_method):
    cluster = for_method("reverse-address-lookup")
    for d in assert_fails(dcv(cluster, "203.0.113.7", "reverse-address-lookup", challenge_value="dcv.example.test")):
        assert d["records_seen"] == []


def test_reverse_lookup_needs_an_ip_target(for_method):
    cluster = for_method("reverse-address-lookup")
    assert_400(dcv(cluster, "dcv.example.test", "reverse-address-lookup", challenge_value="dcv.example.test"),
               "invalid-domain")


# ---- dns-persistent -----------------------------------------------------------------------

def persist(cluster, target, issuers=(ISSUER,), account=ACCT):
    return dcv(cluster, target, "dns-persistent", issuer_domain_names=list(issuers), expected_account_uri=account)


def test_persistent_passes_beside_another_cas_record(cluster):
    for d in assert_passes(persist(cluster, "dcv.example.test")):
        assert d["found_at"] == "_validation-persist.dcv.example.test"
        assert len(d["records_seen"]) == 2


def test_persistent_account_uri_is_case_sensitive(cluster):
    assert_fails(persist(cluster, "dcv.example.test", account="https://ca.example.net/ACCT/123"))


def test_persistent_issuer_not_ours_fails(cluster):
    assert_fails(persist(cluster, "dcv.example.test", issuers=["third-ca.example.com"]))


def test_persistent_missing_record_fails(cluster):
    for d in assert_fails(persist(cluster, "dcvmissing.example.test")):
        assert d["records_seen"] == []


def test_persistent_expired_persist_until_fails(cluster):
    assert_fails(persist(cluster, "dcvold.example.test"))


def test_persistent_wildcard_with_policy_passes(cluster):
    for d in assert_passes(persist(cluster, "*.dcvwild.example.test")):
        assert d["found_at"] == "_validation-persist.dcvwild.example.test"


def test_persistent_wildcard_without_policy_fails(cluster):
    assert_fails(persist(cluster, "*.dcv.example.test"))


# ---- wildcard rules at the orchestrator -----------------------------------------------------

@pytest.mark.parametrize("method,params", [
    ("acme-http-01", {"token": "lab-token-ok", "key_authorization": KEYAUTH}),
    ("acme-tls-alpn-01", {"key_authorization_hash": "00" * 32}),
    ("website-change", {"http_token_path": "lab-change.txt", "challenge_value": "ChallengeValue-123"}),
    ("ip-address", {"dns_record_type": "A", "challenge_value": "127.0.0.2"}),
])
def test_wildcard_refused_for_methods_that_cannot_cover_it(cluster, method, params):
    assert_400(dcv(cluster, "*.dcv.example.test", method, **params), "invalid-domain")


# ---- the README example ---------------------------------------------------------------------

def test_readme_dcv_examples_work(cluster):
    """tests/lab/README.md's DCV example commands, run as written with the cluster's env."""
    text = (REPO / "tests" / "lab" / "README.md").read_text()
    block = re.search(r"<!-- dcv-example -->\n```bash\n(.*?)```\n<!-- /dcv-example -->", text, re.S)
    assert block, "no dcv-example block in tests/lab/README.md"
    env = dict(os.environ, MPIC_URL=cluster.url, MPIC_API_KEY=cluster.api_key)
    p = subprocess.run(["bash", "-c", block.group(1)], env=env, stdout=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 0
    answers = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    assert len(answers) == 2, p.stdout
    for a in answers:
        assert a["check_type"] == "dcv" and a["is_valid"] is True, a
    assert len(answers[1]["perspectives"][0]["check_response"]["details"]["response_history"]) == 4
