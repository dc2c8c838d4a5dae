package pipeline

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/planstore"
	"github.com/infrapipe/infrapipe/ci/report"
)

// storedSection is the section plan --store-plan adds, made by ci/planstore as the module
// makes it.
func storedSection(t *testing.T) (planstore.Ref, string, string) {
	t.Helper()
	ref := planstore.NewRef(environment.Prod, time.Date(2026, 12, 5, 5, 40, 0, 0, time.UTC), "9f86d081")
	sha := strings.Repeat("ab", 32)
	apply := Call([]string{"--source=."}, "apply").Flag("env", "prod").Flag("plan-ref", ref.Key()).Flag("plan-sha256", sha).
		Flag("commit", "0123456789abcdef0123456789abcdef01234567")
	return ref, sha, planstore.Section(ref, planstore.Meta{SHA256: sha, Created: storedAt}, apply.String())
}

// output is one output as go-githubactions writes it to outputs.env (a heredoc).
func output(name, value string) string {
	const delim = "_GitHubActionsFileCommandDelimeter_"
	return name + "<<" + delim + "\n" + value + "\n" + delim + "\n"
}

// storedAt is when storedSection's plan was stored: a fixed time, as a second clock reading
// could fall in the next minute.
var storedAt = time.Date(2026, 12, 5, 5, 40, 12, 0, time.UTC)

func TestPlanFiles(t *testing.T) {
	_, sha, stored := storedSection(t)
	risky := "## Access and encryption changes\n\n| resource | action |\n|---|---|\n| `aws_s3_bucket_policy.p` | update |\n"
	reproduce := Call([]string{"--source=."}, "plan").Flag("env", "prod")
	cases := []struct {
		name     string
		env      environment.Name
		sections []string
		verdict  gate.Verdict
		// want are in the summary in this order; none are not in it.
		want, none []string
	}{
		{
			name:    "prod blocks the delete; no risky changes, nothing stored",
			env:     environment.Prod,
			verdict: gate.Block,
			want:    []string{"Terraform plan for `prod`: BLOCK", "terraform_data.old", "**Reproduce with:**", "dagger call --source=. plan --env=prod"},
			none:    []string{"## Stored plan", "## Access and encryption"},
		},
		{
			name:     "test passes; the risky section and the stored plan follow the plan, the reproduce line ends it",
			env:      environment.Test,
			sections: []string{risky, "", stored},
			verdict:  gate.Pass,
			want: []string{"Terraform plan for `test`: PASS", "## Access and encryption changes", "## Stored plan", sha,
				"apply --env=prod --plan-ref=plans/prod/20261205T054000Z-9f86d081.tfplan --plan-sha256=" + sha + " --commit=0123456789abcdef0123456789abcdef01234567",
				"**Reproduce with:**"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := realPlan(t, tc.env)
			p.Sections = tc.sections
			got := files(t, mustFiles(t)(p.Files(reproduce)))
			if len(got) != 4 || got["plan.txt"] != p.Text {
				t.Errorf("files %v, plan.txt %q; want plan.txt, summary.md, result.json and outputs.env", keys(got), got["plan.txt"])
			}
			if env := got["outputs.env"]; !strings.Contains(env, output("verdict", string(tc.verdict))) || !strings.Contains(env, output("reproduce", reproduce.String())) {
				t.Errorf("outputs.env lacks the verdict %s or the reproduce line:\n%s", tc.verdict, env)
			}
			summary := got["summary.md"]
			at := 0
			for _, w := range tc.want {
				i := strings.Index(summary[at:], w)
				if i < 0 {
					t.Fatalf("summary lacks %q after byte %d:\n%s", w, at, summary)
				}
				at += i + len(w)
			}
			for _, n := range tc.none {
				if strings.Contains(summary, n) {
					t.Errorf("summary holds %q:\n%s", n, summary)
				}
			}
			if !strings.HasSuffix(summary, reproduce.Markdown()) {
				t.Errorf("summary does not end with the reproduce line:\n%s", summary)
			}
			var res report.Result
			if err := json.Unmarshal([]byte(got[ResultFile]), &res); err != nil {
				t.Fatal(err)
			}
			if res.Env != tc.env || res.Verdict != tc.verdict || res.Counts.Create != 1 || res.Counts.Delete != 1 {
				t.Errorf("result.json: env %s verdict %s counts %+v; want %s %s, one create and one delete", res.Env, res.Verdict, res.Counts, tc.env, tc.verdict)
			}
		})
	}
}

