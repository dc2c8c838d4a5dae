package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
)

func TestHeader(t *testing.T) {
	outs := []Outcome{
		{Step: StepLint, Verdict: gate.Pass},
		{Step: StepSecurityScan, Verdict: gate.Warn, Reasons: []string{"checkov could not run"}},
		{Step: StepPlan, Verdict: gate.Block, Reasons: []string{"prod plan deletes aws_s3_bucket.logs[\"a\n# forged heading\"]"}},
	}
	md := Header(Run{Env: "prod", Why: "event push on refs/heads/main", DryRun: true}, outs)
	for _, want := range []string{
		"# prod pipeline: block\n",
		"Environment chosen by event push on refs/heads/main.",
		"Dry run: nothing was imported or applied.",
		"| Security scan | warn |",
		"- **warn** Security scan: checkov could not run",
		"- **block** Plan: prod plan deletes",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("header lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "Lint:") {
		t.Errorf("a passing step has a reason line:\n%s", md)
	}
	if strings.Contains(md, "\n# forged") {
		t.Errorf("a reason started a heading:\n%s", md)
	}
	if md := Header(Run{Env: "test"}, nil); strings.Contains(md, "chosen by") || strings.Contains(md, "Dry run") || strings.Contains(md, "No changes") || !strings.HasPrefix(md, "# test pipeline: pass") {
		t.Errorf("the header of an empty run:\n%s", md)
	}
	if md := Header(Run{Env: "test", NoChanges: true}, nil); !strings.Contains(md, "No changes: nothing was applied or backed up, and the post-deploy tests did not run (--test-unchanged runs them).") {
		t.Errorf("the header of a run without changes:\n%s", md)
	}
	if md := Header(Run{Env: "test", NoChanges: true, TestsRan: true}, nil); !strings.Contains(md, "the post-deploy tests ran as asked") {
		t.Errorf("the header of a run without changes, tests asked:\n%s", md)
	}
}

// A failed command's reason holds the end of its output; the header keeps one line of it:
// real Terraform output of a plan without a required variable.
func TestHeaderOfAFailedPlan(t *testing.T) {
	out := string(readTestdata(t, "plan-required-variable-unset.txt"))
	err := StepFailed("terraform plan", "test", 1, strings.Repeat("noise\n", 100)+out, time.Minute, time.Now())
	rec := NewRecorder(profile(t, "test"), time.Now())
	rec.Failed(StepPlan, err)
	md := Header(Run{Env: "test"}, rec.Outcomes())
	want := "- **block** Plan: terraform plan failed in test (exit code 1): Error: No value for required variable (the step's section below has the rest)\n"
	if !strings.Contains(md, want) {
		t.Errorf("header:\n%s\nwant the line\n%s", md, want)
	}
	if strings.Contains(md, "noise") {
		t.Errorf("the header holds the command's output:\n%s", md)
	}
	if sec := rec.Steps()[0].Markdown; !strings.Contains(sec, "The pipeline passes no -var") {
		t.Errorf("the step's section lost the rest:\n%s", sec)
	}
}

func TestSections(t *testing.T) {
	long := strings.Repeat("line\n", 100) + "Error: the last line"
	for _, tt := range []struct {
		md, head string
	}{
		{BrokenSection(StepCost, errors.New(long)), "## Cost\n\nCould not run:\n\n"},
		{FailedSection(StepApply, errors.New(long)), "## Apply\n\nFailed:\n\n"},
	} {
		if !strings.HasPrefix(tt.md, tt.head) || !strings.Contains(tt.md, "Error: the last line") || !strings.Contains(tt.md, "lines cut]") {
			t.Errorf("section:\n%s", tt.md)
		}
	}
	if md := FailedSection(StepApply, errors.New("```\n# not a heading")); strings.Count(md, "\n# not a heading") != 1 || !strings.Contains(md, "````") {
		t.Errorf("a fence in the error closed the code block early:\n%s", md)
	}
}

// Whatever a reason or a why holds, the header's structure stays its own: one heading, the
// table, and one list line per reason.
func FuzzHeader(f *testing.F) {
	f.Add("event push", "reason")
	f.Add("x\n# y", "a | b\n- **pass** Lint: forged")
	f.Fuzz(func(t *testing.T, why, reason string) {
		md := Header(Run{Env: "prod", Why: why}, []Outcome{{Step: StepPlan, Verdict: gate.Block, Reasons: []string{reason}}})
		lines := strings.Split(md, "\n")
		headings, items := 0, 0
		for _, l := range lines {
			if strings.HasPrefix(l, "#") {
				headings++
			}
			if strings.HasPrefix(l, "- ") {
				items++
			}
		}
		if headings != 1 || items != 1 {
			t.Fatalf("%d headings and %d list items for one reason:\n%s", headings, items, md)
		}
	})
}

// The sections the module hands its results to, each with the hostile text a tool or a
// configuration could put in it.
func TestStepSections(t *testing.T) {
	hostile := "x | y\n# forged"
	for _, tt := range []struct {
		name string
		md   string
		want []string
		not  []string
	}{
		{"lint clean", Lint{}.Markdown(LintFailAt), []string{"## Lint\n", "- terraform fmt: ok", "- terraform validate: ok", "- tflint: 0 finding(s)"}, nil},
		{"lint dirty", Lint{Unformatted: []string{"main.tf", hostile}, FmtDiff: "-a\n+b", Validate: "Error: x"}.Markdown(LintFailAt),
			[]string{"2 file(s) not formatted", "  - main.tf", "```diff\n-a\n+b", "- terraform validate: failed"}, []string{"\n# forged"}},
		{"findings with a tool that could not run", FindingsSection(Outcome{Verdict: gate.Warn, Reasons: []string{hostile}}, nil, findings.Result{}, nil),
			[]string{"- **warn** x \\| y"}, []string{"\n# forged"}},
		{"heading with tools", StepHeading(StepSecurityScan, []string{"checkov", "trivy"}), []string{"## Security scan (checkov, trivy)\n\n"}, nil},
		{"heading without tools", StepHeading(StepCompliance, nil), []string{"## Compliance\n\n"}, []string{"()"}},
		{"nothing to deploy", NothingToDeploy(errors.New(hostile)), []string{"# Nothing to deploy\n\n"}, []string{"\n# forged"}},
		{"drift failed", DriftFailed("prod", errors.New("lock held")), []string{"## Drift: prod\n\nThe check could not run:", "lock held"}, nil},
		{"applied", ApplySection(true, "", "- State backup: x\n"), []string{"## Apply\n\n- Applied the saved plan of this run.\n- State backup: x"}, nil},
		{"applied a stored plan", ApplySection(true, "- Applied the stored plan p\n", ""), []string{"- Applied the stored plan p"}, []string{"saved plan of this run"}},
		{"nothing to apply", ApplySection(false, "- Applied the stored plan p\n", "- State backup: none needed\n"), []string{"- Nothing to apply: the plan has no changes, so no state backup was taken either."}, []string{"stored", "State backup:"}},
		{"tests", TestsSection([]TestCase{{"health api", "pass"}, {hostile, "FAIL: 500\nInternal"}}),
			[]string{"| check | result |", "| health api | pass |", "| FAIL: 500 Internal |"}, []string{"\n# forged", "x | y"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(tt.md, w) {
					t.Errorf("lacks %q:\n%s", w, tt.md)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(tt.md, n) {
					t.Errorf("holds %q:\n%s", n, tt.md)
				}
			}
		})
	}
}
