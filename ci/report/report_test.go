package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/plan"
)

const secret = "hunter2-s3cr3t"

// realResult plans a real replacement, a delete, an update and a create, with a sensitive
// input, and runs the gate for env.
func realResult(t *testing.T, env environment.Name) Result {
	t.Helper()
	before := `
variable "password" {
  type      = string
  sensitive = true
}
resource "terraform_data" "database" {
  input            = var.password
  triggers_replace = ["engine-15"]
}
resource "terraform_data" "app" { input = "v1" }
resource "terraform_data" "old" {}
`
	after := strings.Replace(strings.Replace(before, "engine-15", "engine-16", 1), `"v1"`, `"v2"`, 1)
	after = strings.Replace(after, `resource "terraform_data" "old" {}`, `resource "terraform_data" "new" {}`, 1)
	a := changedPlan(t, before, after, "-var=password=old-"+secret, "-var=password="+secret)
	p, err := environment.Default(env)
	if err != nil {
		t.Fatal(err)
	}
	return NewResult(a, p, gate.Decide(a, p, gate.Options{}))
}

// changedPlan applies before (with applyVar), then analyses the plan of after (with
// planVar): a real plan of a change, as real Terraform writes it.
func changedPlan(t *testing.T, before, after, applyVar, planVar string) *plan.Analysis {
	t.Helper()
	w := tftest.New(t, map[string]string{"main.tf": before})
	w.Init()
	w.Apply(applyVar)
	w.Write("main.tf", after)
	a, err := plan.Analyze(bytes.NewReader(w.PlanJSON(planVar)))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestMarkdownRealPlan(t *testing.T) {
	const reproduce = "./scripts/plan.sh --env prod"
	r := realResult(t, environment.Prod)
	md := Markdown(r, reproduce)
	for _, want := range []string{
		"## ⛔ Terraform plan for `prod`: BLOCK",
		"**Plan:** 2 to add, 1 to change, 2 to destroy (1 of them replaced), 0 to import, 0 to forget.",
		"| 1 | 1 | 1 | 1 | 0 | 0 | 0 | 0 | 0 |",
		"### Gate: block",
		"- prod plan replaces terraform\\_data.database (triggers\\_replace changed); rerun with --force-recreate to allow it",
		"### Destructive changes (2)",
		"| ⚠️ | <code>terraform_data.database</code> | replace-delete-first | triggers_replace changed |",
		"<details><summary>All changes (4)</summary>",
		"|  | <code>terraform_data.app</code> | update |  |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, secret) {
		t.Errorf("summary contains the sensitive value")
	}
	// Destructive changes come before the full list, and the command comes last.
	if strings.Index(md, "### Destructive") > strings.Index(md, "<details>") {
		t.Error("destructive changes are not first")
	}
	if !strings.HasSuffix(md, "```shell\n"+reproduce+"\n```\n") {
		t.Errorf("summary does not end with the reproduce command:\n%s", md[len(md)-100:])
	}

	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), secret) {
		t.Error("result.json contains the sensitive value")
	}
	var back struct {
		SchemaVersion int               `json:"schema_version"`
		Env           string            `json:"env"`
		Verdict       string            `json:"verdict"`
		Reasons       []string          `json:"reasons"`
		Counts        map[string]int    `json:"counts"`
		Outputs       map[string]string `json:"outputs"`
		Changes       []map[string]any  `json:"changes"`
		Drift         []map[string]any  `json:"drift"`
	}
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.SchemaVersion != 1 || back.Env != "prod" || back.Verdict != "block" || len(back.Reasons) != 2 ||
		back.Counts["replace"] != 1 || back.Counts["delete"] != 1 || back.Outputs["resources_to_destroy"] != "2" ||
		len(back.Changes) != 4 || back.Drift == nil {
		t.Errorf("result.json = %s", buf.String())
	}
	if c := back.Changes[0]; c["address"] != "terraform_data.app" && c["destructive"] == nil {
		t.Errorf("change = %v", c)
	}
}

