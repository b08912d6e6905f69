output "egress_ips" {
  description = "The replicas' Elastic IPs: their source address towards the agents."
  value       = aws_eip.orchestrator[*].public_ip
}
