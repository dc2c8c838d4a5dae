package infrapipe.s3_public_access_test

import data.infrapipe.s3_public_access
import data.infrapipe.testing_test.plan
import data.infrapipe.testing_test.rc
import data.infrapipe.testing_test.resources

blocked := {"block_public_acls": true, "block_public_policy": true, "ignore_public_acls": true, "restrict_public_buckets": true}

test_private_bucket_passes if {
	p := plan(
		[rc("aws_s3_bucket", "b", {"bucket": "b"}), rc("aws_s3_bucket_public_access_block", "b", blocked), rc("aws_s3_bucket_acl", "b", {"acl": "private"})],
		{"aws_s3_bucket_public_access_block.b": ["aws_s3_bucket.b.id", "aws_s3_bucket.b"], "aws_s3_bucket_acl.b": ["aws_s3_bucket.b"]},
	)
	count(s3_public_access.deny) == 0 with input as p
}

test_public_acl_is_critical if {
	p := plan(
		[rc("aws_s3_bucket", "b", {"bucket": "b"}), rc("aws_s3_bucket_public_access_block", "b", blocked), rc("aws_s3_bucket_acl", "b", {"acl": "public-read"})],
		{"aws_s3_bucket_public_access_block.b": ["aws_s3_bucket.b"]},
	)
	denials := s3_public_access.deny with input as p
	count(denials) == 1
	some d in denials
	d.severity == "CRITICAL"
	d.resource == "aws_s3_bucket_acl.b"
}

test_missing_and_partial_access_blocks if {
	partial := object.union(blocked, {"restrict_public_buckets": false})
	p := plan(
		[rc("aws_s3_bucket", "none", {"bucket": "none"}), rc("aws_s3_bucket", "partial", {"bucket": "partial"}), rc("aws_s3_bucket_public_access_block", "partial", partial)],
		{"aws_s3_bucket_public_access_block.partial": ["aws_s3_bucket.partial"]},
	)
	resources(s3_public_access.deny) == {"aws_s3_bucket.none", "aws_s3_bucket_public_access_block.partial"} with input as p
}

test_account_level_block_covers_buckets if {
	p := plan([rc("aws_s3_bucket", "b", {"bucket": "b"}), rc("aws_s3_account_public_access_block", "this", blocked)], {})
	count(s3_public_access.deny) == 0 with input as p
}
