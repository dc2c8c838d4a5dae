package pipeline

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// openRules are security group rules open to the internet, more than a summary lists.
const openRules = `
resource "aws_security_group" "web" {
  name = "web"
}
resource "aws_vpc_security_group_ingress_rule" "open" {
  count             = 8
  security_group_id = aws_security_group.web.id
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 8000 + count.index
  to_port           = 8000 + count.index
  ip_protocol       = "tcp"
}
`

// riskyPlan is the real hashicorp/aws provider's plan of openRules, made against moto.
func riskyPlan(t *testing.T) []byte {
	t.Helper()
	moto := mototest.Start(t)
	moto.Setenv(t)
	w := tftest.New(t, nil)
	w.UseRealAWSProviderOn(moto.URL, "ec2", "sts")
	w.Write("main.tf", openRules)
	w.Init()
	return w.PlanJSON()
}

// Judge reads a real plan as the module hands it over: the analysis and the gate's verdict
// for the environment (prod blocks a replacement unless --force-recreate), the text kept for
// plan.txt, and the access and encryption section, bounded to MaxRiskyRows.
func TestJudge(t *testing.T) {
	replace := string(tftest.New(t, nil).PlanChange(stackV1, stackV2))
	none := string(tftest.New(t, nil).PlanChange(stackV1, stackV1))
	cases := []struct {
		name          string
		env           environment.Name
		planJSON      func(t *testing.T) string
		forceRecreate bool
		verdict       gate.Verdict
		replaces      int
		// risky is what the access and encryption section holds; "" for no section.
		risky []string
	}{
		{name: "prod blocks the replacement", env: environment.Prod, planJSON: func(*testing.T) string { return replace },
			verdict: gate.Block, replaces: 1},
		{name: "prod with --force-recreate warns and lets it through", env: environment.Prod, planJSON: func(*testing.T) string { return replace },
			forceRecreate: true, verdict: gate.Warn, replaces: 1},
		{name: "test replaces freely", env: environment.Test, planJSON: func(*testing.T) string { return replace },
			verdict: gate.Pass, replaces: 1},
		{name: "no changes", env: environment.Prod, planJSON: func(*testing.T) string { return none }, verdict: gate.Pass},
		{name: "rules open to the internet: 30 rows, the rest in the plan", env: environment.Test,
			planJSON: func(t *testing.T) string { return string(riskyPlan(t)) }, verdict: gate.Pass,
			risky: []string{"## Access and encryption changes", "`aws_vpc_security_group_ingress_rule.open[0]`", "`\"0.0.0.0/0\"`", "… 2 more in the plan."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			profile, err := environment.Default(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			j, err := Judge(tc.env, profile, tc.planJSON(t), "terraform show output", nil, gate.Options{ForceRecreate: tc.forceRecreate})
			if err != nil {
				t.Fatal(err)
			}
			if j.Decision.Verdict != tc.verdict || j.Analysis.Counts.Replace != tc.replaces {
				t.Errorf("verdict %s with %d replacements (%v); want %s with %d", j.Decision.Verdict, j.Analysis.Counts.Replace,
					j.Decision.Reasons, tc.verdict, tc.replaces)
			}
			if j.Profile.Name != tc.env || j.Text != "terraform show output" || len(j.Sections) != 1 {
				t.Errorf("profile %s, text %q, sections %q", j.Profile.Name, j.Text, j.Sections)
			}
			risky := j.Sections[0]
			if len(tc.risky) == 0 && risky != "" {
				t.Errorf("a plan without access changes has the section:\n%s", risky)
			}
			for _, w := range tc.risky {
				if !strings.Contains(risky, w) {
					t.Errorf("the access section lacks %q:\n%s", w, risky)
				}
			}
			if rows := strings.Count(risky, "\n| `"); len(tc.risky) > 0 && rows != MaxRiskyRows {
				t.Errorf("the access section has %d rows, want %d", rows, MaxRiskyRows)
			}
		})
	}
}

// A plan that is not Terraform's JSON is refused, naming the environment.
func TestJudgeRefuses(t *testing.T) {
	profile, err := environment.Default(environment.Staging)
	if err != nil {
		t.Fatal(err)
	}
	for _, js := range []string{"", "not json", `{"format_version": "1.2", "resource_changes": "nope"}`} {
		if _, err := Judge(environment.Staging, profile, js, "", nil, gate.Options{}); err == nil || !strings.HasPrefix(err.Error(), "staging plan: ") {
			t.Errorf("Judge(%q) = %v; want an error starting with \"staging plan: \"", js, err)
		}
	}
}

// An apply's record has its plan step as soon as the plan is judged, so a gate that blocks
// still records it; once applied it adds the apply step, the verdict and whether anything
// changed.
func TestApplyFacts(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC)
	base := runs.Facts{Kind: runs.KindApply, Commit: "abc", Started: t0, Reproduce: "dagger call apply --env=prod"}
	cases := []struct {
		name    string
		env     environment.Name
		applied bool
		verdict gate.Verdict
	}{
		{"prod's plan blocked: nothing applied", environment.Prod, false, gate.Block},
		{"test applied its changes", environment.Test, true, gate.Pass},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := realPlan(t, tc.env)
			planned := p.PlanFacts(base, t0, t0.Add(2*time.Minute))
			if planned.Kind != runs.KindApply || planned.Commit != "abc" || planned.Reproduce != base.Reproduce || planned.Verdict != "" {
				t.Errorf("planned facts lost the base or judged early: %+v", planned)
			}
			if planned.Plan == nil || *planned.Plan != p.Analysis.Counts {
				t.Errorf("planned counts %v, want %+v", planned.Plan, p.Analysis.Counts)
			}
			wantPlan := runs.Step{Name: string(StepPlan), Verdict: tc.verdict, DurationMS: 120000}
			if !slices.Equal(planned.Steps, []runs.Step{wantPlan}) {
				t.Errorf("planned steps %+v, want %+v", planned.Steps, wantPlan)
			}
			if tc.verdict == gate.Block {
				// The module stops at the gate and records the failure over these facts.
				if out := planned.Outcome(p.Blocked("apply; nothing was changed")); out.Verdict != gate.Block || len(out.Steps) != 1 {
					t.Errorf("blocked outcome %+v", out)
				}
				return
			}
			done := Apply{Plan: p, Applied: tc.applied}.Facts(planned, t0.Add(2*time.Minute), t0.Add(3*time.Minute))
			wantApply := runs.Step{Name: string(StepApply), Verdict: gate.Pass, DurationMS: 60000}
			if !slices.Equal(done.Steps, []runs.Step{wantPlan, wantApply}) {
				t.Errorf("applied steps %+v, want plan then apply", done.Steps)
			}
			if done.Verdict != p.Decision.Verdict || !slices.Equal(done.Reasons, p.Decision.Reasons) || done.Applied != tc.applied {
				t.Errorf("verdict %s reasons %q applied %v; want %s %q %v", done.Verdict, done.Reasons, done.Applied,
					p.Decision.Verdict, p.Decision.Reasons, tc.applied)
			}
			if len(planned.Steps) != 1 {
				t.Errorf("Facts changed the planned facts' steps: %+v", planned.Steps)
			}
		})
	}
}

// Terraform's text shows a sensitive value in clear where an attribute derived from it lost
// the mark: a terraform_data's output, before an update of its sensitive input. The plan
// marks the input sensitive, so plan.txt masks the value wherever it appears (real
// Terraform; the value is long enough to mask).
func TestJudgeMasksSensitiveValuesInText(t *testing.T) {
	const tf = "variable \"secret\" {\n  type      = string\n  sensitive = true\n}\nresource \"terraform_data\" \"secret\" {\n  input = var.secret\n}\n"
	w := tftest.New(t, map[string]string{"main.tf": tf})
	w.Init()
	w.Apply("-var", "secret=hunter2-before-apply")
	js := w.PlanJSON("-var", "secret=hunter2-after-apply")
	text := w.Run("show", "-no-color", "tfplan")
	if !strings.Contains(text, `"hunter2-before-apply"`) {
		t.Fatalf("Terraform no longer shows the old value in clear; the test needs another case:\n%s", text)
	}
	rep, err := Judge(environment.Test, profile(t, "test"), string(js), text, nil, gate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rep.Text, "hunter2") || !strings.Contains(rep.Text, `output = "`+Masked+`"`) {
		t.Errorf("plan.txt:\n%s", rep.Text)
	}
}
