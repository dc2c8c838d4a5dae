package findings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// allFixtureFindings reads every real tool output in testdata.
func allFixtureFindings(t *testing.T) []Finding {
	t.Helper()
	var all []Finding
	for _, in := range []struct {
		format Format
		file   string
	}{
		{FormatSARIF, "checkov-terraform-azure-report.sarif"},
		{FormatCheckovJSON, "checkov-multi-framework-terraform-report.json"},
		{FormatTflintJSON, "tflint-json-terraform-ruleset-warnings.json"},
		{FormatTrivyJSON, "trivy-config-terraform-remote-module.json"},
		{FormatTerraformCompliance, "terraform-compliance-console-v0.2.0-pass-and-fail.txt"},
	} {
		fs, err := Parse(in.format, in.file, readTestdata(t, in.file))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fs...)
	}
	return all
}

// validateSARIF is the program that checks a file against SARIF 2.1.0's JSON schema
// (testdata/sarif-schema-2.1.0.json) with Python's jsonschema, a validator that shares
// nothing with this package.
const validateSARIF = `
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
for e in errors[:20]:
    print("/" + "/".join(map(str, e.absolute_path)) + ": " + e.message[:300])
sys.exit(1 if errors else 0)
`

// schemaErrors runs validateSARIF on data; the error is set when the file is invalid.
func schemaErrors(t *testing.T, data []byte) (string, error) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 (with jsonschema) is needed to validate SARIF against its schema: %v", err)
	}
	file := filepath.Join(t.TempDir(), "merged.sarif")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "-c", validateSARIF, filepath.Join("testdata", "sarif-schema-2.1.0.json"), file).CombinedOutput()
	if strings.Contains(string(out), "No module named 'jsonschema'") {
		t.Fatalf("python3 has no jsonschema module, needed to validate SARIF (apt-get install python3-jsonschema):\n%s", out)
	}
	return string(out), err
}

// TestSARIFSchemaRejects shows the schema check can fail: documents GitHub would refuse.
func TestSARIFSchemaRejects(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"bad level", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":"r","level":"fatal","message":{"text":"m"}}]}]}`, "/runs/0/results/0/level"},
		{"no driver name", `{"version":"2.1.0","runs":[{"tool":{"driver":{}},"results":[]}]}`, "'name' is a required property"},
		{"unknown property", `{"version":"2.1.0","runs":[],"extra":1}`, "Additional properties"},
		{"start line 0", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":"r","message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.tf"},"region":{"startLine":0}}}]}]}]}`, "startLine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := schemaErrors(t, []byte(tt.doc))
			if err == nil || !strings.Contains(out, tt.want) {
				t.Errorf("schema check = %v %q, want a failure mentioning %q", err, out, tt.want)
			}
		})
	}
}

