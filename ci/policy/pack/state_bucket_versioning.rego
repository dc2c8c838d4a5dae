# Buckets that hold Terraform state keep old versions, so a bad apply or a corrupted state
# can be rolled back. A bucket holds state when its name is listed in the state_buckets
# setting, its name or resource name says so (tfstate, terraform-state, state), or it is
# tagged Purpose = terraform-state.
package infrapipe.state_bucket_versioning

import data.infrapipe.lib

deny contains lib.finding("state_bucket_versioning", "HIGH", b, msg) if {
	some b in lib.of_type("aws_s3_bucket")
	holds_state(b)
	not versioned(b)
	msg := sprintf("state bucket %s has no aws_s3_bucket_versioning with status Enabled", [b.address])
}

state_name := `(?i)(^|[-_.])(tf-?state|terraform-?state|state)([-_.]|$)`

holds_state(b) if lib.after(b, "bucket") in lib.setting("state_buckets", [])

holds_state(b) if regex.match(state_name, lib.after(b, "bucket"))

holds_state(b) if regex.match(state_name, b.name)

holds_state(b) if {
	some key in ["tags", "tags_all"]
	tags := lib.after(b, key)
	is_object(tags)
	lower(object.get(tags, "Purpose", "")) == "terraform-state"
}

versioned(b) if {
	some v in lib.attached("aws_s3_bucket_versioning", b)
	lib.first_block(v, "versioning_configuration").status == "Enabled"
}

versioned(b) if lib.first_block(b, "versioning").enabled == true # provider < 4 inline block
