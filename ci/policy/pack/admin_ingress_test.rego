package infrapipe.admin_ingress_test

import data.infrapipe.admin_ingress
import data.infrapipe.testing_test.plan
import data.infrapipe.testing_test.rc
import data.infrapipe.testing_test.resources

ingress(from, to, protocol, cidrs, v6) := {"from_port": from, "to_port": to, "protocol": protocol, "cidr_blocks": cidrs, "ipv6_cidr_blocks": v6}

test_inline_ingress if {
	p := plan(
		[
			rc("aws_security_group", "ssh_world", {"ingress": [ingress(22, 22, "tcp", ["0.0.0.0/0"], [])]}),
			rc("aws_security_group", "https_world", {"ingress": [ingress(443, 443, "tcp", ["0.0.0.0/0"], ["::/0"])]}),
			rc("aws_security_group", "ssh_office", {"ingress": [ingress(22, 22, "tcp", ["203.0.113.0/24"], [])]}),
			rc("aws_security_group", "all_v6", {"ingress": [ingress(0, 0, "-1", [], ["::/0"])]}),
			rc("aws_security_group", "range", {"ingress": [ingress(3000, 6000, "tcp", ["0.0.0.0/0"], [])]}),
		],
		{},
	)
	resources(admin_ingress.deny) == {"aws_security_group.ssh_world", "aws_security_group.all_v6", "aws_security_group.range"} with input as p
}

test_message_names_port_and_cidr if {
	p := plan([rc("aws_security_group", "rdp", {"ingress": [ingress(3389, 3389, "tcp", ["0.0.0.0/0"], [])]})], {})
	denials := admin_ingress.deny with input as p
	some d in denials
	d.message == "aws_security_group.rdp allows ingress from 0.0.0.0/0 to port 3389 (RDP)"
	d.severity == "CRITICAL"
}

test_separate_rule_resources if {
	p := plan(
		[
			rc("aws_security_group_rule", "pg", {"type": "ingress", "from_port": 5432, "to_port": 5432, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}),
			rc("aws_security_group_rule", "egress", {"type": "egress", "from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]}),
			rc("aws_vpc_security_group_ingress_rule", "ssh", {"cidr_ipv4": "0.0.0.0/0", "from_port": 22, "to_port": 22, "ip_protocol": "tcp"}),
			rc("aws_vpc_security_group_ingress_rule", "all", {"cidr_ipv6": "::/0", "ip_protocol": "-1"}),
			rc("aws_vpc_security_group_ingress_rule", "private", {"cidr_ipv4": "10.0.0.0/8", "from_port": 22, "to_port": 22, "ip_protocol": "tcp"}),
		],
		{},
	)
	resources(admin_ingress.deny) == {
		"aws_security_group_rule.pg", "aws_vpc_security_group_ingress_rule.ssh",
		"aws_vpc_security_group_ingress_rule.all",
	} with input as p
}

test_admin_ports_setting if {
	p := plan([rc("aws_security_group", "web", {"ingress": [ingress(8080, 8080, "tcp", ["0.0.0.0/0"], [])]})], {})
	count(admin_ingress.deny) == 1 with input as p with data.infrapipe_config.admin_ports as [8080]
}
