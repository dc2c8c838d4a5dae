package ghactions

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/findings"
)

func TestAnnotate(t *testing.T) {
	bucket := findings.Finding{
		Tool: "checkov", RuleID: "CKV_AWS_18", Severity: findings.High, Resource: "aws_s3_bucket.logs",
		File: "main.tf", Line: 12, Message: "Ensure the S3 bucket has access logging enabled",
		Link: "https://docs.prismacloud.io/en/policy-reference/aws-policies/s3-policies/s3-13-enable-logging",
	}
	tests := []struct {
		name string
		fs   []findings.Finding
		opts AnnotateOptions
		want string
	}{
		{
			name: "one finding at the threshold is an error on its line",
			fs:   []findings.Finding{bucket},
			opts: AnnotateOptions{Dir: "terraform", FailAt: findings.High},
			want: "::error file=terraform/main.tf,line=12,title=checkov CKV_AWS_18::[HIGH] CKV_AWS_18: Ensure the S3 bucket has access logging enabled (aws_s3_bucket.logs) https://docs.prismacloud.io/en/policy-reference/aws-policies/s3-policies/s3-13-enable-logging\n",
		},
		{
			name: "levels follow the environment's threshold, most severe first, suppressed left out",
			fs: []findings.Finding{
				{Tool: "tflint", RuleID: "terraform_unused_declarations", Severity: findings.Low, File: "variables.tf", Line: 3, Message: "unused"},
				{Tool: "trivy", RuleID: "AVD-AWS-0089", Severity: findings.Medium, File: "main.tf", Line: 40, Message: "no logging"},
				{Tool: "checkov", RuleID: "CKV_AWS_1", Severity: findings.Critical, File: "main.tf", Line: 5, Message: "admin", Suppressed: "accepted risk, ticket 12"},
				{Tool: "tflint", RuleID: "terraform_documented_variables", Severity: findings.Info, File: "variables.tf", Line: 1, Message: "no description"},
				{Tool: "opa", RuleID: "tags.required", Severity: findings.Unknown, Resource: "aws_s3_bucket.logs", Message: "tag Owner missing"},
			},
			opts: AnnotateOptions{Dir: "infra/", FailAt: findings.Medium},
			want: "::error file=infra/main.tf,line=40,title=trivy AVD-AWS-0089::[MEDIUM] AVD-AWS-0089: no logging\n" +
				"::warning file=infra/variables.tf,line=3,title=tflint terraform_unused_declarations::[LOW] terraform_unused_declarations: unused\n" +
				"::notice file=infra/variables.tf,line=1,title=tflint terraform_documented_variables::[INFO] terraform_documented_variables: no description\n" +
				"::notice file=infra/main.tf,line=1,title=opa tags.required::[UNKNOWN] tags.required: tag Owner missing (aws_s3_bucket.logs)\n",
		},
		{
			// results.sarif places it in the first Terraform file, so the annotation does.
			name: "a policy finding on the plan goes where the SARIF puts it",
			fs:   []findings.Finding{{Tool: "opa", RuleID: "no_sns", Severity: findings.High, Resource: "aws_sns_topic.alerts", Message: "aws_sns_topic.alerts is not encrypted"}},
			opts: AnnotateOptions{Dir: "infra", Fallback: "infra/alerts.tf"},
			want: "::error file=infra/alerts.tf,line=1,title=opa no_sns::[HIGH] no_sns: aws_sns_topic.alerts is not encrypted (aws_sns_topic.alerts)\n",
		},
		{
			name: "zero threshold means HIGH; no line is line 1, as in the SARIF",
			fs: []findings.Finding{
				{Tool: "trivy", RuleID: "AVD-AWS-0089", Severity: findings.Medium, File: "main.tf", Message: "no logging"},
				{Tool: "trivy", RuleID: "AVD-AWS-0086", Severity: findings.High, File: "main.tf", Line: 2, Message: "public"},
			},
			want: "::error file=main.tf,line=2,title=trivy AVD-AWS-0086::[HIGH] AVD-AWS-0086: public\n" +
				"::warning file=main.tf,line=1,title=trivy AVD-AWS-0089::[MEDIUM] AVD-AWS-0089: no logging\n",
		},
		{
			name: "hostile values are escaped by go-githubactions, never interpreted",
			fs: []findings.Finding{{
				Tool:     "checkov",
				RuleID:   "R:1,2",
				Severity: findings.Critical,
				Resource: "aws_s3_bucket.x\n::add-mask::secret",
				File:     "main.tf,line=1::x\n::error file=evil.tf::pwned",
				Line:     7,
				Message:  "bad\r\n::error::pwned 100% %0A %s %d $(id) `id`; rm -rf / && echo \"x\" | tee",
			}},
			opts: AnnotateOptions{FailAt: findings.High},
			want: "::error file=main.tf%2Cline=1%3A%3Ax%0A%3A%3Aerror file=evil.tf%3A%3Apwned,line=7,title=checkov R%3A1%2C2::" +
				"[CRITICAL] R:1,2: bad%0D%0A::error::pwned 100%25 %250A %25s %25d $(id) `id`; rm -rf / && echo \"x\" | tee (aws_s3_bucket.x%0A::add-mask::secret)\n",
		},
		{
			name: "nothing to say, nothing written",
			fs:   []findings.Finding{{Tool: "checkov", RuleID: "CKV_AWS_1", Severity: findings.High, Suppressed: "accepted"}},
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			Annotate(&b, tt.fs, tt.opts)
			if b.String() != tt.want {
				t.Errorf("annotations\n got %q\nwant %q", b.String(), tt.want)
			}
			for i, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
				if line != "" && !strings.HasPrefix(line, "::error ") && !strings.HasPrefix(line, "::warning ") && !strings.HasPrefix(line, "::notice ") {
					t.Errorf("line %d is not an annotation: %q", i+1, line)
				}
			}
		})
	}
}