// checkSARIFSchema checks the merged file as GitHub reads it: valid against the SARIF
// 2.1.0 schema, and, as generic JSON, with the fields GitHub code scanning needs beyond
// the schema (a location on every result, fingerprints, rule indexes that point right).
func checkSARIFSchema(t *testing.T, data []byte) map[string]any {
	t.Helper()
	if out, err := schemaErrors(t, data); err != nil {
		t.Fatalf("merged SARIF is not valid against the SARIF 2.1.0 schema (%v):\n%s", err, out)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("merged SARIF is not JSON: %v", err)
	}
	if doc["version"] != "2.1.0" {
		t.Errorf("version = %v", doc["version"])
	}
	if s, _ := doc["$schema"].(string); !strings.Contains(s, "sarif-2.1.0") {
		t.Errorf("$schema = %v", doc["$schema"])
	}
	runs, ok := doc["runs"].([]any)
	if !ok {
		t.Fatalf("runs is %T", doc["runs"])
	}
	levels := map[string]bool{"none": true, "note": true, "warning": true, "error": true}
	for i, r := range runs {
		run := r.(map[string]any)
		driver, _ := run["tool"].(map[string]any)["driver"].(map[string]any)
		if name, _ := driver["name"].(string); name == "" {
			t.Errorf("run %d: tool.driver.name missing", i)
		}
		rules, _ := driver["rules"].([]any)
		for _, rr := range rules {
			rule := rr.(map[string]any)
			if id, _ := rule["id"].(string); id == "" {
				t.Errorf("run %d: rule without id", i)
			}
		}
		results, ok := run["results"].([]any)
		if !ok {
			t.Errorf("run %d: results is %T, want an array", i, run["results"])
		}
		if len(results) > MaxSARIFResults {
			t.Errorf("run %d: %d results, more than code scanning shows", i, len(results))
		}
		fingerprints := map[string]bool{} // code scanning merges results of one fingerprint
		for j, rr := range results {
			res := rr.(map[string]any)
			fp, _ := res["partialFingerprints"].(map[string]any)
			if key := fmt.Sprint(fp); fingerprints[key] {
				t.Errorf("run %d result %d: fingerprint %s is another result's", i, j, key)
			} else {
				fingerprints[key] = true
			}
			msg, _ := res["message"].(map[string]any)
			if text, _ := msg["text"].(string); text == "" {
				t.Errorf("run %d result %d: message.text missing", i, j)
			}
			if id, _ := res["ruleId"].(string); id == "" {
				t.Errorf("run %d result %d: ruleId missing", i, j)
			}
			if l, _ := res["level"].(string); !levels[l] {
				t.Errorf("run %d result %d: level %q", i, j, l)
			}
			if fp, _ := res["partialFingerprints"].(map[string]any); len(fp) == 0 {
				t.Errorf("run %d result %d: no partialFingerprints", i, j)
			}
			locs, _ := res["locations"].([]any)
			if len(locs) == 0 {
				t.Fatalf("run %d result %d: no locations (GitHub rejects it)", i, j)
			}
			phys, _ := locs[0].(map[string]any)["physicalLocation"].(map[string]any)
			art, _ := phys["artifactLocation"].(map[string]any)
			if uri, _ := art["uri"].(string); uri == "" || strings.HasPrefix(uri, "/") {
				t.Errorf("run %d result %d: artifactLocation.uri %q, want a repository path", i, j, uri)
			}
			// The schema leaves region optional; GitHub does not (GH1003).
			for k, l := range locs {
				phys, _ := l.(map[string]any)["physicalLocation"].(map[string]any)
				if _, ok := phys["artifactLocation"]; !ok {
					continue
				}
				region, _ := phys["region"].(map[string]any)
				if line, _ := region["startLine"].(float64); line < 1 {
					t.Errorf("run %d result %d location %d: region %v, want a startLine of 1 or more", i, j, k, phys["region"])
				}
			}
			if idx, ok := res["ruleIndex"].(float64); !ok || int(idx) >= len(rules) || rules[int(idx)].(map[string]any)["id"] != res["ruleId"] {
				t.Errorf("run %d result %d: ruleIndex %v does not point at %v", i, j, res["ruleIndex"], res["ruleId"])
			}
		}
	}
	return doc
}

// A tool with more findings than code scanning shows keeps its most severe and says how
// many it left out; identical findings (one rule on a group's ingress and egress) keep
// fingerprints of their own.
func TestMergeSARIFCapsAndTellsApart(t *testing.T) {
	const most = 50 // MaxSARIFResults, made small to keep the schema check quick
	var fs []Finding
	for i := range most + 2 {
		fs = append(fs, Finding{Tool: "trivy", RuleID: fmt.Sprintf("AWS-%04d", i), Severity: High, File: "main.tf", Line: i + 1, Message: "m"})
	}
	fs[7].Severity, fs[9].Severity = Low, Low // the two left out
	twin := Finding{Tool: "trivy", RuleID: "SG-0124", Severity: Critical, File: "sg.tf", Line: 19, Resource: "aws_security_group.web", Message: "Security group rule does not have a description."}
	other := twin
	other.Line = 25
	fs = append(fs, twin, other)
	log := MergeSARIF(fs, SARIFOptions{MaxResults: most})
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, log); err != nil {
		t.Fatal(err)
	}
	checkSARIFSchema(t, buf.Bytes())
	run := log.Runs[0]
	if len(run.Results) != most || run.Properties["infrapipe/results-left-out"] != 4 {
		t.Fatalf("%d results, properties %v; want %d and 4 left out", len(run.Results), run.Properties, most)
	}
	kept := map[string]int{}
	for _, r := range run.Results {
		kept[r.RuleID]++
	}
	if kept["SG-0124"] != 2 || kept["AWS-0007"] != 0 || kept["AWS-0009"] != 0 {
		t.Errorf("kept the criticals %d times, the lows %d and %d times; want the criticals, not the lows", kept["SG-0124"], kept["AWS-0007"], kept["AWS-0009"])
	}
}

