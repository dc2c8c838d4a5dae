package cost

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
)

func read(t *testing.T, name string) Report {
	t.Helper()
	r, err := ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseRealOutputs(t *testing.T) {
	tests := []struct {
		file               string
		command            string
		total, past, delta float64
		changes            int
		first              Change
	}{
		{"infracost-breakdown-aws-example-plan.json", "breakdown", 1361.3075, 0, 1361.3075, 3, // zero-cost resources are no change
			Change{Resource: "aws_instance.web_app", Type: "aws_instance", Before: 0, After: 742.64, Delta: 742.64}},
		{"infracost-breakdown-aws-modules-plan.json", "breakdown", 81.122, 40.561, 40.561, 7,
			Change{Resource: "module.db.module.db_2.module.db_instance.aws_db_instance.this[0]", Type: "aws_db_instance", Before: 0, After: 12.985, Delta: 12.985}},
		{"infracost-diff-aws-cost-increase.json", "diff", 665.74, 245.26, 420.48, 1,
			Change{Resource: "aws_instance.web_app", Type: "aws_instance", Before: 245.26, After: 665.74, Delta: 420.48}},
		{"infracost-diff-aws-cost-decrease.json", "diff", 1303.28, 2045.92, -742.64, 2,
			Change{Resource: "aws_instance.web_app2", Type: "aws_instance", Before: 1303.28, After: 0, Delta: -1303.28}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := read(t, tt.file)
			if r.Command != tt.command || r.Currency != "USD" {
				t.Errorf("command %q currency %q", r.Command, r.Currency)
			}
			if !near(r.TotalMonthly, tt.total) || !near(r.PastMonthly, tt.past) || !near(r.DeltaMonthly, tt.delta) {
				t.Errorf("total %v past %v delta %v, want %v %v %v", r.TotalMonthly, r.PastMonthly, r.DeltaMonthly, tt.total, tt.past, tt.delta)
			}
			if len(r.Changes) != tt.changes {
				t.Errorf("%d changes, want %d: %+v", len(r.Changes), tt.changes, r.Changes)
			}
			got := r.Changes[0]
			got.Project = ""
			if got.Resource != tt.first.Resource || got.Type != tt.first.Type || !near(got.Before, tt.first.Before) ||
				!near(got.After, tt.first.After) || !near(got.Delta, tt.first.Delta) {
				t.Errorf("largest change %+v, want %+v", got, tt.first)
			}
		})
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-6 && d > -1e-6 }

func TestParseRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "infracost-diff-aws-cost-increase.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, data, want string }{
		{"empty", "", "empty output"},
		{"golden with trailer", string(good) + "\nErr:\n\n", "not infracost --format json output"},
		{"truncated", string(good[:len(good)/2]), "not infracost --format json output"},
		{"error message", `{"error":"Invalid API key"}`, "no version or projects"},
		{"bad total", replaceLast(string(good), `"totalMonthlyCost": "665.74"`, `"totalMonthlyCost": "lots"`), `totalMonthlyCost: "lots" is not an amount`},
		{"delta beyond float64", strings.NewReplacer(`"totalMonthlyCost": "665.74"`, `"totalMonthlyCost": "1e308"`,
			`"pastTotalMonthlyCost": "245.26"`, `"pastTotalMonthlyCost": "-1e308"`, `"diffTotalMonthlyCost": "420.48",`, "").Replace(string(good)),
			`totalMonthlyCost "1e308" minus pastTotalMonthlyCost "-1e308" is not an amount`},
		{"bad resource", strings.Replace(string(good), `"monthlyCost": "420.48"`, `"monthlyCost": "NaN"`, 1), `resource aws_instance.web_app: "NaN" is not an amount`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("out/infracost.json", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "out/infracost.json") {
				t.Fatalf("error %v, want one naming out/infracost.json and containing %q", err, tt.want)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "infracost.json")); err == nil || !strings.Contains(err.Error(), "infracost.json") {
		t.Fatalf("missing file: %v", err)
	}
}

// replaceLast edits the top-level field, which follows the projects in Infracost's output.
func replaceLast(s, old, new string) string {
	i := strings.LastIndex(s, old)
	return s[:i] + new + s[i+len(old):]
}

