package infrapipe.deletion_protection_test

import data.infrapipe.deletion_protection
import data.infrapipe.testing_test.plan
import data.infrapipe.testing_test.rc
import data.infrapipe.testing_test.resources

databases := plan(
	[
		rc("aws_db_instance", "ok", {"deletion_protection": true}),
		rc("aws_db_instance", "bad", {"deletion_protection": false}),
		rc("aws_rds_cluster", "bad", {}),
		rc("aws_dynamodb_table", "ok", {"deletion_protection_enabled": true}),
		rc("aws_dynamodb_table", "bad", {"deletion_protection_enabled": false}),
	],
	{},
)

test_prod_requires_deletion_protection if {
	resources(deletion_protection.deny) == {"aws_db_instance.bad", "aws_rds_cluster.bad", "aws_dynamodb_table.bad"} with input as databases
		with data.infrapipe_config.environment as "prod"
}

test_other_environments_do_not if {
	count(deletion_protection.deny) == 0 with input as databases with data.infrapipe_config.environment as "staging"
	count(deletion_protection.deny) == 0 with input as databases
}

test_protected_environments_setting if {
	count(deletion_protection.deny) == 3 with input as databases
		with data.infrapipe_config.environment as "staging"
		with data.infrapipe_config.protected_environments as ["staging", "prod"]
}