func TestMergeSARIF(t *testing.T) {
	all := allFixtureFindings(t)
	log := MergeSARIF(all, SARIFOptions{Tools: []string{"tfsec"}})
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, log); err != nil {
		t.Fatal(err)
	}
	doc := checkSARIFSchema(t, buf.Bytes())

	var tools []string
	for _, r := range doc["runs"].([]any) {
		tools = append(tools, r.(map[string]any)["tool"].(map[string]any)["driver"].(map[string]any)["name"].(string))
	}
	// One run per tool, in a fixed order; tfsec ran and found nothing, so its run is empty.
	if got, want := strings.Join(tools, ","), "tflint,tfsec,trivy,checkov,terraform-compliance"; got != want {
		t.Errorf("runs %s, want %s", got, want)
	}

	// The merged file reads back to the same findings (fingerprint-level round trip).
	back, err := ParseSARIF("merged.sarif", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(all) {
		t.Fatalf("round trip: %d findings, want %d", len(back), len(all))
	}
	// Findings come back with their severity, resource and message; relative files keep
	// their path and line (1 when they had none), the others are placed in the fallback
	// file's first line.
	key := func(f Finding) string { return f.Tool + "|" + f.RuleID + "|" + f.Resource + "|" + f.Message }
	want := map[string][]Finding{}
	for _, f := range all {
		want[key(f)] = append(want[key(f)], f)
	}
	for _, got := range back {
		cands := want[key(got)]
		found := false
		for _, w := range cands {
			wantFile, wantLine := w.File, max(w.Line, 1)
			if wantFile == "" || strings.HasPrefix(wantFile, "/") {
				wantFile, wantLine = "main.tf", 1
			}
			if w.Severity == got.Severity && got.File == wantFile && got.Line == wantLine {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("round trip changed finding %+v; had %+v", got, cands)
		}
	}
}

func TestSARIFLocations(t *testing.T) {
	tests := []struct {
		name     string
		opts     SARIFOptions
		f        Finding
		uri      string
		line     int
		origFile string
	}{
		{"relative file under root", SARIFOptions{Root: "terraform"}, Finding{File: "modules/db/main.tf", Line: 7}, "terraform/modules/db/main.tf", 7, ""},
		{"no root", SARIFOptions{}, Finding{File: "main.tf", Line: 3}, "main.tf", 3, ""},
		// GitHub rejects a location without region.startLine (GH1003): line 1 when there is none.
		{"policy finding without file", SARIFOptions{Root: "terraform"}, Finding{Resource: "aws_s3_bucket.logs"}, "terraform/main.tf", 1, ""},
		{"policy finding, the first Terraform file as fallback", SARIFOptions{Root: "infra", Fallback: "infra/alerts.tf"}, Finding{Resource: "aws_sns_topic.alerts"}, "infra/alerts.tf", 1, ""},
		{"container path", SARIFOptions{Root: "terraform", Fallback: "terraform/policies/README.md"}, Finding{File: "/src/policies/tags.feature", Line: 9}, "terraform/policies/README.md", 1, "/src/policies/tags.feature"},
		{"file without a line (Checkov's package-lock.json)", SARIFOptions{Root: "terraform"}, Finding{File: "package-lock.json", Resource: "package-lock.json.qs"}, "terraform/package-lock.json", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Tool, tt.f.RuleID, tt.f.Message, tt.f.Severity = "opa", "r", "m", High
			log := MergeSARIF([]Finding{tt.f}, tt.opts)
			if err := log.Validate(); err != nil {
				t.Fatal(err)
			}
			res := log.Runs[0].Results[0]
			p := res.Locations[0].PhysicalLocation
			if p.ArtifactLocation.URI != tt.uri {
				t.Errorf("uri %q, want %q", p.ArtifactLocation.URI, tt.uri)
			}
			if p.Region == nil {
				t.Errorf("no region, want line %d", tt.line)
			} else if p.Region.StartLine != tt.line {
				t.Errorf("line %d, want %d", p.Region.StartLine, tt.line)
			}
			if got, _ := res.Properties["file"].(string); got != tt.origFile {
				t.Errorf("properties.file %q, want %q", got, tt.origFile)
			}
			if tt.f.Resource != "" && res.Locations[0].LogicalLocations[0].FullyQualifiedName != tt.f.Resource {
				t.Errorf("logical location %+v", res.Locations[0].LogicalLocations)
			}
		})
	}
}

