package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/report"
)

// A header larger than half the limit (thousands of stacks) is cut, the whole still fits,
// and it still ends with the whole reproduce line.
func TestStacksSummaryManyStacks(t *testing.T) {
	var runs []StackRun
	for i := range 3000 {
		runs = append(runs, StackRun{Stack: fmt.Sprintf("live/stack-%04d", i), Verdict: gate.Pass, Summary: "# x\n"})
	}
	md := StacksSummary(report.MaxMarkdown, NewStacksResult("test", false, runs, nil), Call(nil, "pipeline"))
	if len(md) > report.MaxMarkdown || !strings.HasPrefix(md, "# test pipeline: pass (3000 stacks)") || !strings.HasSuffix(md, "dagger call pipeline export --path=./reports\n```\n") {
		t.Errorf("%d bytes:\n%s", len(md), md[:500])
	}
}

func TestNewStacksResult(t *testing.T) {
	runs := []StackRun{
		{Stack: "stacks/network", Verdict: gate.Block, Reasons: []string{"prod plan deletes aws_vpc.main"}},
		{Stack: "stacks/app", Verdict: gate.Warn, Reasons: []string{"cost unknown"}, Held: []string{"stacks/network"}},
		{Stack: "terraform", Verdict: gate.Pass},
	}
	r := NewStacksResult("prod", false, runs, []string{"legacy"})
	if r.Verdict != gate.Block || strings.Join(r.Reasons, "|") != "stacks/network: prod plan deletes aws_vpc.main|stacks/app: cost unknown" ||
		r.Outputs["verdict"] != "block" || r.Outputs["stacks"] != "stacks/network,stacks/app,terraform" {
		t.Errorf("NewStacksResult = %+v", r)
	}
	if got := NewStacksResult("test", false, runs[2:], nil); got.Verdict != gate.Pass || got.Err() != nil {
		t.Errorf("one passing stack: %+v", got)
	}
	if got := NewStacksResult("test", false, nil, nil); got.Verdict != gate.Pass || got.Stacks == nil {
		t.Errorf("no stack: %+v", got)
	}
	r.Warnings = []string{`pipeline.yaml: stacks.include[1]: "stack/*" matches no directory with .tf files, so it adds no stack`}
	h := StacksHeader(r)
	for _, want := range []string{
		"# prod pipeline: block (3 stacks)",
		`- **warning** pipeline.yaml: stacks.include\[1\]: "stack/\*" matches no directory`,
		"| `stacks/network` | block | named |",
		"| `stacks/app` | warn, not applied | named |",
		"- **held** `stacks/app`: planned and checked, not applied: it depends on `stacks/network`, which blocked or was held",
		"- **block** `stacks/network`: prod plan deletes aws\\_vpc.main",
		"- **removed** `legacy`: the change deletes its Terraform files",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("header lacks %q:\n%s", want, h)
		}
	}
	if h := StacksHeader(NewStacksResult("test", false, runs[2:], nil)); !strings.HasPrefix(h, "# test pipeline: pass (1 stack)\n") {
		t.Errorf("one stack's header:\n%s", h)
	}
	if h := StacksHeader(NewStacksResult("test", true, nil, nil)); !strings.HasPrefix(h, "# test pipeline: pass (0 stacks)") || !strings.Contains(h, "No change touches a stack") || !strings.Contains(h, "Dry run") {
		t.Errorf("empty header:\n%s", h)
	}
}

// A hostile stack name or reason cannot break the table or start a line of its own.
func TestStacksHeaderHostile(t *testing.T) {
	r := NewStacksResult("test", false, []StackRun{{Stack: "a|b`\n# x", Verdict: gate.Warn, Reasons: []string{"r\n# fake heading"},
		Why: []string{"x|y\n| forged | row |"}}}, nil)
	h := StacksHeader(r)
	for _, line := range strings.Split(h, "\n") {
		if strings.HasPrefix(line, "# x") || strings.HasPrefix(line, "# fake") || strings.HasPrefix(line, "| forged") {
			t.Errorf("a value started a line: %q in\n%s", line, h)
		}
		if strings.HasPrefix(line, "| `") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 4 {
			t.Errorf("a table row has extra cells: %q", line)
		}
	}
}