// TestMarkdownOutputsOnly: a plan that changes only outputs (one sensitive) is a plan with
// changes, as Terraform's own exit code says: the summary says what it saves, by name.
func TestMarkdownOutputsOnly(t *testing.T) {
	const before = `
variable "token" {
  type      = string
  sensitive = true
}
resource "terraform_data" "app" { input = "v1" }
output "greeting" { value = "hello" }
`
	after := strings.Replace(before, `"hello"`, `"hello, world"`, 1) +
		"output \"token\" {\n  value     = var.token\n  sensitive = true\n}\n"
	a := changedPlan(t, before, after, "-var=token="+secret, "-var=token="+secret)
	p := mustProfile(t, environment.Prod)
	r := NewResult(a, p, gate.Decide(a, p, gate.Options{}))
	md := Markdown(r, "")
	for _, want := range []string{
		"## ✅ Terraform plan for `prod`: PASS",
		"**Plan:** 0 to add, 0 to change, 0 to destroy (0 of them replaced), 0 to import, 0 to forget.",
		"**Outputs to save:** `greeting` (update), `token` (create)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "No changes") || strings.Contains(md, "hello") || strings.Contains(md, secret) {
		t.Errorf("summary says no changes or shows an output's value:\n%s", md)
	}
	if r.Outputs["has_changes"] != "true" || r.Outputs["outputs_to_change"] != "2" {
		t.Errorf("outputs = %v, want has_changes=true, outputs_to_change=2", r.Outputs)
	}
	var js strings.Builder
	if err := r.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"name": "greeting"`) || strings.Contains(js.String(), secret) {
		t.Errorf("result.json (%v):\n%s", err, js.String())
	}
}

func TestMarkdownPassAndNoChanges(t *testing.T) {
	a, p := &plan.Analysis{FormatVersion: "1.2"}, mustProfile(t, environment.Test)
	r := NewResult(a, p, gate.Decide(a, p, gate.Options{}))
	md := Markdown(r, "make plan ENV=test")
	if !strings.Contains(md, "## ✅ Terraform plan for `test`: PASS") || !strings.Contains(md, "**No changes.**") ||
		strings.Contains(md, "<details>") || strings.Contains(md, "### Gate") {
		t.Errorf("summary of an empty plan:\n%s", md)
	}
	if strings.Contains(Markdown(r, ""), "Reproduce") {
		t.Errorf("summary of an empty plan:\n%s", md)
	}
	// The summary and result.json name the state object, so two stacks' runs never blur,
	// and the resources' region, which may not be the state bucket's.
	p.Backend.Bucket, p.Backend.Key, p.Backend.Region, p.Region = "acme-state", "network/test/terraform.tfstate", "us-east-1", "eu-west-1"
	r = NewResult(a, p, gate.Decide(a, p, gate.Options{}))
	if md := Markdown(r, ""); !strings.Contains(md, "State: `s3://acme-state/network/test/terraform.tfstate` · resources in `eu-west-1`\n") ||
		r.State != "s3://acme-state/network/test/terraform.tfstate" || r.Region != "eu-west-1" {
		t.Errorf("state object or region not named: %q, %q\n%s", r.State, r.Region, md)
	}
	// And the variables files the plan read, so a reviewer sees which values it deployed.
	r.VarFiles = []string{"terraform/environments/test.tfvars", "--tf-var-file"}
	if md := Markdown(r, ""); !strings.Contains(md, " · variables from `terraform/environments/test.tfvars`, `--tf-var-file`\n") {
		t.Errorf("variables files not named:\n%s", md)
	}
	var js strings.Builder
	if err := r.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"var_files": [`) {
		t.Errorf("result.json lacks var_files (%v):\n%s", err, js.String())
	}
}

// The header names the regions the plan's provider configurations put resources in, the
// pipeline's region standing for one that names none.
func TestMarkdownNamesTheRegions(t *testing.T) {
	p := mustProfile(t, environment.Test)
	p.Region = "us-east-1"
	tests := []struct {
		name    string
		regions plan.Regions
		want    string
	}{
		{"no aws provider", plan.Regions{}, "resources in `us-east-1`\n"},
		{"a provider block's own region", plan.Regions{Named: []string{"eu-west-1"}}, "resources in `eu-west-1`\n"},
		{"the pipeline's and an alias's", plan.Regions{Named: []string{"", "us-west-2"}}, "resources in `us-east-1`, `us-west-2`\n"},
		{"the pipeline's named twice", plan.Regions{Named: []string{"", "us-east-1"}}, "resources in `us-east-1`\n"},
		{"one unresolved", plan.Regions{Named: []string{"eu-west-1"}, Unknown: 1}, "resources in `eu-west-1` and regions set by expressions the plan does not resolve\n"},
		{"only unresolved", plan.Regions{Unknown: 2}, "resources in regions set by expressions the plan does not resolve\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &plan.Analysis{FormatVersion: "1.2", Regions: tt.regions}
			if md := Markdown(NewResult(a, p, gate.Decide(a, p, gate.Options{})), ""); !strings.Contains(md, tt.want) {
				t.Errorf("summary lacks %q:\n%s", tt.want, md)
			}
		})
	}
}

func TestMarkdownTruncates(t *testing.T) {
	for _, n := range []int{10, 300, 10000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			a := &plan.Analysis{FormatVersion: "1.2"}
			for i := range n {
				a.Changes = append(a.Changes, plan.Change{
					Address: fmt.Sprintf(`aws_s3_bucket.logs["tenant-%05d"]`, i), Type: "aws_s3_bucket", Mode: "managed",
					Kind: plan.ReplaceDeleteFirst, Actions: []string{"delete", "create"}, ReplacePaths: []string{"bucket"},
					Reason: "replace_because_cannot_update",
				})
				a.Counts.Replace++
			}
			p := mustProfile(t, environment.Prod)
			r := NewResult(a, p, gate.Decide(a, p, gate.Options{}))
			md := Markdown(r, "./scripts/plan.sh --env prod")
			if len(md) > MaxMarkdown {
				t.Fatalf("summary is %d bytes", len(md))
			}
			// An unclosed <details> would hide every section a pipeline summary adds after it.
			if strings.Count(md, "<details>") != 1 || strings.Count(md, "</details>") != 1 {
				t.Errorf("the collapsed list is not closed")
			}
			if !strings.HasSuffix(md, "./scripts/plan.sh --env prod\n```\n") {
				t.Error("summary does not end with the reproduce command")
			}
			// Every cut list says how many entries it left out, and those plus the shown rows
			// add up to the whole list.
			shown := strings.Count(md, "| 🛑 | <code>aws_s3_bucket.logs")
			cut := 0
			for _, m := range regexp.MustCompile(`… and (\d+) more (destructive changes|changes) not shown`).FindAllStringSubmatch(md, -1) {
				k, _ := strconv.Atoi(m[1])
				cut += k
			}
			if shown+cut != 2*n {
				t.Errorf("%d rows shown + %d said cut != %d", shown, cut, 2*n)
			}
			if n == 10 && cut != 0 {
				t.Errorf("a small plan was cut")
			}
			if n == 10000 && (cut == 0 || !strings.Contains(md, "… and 9981 more blocking reasons")) { // the gate's own cap
				t.Errorf("a huge plan was not cut:\n%s", md[:500])
			}
		})
	}
}

