locals {
  orchestrator_port = 8443
  ssm_prefix        = "/${var.name}"

  # The daemon configurations depend on variables only, so tests/deploy/check-terraform.sh
  # renders these same locals offline from examples/*.tfvars and runs `-t` on the result.
  orchestrator_config = templatefile("${path.module}/templates/orchestrator.json.tftpl", {
    log_level                 = var.log_level
    caa_issuer_domains        = var.caa_issuer_domains
    perspectives              = var.perspectives
    dns_zone_name             = var.dns_zone_name
    agent_port                = var.agent_port
    orchestrator_port         = local.orchestrator_port
    default_perspective_count = var.default_perspective_count
    max_attempts_cap          = var.max_attempts_cap
    policy                    = var.policy
    audit_log_path            = var.audit_log_path
    primary                   = var.primary
  })
  agent_configs = { for code, p in var.perspectives : code => templatefile("${path.module}/templates/agent.json.tftpl", {
    log_level          = var.log_level
    caa_issuer_domains = var.caa_issuer_domains
    code               = code
    agent_port         = var.agent_port
  }) }

  # What each host fetches from SSM into /etc/mpic (see templates/cloud-init.yaml.tftpl).
  # Agents trust the CA of orchestrator client certificates; the orchestrator trusts the
  # CA of agent certificates. They may be one CA (gen-certs.sh) or two (production).
  orchestrator_files = [
    { parameter = "${local.ssm_prefix}/config/orchestrator.json", path = "orchestrator.json", fallback = null },
    { parameter = "${local.ssm_prefix}/tls/agents-ca", path = "tls/agents-ca.crt", fallback = null },
    { parameter = "${local.ssm_prefix}/tls/orchestrator.crt", path = "tls/orchestrator.crt", fallback = null },
    { parameter = "${local.ssm_prefix}/tls/orchestrator.key", path = "tls/orchestrator.key", fallback = null },
    { parameter = "${local.ssm_prefix}/tls/server.crt", path = "tls/server.crt", fallback = null },
    { parameter = "${local.ssm_prefix}/tls/server.key", path = "tls/server.key", fallback = null },
    { parameter = "${local.ssm_prefix}/api-key", path = "secrets/api-key", fallback = null },
    # Rotation: while api-key-next does not exist the current key stands in for it.
    { parameter = "${local.ssm_prefix}/api-key-next", path = "secrets/api-key-next", fallback = "secrets/api-key" },
    { parameter = "${local.ssm_prefix}/cohort-secret", path = "secrets/cohort-secret", fallback = null },
  ]
  agent_files = { for code, p in var.perspectives : code => [
    { parameter = "${local.ssm_prefix}/config/agent-${code}.json", path = "agent.json", fallback = null },
    { parameter = "${local.ssm_prefix}/tls/orchestrators-ca", path = "tls/ca.crt", fallback = null },
    { parameter = "${local.ssm_prefix}/tls/agent-${code}.crt", path = "tls/agent.crt", fallback = null },
    { parameter = "${local.ssm_prefix}/tls/agent-${code}.key", path = "tls/agent.key", fallback = null },
  ] }

  orchestrator_user_data = templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    role       = "orchestrator"
    ssm_region = var.orchestrator_region
    files      = local.orchestrator_files
    package    = { apt_source = var.packages.apt_source, apt_key_url = var.packages.apt_key_url, deb_url = var.packages.orchestrator_deb_url }
  })
  agent_user_data = { for code, p in var.perspectives : code => templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    role       = "agent"
    ssm_region = var.orchestrator_region
    files      = local.agent_files[code]
    package    = { apt_source = var.packages.apt_source, apt_key_url = var.packages.apt_key_url, deb_url = var.packages.agent_deb_url }
  }) }

  agent_common = {
    name               = var.name
    agent_port         = var.agent_port
    orchestrator_cidrs = [for ip in module.orchestrator.egress_ips : "${ip}/32"]
    zone_id            = data.aws_route53_zone.this.zone_id
    dns_zone_name      = var.dns_zone_name
    instance_type      = var.instance_type
    architecture       = var.architecture
    ssh_key_name       = var.ssh_key_name
    admin_cidrs        = var.admin_cidrs
    ssm_parameter_arn  = "arn:${data.aws_partition.this.partition}:ssm:${var.orchestrator_region}:${data.aws_caller_identity.this.account_id}:parameter${local.ssm_prefix}"
  }
}

