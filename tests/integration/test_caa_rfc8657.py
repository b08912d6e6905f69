"""RFC 8657 through the whole cluster: caa_check_parameters.account_uri and .validation_method (our
extensions) against records carrying accounturi / validationmethods (lab zone example.test: acct, vm)."""
import pytest

from conftest import describe


def caa(cluster, target, **params):
    body = {"check_type": "caa", "domain_or_ip_target": target}
    if params:
        body["caa_check_parameters"] = params
    r = cluster.mpic(body)
    assert r.status_code == 200, describe(r)
    return r.body


@pytest.mark.parametrize("params,valid", [
    ({}, False),                                                         # unknown account: unsatisfiable
    ({"account_uri": "https://ca.example.net/acct/123"}, True),
    ({"account_uri": "https://ca.example.net/acct/1234"}, False),         # exact string compare
    ({"account_uri": "HTTPS://ca.example.net/acct/123"}, False),
])
def test_accounturi_binds_the_record_to_one_account(cluster, params, valid):
    body = caa(cluster, "acct.example.test", **params)
    assert body["is_valid"] is valid, body
    assert body["perspectives"][0]["check_response"]["details"]["records_seen"] == [
        '0 issue "ca.example.net; accounturi=https://ca.example.net/acct/123"']


@pytest.mark.parametrize("params,valid", [
    ({}, False),                                                         # method unknown: unsatisfiable
    ({"validation_method": "acme-dns-01"}, True),
    ({"validation_method": "acme-http-01"}, True),
    ({"validation_method": "acme-tls-alpn-01"}, False),
    ({"validation_method": "dns-persistent"}, False),
])
def test_validationmethods_limits_the_methods(cluster, params, valid):
    assert caa(cluster, "vm.example.test", **params)["is_valid"] is valid


def test_rfc8657_parameters_do_not_matter_without_restricting_records(cluster):
    body = caa(cluster, "example.test", account_uri="https://other.example/acct/9", validation_method="acme-tls-alpn-01")
    assert body["is_valid"] is True
    # The response echoes only the contract's caa_check_parameters keys, never our extensions.
    assert body["caa_check_parameters"] == {"certificate_type": "tls-server", "caa_domains": None}


def test_unknown_validation_method_name_is_a_400(cluster):
    r = cluster.mpic({"check_type": "caa", "domain_or_ip_target": "vm.example.test",
                      "caa_check_parameters": {"validation_method": "http-01"}})
    assert r.status_code == 400, describe(r)
    assert r.body["validation_issues"][0]["issue_type"] == "invalid-validation-method"