func TestMarkdownEscapes(t *testing.T) {
	a := &plan.Analysis{FormatVersion: "1.2", Counts: plan.Counts{Delete: 1, Import: 1}, Changes: []plan.Change{
		{Address: "aws_s3_bucket.b[\"a|b`<script>alert(1)</script>\"]", Type: "aws_s3_bucket", Mode: "managed", Kind: plan.Delete},
		{Address: "aws_sqs_queue.q", Type: "aws_sqs_queue", Mode: "managed", Kind: plan.NoOp, Importing: true, ImportID: "https://sqs|x\n## injected"},
	}}
	p := mustProfile(t, environment.Staging)
	r := NewResult(a, p, gate.Decide(a, p, gate.Options{}))
	md := Markdown(r, "echo ``` done")
	if strings.Contains(md, "<script>") || strings.Contains(md, "\n## injected") {
		t.Errorf("summary is not escaped:\n%s", md)
	}
	if !strings.Contains(md, "&lt;script&gt;") || !strings.HasSuffix(md, "````shell\necho ``` done\n````\n") {
		t.Errorf("summary:\n%s", md)
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.Contains(line, "<code>") && strings.Count(line, "|") != 5 {
			t.Errorf("table row with %d cells separators: %q", strings.Count(line, "|"), line)
		}
	}
	long := Markdown(r, strings.Repeat("x", 100000))
	if len(long) > MaxMarkdown || !strings.Contains(long, "x …") {
		t.Errorf("a huge reproduce command is not cut: %d bytes", len(long))
	}
}