func TestMergeSARIFLeavesOutSuppressed(t *testing.T) {
	fs := []Finding{
		{Tool: "tfsec", RuleID: "a", Severity: High, Message: "m", File: "main.tf", Line: 3},
		{Tool: "tfsec", RuleID: "b", Severity: High, Message: "m", Suppressed: "accepted"},
	}
	log := MergeSARIF(fs, SARIFOptions{})
	if n := len(log.Runs[0].Results); n != 1 {
		t.Fatalf("%d results, want 1 (the suppressed one left out)", n)
	}
}

func TestFingerprintIgnoresLine(t *testing.T) {
	a := Finding{Tool: "trivy", RuleID: "AWS-0086", Resource: "aws_s3_bucket.logs", File: "main.tf", Line: 10}
	b := a
	b.Line = 42
	c := a
	c.Resource = "aws_s3_bucket.state"
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("moving a finding changed its fingerprint: GitHub would close and reopen it")
	}
	if a.Fingerprint() == c.Fingerprint() {
		t.Error("two resources share a fingerprint")
	}
}

func TestValidateRejects(t *testing.T) {
	idx := 1
	tests := []struct {
		name string
		log  SARIFLog
		want string
	}{
		{"version", SARIFLog{Schema: SARIFSchema, Version: "2.0", Runs: []SARIFRun{}}, "version"},
		{"schema", SARIFLog{Version: SARIFVersion, Runs: []SARIFRun{}}, "$schema"},
		{"runs", SARIFLog{Schema: SARIFSchema, Version: SARIFVersion}, "runs"},
		{"driver", SARIFLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []SARIFRun{{}}}, "driver.name"},
		{"message", SARIFLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []SARIFRun{{Tool: SARIFTool{Driver: SARIFDriver{Name: "x"}}, Results: []SARIFResult{{RuleID: "r", Level: "error"}}}}}, "message.text"},
		{"level", SARIFLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []SARIFRun{{Tool: SARIFTool{Driver: SARIFDriver{Name: "x"}}, Results: []SARIFResult{{RuleID: "r", Level: "high", Message: SARIFMessage{Text: "m"}}}}}}, "level"},
		{"no location", SARIFLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []SARIFRun{{Tool: SARIFTool{Driver: SARIFDriver{Name: "x"}}, Results: []SARIFResult{{RuleID: "r", Level: "error", Message: SARIFMessage{Text: "m"}}}}}}, "physicalLocation"},
		{"no region", SARIFLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []SARIFRun{{Tool: SARIFTool{Driver: SARIFDriver{Name: "opa"}}, Results: []SARIFResult{{RuleID: "no_sns", Level: "error", Message: SARIFMessage{Text: "m"},
			Locations: []SARIFLocation{{PhysicalLocation: &SARIFPhysicalLocation{ArtifactLocation: SARIFArtifactLocation{URI: "infra/alerts.tf"}}}}}}}}}, "region.startLine"},
		{"ruleIndex", SARIFLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []SARIFRun{{Tool: SARIFTool{Driver: SARIFDriver{Name: "x"}}, Results: []SARIFResult{{RuleID: "r", RuleIndex: &idx, Level: "error", Message: SARIFMessage{Text: "m"}}}}}}, "ruleIndex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.log.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error about %s", err, tt.want)
			}
		})
	}
}

