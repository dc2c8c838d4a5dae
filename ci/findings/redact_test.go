package findings

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	fs := []Finding{
		{Tool: "opa", RuleID: "no_plain_passwords", Resource: "aws_db_instance.main", Message: `password "hunter2-long" is in clear; old was "hunter2"`},
		{Tool: "terraform-compliance", RuleID: "Secrets: token", Resource: "aws_ssm_parameter.tok-9f8e", Message: "value tok-9f8e does not match ^arn:", File: "f.feature"},
		{Tool: "trivy", RuleID: "AWS-0001", Message: "nothing secret here"},
	}
	got := Redact(fs, []string{"hunter2-long", "tok-9f8e", "hunter2"})
	want := []Finding{
		{Tool: "opa", RuleID: "no_plain_passwords", Resource: "aws_db_instance.main", Message: `password "(sensitive value)" is in clear; old was "(sensitive value)"`},
		{Tool: "terraform-compliance", RuleID: "Secrets: token", Resource: "aws_ssm_parameter.(sensitive value)", Message: "value (sensitive value) does not match ^arn:", File: "f.feature"},
		{Tool: "trivy", RuleID: "AWS-0001", Message: "nothing secret here"},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("finding %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if !strings.Contains(fs[0].Message, "hunter2") {
		t.Error("Redact changed its input")
	}
	if same := Redact(fs, nil); len(same) != len(fs) || same[0] != fs[0] {
		t.Errorf("Redact without values = %+v", same)
	}
}
