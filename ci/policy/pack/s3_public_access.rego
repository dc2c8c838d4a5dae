# No S3 bucket is public: no public canned ACL, and every bucket has a public access
# block with all four settings on (or the account-level block has them on).
package infrapipe.s3_public_access

import data.infrapipe.lib

public_acls := {"public-read", "public-read-write", "authenticated-read"}

settings := ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]

deny contains lib.finding("s3_public_access", "CRITICAL", a, msg) if {
	some a in lib.of_type("aws_s3_bucket_acl")
	lib.after(a, "acl") in public_acls
	msg := sprintf("%s grants the public canned ACL %q", [a.address, lib.after(a, "acl")])
}

deny contains lib.finding("s3_public_access", "CRITICAL", b, msg) if {
	some b in lib.of_type("aws_s3_bucket")
	lib.after(b, "acl") in public_acls # provider < 4 inline acl
	msg := sprintf("%s grants the public canned ACL %q", [b.address, lib.after(b, "acl")])
}

deny contains lib.finding("s3_public_access", "HIGH", b, msg) if {
	some b in lib.of_type("aws_s3_bucket")
	not account_blocked
	count(lib.attached("aws_s3_bucket_public_access_block", b)) == 0
	msg := sprintf("S3 bucket %s has no aws_s3_bucket_public_access_block", [b.address])
}

deny contains lib.finding("s3_public_access", "HIGH", p, msg) if {
	some p in lib.of_type("aws_s3_bucket_public_access_block")
	off := [s | some s in settings; lib.not_true(p, s)]
	count(off) > 0
	msg := sprintf("%s leaves public access open: %s not true", [p.address, concat(", ", off)])
}

account_blocked if {
	some p in lib.of_type("aws_s3_account_public_access_block")
	every s in settings {
		lib.is_true(p, s)
	}
}
