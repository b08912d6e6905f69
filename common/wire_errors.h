/* The wire vocabulary of failures, in one place: the error_type of a
 * check_response's errors (what a perspective or the coordinator reports)
 * and the issue_type of a 400's validation_issues (what was wrong with a
 * request). Clients match on these strings, so each is spelt once, here.
 * String literals, so that they concatenate and initialise statics. */
#ifndef MPIC_WIRE_ERRORS_H
#define MPIC_WIRE_ERRORS_H

/* check_response.errors[].error_type. The names follow open-mpic-core's
 * (mpic_error:<component>:<what>). */
#define MPIC_ERR_COORDINATOR_REMOTE_CHECK "mpic_error:coordinator:remote_check"   /* perspective lost */
#define MPIC_ERR_CAA_LOOKUP "mpic_error:caa_checker:lookup"
#define MPIC_ERR_CAA_LOOKUP_FAILURE_PERMITTED "mpic_error:caa_checker:lookup_failure_permitted"   /* BR 3.2.2.8 */
#define MPIC_ERR_DCV_LOOKUP "mpic_error:dcv_checker:lookup"
#define MPIC_ERR_DCV_PARAMETER "mpic_error:dcv_checker:parameter"
#define MPIC_ERR_HTTP "mpic_error:http"
#define MPIC_ERR_REDIRECT_INVALID "mpic_error:redirect:invalid"
#define MPIC_ERR_TLS_ALPN_TARGET_REFUSED "mpic_error:dcv_checker:tls_alpn:target_refused"
#define MPIC_ERR_TLS_ALPN_CONNECT "mpic_error:dcv_checker:tls_alpn:connect"
/* reason: a string literal such as "san_count" or "hash_mismatch". */
#define MPIC_ERR_TLS_ALPN_CERTIFICATE(reason) "mpic_error:dcv_checker:tls_alpn:certificate:" reason
#define MPIC_ERR_LAB_BEHAVIOUR "mpic_error:lab_behaviour"   /* lab builds only */

/* The error of a 400 body, and the issue_type of its validation_issues[]. */
#define MPIC_REQUEST_VALIDATION_FAILED "request-validation-failed"
#define MPIC_ISSUE_INVALID_JSON "invalid-json"
#define MPIC_ISSUE_MISSING_FIELD "missing-field"
#define MPIC_ISSUE_INVALID_CHECK_TYPE "invalid-check-type"
#define MPIC_ISSUE_INVALID_DOMAIN "invalid-domain"
#define MPIC_ISSUE_INVALID_ORCHESTRATION_PARAMETERS "invalid-orchestration-parameters"
#define MPIC_ISSUE_INVALID_PERSPECTIVE_COUNT "invalid-perspective-count"
#define MPIC_ISSUE_INVALID_QUORUM_COUNT "invalid-quorum-count"
#define MPIC_ISSUE_INVALID_MAX_ATTEMPTS "invalid-max-attempts"
#define MPIC_ISSUE_INVALID_COHORT "invalid-cohort-for-single-attempt"
#define MPIC_ISSUE_INVALID_TRACE_IDENTIFIER "invalid-trace-identifier"
#define MPIC_ISSUE_INVALID_CAA_CHECK_PARAMETERS "invalid-caa-check-parameters"
#define MPIC_ISSUE_INVALID_CERTIFICATE_TYPE "invalid-certificate-type"
#define MPIC_ISSUE_INVALID_CAA_DOMAINS "invalid-caa-domains"
#define MPIC_ISSUE_INVALID_ACCOUNT_URI "invalid-account-uri"
#define MPIC_ISSUE_INVALID_VALIDATION_METHOD "invalid-validation-method"
#define MPIC_ISSUE_INVALID_ALLOW_LOOKUP_FAILURE "invalid-allow-lookup-failure"
#define MPIC_ISSUE_UNKNOWN_VALIDATION_METHOD "unknown-validation-method"
#define MPIC_ISSUE_INVALID_DCV_PARAMETER "invalid-dcv-parameter"
#define MPIC_ISSUE_EMPTY_CHALLENGE_VALUE "empty-challenge-value"
#define MPIC_ISSUE_POLICY_MINIMUM_PERSPECTIVES "policy-minimum-perspectives"
#define MPIC_ISSUE_POLICY_METHOD_SUNSET "policy-method-sunset"

#endif
