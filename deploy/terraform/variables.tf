variable "name" {
  description = "Prefix for resource names and the SSM parameter path (/NAME/...)."
  type        = string
  default     = "mpic"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,20}$", var.name))
    error_message = "name: lower-case letters, digits and '-', at most 21 characters."
  }
}

variable "orchestrator_region" {
  description = "AWS region of the orchestrator replicas, the load balancer and the SSM parameters."
  type        = string
  default     = "us-east-2"
}

variable "dns_zone_name" {
  description = "An existing public Route 53 zone. Agents get CODE.ZONE, the API gets api.ZONE; certificates must name them."
  type        = string
}

variable "perspectives" {
  description = "The remote perspectives, keyed by perspective code (the agent certificate's CN). Each is deployed in aws_region, which needs a provider alias and a module block (agents.tf)."
  type = map(object({
    aws_region = string
    name       = string
    rir        = string
    lat        = number
    lon        = number
    too_close  = optional(list(string), [])
  }))
  validation {
    condition     = alltrue([for code, p in var.perspectives : can(regex("^[a-z0-9-]{1,63}$", code))])
    error_message = "perspectives: each code is [a-z0-9-], 1-63 characters."
  }
  validation {
    condition     = alltrue([for p in values(var.perspectives) : contains(["ARIN", "RIPE NCC", "APNIC", "LACNIC", "AFRINIC"], p.rir)])
    error_message = "perspectives: rir is one of ARIN, RIPE NCC, APNIC, LACNIC, AFRINIC."
  }
}

variable "primary" {
  description = "The CA's own Primary Network Perspective (an agent the CA runs itself), called beside every cohort; null for none."
  type = object({
    code     = string
    name     = string
    rir      = string
    url      = string
    lat      = number
    lon      = number
    required = optional(bool, true)
  })
  default = null
}

variable "caa_issuer_domains" {
  description = "The CA's CAA issuer domain names (caa.issuer_domains)."
  type        = list(string)
}

variable "default_perspective_count" {
  description = "Perspectives per request when the request names no count. BR 3.2.2.9 requires 5 from 2026-12-15."
  type        = number
  default     = 6
}

variable "max_attempts_cap" {
  description = "Upper bound for a request's max_attempts."
  type        = number
  default     = 3
}

variable "policy" {
  description = "cabf-br (enforces the BR phase in force) or open-mpic-reference."
  type        = string
  default     = "cabf-br"
}

variable "log_level" {
  description = "debug, info, warn or error, for both daemons."
  type        = string
  default     = "info"
}

variable "audit_log_path" {
  description = "The orchestrator's BR 5.4.1 audit log on each replica."
  type        = string
  default     = "/var/log/mpic/audit.jsonl"
}

variable "agent_port" {
  description = "TCP port of the agents; only the orchestrator replicas' Elastic IPs may reach it."
  type        = number
  default     = 9443
}

variable "orchestrator_replicas" {
  description = "Orchestrator instances behind the load balancer, spread over availability zones."
  type        = number
  default     = 2
}

variable "api_client_cidrs" {
  description = "Who may reach the API through the load balancer (the CA's issuing systems)."
  type        = list(string)
}

variable "instance_type" {
  description = "Instance type of agents and orchestrators; must match architecture (t3.small for amd64, t4g.small for arm64)."
  type        = string
  default     = "t3.small"
}

variable "architecture" {
  description = "amd64 or arm64: selects the Debian 12 image and must match the mpic packages."
  type        = string
  default     = "amd64"
  validation {
    condition     = contains(["amd64", "arm64"], var.architecture)
    error_message = "architecture: amd64 or arm64."
  }
}

variable "packages" {
  description = "Where instances get mpic: an apt source line (and its key URL), or .deb URLs built by scripts/package.sh."
  type = object({
    apt_source           = optional(string)
    apt_key_url          = optional(string)
    agent_deb_url        = optional(string)
    orchestrator_deb_url = optional(string)
  })
  validation {
    condition     = var.packages.apt_source != null || (var.packages.agent_deb_url != null && var.packages.orchestrator_deb_url != null)
    error_message = "packages: give apt_source, or both agent_deb_url and orchestrator_deb_url."
  }
}

variable "pki_dir" {
  description = "A directory in gen-certs.sh layout (ca.crt, orchestrator.crt/.key, agent-CODE.crt/.key, server.crt/.key) uploaded to SSM; the keys then sit in the state. null: the parameters exist already (see README)."
  type        = string
  default     = null
}

variable "ssh_key_name" {
  description = "An EC2 key pair name for SSH, per region; null for none."
  type        = string
  default     = null
}

variable "admin_cidrs" {
  description = "Who may reach SSH on every instance; empty for nobody."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