// Thirty stacks with long summaries fit GitHub's comment limit: the table of stacks comes
// first and whole, every stack keeps its heading, and the reproduce line stays last.
func TestStacksSummaryFitsCommentLimit(t *testing.T) {
	var runs []StackRun
	for i := range 30 {
		var b strings.Builder
		fmt.Fprintf(&b, "# test pipeline: pass\n\n| step | verdict |\n|---|---|\n| Plan | pass |\n\n## Plan\n\n```\n")
		for j := range 300 {
			fmt.Fprintf(&b, "  # aws_s3_bucket.b%d will be created (stack %d)\n", j, i)
		}
		b.WriteString("```\n")
		stack := fmt.Sprintf("live/s%02d", i)
		runs = append(runs, StackRun{Stack: stack, Verdict: gate.Pass, Report: StackReport(stack), Summary: b.String(), Why: []string{"modules/x/main.tf: in module modules/x, which the stack uses"}})
	}
	r := NewStacksResult("test", false, runs, nil)
	reproduce := Call(nil, "pipeline").Flag("env", "test").Flag("stacks", "changed")
	summary := StacksSummary(report.MaxMarkdown, r, reproduce)
	comment := StacksComment(r, reproduce, "")
	for name, md := range map[string]string{"summary": summary, "comment": comment} {
		if len(md) > report.MaxMarkdown {
			t.Fatalf("%s is %d bytes, over %d", name, len(md), report.MaxMarkdown)
		}
		if !strings.Contains(md, StacksHeader(r)) {
			t.Errorf("%s lost the table of stacks", name)
		}
		for _, s := range runs {
			if !strings.Contains(md, "# Stack `"+s.Stack+"`: pass") {
				t.Errorf("%s lost the heading of %s", name, s.Stack)
			}
		}
		if !strings.HasSuffix(strings.TrimSpace(md), "```") || !strings.Contains(md, "dagger call pipeline --env=test --stacks=changed") {
			t.Errorf("%s lost the reproduce line at its end:\n%s", name, md[len(md)-300:])
		}
		if strings.Count(md, "```")%2 != 0 {
			t.Errorf("%s leaves a code fence open", name)
		}
	}
	if !strings.HasPrefix(comment, report.CommentMarker("test")+"\n") {
		t.Errorf("the comment does not start with its marker")
	}
	// One job per stack: each edits a comment of its own.
	if got := StacksComment(r, reproduce, "stacks/network"); !strings.HasPrefix(got, "<!-- infrapipe:summary:test:stacks/network -->\n") {
		t.Errorf("a named stack's comment starts %q", got[:60])
	}
	if got := StacksComment(r, reproduce, "a-->b"); !strings.HasPrefix(got, "<!-- infrapipe:summary:test:a___b -->\n") {
		t.Errorf("a hostile name's comment starts %q", got[:60])
	}
	if !strings.Contains(summary, "more lines of this section not shown") {
		t.Errorf("long summaries were not cut")
	}
	// The stacks' own headings nest under theirs; a "#" inside a code block is left alone.
	if !strings.Contains(summary, "\n## test pipeline: pass") || !strings.Contains(summary, "\n### Plan") || !strings.Contains(summary, "\n  # aws_s3_bucket.b0 will be created") {
		t.Errorf("headings not demoted as they should be:\n%s", summary[:2000])
	}
}

