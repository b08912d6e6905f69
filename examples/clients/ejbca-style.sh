#!/usr/bin/env bash
# An EJBCA-style MPIC client in shell + curl: the request EJBCA's MPIC Validator sends for CAA
# (POST <endpoint>, header x-api-key, body {"check_type":"caa","domain_or_ip_target":...}), and
# the decision it takes: only is_valid counts. docs/conformance.md describes it.
# usage: ejbca-style.sh ENDPOINT API_KEY DOMAIN   (ENDPOINT e.g. http://127.0.0.1:8080/v1/mpic)
# exit: 0 valid, 1 not valid, 2 error (usage, transport, any answer but HTTP 200 with is_valid).
set -u
if [ $# -ne 3 ]; then
  echo "usage: $0 ENDPOINT API_KEY DOMAIN" >&2
  exit 2
fi
endpoint=$1 key=$2 domain=$3

# JSON string escaping of the one value we put in the body (jq is not assumed to be installed).
json_string() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}
body="{\"check_type\":\"caa\",\"domain_or_ip_target\":$(json_string "$domain")}"

# The key goes in a header file on stdin (-H @-) so it never shows in the process list.
out=$(printf 'x-api-key: %s\n' "$key" |
      curl -sS --max-time 60 -X POST -H @- -H 'Content-Type: application/json' \
           --data-binary "$body" -w '\n%{http_code}' "$endpoint") || { echo "$domain: error: request failed" >&2; exit 2; }
status=${out##*$'\n'}
answer=${out%$'\n'*}
if [ "$status" != 200 ]; then
  echo "$domain: error: HTTP $status: $answer" >&2
  exit 2
fi
# is_valid is a top-level boolean; the first occurrence of the key is the top-level one, because
# the response writes it before the perspectives (which hold check_passed, never is_valid).
valid=$(printf '%s' "$answer" | grep -o '"is_valid" *: *\(true\|false\)' | head -n 1 | grep -o 'true\|false')
case "$valid" in
  true)  echo "$domain: valid"; exit 0 ;;
  false) echo "$domain: not valid"; exit 1 ;;
  *)     echo "$domain: error: no is_valid in the answer: $answer" >&2; exit 2 ;;
esac
