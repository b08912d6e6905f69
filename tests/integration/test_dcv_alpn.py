"""acme-tls-alpn-01 against the web lab's responders (tests/lab/tls-alpn-responder.sh), one
variant per address, named alpn-VARIANT.dcv.example.test. Session cluster (conftest.py).
Every responder's certificate carries SHA-256 of the same key authorization."""
import hashlib

import pytest

from conftest import describe

KEYAUTH = "lab-alpn-token.LabThumbprint0123456789"   # tests/lab/web-lab.sh ALPN_KEYAUTH
HASH = hashlib.sha256(KEYAUTH.encode()).hexdigest()
CERT = "mpic_error:dcv_checker:tls_alpn:certificate:"


def alpn(cluster, target, key_hash=HASH):
    return cluster.mpic({"check_type": "dcv", "domain_or_ip_target": target,
                         "dcv_check_parameters": {"validation_method": "acme-tls-alpn-01",
                                                  "key_authorization_hash": key_hash}})


def responses(r):
    assert r.status_code == 200, describe(r)
    return [(p["perspective_code"], p["check_response"]) for p in r.body["perspectives"]]


def test_alpn_ok_passes_with_common_name(cluster):
    r = alpn(cluster, "alpn-ok.dcv.example.test")
    assert r.body["is_valid"] is True, describe(r)
    for code, cr in responses(r):
        assert cr["check_completed"] and cr["check_passed"] and cr["errors"] is None, f"{code}: {cr}"
        assert cr["details"] == {"validation_method": "acme-tls-alpn-01", "common_name": "alpn-ok.dcv.example.test"}


def test_alpn_other_key_authorization_is_hash_mismatch(cluster):
    r = alpn(cluster, "alpn-ok.dcv.example.test", hashlib.sha256(b"another.keyauth").hexdigest())
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in responses(r):
        assert cr["check_completed"] is True and cr["check_passed"] is False, f"{code}: {cr}"
        assert [e["error_type"] for e in cr["errors"]] == [CERT + "hash_mismatch"], f"{code}: {cr}"


@pytest.mark.parametrize("variant,reason", [
    ("no-critical", "extension_not_critical"),
    ("two-sans", "san_count"),
    ("wrong-hash", "hash_mismatch"),
    ("no-alpn", "alpn_not_negotiated"),
    ("wrong-san", "san_mismatch"),
    ("no-ext", "extension_missing"),
])
def test_alpn_failure_variant_has_its_error_type(cluster, variant, reason):
    r = alpn(cluster, f"alpn-{variant}.dcv.example.test")
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in responses(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is True and cr["check_passed"] is False, where
        assert [e["error_type"] for e in cr["errors"]] == [CERT + reason], where
        assert cr["details"]["common_name"] == f"alpn-{variant}.dcv.example.test", where


def test_alpn_nothing_listening_is_a_connect_failure(cluster):
    r = alpn(cluster, "alpn-closed.dcv.example.test")
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in responses(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is False and cr["check_passed"] is False, where
        assert [e["error_type"] for e in cr["errors"]] == ["mpic_error:dcv_checker:tls_alpn:connect"], where
        assert cr["details"]["common_name"] is None, where


def test_alpn_nxdomain_is_a_lookup_failure(cluster):
    """The address lookup shared with HTTP (addr_lookup.h) names the rcode, NXDOMAIN included."""
    r = alpn(cluster, "alpn-none.dcv.example.test")
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in responses(r):
        assert cr["check_completed"] is False, f"{code}: {cr}"
        assert [e["error_type"] for e in cr["errors"]] == ["mpic_error:dcv_checker:lookup"], f"{code}: {cr}"
        assert "A lookup for alpn-none.dcv.example.test failed: NXDOMAIN" in cr["errors"][0]["error_message"], \
            f"{code}: {cr}"
