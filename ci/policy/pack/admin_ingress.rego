# No security group admits the whole internet (0.0.0.0/0 or ::/0) to an administration or
# database port: SSH, RDP, MySQL, PostgreSQL, SQL Server, Oracle, MongoDB, Redis.
package infrapipe.admin_ingress

import data.infrapipe.lib

default_ports := [22, 3389, 3306, 5432, 1433, 1521, 27017, 6379]

port_names := {
	22: "SSH", 3389: "RDP", 3306: "MySQL", 5432: "PostgreSQL",
	1433: "SQL Server", 1521: "Oracle", 27017: "MongoDB", 6379: "Redis",
}

world := {"0.0.0.0/0", "::/0"}

# Inline ingress blocks of aws_security_group.
deny contains lib.finding("admin_ingress", "CRITICAL", sg, message(sg, cidr, port)) if {
	some sg in lib.of_type("aws_security_group")
	some rule in object.get(sg.change.after, "ingress", [])
	some cidr in cidrs(rule, "cidr_blocks", "ipv6_cidr_blocks")
	some port in exposed(rule.protocol, rule.from_port, rule.to_port)
}

deny contains lib.finding("admin_ingress", "CRITICAL", r, message(r, cidr, port)) if {
	some r in lib.of_type("aws_security_group_rule")
	lib.after(r, "type") == "ingress"
	some cidr in cidrs(r.change.after, "cidr_blocks", "ipv6_cidr_blocks")
	some port in exposed(lib.after(r, "protocol"), lib.after(r, "from_port"), lib.after(r, "to_port"))
}

deny contains lib.finding("admin_ingress", "CRITICAL", r, message(r, cidr, port)) if {
	some r in lib.of_type("aws_vpc_security_group_ingress_rule")
	some cidr in ({lib.after(r, "cidr_ipv4"), lib.after(r, "cidr_ipv6")} & world)
	some port in exposed(lib.after(r, "ip_protocol"), lib.after(r, "from_port"), lib.after(r, "to_port"))
}

cidrs(obj, v4, v6) := {c |
	some key in [v4, v6]
	some c in object.get(obj, key, [])
	c in world
}

# exposed lists the admin ports a protocol and port range open.
exposed(protocol, _, _) := {p | some p in lib.setting("admin_ports", default_ports)} if {
	lower(sprintf("%v", [protocol])) in {"-1", "all"}
}

exposed(protocol, from, to) := {p |
	some p in lib.setting("admin_ports", default_ports)
	from <= p
	p <= to
} if {
	lower(sprintf("%v", [protocol])) in {"tcp", "6"}
}

message(rc, cidr, port) := sprintf("%s allows ingress from %s to port %d (%s)", [rc.address, cidr, port, object.get(port_names, port, "admin")])
