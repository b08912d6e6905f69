# The default provider is the orchestrator's region: the load balancer, the orchestrator
# replicas, the SSM parameters holding keys and certificates, and the DNS records live there.
provider "aws" {
  region = var.orchestrator_region
  default_tags {
    tags = var.tags
  }
}

# One aliased provider per region that may host agents (Terraform cannot for_each over
# providers). A region listed here costs nothing until a `perspectives` entry names it.
# Adding a region: a provider block here, a module block in agents.tf, a map entry in tfvars.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias  = "us_west_2"
  region = "us-west-2"
  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias  = "eu_west_1"
  region = "eu-west-1"
  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias  = "eu_central_1"
  region = "eu-central-1"
  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias  = "ap_northeast_1"
  region = "ap-northeast-1"
  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias  = "ap_southeast_2"
  region = "ap-southeast-2"
  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias  = "sa_east_1"
  region = "sa-east-1"
  default_tags {
    tags = var.tags
  }
}
