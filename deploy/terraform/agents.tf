# One module block per region with a provider alias in providers.tf. Each block deploys the
# perspectives of var.perspectives whose aws_region is its region (usually one, or none).
# Adding a region: copy a block, change the three region spellings, add it to the merge() below.

module "agents_us_east_1" {
  source      = "./modules/agent-region"
  providers   = { aws = aws.us_east_1 }
  for_each    = { for code, p in var.perspectives : code => p if p.aws_region == "us-east-1" }
  code        = each.key
  user_data   = local.agent_user_data[each.key]
  common      = local.agent_common
  perspective = each.value
}

module "agents_us_west_2" {
  source      = "./modules/agent-region"
  providers   = { aws = aws.us_west_2 }
  for_each    = { for code, p in var.perspectives : code => p if p.aws_region == "us-west-2" }
  code        = each.key
  user_data   = local.agent_user_data[each.key]
  common      = local.agent_common
  perspective = each.value
}

module "agents_eu_west_1" {
  source      = "./modules/agent-region"
  providers   = { aws = aws.eu_west_1 }
  for_each    = { for code, p in var.perspectives : code => p if p.aws_region == "eu-west-1" }
  code        = each.key
  user_data   = local.agent_user_data[each.key]
  common      = local.agent_common
  perspective = each.value
}

module "agents_eu_central_1" {
  source      = "./modules/agent-region"
  providers   = { aws = aws.eu_central_1 }
  for_each    = { for code, p in var.perspectives : code => p if p.aws_region == "eu-central-1" }
  code        = each.key
  user_data   = local.agent_user_data[each.key]
  common      = local.agent_common
  perspective = each.value
}

module "agents_ap_northeast_1" {
  source      = "./modules/agent-region"
  providers   = { aws = aws.ap_northeast_1 }
  for_each    = { for code, p in var.perspectives : code => p if p.aws_region == "ap-northeast-1" }
  code        = each.key
  user_data   = local.agent_user_data[each.key]
  common      = local.agent_common
  perspective = each.value
}

module "agents_ap_southeast_2" {
  source      = "./modules/agent-region"
  providers   = { aws = aws.ap_southeast_2 }
  for_each    = { for code, p in var.perspectives : code => p if p.aws_region == "ap-southeast-2" }
  code        = each.key
  user_data   = local.agent_user_data[each.key]
  common      = local.agent_common
  perspective = each.value
}

module "agents_sa_east_1" {
  source      = "./modules/agent-region"
  providers   = { aws = aws.sa_east_1 }
  for_each    = { for code, p in var.perspectives : code => p if p.aws_region == "sa-east-1" }
  code        = each.key
  user_data   = local.agent_user_data[each.key]
  common      = local.agent_common
  perspective = each.value
}

locals {
  agents = merge(
    module.agents_us_east_1,
    module.agents_us_west_2,
    module.agents_eu_west_1,
    module.agents_eu_central_1,
    module.agents_ap_northeast_1,
    module.agents_ap_southeast_2,
    module.agents_sa_east_1,
  )
}
