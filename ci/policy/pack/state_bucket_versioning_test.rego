package infrapipe.state_bucket_versioning_test

import data.infrapipe.state_bucket_versioning
import data.infrapipe.testing_test.plan
import data.infrapipe.testing_test.rc
import data.infrapipe.testing_test.resources

enabled := {"versioning_configuration": [{"status": "Enabled"}]}

test_versioned_state_bucket_passes if {
	p := plan(
		[rc("aws_s3_bucket", "state", {"bucket": "acme-tfstate"}), rc("aws_s3_bucket_versioning", "state", enabled)],
		{"aws_s3_bucket_versioning.state": ["aws_s3_bucket.state.id", "aws_s3_bucket.state"]},
	)
	count(state_bucket_versioning.deny) == 0 with input as p
}

test_state_buckets_found_by_name_tag_and_setting if {
	p := plan(
		[
			rc("aws_s3_bucket", "state", {"bucket": "x"}),
			rc("aws_s3_bucket", "b", {"bucket": "acme-terraform-state"}),
			rc("aws_s3_bucket", "tagged", {"bucket": "y", "tags": {"Purpose": "terraform-state"}}),
			rc("aws_s3_bucket", "listed", {"bucket": "z"}),
			rc("aws_s3_bucket", "assets", {"bucket": "acme-statements"}),
			rc("aws_s3_bucket", "suspended", {"bucket": "tfstate"}),
			rc("aws_s3_bucket_versioning", "suspended", {"versioning_configuration": [{"status": "Suspended"}]}),
		],
		{"aws_s3_bucket_versioning.suspended": ["aws_s3_bucket.suspended"]},
	)
	resources(state_bucket_versioning.deny) == {
		"aws_s3_bucket.state", "aws_s3_bucket.b", "aws_s3_bucket.tagged",
		"aws_s3_bucket.listed", "aws_s3_bucket.suspended",
	} with input as p
		with data.infrapipe_config.state_buckets as ["z"]
}
