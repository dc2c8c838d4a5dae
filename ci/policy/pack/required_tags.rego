# Every taggable resource carries the tags that tie it to a project, an environment and an
# owner: discovery, cost reports and clean-up of ephemeral environments rely on them.
# Tags from the provider's default_tags count (through tags_all, or the provider
# configuration when tags_all is only known after apply).
package infrapipe.required_tags

import data.infrapipe.lib

default_required := ["Project", "Environment", "Owner"]

deny contains lib.finding("required_tags", "MEDIUM", rc, msg) if {
	some rc in lib.resources
	taggable(rc)
	tags := effective_tags(rc)
	missing := [k |
		some k in lib.setting("required_tags", default_required)
		not has_tag(tags, k)
	]
	count(missing) > 0
	msg := sprintf("%s is missing required tags: %s", [rc.address, concat(", ", missing)])
}

# A resource is taggable when its schema has tags: the plan then lists tags or tags_all.
taggable(rc) if "tags" in object.keys(rc.change.after)

taggable(rc) if "tags_all" in object.keys(rc.change.after)

taggable(rc) if "tags_all" in object.keys(object.get(rc.change, "after_unknown", {}))

effective_tags(rc) := object.union_n([
	as_object(lib.after(rc, "tags")),
	as_object(lib.after(rc, "tags_all")),
	unknown_keys(rc, "tags"),
	unknown_keys(rc, "tags_all"),
	provider_default_tags(rc),
])

as_object(x) := x if is_object(x)

else := {}

# unknown_keys: tags whose values are only known after apply are still present.
unknown_keys(rc, key) := {k: true |
	u := object.get(object.get(rc.change, "after_unknown", {}), key, {})
	is_object(u)
	some k, _ in u
}

# provider_default_tags reads constant default_tags of the resource's provider block.
provider_default_tags(rc) := tags if {
	cfg := lib.config_resources[lib.config_key(rc)]
	provider := input.configuration.provider_config[cfg.provider_config_key]
	some block in provider.expressions.default_tags
	tags := block.tags.constant_value
	is_object(tags)
} else := {}

has_tag(tags, k) if {
	v := tags[k]
	v != ""
	v != null
}
