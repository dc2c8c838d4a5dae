package findings

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func seed(f *testing.F, name string) []byte {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// The readers take output from tools that may crash half-way: whatever the bytes, they
// return findings or an error, never panic, and a result they accept merges into a valid log.

func FuzzParseSARIF(f *testing.F) {
	f.Add(seed(f, "checkov-terraform-azure-report.sarif"))
	f.Add([]byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"tfsec","rules":[{"id":"a","properties":{"security-severity":"9.1"}}]}},"results":[{"ruleId":"a","message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"main.tf"},"region":{"startLine":3}}}]}]}]}`))
	f.Add([]byte(`{"version":"2.1.0","runs":[]}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := ParseSARIF("fuzz.sarif", data)
		if err != nil {
			return
		}
		checkMerges(t, fs)
	})
}

func FuzzParseCheckovJSON(f *testing.F) {
	f.Add(seed(f, "checkov-multi-framework-terraform-report.json"))
	f.Add([]byte(`{"check_type":"terraform","results":{"failed_checks":[{"check_id":"CKV_AWS_18","file_path":"/main.tf","file_line_range":[3,9],"resource":"aws_s3_bucket.logs","severity":null}]}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := ParseCheckovJSON("fuzz.json", data)
		if err != nil {
			return
		}
		checkMerges(t, fs)
	})
}

func checkMerges(t *testing.T, fs []Finding) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, MergeSARIF(fs, SARIFOptions{})); err != nil {
		t.Fatalf("accepted findings do not merge: %v", err)
	}
}

func FuzzParseTerraformCompliance(f *testing.F) {
	f.Add(seed(f, "terraform-compliance-console-v0.2.0-pass-and-fail.txt"))
	f.Add([]byte("Feature: T  # /f.feature\n  Scenario: S\n\t\tFailure: aws_s3_bucket.b (aws_s3_bucket) x\n1 features (0 passed, 1 failed)\n1 scenarios (0 passed, 1 failed)\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := ParseTerraformCompliance("fuzz.txt", data)
		if err != nil {
			return
		}
		checkMerges(t, fs)
	})
}

func FuzzParseTflintJSON(f *testing.F) {
	f.Add(seed(f, "tflint-json-terraform-ruleset-warnings.json"))
	f.Add(seed(f, "tflint-json-module-callers.json"))
	f.Add([]byte(`{"issues":[],"errors":[{"message":"Failed to load configurations","severity":"error"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := ParseTflintJSON("fuzz.json", data)
		if err != nil {
			return
		}
		checkMerges(t, fs)
	})
}

func FuzzParseTrivyJSON(f *testing.F) {
	f.Add(seed(f, "trivy-config-terraform-remote-module.json"))
	f.Add(seed(f, "trivy-v0.68-config-terraform-remote-module.json"))
	f.Add([]byte(`{"SchemaVersion":2,"Results":[{"Target":"main.tf","Misconfigurations":[{"AVDID":"AVD-AWS-1","Severity":"LOW","Status":"FAIL","Title":"t"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := ParseTrivyJSON("fuzz.json", data)
		if err != nil {
			return
		}
		checkMerges(t, fs)
	})
}

// The suppressions file is edited by hand: any content loads or fails with the file's
// name, a loaded file never suppresses without a reason, and an entry that matches a
// finding is never reported as matching none.
func FuzzParseSuppressions(f *testing.F) {
	f.Add(seed(f, "suppressions.yaml"))
	f.Add([]byte("suppressions:\n  - rule: A\n    reason: r\n    resource: \"aws_s3_bucket.*\"\n    expires: 2026-12-31\n"))
	f.Add([]byte("suppressions:\n  - rule: AVD-AWS-0087\n    reason: r\n  - rule: avd-AWS-0132\n    file: main.tf\n    reason: r\n  - rule: CKV_AWS_18\n    reason: r\n"))
	f.Add([]byte("suppressions:\n  - rule: ckv_aws_18\n    resource: 'module.m[\"a/b\"].aws_s3_bucket.*'\n    file: modules/**/m[a-z]in.tf\n    reason: r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSuppressions("fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		fs := []Finding{{Tool: "trivy", RuleID: "AWS-0087", Resource: "aws_s3_bucket.x", File: "main.tf", Message: "m", Severity: High}}
		for _, e := range s.Entries {
			fs = append(fs, Finding{Tool: "trivy", RuleID: e.RuleID, Resource: e.Resource, File: e.File, Message: "m", Severity: High})
		}
		out, notices := s.Apply(fs, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		for _, n := range notices {
			if strings.Contains(n, "matched no finding") {
				t.Fatalf("every entry has a finding of its own, yet: %s", n)
			}
		}
		for _, f := range out {
			if f.Suppressed == "" {
				continue
			}
			if strings.TrimSpace(f.Suppressed) == "" {
				t.Fatalf("suppressed without a reason: %+v", f)
			}
		}
	})
}
