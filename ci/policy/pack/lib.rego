# Helpers shared by the built-in rules (and open to a user's own).
#
# Input is the plan JSON (terraform show -json). Settings come from
# data.infrapipe_config (written by the pipeline; every key is optional):
#   environment             the environment the plan is for (preview, test, staging, prod)
#   required_tags           tag keys every taggable resource needs
#   admin_ports             ports that must not be open to the internet
#   protected_environments  environments whose databases need deletion protection
#   state_buckets           bucket names that hold Terraform state
package infrapipe.lib

# setting returns data.infrapipe_config[key], or fallback when unset.
setting(key, fallback) := value if {
	value := data.infrapipe_config[key]
} else := fallback

# resources are the managed resources that exist after the plan is applied: creates,
# updates, replacements and untouched ones, but not deletes. Rules (not functions) are
# computed once per evaluation, which keeps large plans fast.
resources := [rc |
	some rc in object.get(input, "resource_changes", [])
	rc.mode == "managed"
	rc.change.after != null
]

by_type := {type: [rc | some rc in resources; rc.type == type] | some type in {r.type | some r in resources}}

of_type(type) := object.get(by_type, type, [])

# finding is the shape every deny rule returns.
finding(rule, severity, rc, message) := {
	"rule": rule,
	"severity": severity,
	"resource": rc.address,
	"message": message,
}

# after is the planned value of an attribute; unknown (computed) values are absent.
after(rc, key) := object.get(rc.change.after, key, null)

# unknown reports whether an attribute is only known after apply.
unknown(rc, key) if object.get(object.get(rc.change, "after_unknown", {}), key, false) == true

# is_true: a boolean attribute is set to true in the plan.
is_true(rc, key) if after(rc, key) == true

# not_true: a boolean attribute is false or unset (and not merely unknown until apply).
not_true(rc, key) if {
	not is_true(rc, key)
	not unknown(rc, key)
}

# module_path is a resource's module address without instance keys: module.a[0] -> module.a.
module_path(rc) := regex.replace(object.get(rc, "module_address", ""), `\[[^\]]*\]`, "")

# config_key names a resource's configuration block across modules.
config_key(rc) := concat(".", [module_path(rc), rc.type, rc.name]) if module_path(rc) != ""

config_key(rc) := concat(".", [rc.type, rc.name]) if module_path(rc) == ""

# config_resources maps config_key to the configuration block, for every module.
config_resources := {key: r |
	walk(object.get(input, "configuration", {}), [path, r])
	count(path) >= 2
	path[count(path) - 2] == "resources"
	is_string(r.address)
	is_string(r.type)
	prefix := concat("", [sprintf("module.%s.", [path[i + 1]]) |
		some i
		path[i] == "module_calls"
	])
	key := concat("", [prefix, r.address])
}

# references lists every reference in a resource's configuration expressions; Terraform
# lists both aws_s3_bucket.b.id and aws_s3_bucket.b for a reference to the id.
references(rc) := {ref |
	some expr in config_resources[config_key(rc)].expressions
	some ref in object.get(expr, "references", [])
}

# targets maps each resource's address to what it points at: "<module path>|<type>.<name>"
# through a configuration reference (bucket = aws_s3_bucket.state.id), or "bucket|<name>"
# through a planned value (bucket = "my-logs").
targets := {rc.address: resource_targets(rc) | some rc in resources}

resource_targets(rc) := {concat("|", [module_path(rc), ref]) | some ref in references(rc)} | {concat("|", ["bucket", name]) |
	name := after(rc, "bucket")
	is_string(name)
}

keys(b) := {concat("|", [module_path(b), concat(".", [b.type, b.name])])} | {concat("|", ["bucket", name]) |
	name := after(b, "bucket")
	is_string(name)
}

# attached lists the resources of a type that point at resource b, e.g. the
# aws_s3_bucket_versioning of a bucket.
attached(type, b) := [a |
	some a in of_type(type)
	count(targets[a.address] & keys(b)) > 0
]

# first_block returns the first element of a nested block list, or {}.
first_block(rc, key) := b if {
	blocks := after(rc, key)
	is_array(blocks)
	count(blocks) > 0
	b := blocks[0]
} else := {}