// A stored plan's reference and hash reach result.json's outputs, for the workflow's second
// phase, and its section names the apply line.
func TestPlanStored(t *testing.T) {
	ref, sha, want := storedSection(t)
	p := realPlan(t, environment.Prod)
	line := Call([]string{"--source=."}, "apply").Flag("env", "prod").Flag("plan-ref", ref.Key()).Flag("plan-sha256", sha).
		Flag("commit", "0123456789abcdef0123456789abcdef01234567").String()
	if got := p.Stored(ref, planstore.Meta{SHA256: sha, Created: storedAt}, line); got != want {
		t.Errorf("section\n%s\nwant\n%s", got, want)
	}
	got := files(t, mustFiles(t)(p.Files(Call(nil, "plan"))))
	var res report.Result
	if err := json.Unmarshal([]byte(got[ResultFile]), &res); err != nil {
		t.Fatal(err)
	}
	if res.Outputs["plan_ref"] != ref.Key() || res.Outputs["plan_sha256"] != sha || res.Outputs["verdict"] == "" {
		t.Errorf("result.json outputs %v: want plan_ref, plan_sha256 beside the gate's", res.Outputs)
	}
	for _, want := range []string{output("plan_ref", ref.Key()), output("plan_sha256", sha)} {
		if !strings.Contains(got["outputs.env"], want) {
			t.Errorf("outputs.env lacks %q:\n%s", want, got["outputs.env"])
		}
	}
}

// A long risky section shares the summary's budget: the stored plan's apply line and the
// reproduce line stay, within GitHub's limit.
func TestPlanSummaryFitsTheLimit(t *testing.T) {
	_, sha, stored := storedSection(t)
	p := realPlan(t, environment.Test)
	p.Sections = []string{"## Access and encryption changes\n\n" + strings.Repeat("| `aws_iam_policy.p` | update | policy | a | b |\n", 5000), stored}
	reproduce := Call(nil, "plan").Flag("env", "test")
	summary := p.Summary(reproduce)
	if len(summary) > report.MaxMarkdown {
		t.Errorf("summary is %d bytes, over %d", len(summary), report.MaxMarkdown)
	}
	for _, w := range []string{"Terraform plan for `test`", "## Stored plan", sha, reproduce.String()} {
		if !strings.Contains(summary, w) {
			t.Errorf("the long summary lost %q", w)
		}
	}
}

func TestPlanBlocked(t *testing.T) {
	reproduce := Call(nil, "plan").Flag("env", "prod").Bool("fail-on-block", true)
	blocked, passed := realPlan(t, environment.Prod), realPlan(t, environment.Test)
	if err := passed.Blocked("apply; nothing was changed"); err != nil {
		t.Errorf("a passing plan is blocked: %v", err)
	}
	if err := passed.FailOnBlock(reproduce); err != nil {
		t.Errorf("a passing plan fails --fail-on-block: %v", err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"apply", blocked.Blocked("apply; nothing was changed"), []string{"the safety gate blocked the prod apply; nothing was changed:\n- ", "terraform_data.old"}},
		{"import", blocked.Blocked("import; nothing was imported"), []string{"the safety gate blocked the prod import; nothing was imported:\n- "}},
		{"plan --fail-on-block", blocked.FailOnBlock(reproduce), []string{"the safety gate blocked the prod plan:\n- ", "Terraform plan for `prod`: BLOCK", reproduce.String()}},
	} {
		if tc.err == nil {
			t.Errorf("%s: the blocked plan gives no error", tc.name)
			continue
		}
		for _, w := range append(tc.want, blocked.Decision.Reasons...) {
			if !strings.Contains(tc.err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%s", tc.name, w, tc.err)
			}
		}
	}
}