data "aws_partition" "this" {}
data "aws_caller_identity" "this" {}

data "aws_route53_zone" "this" {
  name         = var.dns_zone_name
  private_zone = false
}

# A perspective whose aws_region has no module block in agents.tf would silently not be
# deployed while the orchestrator still lists it.
resource "terraform_data" "regions_covered" {
  lifecycle {
    precondition {
      condition     = length(setsubtract(keys(var.perspectives), keys(local.agents))) == 0
      error_message = "perspectives ${join(", ", setsubtract(keys(var.perspectives), keys(local.agents)))}: no module block for their aws_region in agents.tf (add a provider alias and a module block)."
    }
  }
}

resource "random_password" "api_key" {
  length  = 40
  special = false
}

resource "random_password" "cohort_secret" {
  length  = 48
  special = false
}

resource "aws_ssm_parameter" "api_key" {
  name  = "${local.ssm_prefix}/api-key"
  type  = "SecureString"
  value = random_password.api_key.result
  lifecycle {
    # Rotated by hand through api-key-next (README "Rotating the API key").
    ignore_changes = [value]
  }
}

resource "aws_ssm_parameter" "cohort_secret" {
  name  = "${local.ssm_prefix}/cohort-secret"
  type  = "SecureString"
  value = random_password.cohort_secret.result
}

# The daemon configurations: hosts poll them (mpic-fetch), so a change reaches running
# daemons by reload, without replacing instances.
resource "aws_ssm_parameter" "config" {
  for_each = merge(
    { "orchestrator.json" = local.orchestrator_config },
    { for code, c in local.agent_configs : "agent-${code}.json" => c },
  )
  name  = "${local.ssm_prefix}/config/${each.key}"
  type  = "String"
  tier  = "Intelligent-Tiering" # above 4 KB (many perspectives) it becomes an advanced parameter
  value = each.value
}

# Certificates and keys from a gen-certs.sh-style directory, when pki_dir is set. Otherwise the
# operator puts them into these parameter names (README: "Certificates").
locals {
  pki_uploads = var.pki_dir == null ? {} : merge(
    {
      "tls/agents-ca"        = "ca.crt"
      "tls/orchestrators-ca" = "ca.crt"
      "tls/orchestrator.crt" = "orchestrator.crt"
      "tls/orchestrator.key" = "orchestrator.key"
      "tls/server.crt"       = "server.crt"
      "tls/server.key"       = "server.key"
    },
    { for code, p in var.perspectives : "tls/agent-${code}.crt" => "agent-${code}.crt" },
    { for code, p in var.perspectives : "tls/agent-${code}.key" => "agent-${code}.key" },
  )
}

resource "aws_ssm_parameter" "pki" {
  for_each = local.pki_uploads
  name     = "${local.ssm_prefix}/${each.key}"
  type     = "SecureString"
  value    = file("${var.pki_dir}/${each.value}")
}

module "orchestrator" {
  source            = "./modules/orchestrator"
  name              = var.name
  replicas          = var.orchestrator_replicas
  port              = local.orchestrator_port
  api_client_cidrs  = var.api_client_cidrs
  instance_type     = var.instance_type
  architecture      = var.architecture
  user_data         = local.orchestrator_user_data
  ssm_parameter_arn = local.agent_common.ssm_parameter_arn
  zone_id           = data.aws_route53_zone.this.zone_id
  api_host          = "api.${var.dns_zone_name}"
  ssh_key_name      = var.ssh_key_name
  admin_cidrs       = var.admin_cidrs
}
