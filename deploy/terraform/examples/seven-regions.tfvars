# Seven perspectives over four RIRs, every pair at least 500 km apart; the orchestrator in
# us-east-2. tests/deploy/check-terraform.sh renders the daemon configurations from this
# file and runs `mpic-orchestrator -t` / `mpic-agent -t` on them.
name                = "mpic"
orchestrator_region = "us-east-2"
dns_zone_name       = "mpic.ca.example.net"
caa_issuer_domains  = ["ca.example.net"]
api_client_cidrs    = ["198.51.100.0/24"]

default_perspective_count = 6

perspectives = {
  "us-east-1"      = { aws_region = "us-east-1", name = "US East (N. Virginia)", rir = "ARIN", lat = 39.04, lon = -77.49 }
  "us-west-2"      = { aws_region = "us-west-2", name = "US West (Oregon)", rir = "ARIN", lat = 45.84, lon = -119.70 }
  "eu-west-1"      = { aws_region = "eu-west-1", name = "Europe (Ireland)", rir = "RIPE NCC", lat = 53.35, lon = -6.26 }
  "eu-central-1"   = { aws_region = "eu-central-1", name = "Europe (Frankfurt)", rir = "RIPE NCC", lat = 50.11, lon = 8.68 }
  "ap-northeast-1" = { aws_region = "ap-northeast-1", name = "Asia Pacific (Tokyo)", rir = "APNIC", lat = 35.68, lon = 139.69 }
  "ap-southeast-2" = { aws_region = "ap-southeast-2", name = "Asia Pacific (Sydney)", rir = "APNIC", lat = -33.87, lon = 151.21 }
  "sa-east-1"      = { aws_region = "sa-east-1", name = "South America (Sao Paulo)", rir = "LACNIC", lat = -23.55, lon = -46.63 }
}

primary = {
  code = "ca-primary"
  name = "CA data centre (Denver)"
  rir  = "ARIN"
  url  = "https://primary.mpic.ca.example.net:9443"
  lat  = 39.74
  lon  = -104.99
}

packages = {
  agent_deb_url        = "https://downloads.ca.example.net/mpic/mpic-agent_amd64.deb"
  orchestrator_deb_url = "https://downloads.ca.example.net/mpic/mpic-orchestrator_amd64.deb"
}

tags = { project = "mpic" }