func TestSuppressions(t *testing.T) {
	data := readTestdata(t, "suppressions.yaml")
	s, err := ParseSuppressions("suppressions.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	fs := []Finding{
		{Tool: "checkov", RuleID: "CKV_AWS_18", Resource: "aws_s3_bucket.logs", File: "main.tf", Severity: Medium},
		{Tool: "checkov", RuleID: "CKV_AWS_18", Resource: "aws_s3_bucket.state", File: "main.tf", Severity: Medium},
		{Tool: "tfsec", RuleID: "aws-s3-enable-bucket-logging", Resource: "aws_s3_bucket.archive", File: "archive.tf", Severity: Medium},
		{Tool: "tflint", RuleID: "terraform_unused_declarations", File: "modules/net/variables.tf", Severity: Low},
		{Tool: "tflint", RuleID: "terraform_unused_declarations", File: "variables.tf", Severity: Low},
		{Tool: "trivy", RuleID: "AWS-0089", Resource: "aws_s3_bucket.old", Severity: Low},
		{Tool: "trivy", RuleID: "AWS-0090", Resource: "aws_s3_bucket.today", Severity: Low},
	}
	got, notices := s.Apply(fs, now)
	wantReason := []string{
		"log bucket: logging to itself would loop",
		"",
		"archive is written once and never read",
		"module variables are kept for callers",
		"",
		"", // expired 2026-12-31
		"last day is today",
	}
	for i := range fs {
		if got[i].Suppressed != wantReason[i] {
			t.Errorf("%s %s %s: suppressed %q, want %q", fs[i].RuleID, fs[i].Resource, fs[i].File, got[i].Suppressed, wantReason[i])
		}
	}
	if fs[0].Suppressed != "" {
		t.Error("Apply changed its input")
	}
	wantNotices := []string{
		"suppression for AWS-0089 on aws_s3_bucket.old expired on 2026-12-31; the finding applies again",
		"suppression for CKV_AWS_19 in legacy/*.tf expired on 2025-06-30 and matches no finding; remove it",
	}
	if strings.Join(notices, "\n") != strings.Join(wantNotices, "\n") {
		t.Errorf("notices %q, want %q", notices, wantNotices)
	}
}

// An address with an index is written as it is: its brackets must not act as a glob.
func TestSuppressionExactAddress(t *testing.T) {
	s, err := ParseSuppressions("s.yaml", []byte("suppressions:\n  - rule: AWS-0086\n    resource: 'aws_s3_bucket.b[\"eu\"]'\n    reason: r\n  - rule: AWS-0087\n    resource: aws_instance.web[0]\n    reason: r\n"))
	if err != nil {
		t.Fatal(err)
	}
	fs := []Finding{
		{RuleID: "AWS-0086", Resource: `aws_s3_bucket.b["eu"]`},
		{RuleID: "AWS-0087", Resource: "aws_instance.web[0]"},
		{RuleID: "AWS-0087", Resource: "aws_instance.web[1]"},
	}
	got, _ := s.Apply(fs, time.Now())
	if got[0].Suppressed == "" || got[1].Suppressed == "" || got[2].Suppressed != "" {
		t.Errorf("suppressed = %q, %q, %q; want the two exact addresses only", got[0].Suppressed, got[1].Suppressed, got[2].Suppressed)
	}
}

func TestParseSuppressionsRejects(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"no reason", "suppressions:\n  - rule: CKV_AWS_18\n", "reason is required"},
		{"no rule", "suppressions:\n  - reason: because\n", "rule is required"},
		{"bad date", "suppressions:\n  - rule: A\n    reason: r\n    expires: 31/12/2026\n", "want a date like 2026-12-31"},
		{"bad file glob", "suppressions:\n  - rule: A\n    reason: r\n    file: \"modules/[\"\n", `entry 1 (A): file "modules/[" is not a valid glob: use * within a directory, ** across directories`},
		{"typo key", "suppressions:\n  - rule: A\n    reasons: r\n", "suppressions bad.yaml: entry 1: reasons: unknown key: valid keys are rule, resource, file, reason, expires"},
		{"an unknown key on the second entry", "suppressions:\n  - rule: A\n    reason: r\n  - rule: B\n    reason: r\n    tool: checkov\n", "suppressions bad.yaml: entry 2: tool: unknown key"},
		{"a second entry without a reason", "suppressions:\n  - rule: A\n    reason: r\n  - rule: B\n", "suppressions bad.yaml: entry 2 (B): reason is required"},
		{"an entry not a mapping", "suppressions:\n  - rule: A\n    reason: r\n  - B\n", "suppressions bad.yaml: entry 2: want a mapping of keys"},
		{"a padded rule", "suppressions:\n  - rule: ' CKV_AWS_18'\n    reason: r\n", `entry 1: rule " CKV_AWS_18" has spaces around it`},
		{"a padded resource", "suppressions:\n  - rule: A\n    resource: 'aws_s3_bucket.logs '\n    reason: r\n", `resource "aws_s3_bucket.logs " has spaces around it`},
		{"a padded file", "suppressions:\n  - rule: A\n    file: \"\\tmain.tf\"\n    reason: r\n", `file "\tmain.tf" has spaces around it`},
		{"an empty resource", "suppressions:\n  - rule: A\n    resource:\n    reason: r\n", "entry 1: resource: empty value"},
		{"a key twice", "suppressions:\n  - rule: A\n    rule: B\n    reason: r\n", "entry 1: rule: key appears twice"},
		{"entries not in a list", "suppressions:\n  rule: A\n", "suppressions: want a list, got a mapping"},
		{"not yaml", "suppressions: [", "suppressions bad.yaml"},
		{"a second document", "suppressions:\n  - rule: A\n    reason: r\n---\nsuppressions:\n  - rule: B\n    reason: r\n", "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSuppressions("bad.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "bad.yaml") {
				t.Fatalf("error %v, want one naming bad.yaml and containing %q", err, tt.want)
			}
		})
	}
}

