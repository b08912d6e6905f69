variable "code" {
  description = "The perspective code: the agent certificate's CN and its host name CODE.ZONE."
  type        = string
}

variable "perspective" {
  description = "The perspective's entry of the root module's var.perspectives."
  type = object({
    aws_region = string
    name       = string
    rir        = string
    lat        = number
    lon        = number
    too_close  = list(string)
  })
}

variable "user_data" {
  description = "cloud-init document rendered by the root module (package, unbound, configuration)."
  type        = string
}

variable "common" {
  description = "Settings shared by every region, built once in the root module (local.agent_common)."
  type = object({
    name               = string
    agent_port         = number
    orchestrator_cidrs = list(string)
    zone_id            = string
    dns_zone_name      = string
    instance_type      = string
    architecture       = string
    ssh_key_name       = string
    admin_cidrs        = list(string)
    ssm_parameter_arn  = string
  })
}