func TestApplyFiles(t *testing.T) {
	ref, sha, _ := storedSection(t)
	const backup = "- State backed up before the apply: `s3://bucket/backups/prod/x.tfstate`.\n"
	reproduce := Call(nil, "apply").Flag("env", "test")
	cases := []struct {
		name       string
		apply      Apply
		want, none []string
	}{
		{
			name:  "the run's own plan, with a backup",
			apply: Apply{Applied: true, Backup: backup},
			want:  []string{"## Apply", "- Applied the saved plan of this run.", backup},
			none:  []string{"stored plan"},
		},
		{
			name:  "a stored plan, deleted afterwards; the record could not be written",
			apply: Apply{Applied: true, Stored: &ref, StoredSHA256: sha, Record: "Run record not written: access denied\n"},
			want:  []string{"## Apply", "Applied the stored plan `" + ref.Key() + "`", "deleted from the bucket", "Run record not written: access denied"},
			none:  []string{"Applied the saved plan of this run."},
		},
		{
			name:  "a stored plan that stays in the bucket",
			apply: Apply{Applied: true, Stored: &ref, StoredSHA256: sha, StoredNote: "access denied"},
			want:  []string{"Applied the stored plan `" + ref.Key() + "`", "access denied"},
			none:  []string{"deleted from the bucket"},
		},
		{
			name:  "no changes: nothing applied",
			apply: Apply{},
			want:  []string{"## Apply", "Nothing to apply: the plan has no changes"},
			none:  []string{"Applied the"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.apply.Plan = realPlan(t, environment.Test)
			got := files(t, mustFiles(t)(tc.apply.Files(reproduce)))
			summary := got["summary.md"]
			if !strings.Contains(summary, "Terraform plan for `test`") || !strings.HasSuffix(summary, reproduce.Markdown()) {
				t.Errorf("summary is not the plan, then the apply, then the reproduce line:\n%s", summary)
			}
			if i, j := strings.Index(summary, "Terraform plan for"), strings.Index(summary, "## Apply"); j < i {
				t.Errorf("the apply section comes before the plan:\n%s", summary)
			}
			for _, w := range tc.want {
				if !strings.Contains(summary, w) {
					t.Errorf("summary lacks %q:\n%s", w, summary)
				}
			}
			for _, n := range tc.none {
				if strings.Contains(summary, n) {
					t.Errorf("summary holds %q:\n%s", n, summary)
				}
			}
			if got["plan.txt"] != tc.apply.Plan.Text || got[ResultFile] == "" {
				t.Errorf("apply report lacks plan.txt or result.json: %v", keys(got))
			}
			if sec := tc.apply.Section(); !strings.Contains(summary, sec) {
				t.Errorf("summary does not hold the apply section as the pipeline shows it:\n%s", sec)
			}
			if st := tc.apply.Step(); st.Step != StepApply || st.Verdict != gate.Pass || st.Markdown != tc.apply.Section() {
				t.Errorf("pipeline step %+v, want a pass with the apply section", st)
			}
		})
	}
}

func TestCheckSavedPlan(t *testing.T) {
	var js strings.Builder
	p := realPlan(t, environment.Test)
	if err := report.NewResult(p.Analysis, p.Profile, p.Decision).WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	testPlan := []byte(js.String())
	cases := []struct {
		name    string
		env     environment.Name
		result  []byte
		hasPlan bool
		want    string // "" for no error
	}{
		{"the test plan applied to test", environment.Test, testPlan, true, ""},
		{"the test plan given to prod", environment.Prod, testPlan, true, `--plan holds a plan for "test", not "prod": plan prod again and apply that`},
		{"no tfplan (plan without --include-plan)", environment.Test, testPlan, false, "--plan: the plan directory has no tfplan (the saved plan): make it with `plan --env=test --include-plan`"},
		{"no result.json", environment.Test, nil, true, "--plan: the plan directory has no result.json"},
		{"not a result", environment.Test, []byte("<html>"), true, "--plan: result.json of the plan directory: not a report result"},
		{"no environment", environment.Test, []byte(`{"verdict":"pass"}`), true, "env"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSavedPlan(tc.env, tc.result, tc.hasPlan)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one holding %q", err, tc.want)
			}
		})
	}
}

// FuzzCheckSavedPlan: any result.json is refused or accepted, never a panic; accepted only
// when it names the environment.
func FuzzCheckSavedPlan(f *testing.F) {
	f.Add([]byte(`{"env":"test","verdict":"pass","reasons":[]}`), true)
	f.Add([]byte(`{"env":"prod","verdict":"block"}`), true)
	f.Add([]byte(`{"env":"test","verdict":"maybe"}`), false)
	f.Add([]byte(`[]`), true)
	f.Fuzz(func(t *testing.T, data []byte, hasPlan bool) {
		err := CheckSavedPlan(environment.Test, data, hasPlan)
		if err != nil {
			return
		}
		var res Result
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&res); err != nil {
			t.Fatalf("accepted a result.json that is not JSON: %v", err)
		}
		if !hasPlan || res.Env != environment.Test {
			t.Fatalf("accepted env %q (tfplan there: %v)", res.Env, hasPlan)
		}
	})
}

// mustFiles fails the test on an error of a Files function and returns its list.
func mustFiles(t *testing.T) func([]string, error) []string {
	return func(list []string, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A blocked plan is not storable, and its summary says it was not stored; one that passes
// is.
func TestPlanStorable(t *testing.T) {
	blocked := realPlan(t, environment.Prod)
	if note, ok := blocked.Storable(); ok || note != NotStored {
		t.Errorf("blocked prod plan: storable %v, note %q", ok, note)
	}
	got := files(t, mustFiles(t)(blocked.Files(Call(nil, "plan"), NotStored)))
	if !strings.Contains(got["summary.md"], "Not stored: the safety gate blocked this plan") {
		t.Errorf("summary of a blocked --store-plan:\n%s", got["summary.md"])
	}
	if note, ok := realPlan(t, environment.Test).Storable(); !ok || note != "" {
		t.Errorf("passing test plan: storable %v, note %q", ok, note)
	}
}
