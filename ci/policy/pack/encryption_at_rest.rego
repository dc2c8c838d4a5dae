# Storage and databases are encrypted at rest: S3 buckets have a server-side encryption
# configuration, DynamoDB tables enable server_side_encryption (a KMS key that can be
# audited and revoked), RDS storage and EBS volumes are encrypted.
package infrapipe.encryption_at_rest

import data.infrapipe.lib

deny contains lib.finding("encryption_at_rest", "HIGH", b, msg) if {
	some b in lib.of_type("aws_s3_bucket")
	count(lib.attached("aws_s3_bucket_server_side_encryption_configuration", b)) == 0
	count(object.get(b.change.after, "server_side_encryption_configuration", [])) == 0 # provider < 4 inline block
	msg := sprintf("S3 bucket %s has no aws_s3_bucket_server_side_encryption_configuration", [b.address])
}

# The real provider plans an omitted server_side_encryption block as unknown (it is
# computed): that is not enabled. Only an enabled flag that is itself unknown until apply
# (enabled = var.x) is given the benefit of the doubt.
deny contains lib.finding("encryption_at_rest", "HIGH", t, msg) if {
	some t in lib.of_type("aws_dynamodb_table")
	object.get(lib.first_block(t, "server_side_encryption"), "enabled", false) != true
	not sse_enabled_unknown(t)
	msg := sprintf("DynamoDB table %s does not enable server_side_encryption", [t.address])
}

sse_enabled_unknown(t) if {
	blocks := object.get(object.get(t.change, "after_unknown", {}), "server_side_encryption", [])
	is_array(blocks)
	object.get(blocks[0], "enabled", false) == true
}

deny contains lib.finding("encryption_at_rest", "HIGH", db, msg) if {
	some type in ["aws_db_instance", "aws_rds_cluster"]
	some db in lib.of_type(type)
	not aurora_member(db) # encrypted at the cluster
	lib.not_true(db, "storage_encrypted")
	msg := sprintf("%s has storage_encrypted unset or false", [db.address])
}

deny contains lib.finding("encryption_at_rest", "HIGH", v, msg) if {
	some v in lib.of_type("aws_ebs_volume")
	lib.not_true(v, "encrypted")
	msg := sprintf("EBS volume %s has encrypted unset or false", [v.address])
}

deny contains lib.finding("encryption_at_rest", "HIGH", i, msg) if {
	some i in lib.of_type("aws_instance")
	some key in ["root_block_device", "ebs_block_device"]
	some dev in object.get(i.change.after, key, [])
	object.get(dev, "encrypted", null) == false
	msg := sprintf("instance %s has an unencrypted %s", [i.address, key])
}

aurora_member(db) if {
	db.type == "aws_db_instance"
	startswith(object.get(db.change.after, "engine", ""), "aurora")
}