func TestEvaluate(t *testing.T) {
	increase := read(t, "infracost-diff-aws-cost-increase.json") // 245.26 -> 665.74
	decrease := read(t, "infracost-diff-aws-cost-decrease.json") // 2045.92 -> 1303.28
	tests := []struct {
		name    string
		report  Report
		budget  environment.Budget
		status  Status
		reasons string
	}{
		{"no budget", increase, environment.Budget{}, WithinBudget, ""},
		{"within both", increase, environment.Budget{MonthlyTotal: 1000, MonthlyDelta: 500}, WithinBudget, ""},
		{"total over", increase, environment.Budget{MonthlyTotal: 600}, OverBudget, "monthly total 665.74 USD exceeds the budget of 600.00 USD"},
		{"delta over", increase, environment.Budget{MonthlyDelta: 400}, OverBudget, "monthly increase 420.48 USD exceeds the budget of 400.00 USD"},
		{"both over", increase, environment.Budget{MonthlyTotal: 100, MonthlyDelta: 100}, OverBudget,
			"monthly total 665.74 USD exceeds the budget of 100.00 USD; monthly increase 420.48 USD exceeds the budget of 100.00 USD"},
		{"decrease never fails delta", decrease, environment.Budget{MonthlyDelta: 1}, WithinBudget, ""},
		{"decrease still over total", decrease, environment.Budget{MonthlyTotal: 1000}, OverBudget, "monthly total 1303.28 USD exceeds the budget of 1000.00 USD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(tt.report, tt.budget, 5)
			if r.Status != tt.status || r.Blocking() != (tt.status == OverBudget) {
				t.Errorf("status %s blocking %v, want %s", r.Status, r.Blocking(), tt.status)
			}
			if got := strings.Join(r.Reasons, "; "); got != tt.reasons {
				t.Errorf("reasons %q, want %q", got, tt.reasons)
			}
		})
	}
}

// withCurrency is a real fixture as Infracost writes it with its currency setting changed:
// the amounts stay, only the "currency" field says what they are in.
func withCurrency(t *testing.T, name, currency string) Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), `"currency": "USD"`, `"currency": "`+currency+`"`, 1)
	if currency != "USD" && changed == string(data) {
		t.Fatalf("%s has no currency field to change", name)
	}
	r, err := Parse(name, []byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEvaluateCurrency: budgets are USD per month, so a report in another currency is not
// compared with them (neither a false block nor a false pass) but not evaluated, and the
// reason says how to get USD. Without a bound there is nothing to compare: it shows as is.
func TestEvaluateCurrency(t *testing.T) {
	notUSD := func(currency string) string {
		return "infracost reported costs in " + currency + ", but budgets in pipeline.yaml are USD per month: " +
			"run Infracost with currency USD (INFRACOST_CURRENCY=USD, or `infracost configure set currency USD`)"
	}
	tests := []struct {
		name     string
		file     string // 245.26 -> 665.74 (increase), 2045.92 -> 1303.28 (decrease)
		currency string
		budget   environment.Budget
		status   Status
		blocking bool
		reasons  string
		markdown string
	}{
		{"JPY over a USD total", "infracost-diff-aws-cost-increase.json", "JPY", environment.Budget{MonthlyTotal: 500},
			NotEvaluated, false, notUSD("JPY"), "Cost not evaluated (" + notUSD("JPY") + "): skipped."},
		{"JPY under a USD delta, estimate required", "infracost-diff-aws-cost-increase.json", "JPY", environment.Budget{MonthlyDelta: 1000, RequireEstimate: true},
			NotEvaluated, true, notUSD("JPY"), "**blocking**: this environment requires a cost estimate"},
		{"EUR decrease with a delta bound", "infracost-diff-aws-cost-decrease.json", "EUR", environment.Budget{MonthlyDelta: 1},
			NotEvaluated, false, notUSD("EUR"), "Cost not evaluated"},
		{"JPY without a bound", "infracost-diff-aws-cost-increase.json", "JPY", environment.Budget{RequireEstimate: true},
			WithinBudget, false, "", "| Total | 665.74 JPY | none |"},
		{"usd in lower case", "infracost-diff-aws-cost-increase.json", "usd", environment.Budget{MonthlyTotal: 600},
			OverBudget, true, "monthly total 665.74 usd exceeds the budget of 600.00 USD", "| Total | 665.74 usd | 600.00 USD |"},
		{"no currency is USD", "infracost-diff-aws-cost-increase.json", "", environment.Budget{MonthlyDelta: 400},
			OverBudget, true, "monthly increase 420.48 USD exceeds the budget of 400.00 USD", "| Change | +420.48 USD | 400.00 USD |"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(withCurrency(t, tt.file, tt.currency), tt.budget, 5)
			if r.Status != tt.status || r.Blocking() != tt.blocking {
				t.Errorf("status %s blocking %v, want %s blocking %v", r.Status, r.Blocking(), tt.status, tt.blocking)
			}
			if got := strings.Join(r.Reasons, "; "); got != tt.reasons {
				t.Errorf("reasons %q, want %q", got, tt.reasons)
			}
			if md := r.Markdown(); !strings.Contains(md, tt.markdown) {
				t.Errorf("markdown lacks %q:\n%s", tt.markdown, md)
			}
			if r.Status == NotEvaluated {
				if len(r.Report.Changes) != 0 || r.Report.TotalMonthly != 0 {
					t.Errorf("a report not evaluated is kept: %+v", r.Report)
				}
				if fs := r.Findings(); len(fs) != 1 || fs[0].RuleID != RuleNoEstimate {
					t.Errorf("findings %+v, want one %s", fs, RuleNoEstimate)
				}
			}
		})
	}
}

