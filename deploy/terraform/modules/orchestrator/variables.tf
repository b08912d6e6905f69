variable "name" {
  description = "Prefix for resource names."
  type        = string
}

variable "replicas" {
  description = "Orchestrator instances, spread over availability zones."
  type        = number
}

variable "port" {
  description = "The orchestrator's HTTPS listener on each instance."
  type        = number
}

variable "api_client_cidrs" {
  description = "Who may reach the API on the load balancer."
  type        = list(string)
}

variable "instance_type" {
  description = "Instance type of the replicas."
  type        = string
}

variable "architecture" {
  description = "amd64 or arm64 (Debian 12 image)."
  type        = string
}

variable "user_data" {
  description = "cloud-init document rendered by the root module."
  type        = string
}

variable "ssm_parameter_arn" {
  description = "ARN prefix of the SSM parameters (/NAME) the replicas read."
  type        = string
}

variable "zone_id" {
  description = "Route 53 zone for api_host."
  type        = string
}

variable "api_host" {
  description = "The API's DNS name (the server certificate must name it)."
  type        = string
}

variable "ssh_key_name" {
  description = "EC2 key pair name, or null."
  type        = string
}

variable "admin_cidrs" {
  description = "Who may reach SSH."
  type        = list(string)
}