func TestMergeStacksSARIF(t *testing.T) {
	sarif := func(root string, fs []findings.Finding, tools ...string) []byte {
		var b bytes.Buffer
		if err := findings.WriteSARIF(&b, findings.MergeSARIF(fs, findings.SARIFOptions{Tools: tools, Root: root})); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	network := sarif("stacks/network", []findings.Finding{{Tool: "checkov", RuleID: "CKV2_AWS_12", Severity: findings.High, File: "main.tf", Line: 3, Message: "default SG"}}, "checkov", "trivy")
	app := sarif("terraform", []findings.Finding{{Tool: "checkov", RuleID: "CKV_AWS_18", Severity: findings.Medium, File: "storage.tf", Line: 9, Message: "logging"},
		{Tool: "tflint", RuleID: "terraform_unused_declarations", Severity: findings.Low, File: "variables.tf", Line: 1, Message: "unused"}}, "checkov", "tflint")
	log, err := MergeStacksSARIF([]StackFile{{Stack: "stacks/network", Data: network}, {Stack: "terraform", Data: app}})
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Validate(); err != nil {
		t.Fatal(err)
	}
	var tools, uris []string
	for _, run := range log.Runs {
		tools = append(tools, strings.ToLower(run.Tool.Driver.Name))
		for _, res := range run.Results {
			for _, l := range res.Locations {
				uris = append(uris, l.PhysicalLocation.ArtifactLocation.URI)
			}
		}
	}
	if strings.Join(tools, ",") != "tflint,checkov,trivy" && len(tools) != 3 {
		t.Errorf("one run per tool: %v", tools)
	}
	for _, want := range []string{"stacks/network/main.tf", "terraform/storage.tf", "terraform/variables.tf"} {
		if !strings.Contains(strings.Join(uris, ","), want) {
			t.Errorf("merged SARIF lacks %s: %v", want, uris)
		}
	}
	if _, err := MergeStacksSARIF([]StackFile{{Stack: "x", Data: []byte("{")}}); err == nil || !strings.Contains(err.Error(), "x/results.sarif") {
		t.Errorf("a broken log: %v", err)
	}
}

// Whatever the stacks' names, reasons and summaries hold, the comment stays within GitHub's
// limit and starts with its marker and verdict.
func FuzzStacksComment(f *testing.F) {
	f.Add("stacks/network", "a reason", "# test pipeline: pass\n```\n# x\n", 3)
	f.Add("a|b`", "r\n# h", strings.Repeat("x\n", 5000), 40)
	f.Fuzz(func(t *testing.T, stack, reason, summary string, n int) {
		n = max(1, min(n%200, 200))
		runs := make([]StackRun, n)
		for i := range runs {
			runs[i] = StackRun{Stack: fmt.Sprint(stack, i), Verdict: gate.Warn, Reasons: []string{reason}, Summary: strings.Repeat(summary, 1+i%3)}
		}
		md := StacksComment(NewStacksResult("test", false, runs, []string{stack}), Call(nil, "pipeline"), stack)
		if len(md) > report.MaxMarkdown {
			t.Fatalf("%d bytes", len(md))
		}
		marker, rest, _ := strings.Cut(md, "\n")
		if !strings.HasPrefix(marker, "<!-- infrapipe:summary:test:") || strings.Count(marker, "-->") != 1 || !strings.HasSuffix(marker, " -->") ||
			!strings.HasPrefix(rest, "# test pipeline: warn") {
			t.Fatalf("starts %q", md[:min(len(md), 100)])
		}
	})
}

func TestMergeStacksJUnit(t *testing.T) {
	junit := func(cases ...report.Case) []byte {
		data, err := report.JUnit([]report.Suite{{Name: "pipeline test", Cases: cases}})
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	data, err := MergeStacksJUnit([]StackFile{
		{Stack: "stacks/network", Data: junit(report.Case{Name: "Plan"}, report.Case{Name: "Post-deploy tests", Failure: "monitoring: no alarm"})},
		{Stack: "terraform", Data: junit(report.Case{Name: "Plan"})},
	})
	if err != nil {
		t.Fatal(err)
	}
	suites, err := report.ReadJUnit("merged", data)
	if err != nil || len(suites) != 2 || suites[0].Name != "stacks/network: pipeline test" || suites[1].Name != "terraform: pipeline test" ||
		suites[0].Cases[1].Failure != "monitoring: no alarm" || !strings.Contains(string(data), `tests="3" failures="1"`) {
		t.Errorf("merged junit.xml (%v):\n%s", err, data)
	}
	// A held stack's own report (a dry run's) has only passing cases; merged, its apply is
	// skipped with why.
	held := StackRun{Stack: "stacks/app", Held: []string{"stacks/network"}}.HeldLine()
	data, err = MergeStacksJUnit([]StackFile{{Stack: "stacks/app", Data: junit(report.Case{Name: "Plan", Classname: "prod"}), Held: held}})
	if err != nil {
		t.Fatal(err)
	}
	if suites, err := report.ReadJUnit("merged", data); err != nil || len(suites) != 1 || len(suites[0].Cases) != 2 ||
		suites[0].Cases[1].Name != string(StepApply) || suites[0].Cases[1].Skipped != held || suites[0].Cases[1].Classname != "prod" ||
		!strings.Contains(held, "depends on stacks/network, which blocked or was held") {
		t.Errorf("held stack's junit.xml (%v):\n%s", err, data)
	}
	if _, err := MergeStacksJUnit([]StackFile{{Stack: "x", Data: []byte("<nope")}}); err == nil || !strings.Contains(err.Error(), "x/junit.xml") {
		t.Errorf("a broken file: %v", err)
	}
}

// The combined report's files, from real SARIF and JUnit as the stacks' own reports write
// them: every file there once, the reproduce line in result.json and outputs.env, each
// stack's annotations kept as made, a stack that wrote no SARIF or JUnit left out of those.
func TestStacksFiles(t *testing.T) {
	var sarif bytes.Buffer
	fs := []findings.Finding{{Tool: "trivy", RuleID: "AWS-0178", Severity: findings.Medium, File: "main.tf", Line: 2, Message: "flow logs"}}
	if err := findings.WriteSARIF(&sarif, findings.MergeSARIF(fs, findings.SARIFOptions{Tools: []string{"trivy"}, Root: "stacks/network"})); err != nil {
		t.Fatal(err)
	}
	junit, err := report.JUnit([]report.Suite{{Name: "pipeline test", Cases: []report.Case{{Name: "Plan"}, {Name: "Apply", Failure: "refused"}}}})
	if err != nil {
		t.Fatal(err)
	}
	runs := []StackRun{
		{Stack: "stacks/network", Verdict: gate.Pass, Report: StackReport("stacks/network"), Summary: "# test pipeline: pass\n"},
		{Stack: "terraform", Verdict: gate.Block, Reasons: []string{"apply refused"}, Held: []string{"stacks/network"}, Report: StackReport("terraform"), Summary: "# test pipeline: block\n"},
	}
	res := NewStacksResult("test", false, runs, nil)
	reproduce := Call(nil, "pipeline").Flag("env", "test").Flag("stacks", "stacks/network,terraform")
	own := []StackOwn{
		{SARIF: sarif.Bytes(), Annotations: "::warning file=stacks/network/main.tf,line=2::flow logs\n"},
		{JUnit: junit, Annotations: "::error::apply refused\n"},
	}
	list, err := StacksFiles(res, reproduce, "", own)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for i := 0; i+1 < len(list); i += 2 {
		if _, dup := files[list[i]]; dup {
			t.Errorf("%s twice", list[i])
		}
		files[list[i]] = list[i+1]
	}
	if len(files) != 7 || len(list) != 14 {
		t.Errorf("files %v", slices.Collect(maps.Keys(files)))
	}
	var back StacksResult
	if err := json.Unmarshal([]byte(files[ResultFile]), &back); err != nil {
		t.Fatal(err)
	}
	if back.Verdict != gate.Block || back.Outputs["reproduce"] != reproduce.String() || len(back.Stacks) != 2 || back.Stacks[1].Held[0] != "stacks/network" {
		t.Errorf("result.json %s", files[ResultFile])
	}
	if _, ok := res.Outputs["reproduce"]; ok {
		t.Error("StacksFiles changed the caller's outputs")
	}
	if !strings.Contains(files["outputs.env"], "reproduce<<") || !strings.Contains(files["outputs.env"], "verdict<<") && !strings.Contains(files["outputs.env"], "verdict=block") {
		t.Errorf("outputs.env:\n%s", files["outputs.env"])
	}
	if files["annotations.txt"] != own[1].Annotations+own[0].Annotations { // errors first, then warnings
		t.Errorf("annotations.txt %q", files["annotations.txt"])
	}
	if !strings.Contains(files["results.sarif"], "stacks/network/main.tf") || !strings.Contains(files["junit.xml"], `name="terraform: pipeline test"`) ||
		strings.Contains(files["junit.xml"], "stacks/network:") {
		t.Errorf("merged SARIF or JUnit:\n%s\n%s", files["results.sarif"], files["junit.xml"])
	}
	for _, name := range []string{"summary.md", "comment.md"} {
		if !strings.Contains(files[name], "# test pipeline: block") || !strings.Contains(files[name], reproduce.String()) {
			t.Errorf("%s:\n%s", name, files[name])
		}
	}

	if _, err := StacksFiles(res, reproduce, "", own[:1]); err == nil || !strings.Contains(err.Error(), "2 stacks was given the files of 1") {
		t.Errorf("files of one stack for two: %v", err)
	}
	own[1].JUnit = []byte("<testsuites><testsuite")
	if _, err := StacksFiles(res, reproduce, "", own); err == nil || !strings.Contains(err.Error(), "terraform/junit.xml") {
		t.Errorf("a broken junit.xml: %v", err)
	}
}
