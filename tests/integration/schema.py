"""Validation of bodies against spec/openapi.yaml.

The spec's component schemas are JSON Schema 2020-12 and refer to each other with
`#/components/schemas/NAME`. jsonschema 4.10 has no `referencing` registry yet, so a
RefResolver whose referrer is the whole OpenAPI document resolves those pointers.
"""
import functools
import pathlib

import jsonschema
import yaml

SPEC_PATH = pathlib.Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"

# The exact wire order of keys (open-mpic-api.md, "Response (200)"); schemas only check the set.
RESPONSE_KEY_ORDER = {
    "caa": ["mpic_completed", "request_orchestration_parameters", "actual_orchestration_parameters",
            "check_type", "domain_or_ip_target", "is_valid", "trace_identifier", "perspectives",
            "caa_check_parameters", "previous_attempt_results"],
    "dcv": ["mpic_completed", "request_orchestration_parameters", "actual_orchestration_parameters",
            "check_type", "domain_or_ip_target", "is_valid", "trace_identifier", "perspectives",
            "dcv_check_parameters", "previous_attempt_results"],
}
PERSPECTIVE_KEY_ORDER = ["perspective_code", "check_response"]
CHECK_RESPONSE_KEY_ORDER = ["check_completed", "check_passed", "errors", "timestamp_ns",
                            "check_type", "details"]
CAA_DETAILS_KEY_ORDER = ["caa_record_present", "found_at", "records_seen"]
ACTUAL_PARAMS_KEY_ORDER = ["perspective_count", "quorum_count", "attempt_count"]
REQUEST_PARAMS_KEY_ORDER = ["perspective_count", "quorum_count", "max_attempts"]
CAA_PARAMS_KEY_ORDER = ["certificate_type", "caa_domains"]


@functools.lru_cache(maxsize=1)
def load_spec():
    with open(SPEC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolver(spec=None):
    """A RefResolver that resolves '#/components/...' against the OpenAPI document."""
    spec = load_spec() if spec is None else spec
    return jsonschema.RefResolver(base_uri="", referrer=spec)


@functools.lru_cache(maxsize=None)
def validator(name):
    """Draft 2020-12 validator for components.schemas[name] with refs resolved."""
    spec = load_spec()
    if name not in spec["components"]["schemas"]:
        raise KeyError(f"spec/openapi.yaml has no components.schemas.{name}")
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}"}, resolver=resolver(spec))


def schema_errors(name, instance):
    """All validation errors of instance against schema `name`, as readable strings."""
    errs = sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    out = []
    for e in errs:
        where = "/".join(str(p) for p in e.absolute_path) or "<root>"
        out.append(f"{where}: {e.message}")
        for sub in (e.context or [])[:6]:
            subwhere = "/".join(str(p) for p in sub.absolute_path) or "<root>"
            out.append(f"    ({subwhere}: {sub.message})")
    return out


def response_schema_name(body):
    """The 200 schema to check a body against: the CAA or DCV shape by its check_type, so
    that errors name the failing key instead of a bare oneOf mismatch."""
    kind = body.get("check_type") if isinstance(body, dict) else None
    return {"caa": "MpicCaaResponse", "dcv": "MpicDcvResponse"}.get(kind, "MpicResponse")


def assert_valid(name, instance):
    errs = schema_errors(name, instance)
    assert not errs, f"body does not match {name}:\n" + "\n".join(errs) + f"\nbody: {instance!r}"


def _order(obj, expected, where):
    keys = list(obj.keys())
    assert keys == expected, f"{where}: key order {keys} != expected {expected}"


def assert_key_order(body):
    """Check the wire order of a 200 body's keys (top level, parameters, perspectives)."""
    kind = body.get("check_type")
    _order(body, RESPONSE_KEY_ORDER.get(kind, RESPONSE_KEY_ORDER["caa"]), "response")
    if isinstance(body.get("actual_orchestration_parameters"), dict):
        _order(body["actual_orchestration_parameters"], ACTUAL_PARAMS_KEY_ORDER,
               "actual_orchestration_parameters")
    if isinstance(body.get("request_orchestration_parameters"), dict):
        echoed = body["request_orchestration_parameters"]
        # spec 3.7's cohort_for_single_attempt follows the 1.3.0 keys, only when the request sent it
        extra = ["cohort_for_single_attempt"] if "cohort_for_single_attempt" in echoed else []
        _order(echoed, REQUEST_PARAMS_KEY_ORDER + extra, "request_orchestration_parameters")
    if isinstance(body.get("caa_check_parameters"), dict):
        _order(body["caa_check_parameters"], CAA_PARAMS_KEY_ORDER, "caa_check_parameters")
    cohorts = [("perspectives", body.get("perspectives") or [])]
    for i, attempt in enumerate(body.get("previous_attempt_results") or []):
        cohorts.append((f"previous_attempt_results[{i}]", attempt))
    for label, cohort in cohorts:
        for j, p in enumerate(cohort):
            where = f"{label}[{j}]"
            _order(p, PERSPECTIVE_KEY_ORDER, where)
            cr = p["check_response"]
            _order(cr, CHECK_RESPONSE_KEY_ORDER, where + ".check_response")
            if kind == "caa" and isinstance(cr.get("details"), dict):
                _order(cr["details"], CAA_DETAILS_KEY_ORDER, where + ".check_response.details")