func TestTopChanges(t *testing.T) {
	r := Evaluate(read(t, "infracost-breakdown-aws-modules-plan.json"), environment.Budget{}, 2)
	if len(r.Top) != 2 || len(r.Report.Changes) != 7 {
		t.Fatalf("top %d of %d, want 2 of 7", len(r.Top), len(r.Report.Changes))
	}
	if r.Top[0].Delta < r.Top[1].Delta {
		t.Errorf("top changes not largest first: %+v", r.Top)
	}
	md := r.Markdown()
	for _, want := range []string{
		"**Within budget**",
		"| Total | 81.12 USD | none |",
		"| Change | +40.56 USD | none |",
		`| module.db.module.db\_2.module.db\_instance.aws\_db\_instance.this\[0\] | 0.00 USD | 12.98 USD | +12.98 USD |`,
		"…and 5 smaller changes.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestNotEvaluated: with no API key the profile decides: a skippable result in preview,
// test and staging, a failure in prod, unless pipeline.yaml says otherwise.
func TestNotEvaluated(t *testing.T) {
	relaxed, err := environment.Parse("pipeline.yaml", []byte("version: 1\nenvironments:\n  prod:\n    budget:\n      require_estimate: false\n  test:\n    budget:\n      require_estimate: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		config   environment.Config
		env      string
		blocking bool
		want     string
	}{
		{environment.DefaultConfig(), "preview", false, "Cost not evaluated (no INFRACOST_API_KEY secret was given): skipped."},
		{environment.DefaultConfig(), "test", false, "Cost not evaluated (no INFRACOST_API_KEY secret was given): skipped."},
		{environment.DefaultConfig(), "staging", false, "skipped."},
		{environment.DefaultConfig(), "prod", true, "**blocking**: this environment requires a cost estimate"},
		{relaxed, "prod", false, "skipped."},
		{relaxed, "test", true, "**blocking**"},
	}
	for _, tt := range tests {
		p, err := tt.config.Profile(tt.env)
		if err != nil {
			t.Fatal(err)
		}
		r := NotEvaluatedResult("no INFRACOST_API_KEY secret was given", p.Budget)
		if r.Status != NotEvaluated || r.Blocking() != tt.blocking {
			t.Errorf("%s (%s): status %s blocking %v, want blocking %v", tt.env, tt.config.Path, r.Status, r.Blocking(), tt.blocking)
		}
		if md := r.Markdown(); !strings.Contains(md, tt.want) {
			t.Errorf("%s: markdown lacks %q:\n%s", tt.env, tt.want, md)
		}
	}
}

func TestOverBudgetMarkdown(t *testing.T) {
	r := Evaluate(read(t, "infracost-diff-aws-cost-increase.json"), environment.Budget{MonthlyDelta: 100}, 5)
	md := r.Markdown()
	for _, want := range []string{
		"**Over budget**: monthly increase 420.48 USD exceeds the budget of 100.00 USD.",
		`| aws\_instance.web\_app | 245.26 USD | 665.74 USD | +420.48 USD |`,
		"| Change | +420.48 USD | 100.00 USD |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"infracost-diff-aws-cost-increase.json", "infracost-breakdown-aws-example-plan.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("fuzz.json", data)
		if err != nil {
			if !strings.Contains(err.Error(), "infracost fuzz.json: ") {
				t.Fatalf("error %q does not name the input", err)
			}
			return
		}
		// Every amount Parse accepts is a number of money: NaN or Inf would pass or fail any bound.
		finite := func(what string, v float64) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s is %v", what, v)
			}
		}
		finite("total", r.TotalMonthly)
		finite("past", r.PastMonthly)
		finite("delta", r.DeltaMonthly)
		for i, c := range r.Changes {
			finite(c.Resource+" before", c.Before)
			finite(c.Resource+" after", c.After)
			finite(c.Resource+" delta", c.Delta)
			if c.Delta == 0 {
				t.Errorf("%s: a change of zero is listed", c.Resource)
			}
			// Largest change first, ties by address, as the summary lists them.
			if i > 0 {
				p := r.Changes[i-1]
				if a, b := math.Abs(p.Delta), math.Abs(c.Delta); a < b || a == b && p.Resource > c.Resource {
					t.Errorf("changes out of order: %+v before %+v", p, c)
				}
			}
		}
		b := environment.Budget{MonthlyTotal: 1, MonthlyDelta: 1}
		res := Evaluate(r, b, 3)
		want := WithinBudget
		switch {
		case r.Currency != "" && !strings.EqualFold(r.Currency, "USD"):
			want = NotEvaluated
		case r.TotalMonthly > b.MonthlyTotal || r.DeltaMonthly > b.MonthlyDelta:
			want = OverBudget
		}
		if res.Status != want {
			t.Errorf("status %s for total %v delta %v in %q, want %s", res.Status, r.TotalMonthly, r.DeltaMonthly, r.Currency, want)
		}
		if res.Status == OverBudget && len(res.Findings()) != len(res.Reasons) {
			t.Errorf("%d findings for %d reasons", len(res.Findings()), len(res.Reasons))
		}
		if len(res.Top) > 3 {
			t.Errorf("top %d changes, asked for 3", len(res.Top))
		}
		_ = res.Markdown()
	})
}

