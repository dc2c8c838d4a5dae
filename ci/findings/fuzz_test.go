package findings

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
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
