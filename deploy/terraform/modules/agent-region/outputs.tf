output "agent" {
  description = "What the root module reports about this perspective."
  value = {
    url         = "https://${var.code}.${var.common.dns_zone_name}:${var.common.agent_port}"
    aws_region  = var.perspective.aws_region
    rir         = var.perspective.rir
    public_ipv4 = aws_eip.agent.public_ip
    ipv6        = aws_instance.agent.ipv6_addresses
    instance_id = aws_instance.agent.id
  }
}