// GitHub drops annotations past 10 per level and step without a word; Annotate keeps the
// most severe and says how many it left out.
func TestAnnotateLimit(t *testing.T) {
	var fs []findings.Finding
	for i := range 4 {
		fs = append(fs, findings.Finding{Tool: "trivy", RuleID: fmt.Sprintf("E%d", i), Severity: findings.High, File: "main.tf", Line: i + 1, Message: "e"})
		fs = append(fs, findings.Finding{Tool: "trivy", RuleID: fmt.Sprintf("W%d", i), Severity: findings.Low, File: "main.tf", Line: i + 1, Message: "w"})
		fs = append(fs, findings.Finding{Tool: "trivy", RuleID: fmt.Sprintf("N%d", i), Severity: findings.Info, File: "main.tf", Line: i + 1, Message: "n"})
	}
	var b strings.Builder
	Annotate(&b, fs, AnnotateOptions{Limit: 2})
	want := "::error file=main.tf,line=1,title=trivy E0::[HIGH] E0: e\n" +
		"::error file=main.tf,line=2,title=trivy E1::[HIGH] E1: e\n" +
		"::warning file=main.tf,line=1,title=trivy W0::[LOW] W0: w\n" +
		"::warning file=main.tf,line=2,title=trivy W1::[LOW] W1: w\n" +
		"::notice file=main.tf,line=1,title=trivy N0::[INFO] N0: n\n" +
		"::notice::7 more findings are not shown as annotations (GitHub shows 2 per level and step): see results.sarif in the report or the code scanning alerts\n"
	if b.String() != want {
		t.Errorf("annotations\n got %q\nwant %q", b.String(), want)
	}

	b.Reset()
	Annotate(&b, fs[:3], AnnotateOptions{})
	if n := strings.Count(b.String(), "\n"); n != 3 || strings.Contains(b.String(), "more findings") {
		t.Errorf("under the default limit every finding is shown:\n%s", b.String())
	}
}

// One rule on a counted resource would take every slot: each rule's first finding comes
// before any rule's second, within a severity.
func TestAnnotateShowsEveryRule(t *testing.T) {
	var fs []findings.Finding
	for i := range 5 {
		fs = append(fs, findings.Finding{Tool: "trivy", RuleID: "AWS-0086", Severity: findings.High, File: "a.tf", Line: 10, Resource: fmt.Sprintf("aws_s3_bucket.b[%d]", i), Message: "m"})
	}
	fs = append(fs, findings.Finding{Tool: "trivy", RuleID: "AWS-0107", Severity: findings.High, File: "z.tf", Line: 3, Message: "ssh open"},
		findings.Finding{Tool: "trivy", RuleID: "AWS-0001", Severity: findings.Critical, File: "z.tf", Line: 9, Message: "c"})
	var b strings.Builder
	Annotate(&b, fs, AnnotateOptions{Limit: 3})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) < 3 || !strings.Contains(lines[0], "AWS-0001") || !strings.Contains(lines[1], "AWS-0086") || !strings.Contains(lines[2], "AWS-0107") {
		t.Errorf("the critical, then each high rule once, want:\n%s", b.String())
	}
}

// Several stacks' annotations for one step keep GitHub's caps: each stack in turn, and one
// notice counting what was left out, the stacks' own included.
func TestMergeAnnotations(t *testing.T) {
	stack := func(rule string, n int) string {
		var fs []findings.Finding
		for i := range n {
			fs = append(fs, findings.Finding{Tool: "trivy", RuleID: rule, Severity: findings.High, File: "main.tf", Line: i + 1, Message: "e"})
		}
		var b strings.Builder
		Annotate(&b, fs, AnnotateOptions{Limit: 2})
		return b.String()
	}
	got := MergeAnnotations([]string{stack("A", 3), stack("B", 1), stack("C", 4)}, 2)
	want := "::error file=main.tf,line=1,title=trivy A::[HIGH] A: e\n" +
		"::error file=main.tf,line=1,title=trivy B::[HIGH] B: e\n" +
		"::notice::6 more findings are not shown as annotations (GitHub shows 2 per level and step): see results.sarif in the report or the code scanning alerts\n"
	if got != want {
		t.Errorf("merged\n got %q\nwant %q", got, want)
	}
	if got := MergeAnnotations([]string{stack("A", 1), ""}, 0); got != stack("A", 1) {
		t.Errorf("one stack's annotations under the caps change: %q", got)
	}
}

