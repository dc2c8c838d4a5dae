package findings

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkParseCheckovJSON(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "checkov-multi-framework-terraform-report.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseCheckovJSON("bench.json", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMergeSARIF merges 10,000 findings, a large monorepo's scan.
func BenchmarkMergeSARIF(b *testing.B) {
	var fs []Finding
	for i := range 10000 {
		fs = append(fs, Finding{
			Tool: []string{"tfsec", "trivy", "checkov", "tflint"}[i%4], RuleID: "RULE_" + string(rune('A'+i%26)),
			Severity: Severity(1 + i%5), Resource: "aws_s3_bucket.b", File: "main.tf", Line: 1 + i, Message: "m",
		})
	}
	for b.Loop() {
		var buf bytes.Buffer
		if err := WriteSARIF(&buf, MergeSARIF(fs, SARIFOptions{Root: "terraform"})); err != nil {
			b.Fatal(err)
		}
	}
}
