# The orchestrator replicas in public subnets (one per availability zone, round robin), each
# with an Elastic IP: their egress addresses are fixed, so every agent's security group can
# list them (IPv4 only, so no connection leaves from an address the agents do not know).
# A network load balancer passes TLS through to them (the orchestrator holds the API's
# certificate, so keys never sit in the load balancer).

locals {
  zones = slice(data.aws_availability_zones.available.names, 0, min(3, length(data.aws_availability_zones.available.names)))
}

data "aws_ami" "debian12" {
  most_recent = true
  owners      = ["136693071363"] # Debian's official cloud images
  filter {
    name   = "name"
    values = ["debian-12-${var.architecture}-*"]
  }
}

data "aws_availability_zones" "available" {
  state = "available"
}

resource "aws_vpc" "this" {
  cidr_block           = "10.65.0.0/24"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "${var.name}-orchestrator" }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = "${var.name}-orchestrator" }
}

resource "aws_subnet" "public" {
  count             = length(local.zones)
  vpc_id            = aws_vpc.this.id
  availability_zone = local.zones[count.index]
  cidr_block        = cidrsubnet(aws_vpc.this.cidr_block, 2, count.index)
  tags              = { Name = "${var.name}-orchestrator-${local.zones[count.index]}" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }
  tags = { Name = "${var.name}-orchestrator" }
}

resource "aws_route_table_association" "public" {
  count          = length(aws_subnet.public)
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_security_group" "lb" {
  name        = "${var.name}-api"
  description = "mpic API load balancer: HTTPS from the CA's systems"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_ingress_rule" "lb_clients" {
  for_each          = toset(var.api_client_cidrs)
  security_group_id = aws_security_group.lb.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "lb_targets" {
  security_group_id            = aws_security_group.lb.id
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = aws_security_group.orchestrator.id
}

resource "aws_security_group" "orchestrator" {
  name        = "${var.name}-orchestrator"
  description = "mpic orchestrator: the API port from the load balancer only"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_ingress_rule" "orchestrator_from_lb" {
  security_group_id            = aws_security_group.orchestrator.id
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = aws_security_group.lb.id
}

resource "aws_vpc_security_group_ingress_rule" "orchestrator_ssh" {
  for_each          = toset(var.admin_cidrs)
  security_group_id = aws_security_group.orchestrator.id
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "orchestrator_ipv4" {
  security_group_id = aws_security_group.orchestrator.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

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
      "${var.ssm_parameter_arn}/config/orchestrator.json",
      "${var.ssm_parameter_arn}/tls/agents-ca",
      "${var.ssm_parameter_arn}/tls/orchestrator.*",
      "${var.ssm_parameter_arn}/tls/server.*",
      "${var.ssm_parameter_arn}/api-key",
      "${var.ssm_parameter_arn}/api-key-next",
      "${var.ssm_parameter_arn}/cohort-secret",
    ]
  }
}

resource "aws_iam_role" "orchestrator" {
  name               = "${var.name}-orchestrator"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "secrets" {
  name   = "read-secrets"
  role   = aws_iam_role.orchestrator.id
  policy = data.aws_iam_policy_document.secrets.json
}

resource "aws_iam_instance_profile" "orchestrator" {
  name = "${var.name}-orchestrator"
  role = aws_iam_role.orchestrator.name
}

resource "aws_instance" "orchestrator" {
  count                       = var.replicas
  ami                         = data.aws_ami.debian12.id
  instance_type               = var.instance_type
  subnet_id                   = aws_subnet.public[count.index % length(aws_subnet.public)].id
  vpc_security_group_ids      = [aws_security_group.orchestrator.id]
  iam_instance_profile        = aws_iam_instance_profile.orchestrator.name
  key_name                    = var.ssh_key_name
  user_data                   = var.user_data
  user_data_replace_on_change = true
  metadata_options {
    http_tokens = "required"
  }
  root_block_device {
    volume_type = "gp3"
    volume_size = 8
    encrypted   = true
  }
  tags = { Name = "${var.name}-orchestrator-${count.index}" }
  lifecycle {
    ignore_changes = [ami]
    # Only a changed package source replaces instances (configuration and secrets are
    # polled from SSM); README "Rolling changes" replaces replicas one at a time.
  }
}

resource "aws_eip" "orchestrator" {
  count    = var.replicas
  domain   = "vpc"
  instance = aws_instance.orchestrator[count.index].id
  tags     = { Name = "${var.name}-orchestrator-${count.index}" }
}

resource "aws_lb" "api" {
  name                             = "${var.name}-api"
  load_balancer_type               = "network"
  internal                         = false
  subnets                          = aws_subnet.public[*].id
  security_groups                  = [aws_security_group.lb.id]
  enable_cross_zone_load_balancing = true
}

resource "aws_lb_target_group" "api" {
  name                 = "${var.name}-api"
  port                 = var.port
  protocol             = "TCP"
  vpc_id               = aws_vpc.this.id
  deregistration_delay = 30
  health_check {
    protocol            = "TCP"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
}

resource "aws_lb_target_group_attachment" "api" {
  count            = var.replicas
  target_group_arn = aws_lb_target_group.api.arn
  target_id        = aws_instance.orchestrator[count.index].id
  port             = var.port
}

resource "aws_lb_listener" "api" {
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

resource "aws_route53_record" "api" {
  zone_id = var.zone_id
  name    = var.api_host
  type    = "A"
  alias {
    name                   = aws_lb.api.dns_name
    zone_id                = aws_lb.api.zone_id
    evaluate_target_health = true
  }
}
