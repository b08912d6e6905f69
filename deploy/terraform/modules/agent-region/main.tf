# One perspective agent in one region: a small dual-stack VPC with a public subnet and no NAT
# gateway, one Debian 12 instance with an Elastic IP, a security group that admits only the
# orchestrators, and the DNS name CODE.ZONE (the name the agent's certificate carries). IPv6
# serves the agent's own checks of IPv6-only targets; the orchestrators reach it over IPv4 (the
# addresses its security group lists), so the name has no AAAA record.

locals {
  name = "${var.common.name}-agent-${var.code}"
}

data "aws_ami" "debian12" {
  most_recent = true
  owners      = ["136693071363"] # Debian's official cloud images
  filter {
    name   = "name"
    values = ["debian-12-${var.common.architecture}-*"]
  }
}

data "aws_availability_zones" "available" {
  state = "available"
}

resource "aws_vpc" "this" {
  cidr_block                       = "10.64.0.0/24"
  assign_generated_ipv6_cidr_block = true
  enable_dns_support               = true
  tags                             = { Name = local.name }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = local.name }
}

resource "aws_subnet" "public" {
  vpc_id                          = aws_vpc.this.id
  availability_zone               = data.aws_availability_zones.available.names[0]
  cidr_block                      = aws_vpc.this.cidr_block
  ipv6_cidr_block                 = cidrsubnet(aws_vpc.this.ipv6_cidr_block, 8, 0)
  assign_ipv6_address_on_creation = true
  tags                            = { Name = local.name }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }
  route {
    ipv6_cidr_block = "::/0"
    gateway_id      = aws_internet_gateway.this.id
  }
  tags = { Name = local.name }
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

resource "aws_security_group" "agent" {
  name        = local.name
  description = "mpic agent: the agent port from the orchestrators only; any egress (DNS, HTTP, TLS checks)"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = local.name }
}

resource "aws_vpc_security_group_ingress_rule" "orchestrators" {
  for_each          = toset(var.common.orchestrator_cidrs)
  security_group_id = aws_security_group.agent.id
  description       = "mpic orchestrator"
  ip_protocol       = "tcp"
  from_port         = var.common.agent_port
  to_port           = var.common.agent_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  for_each          = toset(var.common.admin_cidrs)
  security_group_id = aws_security_group.agent.id
  description       = "administration"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "ipv4" {
  security_group_id = aws_security_group.agent.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "ipv6" {
  security_group_id = aws_security_group.agent.id
  ip_protocol       = "-1"
  cidr_ipv6         = "::/0"
}

# Reads exactly this agent's configuration, certificate, key and trust anchor; the
# parameters live in the orchestrator's region (the fetch script names that region).
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "secrets" {
  statement {
    actions = ["ssm:GetParameter"]
    resources = [
      "${var.common.ssm_parameter_arn}/config/agent-${var.code}.json",
      "${var.common.ssm_parameter_arn}/tls/orchestrators-ca",
      "${var.common.ssm_parameter_arn}/tls/agent-${var.code}.crt",
      "${var.common.ssm_parameter_arn}/tls/agent-${var.code}.key",
    ]
  }
}

resource "aws_iam_role" "agent" {
  name               = local.name
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "secrets" {
  name   = "read-tls"
  role   = aws_iam_role.agent.id
  policy = data.aws_iam_policy_document.secrets.json
}

resource "aws_iam_instance_profile" "agent" {
  name = local.name
  role = aws_iam_role.agent.name
}

resource "aws_instance" "agent" {
  ami                    = data.aws_ami.debian12.id
  instance_type          = var.common.instance_type
  subnet_id              = aws_subnet.public.id
  vpc_security_group_ids = [aws_security_group.agent.id]
  ipv6_address_count     = 1
  iam_instance_profile   = aws_iam_instance_profile.agent.name
  key_name               = var.common.ssh_key_name
  user_data              = var.user_data
  # Only a changed package source changes the user data: configuration and secrets are polled.
  user_data_replace_on_change = true
  metadata_options {
    http_tokens = "required"
  }
  root_block_device {
    volume_type = "gp3"
    volume_size = 8
    encrypted   = true
  }
  tags = { Name = local.name }
  lifecycle {
    # A newer Debian image alone does not replace a running agent.
    ignore_changes = [ami]
    precondition {
      condition     = startswith(data.aws_availability_zones.available.names[0], var.perspective.aws_region)
      error_message = "perspective ${var.code} names aws_region ${var.perspective.aws_region} but its module block uses another region's provider."
    }
  }
}

resource "aws_eip" "agent" {
  domain   = "vpc"
  instance = aws_instance.agent.id
  tags     = { Name = local.name }
}

resource "aws_route53_record" "a" {
  zone_id = var.common.zone_id
  name    = "${var.code}.${var.common.dns_zone_name}"
  type    = "A"
  ttl     = 300
  records = [aws_eip.agent.public_ip]
}
