# An example of a team's own rule, loaded beside the built-in pack (see "The built-in
# policy pack" in docs/checks.md). A rule is a package directly under infrapipe with a deny set
# of {rule, severity, resource, message} objects; the plan JSON is the input, and helpers
# of the built-in pack are in data.infrapipe.lib.
package infrapipe.no_gp2_volumes

import data.infrapipe.lib

deny contains {
	"rule": "no_gp2_volumes",
	"severity": "LOW",
	"resource": v.address,
	"message": sprintf("%s uses gp2; gp3 is cheaper and faster", [v.address]),
} if {
	some v in input.resource_changes
	v.type == "aws_ebs_volume"
	v.change.after != null
	object.get(v.change.after, "type", "") == "gp2"
}