// TestParseSuppressionsEmpty: a file with nothing in it (or only comments) suppresses
// nothing and is no error, so a repository can keep an empty one ready.
func TestParseSuppressionsEmpty(t *testing.T) {
	for _, data := range []string{"", "\n", "# none yet\n", "suppressions: []\n"} {
		s, err := ParseSuppressions("suppressions.yaml", []byte(data))
		if err != nil || len(s.Entries) != 0 {
			t.Errorf("ParseSuppressions(%q) = %v, %v; want no entries", data, s, err)
		}
	}
}

func TestEvaluate(t *testing.T) {
	fs := []Finding{
		{Tool: "trivy", RuleID: "c", Severity: Critical},
		{Tool: "tfsec", RuleID: "h", Severity: High},
		{Tool: "tfsec", RuleID: "h2", Severity: High, Suppressed: "accepted"},
		{Tool: "checkov", RuleID: "m", Severity: Medium},
		{Tool: "tflint", RuleID: "l", Severity: Low},
		{Tool: "tflint", RuleID: "i", Severity: Info},
	}
	tests := []struct {
		threshold Severity
		failing   string
	}{
		{Critical, "c"},
		{High, "c,h"},
		{Medium, "c,h,m"},
		{Low, "c,h,m,l"},
		{Info, "c,h,m,l,i"},
		{Unknown, "c,h,m,l,i"},
	}
	for _, tt := range tests {
		t.Run(tt.threshold.String(), func(t *testing.T) {
			r := Evaluate(fs, tt.threshold)
			var ids []string
			for _, f := range r.Failing {
				ids = append(ids, f.RuleID)
			}
			if got := strings.Join(ids, ","); got != tt.failing {
				t.Errorf("failing %s, want %s", got, tt.failing)
			}
			if len(r.Suppressed) != 1 || r.Suppressed[0].RuleID != "h2" {
				t.Errorf("suppressed %+v", r.Suppressed)
			}
			if r.Passed() {
				t.Error("Passed() with failing findings")
			}
		})
	}
	if r := Evaluate(fs[2:3], Info); !r.Passed() {
		t.Error("only a suppressed finding, but not passed")
	}
}

