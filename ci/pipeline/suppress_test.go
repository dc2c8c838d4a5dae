package pipeline

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/findings"
)

// TestSuppressionNoticesPerStep applies one suppressions file the way each step does, to
// the real reports of its own tools: the security scan reports its entries that matched
// nothing, and lint and compliance, which apply the same file, do not report them too.
func TestSuppressionNoticesPerStep(t *testing.T) {
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	repo := repoWith(map[string]string{"terraform/suppressions.yaml": `suppressions:
  - rule: AVD-AWS-0132
    resource: module.bucket
    reason: written as Trivy up to v0.68 named it; v0.74 reports AWS-0132
  - rule: AVD-AWS-0087
    resource: module.bucket
    reason: a check the scan does not report
  - rule: CKV_AZURE_178
    reason: keys are managed by the platform team
  - rule: terraform_unused_declarations
    reason: inputs kept for callers
  - rule: "Subnets should be defined properly for network security: Subnet Count"
    reason: one subnet is enough for the sandbox
`})
	checkov := realFindings(t, findings.ParseSARIF, "checkov-terraform-azure-report.sarif")
	trivy := realFindings(t, findings.ParseTrivyJSON, "trivy-config-terraform-remote-module.json")
	tflint := realFindings(t, findings.ParseTflintJSON, "tflint-json-terraform-ruleset-warnings.json")
	tfc := realFindings(t, findings.ParseTerraformCompliance, "terraform-compliance-console-v0.2.0-pass-and-fail.txt")
	planJSON, err := os.ReadFile("../plan/testdata/terraform-plan-replace-tainted.json")
	if err != nil {
		t.Fatal(err)
	}
	tfcTool := Tool{Name: "terraform-compliance", Image: "eerkunt/terraform-compliance", Flag: "terraform-compliance-image"}
	wrongTrivyID := `terraform/suppressions.yaml: entry 2 (rule AVD-AWS-0087, resource "module.bucket") matched no finding in this run: check the rule ID (the findings' IDs are in findings.json or results.sarif) or remove the entry`

	tests := []struct {
		name       string
		step       func() ([]findings.Finding, []string, error)
		suppressed []string // rule IDs
		notices    []string
	}{
		{
			name: "security scan",
			step: func() ([]findings.Finding, []string, error) {
				s, err := MergeScan(repo, at, ToolRun{Tool: checkovTool, Findings: checkov}, ToolRun{Tool: trivyTool, Findings: trivy})
				return s.Findings, s.Notices, err
			},
			suppressed: []string{"AWS-0132", "CKV_AZURE_178"},
			notices:    []string{wrongTrivyID},
		},
		{
			name: "security scan without Trivy, which could not run",
			step: func() ([]findings.Finding, []string, error) {
				s, err := MergeScan(repo, at, ToolRun{Tool: checkovTool, Findings: checkov}, ToolRun{Tool: trivyTool, Err: errors.New("exit code 2")})
				return s.Findings, s.Notices, err
			},
			suppressed: []string{"CKV_AZURE_178"},
		},
		{
			name: "lint",
			step: func() ([]findings.Finding, []string, error) {
				return repo.Suppress(repo.Own(tflint), at)
			},
			suppressed: []string{"terraform_unused_declarations"},
		},
		{
			name: "compliance",
			step: func() ([]findings.Finding, []string, error) {
				s, err := MergeCompliance(repo, at, planJSON, ToolRun{Tool: tfcTool, Findings: tfc})
				return s.Findings, s.Notices, err
			},
			suppressed: []string{"Subnets should be defined properly for network security: Subnet Count"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, notices, err := tt.step()
			if err != nil {
				t.Fatal(err)
			}
			var suppressed []string
			for _, f := range fs {
				if f.Suppressed != "" && !contains(suppressed, f.RuleID) {
					suppressed = append(suppressed, f.RuleID)
				}
			}
			if strings.Join(suppressed, ",") != strings.Join(tt.suppressed, ",") {
				t.Errorf("suppressed %q, want %q", suppressed, tt.suppressed)
			}
			if strings.Join(notices, "\n") != strings.Join(tt.notices, "\n") {
				t.Errorf("notices %q, want %q", notices, tt.notices)
			}
		})
	}
}

// A suppressions file that does not parse is refused before any step (CheckSuppressions),
// with the file and entry named; no file, or a good one, passes.
func TestCheckSuppressions(t *testing.T) {
	for _, tt := range []struct {
		name string
		repo Repo
		want string // "" passes
	}{
		{"no suppressions file", repoWith(map[string]string{}), ""},
		{"a good file", repoWith(map[string]string{"terraform/suppressions.yaml": "suppressions:\n  - rule: CKV_AWS_18\n    reason: logs go elsewhere\n"}), ""},
		{"an entry without a reason", repoWith(map[string]string{"terraform/suppressions.yaml": "suppressions:\n  - rule: CKV_AWS_18\n"}),
			"suppressions terraform/suppressions.yaml: entry 1 (CKV_AWS_18): reason is required"},
		{"an unknown key", repoWith(map[string]string{"terraform/suppressions.yaml": "suppressions:\n  - rule: CKV_AWS_18\n    reason: r\n    tool: checkov\n"}),
			"suppressions terraform/suppressions.yaml: "},
		{"not YAML", repoWith(map[string]string{"terraform/suppressions.yaml": "suppressions: [\n"}), "not valid YAML"},
		{"an unreadable repository", Repo{TerraformDir: "terraform", Read: func(string) ([]byte, bool, error) { return nil, false, errors.New("denied") }},
			"read terraform/suppressions.yaml: denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.repo.CheckSuppressions()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckSuppressions = %v, want %q", err, tt.want)
			}
		})
	}
}