// Real tflint output, read by ci/findings, comes out as the annotations a reviewer sees.
func TestAnnotateRealTflintReport(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "findings", "tflint-json-info-and-warning.json"))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := findings.ParseTflintJSON("tflint-json-info-and-warning.json", data)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	Annotate(&b, fs, AnnotateOptions{Dir: "terraform", FailAt: findings.Medium})
	const link = "https://github.com/terraform-linters/tflint-ruleset-terraform/blob/v0.8.0/docs/rules/"
	want := "::warning file=terraform/main.tf,line=1,title=tflint terraform_required_version::[LOW] terraform_required_version: terraform \"required_version\" attribute is required " + link + "terraform_required_version.md\n" +
		"::warning file=terraform/main.tf,line=1,title=tflint terraform_unused_declarations::[LOW] terraform_unused_declarations: variable \"instance_type\" is declared but not used " + link + "terraform_unused_declarations.md\n" +
		"::notice file=terraform/main.tf,line=1,title=tflint terraform_documented_variables::[INFO] terraform_documented_variables: `instance_type` variable has no description " + link + "terraform_documented_variables.md\n"
	if b.String() != want {
		t.Errorf("annotations\n got %q\nwant %q", b.String(), want)
	}
}

// TestAnnotationsMatchSARIF annotates real tool output and an OPA finding (on the plan, no
// file) and checks each annotation names the file and line of its result in results.sarif
// made with the same options: a reviewer finds on the pull request what code scanning shows.
func TestAnnotationsMatchSARIF(t *testing.T) {
	var all []findings.Finding
	for _, in := range []struct {
		format findings.Format
		file   string
	}{
		{findings.FormatCheckovJSON, "checkov-multi-framework-terraform-report.json"}, // package-lock.json: no line
		{findings.FormatTflintJSON, "tflint-json-terraform-ruleset-warnings.json"},
		{findings.FormatTerraformCompliance, "terraform-compliance-console-v0.2.0-pass-and-fail.txt"}, // a container path
	} {
		data, err := os.ReadFile(filepath.Join("..", "findings", "testdata", in.file))
		if err != nil {
			t.Fatal(err)
		}
		fs, err := findings.Parse(in.format, in.file, data)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fs...)
	}
	all = append(all, findings.Finding{Tool: "opa", RuleID: "no_sns", Severity: findings.High, Resource: "aws_sns_topic.alerts", Message: "SNS topic aws_sns_topic.alerts is not encrypted"})

	for _, o := range []findings.SARIFOptions{{Root: "infra", Fallback: "infra/alerts.tf"}, {Root: "terraform"}, {}} {
		t.Run(o.Root+"|"+o.Fallback, func(t *testing.T) {
			var fromSARIF []string
			for _, run := range findings.MergeSARIF(all, o).Runs {
				for _, r := range run.Results {
					p := r.Locations[0].PhysicalLocation
					fromSARIF = append(fromSARIF, fmt.Sprintf("%s %s %s:%d", run.Tool.Driver.Name, r.RuleID, p.ArtifactLocation.URI, p.Region.StartLine))
				}
			}
			var b strings.Builder
			Annotate(&b, all, AnnotateOptions{Dir: o.Root, Fallback: o.Fallback, Limit: len(all) + 1})
			var fromAnnotations []string
			for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
				f := annotationProperties(t, line)
				fromAnnotations = append(fromAnnotations, fmt.Sprintf("%s %s:%s", f["title"], f["file"], f["line"]))
			}
			slices.Sort(fromSARIF)
			slices.Sort(fromAnnotations)
			if len(fromSARIF) != len(all) || !slices.Equal(fromAnnotations, fromSARIF) {
				t.Errorf("annotations and SARIF disagree on where findings are\nannotations %q\nsarif       %q", fromAnnotations, fromSARIF)
			}
		})
	}
}

// annotationProperties reads the properties of a workflow command line, as the runner does.
func annotationProperties(t *testing.T, line string) map[string]string {
	t.Helper()
	_, rest, ok := strings.Cut(line, " ")
	props, _, ok2 := strings.Cut(rest, "::")
	if !ok || !ok2 || !strings.HasPrefix(line, "::") {
		t.Fatalf("not an annotation with properties: %q", line)
	}
	unescape := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
	out := map[string]string{}
	for _, kv := range strings.Split(props, ",") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = unescape.Replace(v)
	}
	return out
}
