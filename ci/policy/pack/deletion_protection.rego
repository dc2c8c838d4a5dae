# Databases in protected environments (prod unless the protected_environments setting
# says otherwise) cannot be deleted by a plan: RDS instances and clusters set
# deletion_protection, DynamoDB tables deletion_protection_enabled.
package infrapipe.deletion_protection

import data.infrapipe.lib

protected if lib.setting("environment", "") in lib.setting("protected_environments", ["prod"])

attribute := {
	"aws_db_instance": "deletion_protection",
	"aws_rds_cluster": "deletion_protection",
	"aws_dynamodb_table": "deletion_protection_enabled",
}

deny contains lib.finding("deletion_protection", "HIGH", db, msg) if {
	protected
	some type, attr in attribute
	some db in lib.of_type(type)
	lib.not_true(db, attr)
	msg := sprintf("%s in %s has %s unset or false", [db.address, lib.setting("environment", ""), attr])
}
