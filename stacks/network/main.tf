# The network the other stacks run in: one VPC, two private subnets in two zones, and a
# default security group that lets nothing in or out, so a resource must name its own.

module "naming" {
  source = "../../modules/naming"

  project     = var.project
  environment = var.environment
  component   = "network"
}

data "aws_availability_zones" "available" {
  state = "available"
}

resource "aws_vpc" "main" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name = module.naming.name
  }
}

resource "aws_subnet" "private" {
  count = 2

  vpc_id                  = aws_vpc.main.id
  cidr_block              = cidrsubnet(var.cidr_block, 8, count.index)
  availability_zone       = data.aws_availability_zones.available.names[count.index]
  map_public_ip_on_launch = false

  tags = {
    Name = "${module.naming.name}-private-${count.index}"
  }
}

resource "aws_default_security_group" "main" {
  vpc_id = aws_vpc.main.id

  tags = {
    Name = "${module.naming.name}-default"
  }
}
