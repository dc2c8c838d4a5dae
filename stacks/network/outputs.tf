output "vpc_id" {
  description = "ID of the VPC, for the stacks that run in it."
  value       = aws_vpc.main.id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per zone."
  value       = aws_subnet.private[*].id
}
