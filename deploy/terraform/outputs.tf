output "api_url" {
  description = "The Open MPIC API base URL (TLS passes through the load balancer to the orchestrators)."
  value       = "https://api.${var.dns_zone_name}"
}

output "api_key_parameter" {
  description = "Where the API key lives: aws ssm get-parameter --with-decryption --region REGION --name NAME."
  value       = { name = aws_ssm_parameter.api_key.name, region = var.orchestrator_region }
}

output "orchestrator_egress_ips" {
  description = "Source addresses of the orchestrator replicas: the only addresses the agents accept."
  value       = module.orchestrator.egress_ips
}

output "agents" {
  description = "Per perspective: its URL, public addresses and instance."
  value       = { for code, a in local.agents : code => a.agent }
}

output "tls_parameters" {
  description = "The SSM parameter names the hosts read their certificates and keys from."
  value       = concat([for f in local.orchestrator_files : f.parameter], flatten([for code, fs in local.agent_files : [for f in fs : f.parameter]]))
}
