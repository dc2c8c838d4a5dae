package findings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestParseRealOutputs reads each tool's real output and checks the count and one finding
// field by field, so a reader that loses a field or a severity mapping fails here.
func TestParseRealOutputs(t *testing.T) {
	tests := []struct {
		format Format
		file   string
		count  int
		want   Finding // compared with the finding of the same RuleID and Line
	}{
		{FormatSARIF, "checkov-terraform-azure-report.sarif", 7, Finding{
			Tool: "checkov", RuleID: "CKV_AZURE_178", Severity: High, Resource: "azurerm_linux_virtual_machine.nginx-vm",
			File: "iac-azure-aks-belfius/vm.tf", Line: 95, Message: "Linux VM Without SSH Key",
			Link: "https://docs.prismacloud.io/en/enterprise-edition/policy-reference/azure-policies/azure-general-policies/azr-general-178",
		}},
		{FormatSARIF, "checkov-terraform-azure-report.sarif", 7, Finding{
			// security-severity "0.0" with level "none": the level decides.
			Tool: "checkov", RuleID: "CKV_AZURE_10", Severity: Info, Resource: "azurerm_network_security_group.nginx-vm-nsg",
			File: "iac-azure-aks-belfius/vm.tf", Line: 35, Message: "Azure Network Security Group allows all traffic on SSH port 22",
			Link: "https://docs.prismacloud.io/en/enterprise-edition/policy-reference/azure-policies/azure-networking-policies/bc-azr-networking-3",
		}},
		{FormatCheckovJSON, "checkov-multi-framework-terraform-report.json", 33, Finding{
			Tool: "checkov", RuleID: "CKV_AWS_28", Severity: High, Resource: "aws_dynamodb_table.token_cache",
			File: "main.tf", Line: 149, Message: "Ensure Dynamodb point in time recovery (backup) is enabled",
			Link: "https://docs.bridgecrew.io/docs/general_6",
		}},
		{FormatCheckovJSON, "checkov-multi-framework-terraform-report.json", 33, Finding{
			// severity null (no platform API key): MEDIUM, and line 0 stays unknown.
			Tool: "checkov", RuleID: "BC_LIC_2", Severity: Medium, Resource: "package-lock.json.express",
			File: "package-lock.json", Message: "License NOT_FOUND - express: 3.0.0",
		}},
		{FormatTflintJSON, "tflint-json-terraform-ruleset-warnings.json", 6, Finding{
			Tool: "tflint", RuleID: "terraform_required_version", Severity: Low, File: "main.tf", Line: 1,
			Message: `terraform "required_version" attribute is required`,
			Link:    "https://github.com/terraform-linters/tflint-ruleset-terraform/blob/v0.8.0/docs/rules/terraform_required_version.md",
		}},
		{FormatTflintJSON, "tflint-json-module-callers.json", 4, Finding{
			Tool: "tflint", RuleID: "aws_instance_example_type", Severity: High, File: "module.tf", Line: 11, Message: "instance type is t1.2xlarge",
		}},
		{FormatTflintJSON, "tflint-json-info-and-warning.json", 3, Finding{
			Tool: "tflint", Severity: Info,
		}},
		{FormatTrivyJSON, "trivy-config-terraform-remote-module.json", 3, Finding{
			Tool: "trivy", RuleID: "AWS-0132", Severity: High, Resource: "module.bucket",
			File: "terraform-aws-modules/s3-bucket/aws/main.tf", Line: 25,
		}},
		{FormatTerraformCompliance, "terraform-compliance-console-v0.2.0-pass-and-fail.txt", 1, Finding{
			Tool: "terraform-compliance", RuleID: "Subnets should be defined properly for network security: Subnet Count",
			Severity: High, File: "/path/to/example/example_01/aws/subnets.feature", Message: "0 is not more than 2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.want.RuleID, func(t *testing.T) {
			fs, err := Parse(tt.format, tt.file, readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != tt.count {
				t.Errorf("got %d findings, want %d", len(fs), tt.count)
			}
			for _, f := range fs {
				if f.Tool != tt.want.Tool || f.RuleID == "" || f.Message == "" && tt.format != FormatCheckovJSON {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			got, ok := find(fs, tt.want)
			if !ok {
				t.Fatalf("no finding like %+v in %+v", tt.want, fs)
			}
			if !matchesWant(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// find returns the finding with want's rule (or severity, when want names no rule).
func find(fs []Finding, want Finding) (Finding, bool) {
	for _, f := range fs {
		if want.RuleID != "" && f.RuleID == want.RuleID && (want.Line == 0 || f.Line == want.Line) {
			return f, true
		}
		if want.RuleID == "" && f.Severity == want.Severity {
			return f, true
		}
	}
	return Finding{}, false
}

// matchesWant compares the fields want sets.
func matchesWant(got, want Finding) bool {
	eq := func(w, g string) bool { return w == "" || w == g }
	return got.Tool == want.Tool && got.Severity == want.Severity && eq(want.RuleID, got.RuleID) &&
		eq(want.Resource, got.Resource) && eq(want.File, got.File) && (want.Line == 0 || want.Line == got.Line) &&
		eq(want.Message, got.Message) && eq(want.Link, got.Link)
}

// TestParseRejectsBrokenOutput: a crashed or misused scanner must be an error naming the
// tool and the file, never an empty (clean-looking) result.
func TestParseRejectsBrokenOutput(t *testing.T) {
	sarif := string(readTestdata(t, "checkov-terraform-azure-report.sarif"))
	tflint := string(readTestdata(t, "tflint-json-terraform-ruleset-warnings.json"))
	tests := []struct {
		name, tool string
		format     Format
		data       string
		wantErr    string
	}{
		{"empty sarif", "sarif", FormatSARIF, "", "empty output"},
		{"truncated sarif", "sarif", FormatSARIF, sarif[:len(sarif)/2], "sarif"},
		{"sarif 2.0", "sarif", FormatSARIF, `{"version":"2.0.0","runs":[]}`, `version "2.0.0"`},
		{"sarif without runs", "sarif", FormatSARIF, `{"version":"2.1.0"}`, "no runs"},
		{"sarif nameless tool", "sarif", FormatSARIF, `{"version":"2.1.0","runs":[{"tool":{"driver":{}},"results":[]}]}`, "tool.driver.name"},
		{"sarif bad level", "sarif", FormatSARIF, `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"tfsec"}},"results":[{"ruleId":"x","level":"fatal","message":{"text":"m"}}]}]}`, `level "fatal"`},
		{"sarif result without rule", "sarif", FormatSARIF, `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"tfsec"}},"results":[{"message":{"text":"m"}}]}]}`, "no ruleId"},
		{"checkov whitespace", "checkov", FormatCheckovJSON, " \n", "empty output"},
		{"checkov empty list", "checkov", FormatCheckovJSON, "[]", "empty report list"},
		{"checkov no files scanned", "checkov", FormatCheckovJSON, `{"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0, "checkov_version": "3.2.509"}`, "checkov scanned no resources"},
		{"checkov other json", "checkov", FormatCheckovJSON, `{"version": "2.1.0"}`, "not a checkov -o json report"},
		{"checkov traceback", "checkov", FormatCheckovJSON, "Traceback (most recent call last):\n", "not valid checkov JSON"},
		{"checkov bad severity", "checkov", FormatCheckovJSON, `{"check_type":"terraform","results":{"failed_checks":[{"check_id":"CKV_AWS_1","severity":"SEVERE"}]}}`, `unknown severity "SEVERE"`},
		{"tflint empty", "tflint", FormatTflintJSON, "", "empty output"},
		{"tflint truncated", "tflint", FormatTflintJSON, tflint[:100], "not valid tflint JSON"},
		{"tflint other json", "tflint", FormatTflintJSON, `{"version":"2.1.0"}`, "no issues array"},
		{"tflint own errors", "tflint", FormatTflintJSON, `{"issues":[],"errors":[{"message":"Failed to load configurations","severity":"error"}]}`, "Failed to load configurations"},
		{"tflint issue without rule", "tflint", FormatTflintJSON, `{"issues":[{"rule":{"severity":"warning"}}]}`, "issue 0 has no rule name"},
		{"tflint bad severity", "tflint", FormatTflintJSON, `{"issues":[{"rule":{"name":"r","severity":"fatal"}}],"errors":[]}`, `severity "fatal"`},
		{"trivy empty", "trivy", FormatTrivyJSON, "", "empty output"},
		{"trivy not a report", "trivy", FormatTrivyJSON, `{"Results":[]}`, "no SchemaVersion"},
		{"trivy bad severity", "trivy", FormatTrivyJSON, `{"SchemaVersion":2,"Results":[{"Target":"main.tf","Misconfigurations":[{"ID":"AWS-1","Severity":"BAD","Status":"FAIL"}]}]}`, `unknown severity "BAD"`},
		{"compliance empty", "terraform-compliance", FormatTerraformCompliance, "\n\n", "empty output"},
		{"compliance crashed", "terraform-compliance", FormatTerraformCompliance, "terraform-compliance v1.3.49 initiated\nFeature: Tags\n    Scenario: x\nTraceback (most recent call last):\n", "did not finish"},
		{"compliance unreadable failures", "terraform-compliance", FormatTerraformCompliance, "Feature: Tags\n1 features (0 passed, 1 failed)\n1 scenarios (0 passed, 1 failed)\n", "no failure message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const file = "out/scan-result.file"
			fs, err := Parse(tt.format, file, []byte(tt.data))
			if err == nil {
				t.Fatalf("no error; findings %+v", fs)
			}
			for _, want := range []string{tt.tool, file, tt.wantErr} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// Checkov's documented SARIF example writes security-severity as a number.
func TestSARIFNumericSecuritySeverity(t *testing.T) {
	doc := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Checkov","rules":[
		{"id":"CKV_AWS_21","helpUri":"https://docs","properties":{"security-severity":8.9}},
		{"id":"CKV_AWS_3","properties":{"security-severity":6.9}},
		{"id":"CKV_AWS_9","properties":{"security-severity":"9.1"}},
		{"id":"CKV_AWS_1","properties":{"security-severity":"n/a"}}]}},
		"results":[{"ruleId":"CKV_AWS_21","level":"error","message":{"text":"a"}},{"ruleId":"CKV_AWS_3","level":"error","message":{"text":"b"}},
		{"ruleId":"CKV_AWS_9","level":"note","message":{"text":"c"}},{"ruleId":"CKV_AWS_1","level":"note","message":{"text":"d"}}]}]}`
	fs, err := ParseSARIF("checkov.sarif", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []Severity{High, Medium, Critical, Low}
	for i, f := range fs {
		if f.Severity != want[i] {
			t.Errorf("%s: %s, want %s", f.RuleID, f.Severity, want[i])
		}
	}
}

// Without --no-ansi terraform-compliance colours its output; the reader strips the codes.
func TestComplianceColoured(t *testing.T) {
	out := "\x1b[1mFeature: Tags\x1b[0m  # /f/tags.feature\n    \x1b[1mScenario: Owner\x1b[0m\n" +
		"\t\t\x1b[31mFailure: \x1b[0maws_s3_bucket.logs (aws_s3_bucket) does not have Owner property.\n" +
		"1 features (0 passed, 1 failed)\n1 scenarios (0 passed, 1 failed)\n"
	fs, err := ParseTerraformCompliance("tc.txt", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := Finding{Tool: "terraform-compliance", RuleID: "Tags: Owner", Severity: High, Resource: "aws_s3_bucket.logs", File: "/f/tags.feature",
		Message: "aws_s3_bucket.logs (aws_s3_bucket) does not have Owner property."}
	if len(fs) != 1 || !matchesWant(fs[0], want) {
		t.Fatalf("got %+v, want [%+v]", fs, want)
	}
}

func TestParseUnknownFormat(t *testing.T) {
	_, err := Parse("junit", "x.xml", []byte("<x/>"))
	if err == nil || !strings.Contains(err.Error(), `"junit"`) || !strings.Contains(err.Error(), "checkov-json") {
		t.Fatalf("error %v should name the format and the valid ones", err)
	}
}

func TestReadFileMissing(t *testing.T) {
	_, err := ReadFile(FormatSARIF, filepath.Join(t.TempDir(), "tfsec.sarif"))
	if err == nil || !strings.Contains(err.Error(), "tfsec.sarif") {
		t.Fatalf("error %v should name the missing file", err)
	}
}

// TestComplianceOneX covers the 1.x console format, which the project's fixture (0.2.0)
// predates; the lines follow terraform-compliance's documented "Failure:" heading and
// its @warning tag renaming.
func TestComplianceOneX(t *testing.T) {
	out := "terraform-compliance v1.3.49 initiated\n\n🚩 Features : /work/policies\n🚩 Plan File : /work/plan.json\n\n🚩 Running tests. 🎉\n\n" +
		"❗ WARNING (mounting): The reference \"module.rg\" in resource module.net.azurerm_virtual_network.this is ambiguous. It will not be mounted.\n" +
		"Feature: Resources must be tagged  # /work/policies/tags.feature\n\n" +
		"    Scenario: Owner tag\n        Given I have resource that supports tags defined\n        Then it must contain Owner\n" +
		"\t\tFailure: aws_s3_bucket.logs (aws_s3_bucket) does not have Owner property.\n" +
		"\t\tFailure: module.db.aws_db_instance.this[0] (aws_db_instance) does not have Owner property.\n\n" +
		"    @warning\n    Scenario: Name tag\n        Then it must contain Name\n" +
		"\t\tWARNING: aws_s3_bucket.logs (aws_s3_bucket) does not have Name property.\n\n" +
		"1 features (0 passed, 1 failed)\n2 scenarios (1 passed, 1 failed)\n5 steps (4 passed, 1 failed)\nRun 1680000000 finished within a moment\n"
	fs, err := ParseTerraformCompliance("tc.txt", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{
		{Tool: "terraform-compliance", RuleID: "Resources must be tagged: Owner tag", Severity: High, Resource: "aws_s3_bucket.logs", File: "/work/policies/tags.feature"},
		{Tool: "terraform-compliance", RuleID: "Resources must be tagged: Owner tag", Severity: High, Resource: "module.db.aws_db_instance.this[0]", File: "/work/policies/tags.feature"},
		{Tool: "terraform-compliance", RuleID: "Resources must be tagged: Name tag", Severity: Low, Resource: "aws_s3_bucket.logs", File: "/work/policies/tags.feature"},
	}
	if len(fs) != len(want) {
		t.Fatalf("got %d findings %+v, want %d", len(fs), fs, len(want))
	}
	for i := range want {
		if !matchesWant(fs[i], want[i]) {
			t.Errorf("finding %d: got %+v, want %+v", i, fs[i], want[i])
		}
	}
}

// Brief names the most severe findings first, each by rule, resource and place, on one
// line whatever the tools wrote, and counts the rest.
func TestBrief(t *testing.T) {
	fs := []Finding{
		{Tool: "tflint", RuleID: "terraform_unused_declarations", Severity: Low, File: "main.tf", Line: 3},
		{Tool: "checkov", RuleID: "CKV_AWS_18", Severity: High, Resource: "aws_s3_bucket.logs", File: "main.tf", Line: 12},
		{Tool: "opa", Severity: Medium, Resource: "aws_sqs_queue.jobs\nforged"},
		{Tool: "trivy", RuleID: "AWS-0086", Severity: Critical, File: "s3.tf"},
	}
	for _, tt := range []struct {
		n    int
		want string
	}{
		{0, ""},
		{2, "AWS-0086 (s3.tf), CKV_AWS_18 (aws_s3_bucket.logs, main.tf:12) and 2 more"},
		{4, "AWS-0086 (s3.tf), CKV_AWS_18 (aws_s3_bucket.logs, main.tf:12), opa (aws_sqs_queue.jobs forged), terraform_unused_declarations (main.tf:3)"},
		{9, "AWS-0086 (s3.tf), CKV_AWS_18 (aws_s3_bucket.logs, main.tf:12), opa (aws_sqs_queue.jobs forged), terraform_unused_declarations (main.tf:3)"},
	} {
		if got := Brief(fs, tt.n); got != tt.want {
			t.Errorf("Brief(%d) =\n%q\nwant\n%q", tt.n, got, tt.want)
		}
	}
	if fs[0].Tool != "tflint" {
		t.Error("Brief sorted the caller's findings")
	}
}
