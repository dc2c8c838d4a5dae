package infrapipe.required_tags_test

import data.infrapipe.required_tags
import data.infrapipe.testing_test.plan
import data.infrapipe.testing_test.rc

all_tags := {"Project": "p", "Environment": "test", "Owner": "team"}

test_tagged_resource_passes if {
	count(required_tags.deny) == 0 with input as plan([rc("aws_sqs_queue", "q", {"tags": all_tags, "tags_all": all_tags})], {})
}

test_missing_tags_are_named if {
	denials := required_tags.deny with input as plan([rc("aws_sqs_queue", "q", {"tags": {"Project": "p"}, "tags_all": {"Project": "p"}})], {})
	some d in denials
	d.rule == "required_tags"
	d.severity == "MEDIUM"
	d.resource == "aws_sqs_queue.q"
	d.message == "aws_sqs_queue.q is missing required tags: Environment, Owner"
}

test_empty_value_counts_as_missing if {
	tags := object.union(all_tags, {"Owner": ""})
	count(required_tags.deny) == 1 with input as plan([rc("aws_sqs_queue", "q", {"tags": tags})], {})
}

test_tags_all_from_default_tags_count if {
	count(required_tags.deny) == 0 with input as plan([rc("aws_sqs_queue", "q", {"tags": null, "tags_all": all_tags})], {})
}

test_provider_default_tags_count_when_tags_all_unknown if {
	r := object.union(rc("aws_sqs_queue", "q", {"tags": {"Owner": "team"}}), {"change": {"after_unknown": {"tags_all": true}}})
	p := object.union(plan([r], {}), {"configuration": {"provider_config": {"aws": {
		"name": "aws",
		"expressions": {"default_tags": [{"tags": {"constant_value": {"Project": "p", "Environment": "e"}}}]},
	}}}})
	count(required_tags.deny) == 0 with input as p
}

test_unknown_tag_value_counts_as_present if {
	r := object.union(rc("aws_sqs_queue", "q", {"tags": {"Project": "p", "Environment": "e"}}), {"change": {"after_unknown": {"tags": {"Owner": true}}}})
	count(required_tags.deny) == 0 with input as plan([r], {})
}

test_untaggable_and_deleted_resources_are_skipped if {
	deleted := object.union(rc("aws_sqs_queue", "old", {}), {"change": {"actions": ["delete"], "after": null}})
	count(required_tags.deny) == 0 with input as plan([rc("aws_iam_role_policy", "p", {"policy": "{}"}), deleted], {})
}

test_required_tags_setting if {
	denials := required_tags.deny with input as plan([rc("aws_sqs_queue", "q", {"tags": all_tags})], {})
		with data.infrapipe_config.required_tags as ["CostCenter"]
	count(denials) == 1
}