func TestMarkdown(t *testing.T) {
	all := allFixtureFindings(t)
	s := Suppressions{Entries: []Suppression{{RuleID: "CKV_AWS_28", Resource: "aws_dynamodb_table.*", Reason: "cache table, rebuilt on loss"}}}
	all, notices := s.Apply(all, time.Now())
	r := Evaluate(all, High)
	// A notice is a sentence whose end says where to look: it is not cut as a cell is.
	long := "terraform/suppressions.yaml: entry 3 (rule AVD-AWS-0132, resource \"module.bucket.aws_s3_bucket.this[0]\") matched no finding in this run: " +
		"rule AVD-AWS-0132 matched 1 finding(s), but none on that resource: check the resource pattern (the findings are on module.bucket)"
	md := Markdown(all, r, append(notices, "suppression for X expired on 2026-01-01; the finding applies again", long), 3)
	for _, want := range []string{
		"**Failed**",
		"| Tool | CRITICAL | HIGH | MEDIUM | LOW | INFO |",
		"| trivy | 0 | 1 | 1 | 1 | 0 |",
		"| HIGH | trivy | [AWS-0132](https://avd.aquasec.com/misconfig/aws-0132) | module.bucket | terraform-aws-modules/s3-bucket/aws/main.tf:",
		"more failing findings",
		`- checkov CKV\_AWS\_28 aws\_dynamodb\_table.token\_cache: cache table, rebuilt on loss`,
		"suppression for X expired on 2026-01-01",
		"(the findings are on module.bucket)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "\n| HIGH |")+strings.Count(md, "\n| CRITICAL |") > 3 {
		t.Errorf("top 3 not respected:\n%s", md)
	}
	if md := Markdown(nil, Evaluate(nil, Medium), nil, 10); !strings.Contains(md, "**Passed**") {
		t.Errorf("clean run:\n%s", md)
	}
}

// TestMarkdownToolTextIsInert: scanner output is text. A message cannot open an HTML block
// that would swallow the rest of the summary, a link cannot run script, a reason cannot
// start a heading, and a long suppressed list is bounded like the failing one.
func TestMarkdownToolTextIsInert(t *testing.T) {
	fs := []Finding{
		{Tool: "checkov", RuleID: "CKV_X", Severity: High, Resource: "aws_s3_bucket.a", Message: "open <details><summary>x", Link: "javascript:alert(1)"},
		{Tool: "trivy", RuleID: "AWS-1", Severity: High, Resource: "aws_s3_bucket.b", Message: "m", Link: "https://avd.aquasec.com/x) [evil](https://evil.example"},
		{Tool: "tfsec", RuleID: "ok-link", Severity: High, Resource: "aws_s3_bucket.c", Message: "m", Link: "https://aquasecurity.github.io/tfsec/latest/"},
		{Tool: "scanner<img src=x>|x", RuleID: "t1", Severity: High, Message: "a SARIF driver may have any name"},
		{Tool: "checkov", RuleID: "CKV_CRLF", Severity: High, Resource: "aws_s3_bucket.d", Message: "Windows\tline\r\nsecond line"},
	}
	for i := range 40 {
		fs = append(fs, Finding{Tool: "tflint", RuleID: fmt.Sprintf("r%02d", i), Severity: Low, File: "main.tf",
			Suppressed: "accepted\n## injected heading <img src=x>"})
	}
	md := Markdown(fs, Evaluate(fs, High), []string{"suppression for A expired\n# heading"}, 10)
	// An angle bracket may only appear escaped (\<), where it renders as text.
	if unescaped := regexp.MustCompile(`(^|[^\\])<(details|img)`).FindString(md); unescaped != "" {
		t.Errorf("summary contains an unescaped %q:\n%s", unescaped, md)
	}
	for _, bad := range []string{"javascript:", "](https://avd.aquasec.com/x)", "\n## injected", "\n# heading", "r15", "\r", "second line"} {
		if strings.Contains(md, bad) {
			t.Errorf("summary contains %q:\n%s", bad, md)
		}
	}
	for _, want := range []string{
		`open \<details\>\<summary\>x`,
		"[ok-link](https://aquasecurity.github.io/tfsec/latest/)",
		`| HIGH | checkov | CKV\_X |`,
		"| Windows line |\n", // a CRLF message keeps its row on one line
		"- tflint r00 main.tf: accepted\n",
		"- …and 30 more suppressed findings (see findings.json)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
}

// A log no tool contributed to (preview runs no scanner) still has a run, empty: GitHub's
// upload refuses "runs": [].
func TestMergeSARIFWithoutTools(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, MergeSARIF(nil, SARIFOptions{})); err != nil {
		t.Fatal(err)
	}
	doc := checkSARIFSchema(t, buf.Bytes())
	runs := doc["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want one:\n%s", len(runs), buf.String())
	}
	run := runs[0].(map[string]any)
	if name := run["tool"].(map[string]any)["driver"].(map[string]any)["name"]; name != EmptyRunTool || len(run["results"].([]any)) != 0 {
		t.Errorf("the run of a log without tools: %v", run)
	}
}
