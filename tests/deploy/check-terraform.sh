#!/usr/bin/env bash
# Offline checks of deploy/terraform (no providers, no cloud, no network):
#  1. tfcheck (tests/deploy/tfcheck, built with Debian's Go from Debian's HCL sources):
#     every .tf/.tfvars parses and is formatted, every .tftpl parses, variables and locals
#     are declared and used, module calls and templatefile() calls match what they call;
#  2. the daemon configurations and cloud-init documents rendered from
#     deploy/terraform/examples/*.tfvars by the module's own templates: the YAML parses,
#     and `mpic-orchestrator -t` / `mpic-agent -t` accept the configurations (with
#     throwaway certificates from scripts/gen-certs.sh);
#  3. a self-test: tfcheck refuses a misformatted file, an undeclared variable and a
#     module argument the child does not declare.
# usage: tests/deploy/check-terraform.sh [BUILD_DIR]   (default: build; needs the daemons)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
TF="$ROOT/deploy/terraform"
TFCHECK="$BUILD/tfcheck"

src="$ROOT/tests/deploy/tfcheck/main.go"
if [ ! -x "$TFCHECK" ] || [ "$src" -nt "$TFCHECK" ]; then
    # GOPATH mode over Debian's packaged Go sources: no module download, ever.
    (cd "$ROOT/tests/deploy/tfcheck" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off \
        GOCACHE="$BUILD/go-cache" go build -o "$TFCHECK" .)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for tfvars in "$TF"/examples/*.tfvars; do
    out="$work/$(basename "$tfvars" .tfvars)"
    "$TFCHECK" "$TF" "$tfvars" "$out" \
        orchestrator_config=orchestrator/orchestrator.json agent_configs=agents/%s/agent.json \
        orchestrator_user_data=orchestrator/user-data.yaml agent_user_data=agents/%s/user-data.yaml
    python3 - "$out"/orchestrator/user-data.yaml "$out"/agents/*/user-data.yaml <<'PY'
import sys, yaml
for path in sys.argv[1:]:
    text = open(path).read()
    assert text.startswith("#cloud-config\n"), path
    doc = yaml.safe_load(text)
    assert {"packages", "write_files", "runcmd"} <= set(doc), path
PY

    codes=$(cd "$out/agents" && ls)
    # shellcheck disable=SC2086
    bash "$ROOT/scripts/gen-certs.sh" "$work/certs" $codes >/dev/null
    o="$out/orchestrator"
    mkdir -p "$o/tls" "$o/secrets"
    cp "$work/certs/ca.crt" "$o/tls/agents-ca.crt"
    cp "$work/certs/orchestrator.crt" "$work/certs/orchestrator.key" "$o/tls/"
    first=${codes%%$'\n'*}
    cp "$work/certs/agent-$first.crt" "$o/tls/server.crt"
    cp "$work/certs/agent-$first.key" "$o/tls/server.key"
    echo current-key-0123456789abcdef0123456789 > "$o/secrets/api-key"
    echo next-key-0123456789abcdef0123456789ab > "$o/secrets/api-key-next"
    echo 0123456789abcdef0123456789abcdef > "$o/secrets/cohort-secret"
    "$BUILD/mpic-orchestrator" -c "$o/orchestrator.json" -t > "$work/out.txt" 2>&1 \
        || { cat "$work/out.txt"; echo "check-terraform: $(basename "$tfvars"): mpic-orchestrator -t refused it" >&2; exit 1; }
    grep -q "configuration OK" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
    [ -z "${MPIC_VERBOSE:-}" ] || cat "$work/out.txt"
    grep -q WARNING "$work/out.txt" && { cat "$work/out.txt"; echo "check-terraform: warnings" >&2; exit 1; }
    for code in $codes; do
        a="$out/agents/$code"
        mkdir -p "$a/tls"
        cp "$work/certs/ca.crt" "$a/tls/ca.crt"
        cp "$work/certs/agent-$code.crt" "$a/tls/agent.crt"
        cp "$work/certs/agent-$code.key" "$a/tls/agent.key"
        "$BUILD/mpic-agent" -c "$a/agent.json" -t > "$work/out.txt" 2>&1 \
            || { cat "$work/out.txt"; echo "check-terraform: $(basename "$tfvars"): mpic-agent -t refused $code" >&2; exit 1; }
    done
    echo "check-terraform: $(basename "$tfvars"): orchestrator and $(echo "$codes" | wc -l) agent configurations pass -t"
done

# Self-test: each breakage must be caught, with its message.
expect_refusal() { # WHAT MESSAGE EDIT-COMMAND...
    local what=$1 msg=$2; shift 2
    rm -rf "$work/broken"; cp -r "$TF" "$work/broken"
    (cd "$work/broken" && "$@")
    if "$TFCHECK" "$work/broken" > "$work/out.txt" 2>&1 || ! grep -q -- "$msg" "$work/out.txt"; then
        cat "$work/out.txt"; echo "check-terraform: self-test: $what was not refused" >&2; exit 1
    fi
}
expect_refusal "a misformatted file" "not formatted" \
    sed -i 's/^  region = var.orchestrator_region$/  region   = var.orchestrator_region/' providers.tf
expect_refusal "an undeclared variable" "var.no_such_thing is not declared" \
    sed -i 's/value       = "https:\/\/api.${var.dns_zone_name}"/value       = var.no_such_thing/' outputs.tf
expect_refusal "an unknown module argument" 'passes "bogus"' \
    sed -i 's/^  source            = ".\/modules\/orchestrator"$/&\n  bogus             = 1/' main.tf
echo "check-terraform: self-test: broken copies are refused"

# Cross-check with the real formatter when one is installed (not required).
for fmt in terraform tofu; do
    if command -v "$fmt" >/dev/null; then
        "$fmt" fmt -check -recursive "$TF" >/dev/null 2>&1 || { echo "check-terraform: $fmt fmt -check disagrees" >&2; exit 1; }
        echo "check-terraform: $fmt fmt -check agrees"
    fi
done