func TestJUnit(t *testing.T) {
	out, err := JUnit([]Suite{
		{Name: "post-deploy prod", Cases: []Case{
			{Name: "bucket is versioned", Time: 1500 * time.Millisecond, Output: "ok"},
			{Name: "queue has DLQ", Classname: "sqs", Time: 250 * time.Millisecond, Failure: "no redrive policy on jobs", Output: "GetQueueAttributes: {}\n\x00bad byte"},
			{Name: "lambda smoke", Skipped: "no lambda in this stack"},
		}},
		{Name: "empty"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("no XML header: %s", out)
	}
	var back junitSuites
	if err := xml.Unmarshal(out, &back); err != nil {
		t.Fatalf("JUnit output is not valid XML: %v\n%s", err, out)
	}
	if back.Tests != 3 || back.Failures != 1 || back.Skipped != 1 || back.Time != "1.750" || len(back.Suites) != 2 {
		t.Errorf("totals = %+v", back)
	}
	s := back.Suites[0]
	if s.Name != "post-deploy prod" || s.Tests != 3 || s.Failures != 1 || s.Skipped != 1 || s.Time != "1.750" {
		t.Errorf("suite = %+v", s)
	}
	c := s.Cases[1]
	if c.Classname != "sqs" || c.Failure == nil || c.Failure.Message != "no redrive policy on jobs" || !strings.Contains(c.Failure.Text, "GetQueueAttributes") {
		t.Errorf("failed case = %+v", c)
	}
	if s.Cases[0].Classname != "post-deploy prod" || s.Cases[0].Failure != nil || s.Cases[0].Time != "1.500" {
		t.Errorf("passed case = %+v", s.Cases[0])
	}
	if s.Cases[2].Skipped == nil || s.Cases[2].Skipped.Message != "no lambda in this stack" {
		t.Errorf("skipped case = %+v", s.Cases[2])
	}
}

func mustProfile(t *testing.T, n environment.Name) environment.Profile {
	t.Helper()
	p, err := environment.Default(n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMarkdownLongReasonsLeaveRoom(t *testing.T) {
	a := &plan.Analysis{FormatVersion: "1.2"}
	for i := range 5000 {
		a.Changes = append(a.Changes, plan.Change{Address: fmt.Sprintf("terraform_data.n[%d]", i), Type: "terraform_data", Mode: "managed", Kind: plan.Delete})
		a.Counts.Delete++
	}
	p := mustProfile(t, environment.Prod)
	// The gate lists at most gate.MaxReasons; a decision with more (made by hand here) is
	// cut by the summary itself.
	d := gate.Decide(a, p, gate.Options{})
	d.Reasons = nil
	for i := range 5000 {
		d.Reasons = append(d.Reasons, fmt.Sprintf("prod plan deletes terraform_data.n[%d]; rerun with --force-recreate to allow it", i))
	}
	md := Markdown(NewResult(a, p, d), "plan")
	for _, want := range []string{"more reasons not shown", "| ⚠️ | <code>terraform_data.n[0]</code>", "more destructive changes not shown", "<details>", "more changes not shown", "</details>"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

// FuzzMarkdown feeds arbitrary addresses, reasons and commands through the summary: it must
// stay under the limit, keep every table row to its four cells and end with the command.
func FuzzMarkdown(f *testing.F) {
	f.Add(`aws_s3_bucket.b["a|b"]`, "prod plan deletes x; rerun", "./scripts/plan.sh --env prod", 3)
	f.Add("x\n## h1 `code` <b>", "```", "echo ```", 5000)
	f.Fuzz(func(t *testing.T, address, reason, reproduce string, n int) {
		n = max(0, min(n, 5000))
		a := &plan.Analysis{FormatVersion: "1.2"}
		for i := range n {
			a.Changes = append(a.Changes, plan.Change{Address: fmt.Sprintf("%s%d", address, i), Type: "aws_s3_bucket",
				Mode: "managed", Kind: plan.Delete, ReplacePaths: []string{address}, ImportID: reason})
			a.Counts.Delete++
		}
		r := NewResult(a, mustProfile(t, environment.Prod), gate.Decision{Verdict: gate.Block, Reasons: []string{reason, address}})
		md := Markdown(r, reproduce)
		if len(md) > MaxMarkdown {
			t.Fatalf("summary is %d bytes", len(md))
		}
		if reproduce != "" && len(reproduce) <= maxReproduce && !strings.HasSuffix(md, "\n"+reproduce+"\n"+strings.Repeat("`", fenceLen(reproduce))+"\n") {
			t.Errorf("summary does not end with the command")
		}
		for _, line := range strings.Split(md, "\n") {
			if strings.Contains(line, "<code>") && strings.Count(line, "|") != 5 {
				t.Errorf("broken table row %q", line)
			}
		}
	})
}

func fenceLen(s string) int {
	n := 3
	for strings.Contains(s, strings.Repeat("`", n)) {
		n++
	}
	return n
}
