package findings

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// report is a real tool output of testdata and its format.
type report struct {
	format Format
	file   string
}

// parsed reads real tool outputs of testdata, as a step reads its tools' reports.
func parsed(t *testing.T, reports ...report) []Finding {
	t.Helper()
	var all []Finding
	for _, r := range reports {
		fs, err := Parse(r.format, r.file, readTestdata(t, r.file))
		if err != nil || len(fs) == 0 {
			t.Fatalf("%s: %d findings, %v", r.file, len(fs), err)
		}
		all = append(all, fs...)
	}
	return all
}

// The real reports the tests apply suppressions to: Trivy's scan of one module as v0.74
// writes it (AWS-0089, AWS-0090, AWS-0132) and as v0.68 did (AVD-AWS-0088,
// s3-bucket-logging, AVD-AWS-0090, AVD-AWS-0132); Checkov's (CKV_AZURE_*), tflint's
// (terraform_*) and terraform-compliance's ("<feature>: <scenario>").
var (
	trivyNow          = report{FormatTrivyJSON, "trivy-config-terraform-remote-module.json"}
	trivyV068         = report{FormatTrivyJSON, "trivy-v0.68-config-terraform-remote-module.json"}
	checkovSARIF      = report{FormatSARIF, "checkov-terraform-azure-report.sarif"}
	tflintJSON        = report{FormatTflintJSON, "tflint-json-terraform-ruleset-warnings.json"}
	complianceConsole = report{FormatTerraformCompliance, "terraform-compliance-console-v0.2.0-pass-and-fail.txt"}
)

