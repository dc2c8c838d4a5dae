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
// from v0.69, so an entry in either form suppresses the check in both; a rule matches in
// any case (ckv_azure_1, avd-aws-0132), and tfsec's long IDs are not tied to Trivy's.
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
		{"the new form in lower case", "aws-0090", trivyNow, []string{"AWS-0090"}},
		{"the old form in lower case on the new report", "avd-aws-0132", trivyNow, []string{"AWS-0132"}},
		{"the old form in lower case on the old report", "avd-aws-0088", trivyV068, []string{"AVD-AWS-0088"}},
		{"v0.68 called AVD-AWS-0089 s3-bucket-logging", "AVD-AWS-0089", trivyV068, nil},
		{"a tfsec long ID is not Trivy's", "aws-s3-encryption-customer-key", trivyNow, nil},
		{"Checkov's ID", "CKV_AZURE_1", checkovSARIF, []string{"CKV_AZURE_1"}},
		{"Checkov's ID in lower case", "ckv_azure_1", checkovSARIF, []string{"CKV_AZURE_1"}},
		{"Checkov's ID in lower case, in its JSON", "ckv_aws_28", report{FormatCheckovJSON, "checkov-multi-framework-terraform-report.json"}, []string{"CKV_AWS_28"}},
		{"a tflint rule in another case", "Terraform_Unused_Declarations", tflintJSON, []string{"terraform_unused_declarations"}},
		{"a terraform-compliance scenario in another case", "subnets should be defined properly for network security: subnet count", complianceConsole,
			[]string{"Subnets should be defined properly for network security: Subnet Count"}},
		{"no AVD- form for Checkov", "AVD-CKV_AZURE_1", checkovSARIF, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := suppressionsOf(t, "suppressions:\n  - rule: '"+tt.rule+"'\n    reason: accepted\n")
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
			name: "a file glob that matches no file: the rule is right, the file is not",
			yaml: `suppressions:
  - rule: AWS-0132
    file: modules/*/main.tf
    reason: the path is relative to the Terraform directory
`,
			reports: []report{trivyNow},
			notices: []string{`suppressions.yaml: entry 1 (rule AWS-0132, file "modules/*/main.tf") matched no finding in this run: rule AWS-0132 matched 1 finding, but none in file "modules/*/main.tf": check the file pattern, relative to the Terraform directory (the finding is in terraform-aws-modules/s3-bucket/aws/main.tf) or remove the entry`},
		},
		{
			name: "a resource pattern that matches no resource: the rule is right, the resource is not",
			yaml: `suppressions:
  - rule: avd-aws-0132
    resource: aws_s3_bucket.*
    reason: the module's bucket was meant
`,
			reports: []report{trivyNow, trivyV068},
			notices: []string{`suppressions.yaml: entry 1 (rule avd-aws-0132, resource "aws_s3_bucket.*") matched no finding in this run: rule avd-aws-0132 matched 2 findings, but none on resource "aws_s3_bucket.*": check the resource pattern (the findings are on module.bucket) or remove the entry`},
		},
		{
			name: "the resource matches and the file does not: the file is blamed",
			yaml: `suppressions:
  - rule: AWS-0132
    resource: module.*
    file: main.tf
    reason: the module's own main.tf was meant
`,
			reports: []report{trivyNow},
			notices: []string{`suppressions.yaml: entry 1 (rule AWS-0132, resource "module.*", file "main.tf") matched no finding in this run: rule AWS-0132 matched 1 finding, but none in file "main.tf": check the file pattern, relative to the Terraform directory (the finding is in terraform-aws-modules/s3-bucket/aws/main.tf) or remove the entry`},
		},
		{
			name: "Checkov's finding on another resource is named",
			yaml: `suppressions:
  - rule: CKV_AZURE_1
    resource: azurerm_linux_virtual_machine.web
    reason: the web VM uses keys from the vault
`,
			reports: []report{checkovSARIF, trivyNow},
			notices: []string{`suppressions.yaml: entry 1 (rule CKV_AZURE_1, resource "azurerm_linux_virtual_machine.web") matched no finding in this run: rule CKV_AZURE_1 matched 1 finding, but none on resource "azurerm_linux_virtual_machine.web": check the resource pattern (the finding is on azurerm_linux_virtual_machine.nginx-vm) or remove the entry`},
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

// TestSuppressionPatterns: in a resource pattern only * is a wildcard, and it crosses . and
// /, since addresses carry brackets, quotes and keys with slashes; a file pattern is a path
// glob, where * stays within a directory and ** crosses them. The finding is Trivy's, moved
// to each address or file.
func TestSuppressionPatterns(t *testing.T) {
	tests := []struct {
		name, key, pattern, value string
		want                      bool
	}{
		{"an indexed module's resources", "resource", `module.m["a"].aws_s3_bucket.*`, `module.m["a"].aws_s3_bucket.logs`, true},
		{"another instance of the module", "resource", `module.m["a"].aws_s3_bucket.*`, `module.m["b"].aws_s3_bucket.logs`, false},
		{"a key with a slash", "resource", "aws_s3_object.o*", `aws_s3_object.o["a/b"]`, true},
		{"a counted resource, written as it is", "resource", "aws_instance.web[0]", "aws_instance.web[0]", true},
		{"brackets are no character class", "resource", "aws_instance.web[0]", "aws_instance.web0", false},
		{"another index", "resource", "aws_instance.web[0]", "aws_instance.web[1]", false},
		{"every index", "resource", "aws_instance.web[*]", "aws_instance.web[12]", true},
		{"? is literal", "resource", "aws_instance.web?", "aws_instance.webs", false},
		{"a type in any module", "resource", "*.aws_s3_bucket.logs", "module.a.module.b.aws_s3_bucket.logs", true},
		{"several stars", "resource", "module.*.aws_s3_bucket.*s", `module.bucket["x"].aws_s3_bucket.logs`, true},
		{"several stars, no match", "resource", "module.*.aws_s3_bucket.*s", `module.bucket.aws_s3_bucket.log`, false},
		{"a star is not a prefix and suffix that overlap", "resource", "ab*ba", "aba", false},
		{"a file in one module", "file", "modules/*/main.tf", "modules/net/main.tf", true},
		{"* stays within a directory", "file", "modules/*/main.tf", "modules/net/sub/main.tf", false},
		{"** crosses directories", "file", "terraform-aws-modules/**/main.tf", "terraform-aws-modules/s3-bucket/aws/main.tf", true},
		{"a path with brackets, written as it is", "file", "stacks/[eu]/main.tf", "stacks/[eu]/main.tf", true},
	}
	base := parsed(t, trivyNow)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := suppressionsOf(t, "suppressions:\n  - rule: AWS-0132\n    "+tt.key+": '"+tt.pattern+"'\n    reason: accepted\n")
			fs := slices.Clone(base)
			for i := range fs {
				if tt.key == "resource" {
					fs[i].Resource = tt.value
				} else {
					fs[i].File = tt.value
				}
			}
			out, _ := s.Apply(fs, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
			if got := slices.Contains(suppressedRules(out), "AWS-0132"); got != tt.want {
				t.Errorf("%s %q on %q: suppressed %v, want %v", tt.key, tt.pattern, tt.value, got, tt.want)
			}
		})
	}
}

// TestUnmatchedNamesThreePlaces: a notice for a resource pattern that missed names three of
// the rule's resources and counts the rest (Checkov's 15 license findings, on 14 packages).
func TestUnmatchedNamesThreePlaces(t *testing.T) {
	s := suppressionsOf(t, "suppressions:\n  - rule: bc_lic_2\n    resource: package-lock.json.left-pad\n    reason: accepted\n")
	got := s.unmatched(0, parsed(t, report{FormatCheckovJSON, "checkov-multi-framework-terraform-report.json"}))
	want := `suppressions.yaml: entry 1 (rule bc_lic_2, resource "package-lock.json.left-pad") matched no finding in this run: rule bc_lic_2 matched 15 findings, but none on resource "package-lock.json.left-pad": check the resource pattern (the findings are on package-lock.json.express, package-lock.json.commander, package-lock.json.connect and 11 more) or remove the entry`
	if got != want {
		t.Errorf("notice\n%s\nwant\n%s", got, want)
	}
}
