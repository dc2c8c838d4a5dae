package infrapipe.encryption_at_rest_test

import data.infrapipe.encryption_at_rest
import data.infrapipe.testing_test.plan
import data.infrapipe.testing_test.rc
import data.infrapipe.testing_test.resources

test_bucket_with_sse_configuration_passes if {
	p := plan(
		[rc("aws_s3_bucket", "logs", {"bucket": "logs"}), rc("aws_s3_bucket_server_side_encryption_configuration", "logs", {})],
		{"aws_s3_bucket_server_side_encryption_configuration.logs": ["aws_s3_bucket.logs.id", "aws_s3_bucket.logs"]},
	)
	count(encryption_at_rest.deny) == 0 with input as p
}

test_bucket_without_sse_configuration_fails if {
	p := plan(
		[rc("aws_s3_bucket", "logs", {"bucket": "logs"}), rc("aws_s3_bucket", "other", {"bucket": "other"}), rc("aws_s3_bucket_server_side_encryption_configuration", "other", {})],
		{"aws_s3_bucket_server_side_encryption_configuration.other": ["aws_s3_bucket.other.id", "aws_s3_bucket.other"]},
	)
	resources(encryption_at_rest.deny) == {"aws_s3_bucket.logs"} with input as p
}

test_databases_and_volumes if {
	p := plan(
		[
			rc("aws_dynamodb_table", "ok", {"server_side_encryption": [{"enabled": true}]}),
			rc("aws_dynamodb_table", "bad", {"server_side_encryption": []}),
			rc("aws_db_instance", "ok", {"engine": "postgres", "storage_encrypted": true}),
			rc("aws_db_instance", "bad", {"engine": "postgres", "storage_encrypted": false}),
			rc("aws_db_instance", "aurora_member", {"engine": "aurora-postgresql"}),
			rc("aws_rds_cluster", "bad", {"engine": "aurora-postgresql"}),
			rc("aws_ebs_volume", "ok", {"encrypted": true}),
			rc("aws_ebs_volume", "bad", {"encrypted": false}),
			rc("aws_instance", "bad", {"root_block_device": [{"encrypted": false}]}),
			rc("aws_instance", "ok", {"root_block_device": [{"encrypted": true}]}),
		],
		{},
	)
	resources(encryption_at_rest.deny) == {
		"aws_dynamodb_table.bad", "aws_db_instance.bad", "aws_rds_cluster.bad",
		"aws_ebs_volume.bad", "aws_instance.bad",
	} with input as p
}

test_unknown_until_apply_is_not_a_finding if {
	r := object.union(rc("aws_ebs_volume", "v", {}), {"change": {"after_unknown": {"encrypted": true}}})
	count(encryption_at_rest.deny) == 0 with input as plan([r], {})
}