// TestMarkdownAddressesAreInert: an address in Infracost's output (for_each keys may hold
// any character) stays inside its table cell.
func TestMarkdownAddressesAreInert(t *testing.T) {
	r := Evaluate(Report{Currency: "USD", TotalMonthly: 3, DeltaMonthly: 3, Changes: []Change{
		{Resource: "aws_instance.web[\"a|b\n## heading <details>\"]", After: 3, Delta: 3},
	}}, environment.Budget{}, 5)
	md := r.Markdown()
	if strings.Contains(md, "\n## heading") || strings.Contains(md, " <details>") {
		t.Errorf("address escaped its cell:\n%s", md)
	}
	if want := `| aws\_instance.web\["a\|b \#\# heading \<details\>"\] | 0.00 USD | 3.00 USD | +3.00 USD |`; !strings.Contains(md, want) {
		t.Errorf("markdown lacks %q:\n%s", want, md)
	}
}

// TestFindings: the cost gate's reasons in the common findings shape fail each
// environment's threshold exactly when the gate blocks, and merge into valid SARIF.
func TestFindings(t *testing.T) {
	increase := read(t, "infracost-diff-aws-cost-increase.json") // 245.26 -> 665.74
	tests := []struct {
		name  string
		res   Result
		rules []string
	}{
		{"within budget", Evaluate(increase, environment.Budget{MonthlyTotal: 1000}, 5), nil},
		{"both over", Evaluate(increase, environment.Budget{MonthlyTotal: 100, MonthlyDelta: 100}, 5), []string{RuleMonthlyTotal, RuleMonthlyDelta}},
		{"delta over", Evaluate(increase, environment.Budget{MonthlyDelta: 400}, 5), []string{RuleMonthlyDelta}},
		{"no key, skippable", NotEvaluatedResult("no API key", environment.Budget{}), []string{RuleNoEstimate}},
		{"no key, required", NotEvaluatedResult("no API key", environment.Budget{RequireEstimate: true}), []string{RuleNoEstimate}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rules []string
			for i, f := range tt.res.Findings() {
				rules = append(rules, f.RuleID)
				if f.Tool != "infracost" || !strings.Contains(f.Message, tt.res.Reasons[i]) {
					t.Errorf("finding %+v does not carry reason %q", f, tt.res.Reasons[i])
				}
			}
			if strings.Join(rules, ",") != strings.Join(tt.rules, ",") {
				t.Errorf("rules %v, want %v", rules, tt.rules)
			}
			for _, n := range environment.Names {
				p, err := environment.Default(n)
				if err != nil {
					t.Fatal(err)
				}
				if failed := !findings.Evaluate(tt.res.Findings(), p.SeverityThreshold).Passed(); failed != tt.res.Blocking() {
					t.Errorf("%s: findings fail %v, gate blocks %v", n, failed, tt.res.Blocking())
				}
			}
			var buf bytes.Buffer
			if err := findings.WriteSARIF(&buf, findings.MergeSARIF(tt.res.Findings(), findings.SARIFOptions{Tools: []string{"infracost"}, Root: "terraform"})); err != nil {
				t.Fatal(err)
			}
		})
	}
}