func suppressionsOf(t *testing.T, yaml string) Suppressions {
	t.Helper()
	s, err := ParseSuppressions("suppressions.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func suppressedRules(fs []Finding) []string {
	var ids []string
	for _, f := range fs {
		if f.Suppressed != "" {
			ids = append(ids, f.RuleID)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestSuppressionRuleForms: Trivy named its checks AVD-AWS-0087 up to v0.68 and AWS-0087
// from v0.69, so an entry in either form suppresses the check in both; no other spelling
// is taken for Trivy's, and tfsec's long IDs are not tied to Trivy's.
func TestSuppressionRuleForms(t *testing.T) {
	tests := []struct {
		name       string
		rule       string
		report     report
		suppressed []string
	}{
		{"the old form suppresses the new", "AVD-AWS-0132", trivyNow, []string{"AWS-0132"}},
		{"the new form suppresses the old", "AWS-0132", trivyV068, []string{"AVD-AWS-0132"}},
		{"the same form", "AWS-0090", trivyNow, []string{"AWS-0090"}},
		{"the prefix in lower case", "avd-AWS-0090", trivyNow, []string{"AWS-0090"}},
		{"the old form on the old report", "AVD-AWS-0088", trivyV068, []string{"AVD-AWS-0088"}},
		{"another check", "AVD-AWS-0087", trivyNow, nil},
		{"the link's lower-case form is no ID", "aws-0090", trivyNow, nil},
		{"v0.68 called AVD-AWS-0089 s3-bucket-logging", "AVD-AWS-0089", trivyV068, nil},
		{"a tfsec long ID is not Trivy's", "aws-s3-encryption-customer-key", trivyNow, nil},
		{"Checkov's IDs are exact", "CKV_AZURE_1", checkovSARIF, []string{"CKV_AZURE_1"}},
		{"no AVD- form for Checkov", "AVD-CKV_AZURE_1", checkovSARIF, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := suppressionsOf(t, "suppressions:\n  - rule: "+tt.rule+"\n    reason: accepted\n")
			out, _ := s.Apply(parsed(t, tt.report), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
			if got := suppressedRules(out); !slices.Equal(got, tt.suppressed) {
				t.Errorf("rule %s suppressed %q, want %q", tt.rule, got, tt.suppressed)
			}
		})
	}
}

// allSteps is one suppressions file with an entry for each step's tools, as a repository
// keeps it: every step applies all of it to its own findings.
const allSteps = `suppressions:
  - rule: CKV_AZURE_178
    resource: azurerm_linux_virtual_machine.nginx-vm
    reason: keys are managed by the platform team
  - rule: AVD-AWS-0087
    resource: module.bucket
    reason: the module blocks public policies itself
  - rule: AVD-AWS-0132
    resource: module.bucket
    reason: S3 access logs cannot go to a KMS-encrypted bucket
  - rule: terraform_unused_declarations
    reason: inputs kept for callers
  - rule: no_gp2_volumes
    reason: the legacy volume is replaced in Q3
  - rule: CKV_AZURE_999
    reason: a check Checkov does not have
  - rule: aws-s3-enable-bucket-logging
    reason: tfsec's ID, which no step here reports
  - rule: "Subnets should be defined properly for network security: Subnet Count"
    reason: one subnet is enough for the sandbox
`

// TestUnmatchedSuppressionNotices applies one file to each step's real findings: a live
// entry that matched nothing is reported only by the step that runs the tool whose IDs it
// has the form of, and only when that tool reported something; the other steps stay quiet.
func TestUnmatchedSuppressionNotices(t *testing.T) {
	unmatched := func(what string) string {
		return "suppressions.yaml: entry " + what + " matched no finding in this run: check the rule ID (the findings' IDs are in findings.json or results.sarif) or remove the entry"
	}
	tests := []struct {
		name    string
		yaml    string
		reports []report
		notices []string
	}{
		{
			name:    "security scan: a wrong Trivy ID and a wrong Checkov ID",
			yaml:    allSteps,
			reports: []report{checkovSARIF, trivyNow},
			notices: []string{
				unmatched(`2 (rule AVD-AWS-0087, resource "module.bucket")`),
				unmatched(`6 (rule CKV_AZURE_999)`),
			},
		},
		{
			name:    "security scan, Trivy could not run: its entries are not judged",
			yaml:    allSteps,
			reports: []report{checkovSARIF},
			notices: []string{unmatched(`6 (rule CKV_AZURE_999)`)},
		},
		{
			name:    "security scan with an older Trivy",
			yaml:    allSteps,
			reports: []report{checkovSARIF, trivyV068},
			notices: []string{
				unmatched(`2 (rule AVD-AWS-0087, resource "module.bucket")`),
				unmatched(`6 (rule CKV_AZURE_999)`),
			},
		},
		{
			name:    "lint: tflint's findings judge no security-scan entry",
			yaml:    allSteps,
			reports: []report{tflintJSON},
		},
		{
			name:    "compliance: terraform-compliance's findings judge no security-scan entry",
			yaml:    allSteps,
			reports: []report{complianceConsole},
		},
		{
			name: "an entry is matched even when an earlier one suppressed the finding",
			yaml: `suppressions:
  - rule: AWS-0132
    reason: first
  - rule: AVD-AWS-0132
    file: terraform-aws-modules/*/*/main.tf
    reason: second
`,
			reports: []report{trivyNow},
		},
		{
			name: "a file glob that matches no file",
			yaml: `suppressions:
  - rule: AWS-0132
    file: modules/*/main.tf
    reason: the path is relative to the Terraform directory
`,
			reports: []report{trivyNow},
			notices: []string{unmatched(`1 (rule AWS-0132, file "modules/*/main.tf")`)},
		},
		{
			name: "expired entries keep their own notices",
			yaml: `suppressions:
  - rule: AWS-0132
    reason: live
  - rule: AVD-AWS-0132
    reason: old
    expires: 2026-06-30
  - rule: AWS-0089
    reason: old
    expires: 2026-06-30
  - rule: AWS-0087
    reason: old
    expires: 2026-06-30
`,
			reports: []report{trivyNow},
			notices: []string{
				"suppression for AVD-AWS-0132 expired on 2026-06-30; another entry suppresses what it matched: remove it",
				"suppression for AWS-0089 expired on 2026-06-30; the finding applies again",
				"suppression for AWS-0087 expired on 2026-06-30 and matches no finding; remove it",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := suppressionsOf(t, tt.yaml)
			_, notices := s.Apply(parsed(t, tt.reports...), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
			if strings.Join(notices, "\n") != strings.Join(tt.notices, "\n") {
				t.Errorf("notices:\n%s\nwant:\n%s", strings.Join(notices, "\n"), strings.Join(tt.notices, "\n"))
			}
		})
	}
}
