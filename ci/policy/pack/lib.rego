# Helpers shared by the built-in rules. Functions only (no rules), so querying
# data.infrapipe shows the rules' deny sets and nothing else.
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
# updates, replacements and untouched ones, but not deletes.
resources(plan) := [rc |
	some rc in object.get(plan, "resource_changes", [])
	rc.mode == "managed"
	rc.change.after != null
]

of_type(plan, type) := [rc | some rc in resources(plan); rc.type == type]

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
config_resources(plan) := {key: r |
	walk(object.get(plan, "configuration", {}), [path, r])
	count(path) >= 2
	path[count(path) - 2] == "resources"
	is_string(r.address)
	prefix := concat("", [sprintf("module.%s.", [path[i + 1]]) |
		some i
		path[i] == "module_calls"
	])
	key := concat("", [prefix, r.address])
}

# references lists every reference in a resource's configuration expressions.
references(plan, rc) := {ref |
	cfg := config_resources(plan)[config_key(rc)]
	some expr in cfg.expressions
	some ref in object.get(expr, "references", [])
}

# refers_to: resource a's configuration refers to resource b in the same module, e.g. an
# aws_s3_bucket_versioning whose bucket = aws_s3_bucket.state.id.
refers_to(plan, a, b) if {
	module_path(a) == module_path(b)
	target := concat(".", [b.type, b.name])
	some ref in references(plan, a)
	ref_matches(ref, target)
}

# Planned values can name the bucket directly (bucket = "my-logs").
refers_to(_, a, b) if {
	name := after(a, "bucket")
	is_string(name)
	name == after(b, "bucket")
}

ref_matches(ref, target) if ref == target

ref_matches(ref, target) if startswith(ref, concat("", [target, "."]))

ref_matches(ref, target) if startswith(ref, concat("", [target, "["]))

# attached lists the resources of a type that point at bucket b.
attached(plan, type, b) := [a | some a in of_type(plan, type); refers_to(plan, a, b)]

# first_block returns the first element of a nested block list, or {}.
first_block(rc, key) := b if {
	blocks := after(rc, key)
	is_array(blocks)
	count(blocks) > 0
	b := blocks[0]
} else := {}
