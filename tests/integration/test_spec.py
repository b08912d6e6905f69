"""spec/openapi.yaml itself: loadable, well-formed schemas, and strict enough to catch a bad body.

These need no cluster."""
import copy
import decimal

import jsonschema
import pytest

import schema

DOC_EXAMPLE = {
    "mpic_completed": True,
    "request_orchestration_parameters": None,
    "actual_orchestration_parameters": {"perspective_count": 6, "quorum_count": 4, "attempt_count": 1},
    "check_type": "caa", "domain_or_ip_target": "example.com", "is_valid": True, "trace_identifier": None,
    "perspectives": [{"perspective_code": "us-west-2", "check_response": {
        "check_completed": True, "check_passed": True, "errors": None, "timestamp_ns": 1736247778402104091,
        "check_type": "caa", "details": {"caa_record_present": True, "found_at": "example.com",
                                         "records_seen": ["0 issue \"ca.example\""]}}}],
    "caa_check_parameters": {"certificate_type": "tls-server", "caa_domains": ["ca.example"]},
    "previous_attempt_results": None,
}


def test_spec_loads_with_safe_load_as_openapi_3_1():
    spec = schema.load_spec()
    assert spec["openapi"].startswith("3.1")
    for path in ("/v1/mpic", "/mpic"):
        op = spec["paths"][path]["post"]
        assert set(op["responses"]) >= {"200", "400", "403", "413", "500"}
    assert "get" in spec["paths"]["/healthz"]


def test_mpic_paths_require_api_key_in_x_api_key_header():
    spec = schema.load_spec()
    scheme = spec["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "x-api-key")
    assert spec["security"] == [{"ApiKey": []}]
    for path in ("/v1/mpic", "/mpic"):
        assert "security" not in spec["paths"][path]["post"]


@pytest.mark.parametrize("name", sorted(schema.load_spec()["components"]["schemas"]))
def test_component_schema_is_valid_draft_2020_12(name):
    jsonschema.Draft202012Validator.check_schema(schema.load_spec()["components"]["schemas"][name])
    schema.validator(name)   # every $ref resolves when the validator is first used below


def test_doc_example_response_validates():
    schema.assert_valid("MpicResponse", DOC_EXAMPLE)
    schema.assert_key_order(DOC_EXAMPLE)


@pytest.mark.parametrize("mutate, why", [
    (lambda b: b.update(extra=1), "stray top-level key"),
    (lambda b: b.pop("previous_attempt_results"), "missing top-level key"),
    (lambda b: b["perspectives"][0].update(rir="ARIN"), "stray perspective key"),
    (lambda b: b["perspectives"][0]["check_response"].pop("errors"), "missing errors"),
    (lambda b: b["perspectives"][0]["check_response"].update(timestamp_ns=decimal.Decimal("1.736247778402104e18")),
     "float literal timestamp (bodies are parsed with parse_float=Decimal)"),
    (lambda b: b["perspectives"][0]["check_response"]["details"].update(extra=None), "stray details key"),
    (lambda b: b["perspectives"][0]["check_response"]["details"].pop("found_at"), "missing found_at"),
    (lambda b: b["actual_orchestration_parameters"].update(max_attempts=1), "stray actual key"),
    (lambda b: b.update(request_orchestration_parameters={"perspective_count": 3}), "partial echo"),
    (lambda b: b.update(caa_check_parameters={"certificate_type": "tls-server"}), "missing caa_domains"),
    (lambda b: b.update(previous_attempt_results=[{"perspective_code": "x"}]), "attempts not nested"),
    (lambda b: b.update(perspectives=[{"perspective_code": "us-west-2", "check_passed": True}]), "flat perspective"),
    (lambda b: b.update(dcv_check_parameters=None), "dcv key in caa answer"),
])
def test_response_schema_rejects_malformed_body(mutate, why):
    body = copy.deepcopy(DOC_EXAMPLE)
    mutate(body)
    assert schema.schema_errors("MpicResponse", body), f"schema accepted a body with a {why}"


def test_validation_error_schema_needs_at_least_one_issue():
    ok = {"error": "request-validation-failed",
          "validation_issues": [{"issue_type": "invalid-json", "message": "body is not JSON"}]}
    schema.assert_valid("ValidationError", ok)
    assert schema.schema_errors("ValidationError", dict(ok, validation_issues=[]))
    assert schema.schema_errors("ValidationError", dict(ok, error="bad"))
    assert schema.schema_errors("ValidationError", dict(ok, detail="x"))


def test_forbidden_schema_is_exact():
    schema.assert_valid("Forbidden", {"message": "Forbidden"})
    assert schema.schema_errors("Forbidden", {"message": "forbidden"})
    assert schema.schema_errors("Forbidden", {"message": "Forbidden", "code": 403})


def test_request_schema_defaults_and_dcv_requirement():
    schema.assert_valid("MpicRequest", {"domain_or_ip_target": "example.com", "unknown": 1})
    assert schema.schema_errors("MpicRequest", {"check_type": "CAA", "domain_or_ip_target": "x.example"})
    assert schema.schema_errors("MpicRequest", {"check_type": "dcv", "domain_or_ip_target": "x.example"})
    assert schema.schema_errors("MpicRequest", {"check_type": "caa"})
    schema.assert_valid("MpicRequest", {
        "check_type": "caa", "domain_or_ip_target": "x.example",
        "caa_check_parameters": {"certificate_type": "s-mime", "caa_domains": ["ca.example"],
                                 "account_uri": "https://ca.example/acct/1", "validation_method": "acme-dns-01"}})
    assert schema.schema_errors("MpicRequest", {
        "check_type": "dcv", "domain_or_ip_target": "x.example",
        "dcv_check_parameters": {"validation_method": "acme-http-01", "token": "t"}})


def test_key_order_check_rejects_reordered_body():
    body = copy.deepcopy(DOC_EXAMPLE)
    body = {"is_valid": body.pop("is_valid"), **body}
    with pytest.raises(AssertionError):
        schema.assert_key_order(body)
    body = copy.deepcopy(DOC_EXAMPLE)
    cr = body["perspectives"][0]["check_response"]
    body["perspectives"][0]["check_response"] = {"check_passed": cr.pop("check_passed"), **cr}
    with pytest.raises(AssertionError):
        schema.assert_key_order(body)
