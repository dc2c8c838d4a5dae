# Builders for the pack's unit tests: plans in the shape of terraform show -json.
package infrapipe.testing_test

rc(type, name, after) := {
	"address": sprintf("%s.%s", [type, name]),
	"mode": "managed",
	"type": type,
	"name": name,
	"change": {"actions": ["create"], "after": after, "after_unknown": {}},
}

# plan wraps resource changes; config gives each resource a configuration block whose
# expressions carry the given references (map of address to list of references).
plan(changes, refs) := {
	"format_version": "1.2",
	"resource_changes": changes,
	"configuration": {"root_module": {"resources": [{
		"address": r.address,
		"mode": "managed",
		"type": r.type,
		"name": r.name,
		"provider_config_key": "aws",
		"expressions": {"bucket": {"references": object.get(refs, r.address, [])}},
	} |
		some r in changes
	]}},
}

rules(denials) := {d.rule | some d in denials}

resources(denials) := {d.resource | some d in denials}
