package gate

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/plan"
)

const stack = `
resource "terraform_data" "app" {
  input = "v1"
}
resource "terraform_data" "database" {
  input            = "orders"
  triggers_replace = ["engine-15"]
}
`

// verdicts is the expected verdict per run: preview, test, staging, prod, prod with
// --force-recreate.
type verdicts [5]Verdict

// TestDecideRealPlans runs real Terraform for each kind of change and checks the gate's
// verdict in every environment, with terraform_data standing in for an ordinary resource
// and, through a pipeline.yaml-style override, for a protected one.
func TestDecideRealPlans(t *testing.T) {
	tests := []struct {
		name      string
		before    string
		after     string
		planArgs  []string
		protected bool // treat terraform_data as a protected type
		want      verdicts
		reason    string // a substring of the prod reason, when prod does not pass
		outputs   map[string]string
	}{
		{
			name:    "creation only",
			after:   stack,
			want:    verdicts{Pass, Pass, Pass, Pass, Pass},
			outputs: map[string]string{"resources_to_add": "2", "resources_to_destroy": "0", "has_changes": "true"},
		},
		{
			name:    "update in place",
			before:  stack,
			after:   strings.Replace(stack, `"v1"`, `"v2"`, 1),
			want:    verdicts{Pass, Pass, Pass, Pass, Pass},
			outputs: map[string]string{"resources_to_change": "1", "resources_to_destroy": "0"},
		},
		{
			name:   "replace",
			before: stack,
			after:  strings.Replace(stack, "engine-15", "engine-16", 1),
			want:   verdicts{Pass, Pass, Warn, Block, Warn},
			reason: "prod plan replaces terraform_data.database (triggers_replace changed); rerun with --force-recreate to allow it",
			outputs: map[string]string{"resources_to_add": "1", "resources_to_destroy": "1", "resources_to_replace": "1",
				"has_changes": "true", "verdict": "block"},
		},
		{
			name:   "create before destroy",
			before: `resource "terraform_data" "db" { triggers_replace = [1] }`,
			after:  "resource \"terraform_data\" \"db\" {\n  triggers_replace = [2]\n  lifecycle { create_before_destroy = true }\n}\n",
			want:   verdicts{Pass, Pass, Warn, Block, Warn},
			reason: "prod plan replaces terraform_data.db (triggers_replace changed)",
		},
		{
			name:    "delete",
			before:  stack,
			after:   `resource "terraform_data" "app" { input = "v1" }`,
			want:    verdicts{Pass, Pass, Warn, Block, Warn},
			reason:  "prod plan deletes terraform_data.database (removed from the configuration); rerun with --force-recreate",
			outputs: map[string]string{"resources_to_destroy": "1", "resources_to_replace": "0"},
		},
		{
			name:      "protected replace",
			before:    stack,
			after:     strings.Replace(stack, "engine-15", "engine-16", 1),
			protected: true,
			want:      verdicts{Warn, Warn, Warn, Block, Warn},
			reason:    "terraform_data is a protected type whose data would be lost: make sure a backup of its data exists, then rerun with --force-recreate",
		},
		{
			name:      "protected update",
			before:    stack,
			after:     strings.Replace(stack, `"orders"`, `"orders-v2"`, 1),
			protected: true,
			want:      verdicts{Pass, Pass, Pass, Pass, Pass},
		},
		{
			name: "import block",
			after: "import {\n  to = terraform_data.legacy\n  id = \"legacy-123\"\n}\n" +
				`resource "terraform_data" "legacy" {}`,
			want:    verdicts{Pass, Pass, Pass, Pass, Pass},
			outputs: map[string]string{"resources_to_import": "1", "has_changes": "true", "resources_to_add": "0"},
		},
		{
			name:    "no changes",
			before:  stack,
			after:   stack,
			want:    verdicts{Pass, Pass, Pass, Pass, Pass},
			outputs: map[string]string{"has_changes": "false", "resources_to_add": "0", "verdict": "pass"},
		},
		{
			name:    "forget",
			before:  stack,
			after:   `resource "terraform_data" "app" { input = "v1" }` + "\nremoved {\n  from = terraform_data.database\n  lifecycle { destroy = false }\n}\n",
			want:    verdicts{Warn, Warn, Warn, Warn, Warn},
			reason:  "prod plan forgets terraform_data.database: it stays in the cloud",
			outputs: map[string]string{"resources_to_forget": "1", "resources_to_destroy": "0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analyse(t, tftest.New(t, nil).PlanChange(tt.before, tt.after, tt.planArgs...))
			runs := []struct {
				env   environment.Name
				force bool
			}{{environment.Preview, false}, {environment.Test, false}, {environment.Staging, false}, {environment.Prod, false}, {environment.Prod, true}}
			for i, r := range runs {
				p := profile(t, r.env, tt.protected)
				d := Decide(a, p, Options{ForceRecreate: r.force})
				if d.Verdict != tt.want[i] {
					t.Errorf("%s force=%v: verdict %s, want %s; reasons %q", r.env, r.force, d.Verdict, tt.want[i], d.Reasons)
				}
				if (d.Verdict == Pass) != (len(d.Reasons) == 0) {
					t.Errorf("%s: verdict %s with reasons %q", r.env, d.Verdict, d.Reasons)
				}
				if r.env == environment.Prod && !r.force {
					if tt.reason != "" && !strings.Contains(strings.Join(d.Reasons, "\n"), tt.reason) {
						t.Errorf("prod reasons %q do not contain %q", d.Reasons, tt.reason)
					}
					for k, v := range tt.outputs {
						if d.Outputs[k] != v {
							t.Errorf("output %s = %q, want %q (all: %v)", k, d.Outputs[k], v, d.Outputs)
						}
					}
				}
			}
		})
	}
}

func TestDrift(t *testing.T) {
	a, err := plan.AnalyzeFile("testdata/drift.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range environment.Names {
		d := Decide(a, profile(t, n, false), Options{})
		if d.Verdict != Warn || len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], "terraform_data.app changed outside Terraform") {
			t.Errorf("%s: %s %q", n, d.Verdict, d.Reasons)
		}
		if d.Outputs["resources_drifted"] != "1" {
			t.Errorf("outputs = %v", d.Outputs)
		}
	}
}

// A rename without a moved block plans a delete and a create of one type: prod blocks the
// delete, and the reason says how to make it a move. With two creates of the type, which one
// is meant cannot be told: no hint (real plans).
func TestRenameHint(t *testing.T) {
	const before = "resource \"terraform_data\" \"database\" { input = \"orders\" }\n"
	for _, tt := range []struct {
		name, after, want string
	}{
		{"one create of the type", "resource \"terraform_data\" \"db\" { input = \"orders\" }\n",
			"prod plan deletes terraform_data.database (removed from the configuration) (if it was renamed to terraform_data.db, a moved block with from = terraform_data.database and to = terraform_data.db keeps it); rerun with --force-recreate to allow it"},
		{"two creates of the type", "resource \"terraform_data\" \"db\" { count = 2 }\n",
			"prod plan deletes terraform_data.database (removed from the configuration); rerun with --force-recreate to allow it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := tftest.New(t, map[string]string{"main.tf": before})
			w.Init()
			w.Apply()
			w.Write("main.tf", tt.after)
			a, err := plan.Analyze(bytes.NewReader(w.PlanJSON()))
			if err != nil {
				t.Fatal(err)
			}
			d := Decide(a, profile(t, environment.Prod, false), Options{})
			if d.Verdict != Block || !slices.Contains(d.Reasons, tt.want) {
				t.Errorf("decision = %s %q, want a block with %q", d.Verdict, d.Reasons, tt.want)
			}
		})
	}
}

// A plan deleting many resources gives at most MaxReasons reasons, the last counting the
// rest (real plan: a count of 30 dropped to 0).
func TestDecideBoundsReasons(t *testing.T) {
	w := tftest.New(t, map[string]string{"main.tf": "resource \"terraform_data\" \"n\" { count = 30 }\n"})
	w.Init()
	w.Apply()
	w.Write("main.tf", "resource \"terraform_data\" \"n\" { count = 0 }\n")
	a, err := plan.Analyze(bytes.NewReader(w.PlanJSON()))
	if err != nil {
		t.Fatal(err)
	}
	d := Decide(a, profile(t, environment.Prod, false), Options{})
	if d.Verdict != Block || len(d.Reasons) != MaxReasons || !strings.HasPrefix(d.Reasons[MaxReasons-1], "… and 11 more blocking reasons") ||
		d.Outputs["resources_to_destroy"] != "30" {
		t.Errorf("decision %s, %d reasons, last %q, outputs %v", d.Verdict, len(d.Reasons), d.Reasons[len(d.Reasons)-1], d.Outputs)
	}
}

// Warnings from beside the plan (an environment without its variables file) warn among the
// plan's own, last, and are never counted away by the cap (real plan of no changes).
func TestDecideTakesWarningsFromBesideThePlan(t *testing.T) {
	w := tftest.New(t, map[string]string{"main.tf": "resource \"terraform_data\" \"a\" {}\n"})
	w.Init()
	w.Apply()
	a, err := plan.Analyze(bytes.NewReader(w.PlanJSON()))
	if err != nil {
		t.Fatal(err)
	}
	const why = "prod has no variables file (looked for environments/prod.tfvars)"
	d := Decide(a, profile(t, environment.Prod, false), Options{Warnings: []string{why}})
	if d.Verdict != Warn || !slices.Equal(d.Reasons, []string{why}) || d.Outputs["verdict"] != "warn" {
		t.Errorf("decision %s %q, outputs %v; want a warning with the reason", d.Verdict, d.Reasons, d.Outputs)
	}
}

// A create whose name the account already has (livecheck.Taken asks) blocks in every
// environment, test too, naming the object and the way to adopt it (real plan of a create).
func TestDecideBlocksTakenNames(t *testing.T) {
	w := tftest.New(t, map[string]string{"main.tf": "resource \"terraform_data\" \"a\" {}\n"})
	w.Init()
	a, err := plan.Analyze(bytes.NewReader(w.PlanJSON()))
	if err != nil {
		t.Fatal(err)
	}
	taken := Taken{Address: "aws_sns_topic.alerts", Type: "aws_sns_topic", Name: "shop-alerts", ID: "arn:aws:sns:us-east-1:123456789012:shop-alerts",
		Effect: "CreateTopic would hand back the existing topic"}
	for _, env := range []environment.Name{environment.Test, environment.Prod} {
		d := Decide(a, profile(t, env, false), Options{Taken: []Taken{taken}})
		want := string(env) + ` plan creates aws_sns_topic.alerts, but aws_sns_topic "shop-alerts" already exists in the account, outside this state: ` +
			"CreateTopic would hand back the existing topic; adopt it into " + string(env) + `'s state (its import id is "arn:aws:sns:us-east-1:123456789012:shop-alerts": ` +
			"an import block applies in every environment, so build the id from variables; this module's import finds it when it carries the stack's tags), or give it another name"
		if d.Verdict != Block || len(d.Reasons) != 1 || d.Reasons[0] != want {
			t.Errorf("%s: decision %s %q, want a block starting %q", env, d.Verdict, d.Reasons, want)
		}
	}
	taken.HeldAt = "aws_sns_topic.events"
	d := Decide(a, profile(t, environment.Test, false), Options{Taken: []Taken{taken}})
	want := `test plan creates aws_sns_topic.alerts with the name "shop-alerts", which the state holds at aws_sns_topic.events: ` +
		"if it was renamed, a moved block with from = aws_sns_topic.events and to = aws_sns_topic.alerts keeps it; " +
		"as it stands the apply creates and deletes the same object, and CreateTopic would hand back the existing topic"
	if d.Verdict != Block || len(d.Reasons) != 1 || d.Reasons[0] != want {
		t.Errorf("a rename: decision %s %q, want a block %q", d.Verdict, d.Reasons, want)
	}
	// A bucket name held by another account: no import advice, which could not work there.
	elsewhere := Taken{Address: "aws_s3_bucket.data", Type: "aws_s3_bucket", Name: "shop-data", ID: "shop-data",
		Effect: "the apply would fail on it part-way", Outside: "S3 refused to show it (HeadBucket: 403)"}
	d = Decide(a, profile(t, environment.Prod, false), Options{Taken: []Taken{elsewhere}})
	want = `prod plan creates aws_s3_bucket.data, but the name "shop-data" is taken where this state cannot adopt it: ` +
		"S3 refused to show it (HeadBucket: 403); the apply would fail on it part-way; give it another name"
	if d.Verdict != Block || len(d.Reasons) != 1 || d.Reasons[0] != want {
		t.Errorf("a name taken elsewhere: decision %s %q, want a block %q", d.Verdict, d.Reasons, want)
	}
	// One the state holds at another address is a rename, whatever S3 answered.
	elsewhere.HeldAt = "aws_s3_bucket.old"
	d = Decide(a, profile(t, environment.Prod, false), Options{Taken: []Taken{elsewhere}})
	if d.Verdict != Block || len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], "a moved block with from = aws_s3_bucket.old") {
		t.Errorf("a renamed bucket S3 would not show: decision %s %q, want the moved block", d.Verdict, d.Reasons)
	}
	if d := Decide(a, profile(t, environment.Test, false), Options{}); d.Verdict != Pass {
		t.Errorf("without taken names: %s %q", d.Verdict, d.Reasons)
	}
}

// A rename written as an import of the old object (real plan: the state holds it at
// terraform_data.old, which the plan deletes) blocks, giving the moved block instead.
func TestDecideBlocksHeldImports(t *testing.T) {
	w := tftest.New(t, map[string]string{"main.tf": "resource \"terraform_data\" \"old\" {}\n"})
	w.Init()
	w.Apply()
	id := w.ID("terraform_data.old")
	w.Write("main.tf", "resource \"terraform_data\" \"renamed\" {}\nimport {\n  to = terraform_data.renamed\n  id = \""+id+"\"\n}\n")
	js := w.PlanJSON()
	a, err := plan.Analyze(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	full, err := plan.Decode(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	held := plan.HeldImports(full)
	d := Decide(a, profile(t, environment.Test, false), Options{HeldImports: held})
	want := `test plan imports terraform_data.renamed with id "` + id + `", an object the state already holds at terraform_data.old: ` +
		"the plan deletes terraform_data.old, so the apply would import the object and then destroy it; if it was renamed, " +
		"replace the import block with a moved block with from = terraform_data.old and to = terraform_data.renamed"
	if d.Verdict != Block || !slices.Contains(d.Reasons, want) {
		t.Errorf("decision %s %q, want a block %q", d.Verdict, d.Reasons, want)
	}

	// A removed block lets the old address go without destroying: the import is then the
	// object's only address, and the plan only warns of the forget.
	w.Write("main.tf", "resource \"terraform_data\" \"renamed\" {}\nimport {\n  to = terraform_data.renamed\n  id = \""+id+"\"\n}\n"+
		"removed {\n  from = terraform_data.old\n  lifecycle {\n    destroy = false\n  }\n}\n")
	js = w.PlanJSON()
	if a, err = plan.Analyze(bytes.NewReader(js)); err != nil {
		t.Fatal(err)
	}
	if full, err = plan.Decode(bytes.NewReader(js)); err != nil {
		t.Fatal(err)
	}
	held = plan.HeldImports(full)
	if d := Decide(a, profile(t, environment.Test, false), Options{HeldImports: held}); d.Verdict != Warn || len(held) != 1 {
		t.Errorf("removed and imported: %d held, decision %s %q; want a warning of the forget only", len(held), d.Verdict, d.Reasons)
	}
}

func TestDecideOrdersAndCombines(t *testing.T) {
	a := &plan.Analysis{
		Errored: true,
		Changes: []plan.Change{
			{Address: "aws_sqs_queue.jobs", Type: "aws_sqs_queue", Mode: "managed", Kind: plan.Forget},
			{Address: "aws_instance.web", Type: "aws_instance", Mode: "managed", Kind: plan.Delete},
			{Address: "aws_db_instance.main", Type: "aws_db_instance", Mode: "managed", Kind: plan.ReplaceDeleteFirst, ReplacePaths: []string{"engine_version"}, Reason: "replace_because_cannot_update"},
			{Address: "data.aws_ami.ubuntu", Type: "aws_ami", Mode: "data", Kind: plan.Read},
		},
	}
	d := Decide(a, profile(t, environment.Prod, false), Options{})
	want := []string{
		"prod plan is marked errored",
		"prod plan deletes aws_instance.web; rerun with --force-recreate",
		"prod plan replaces aws_db_instance.main (engine_version changed); aws_db_instance is a protected type",
		"prod plan forgets aws_sqs_queue.jobs: it stays in the cloud but Terraform no longer manages it, and aws_sqs_queue is a protected type",
	}
	if d.Verdict != Block || len(d.Reasons) != len(want) {
		t.Fatalf("decision = %s %q", d.Verdict, d.Reasons)
	}
	// Blocks come before warnings, each group in plan order.
	for i, w := range want {
		if !strings.HasPrefix(d.Reasons[i], w) {
			t.Errorf("reason %d = %q, want prefix %q", i, d.Reasons[i], w)
		}
	}
	// Split tells them apart: three block, the forget warns.
	if blocking, warning := d.Split(); len(blocking) != 3 || len(warning) != 1 || !strings.HasPrefix(warning[0], want[3]) {
		t.Errorf("Split = %q, %q", blocking, warning)
	}
	// --force-recreate lets prod through, but the protected type stays called out.
	forced := Decide(a, profile(t, environment.Prod, false), Options{ForceRecreate: true})
	if !strings.Contains(strings.Join(forced.Reasons, "\n"), "allowed by --force-recreate although aws_db_instance is a protected type: its data will be lost") {
		t.Errorf("forced prod does not call out the protected type: %q", forced.Reasons)
	}
	staging := Decide(a, profile(t, environment.Staging, false), Options{})
	if !strings.Contains(strings.Join(staging.Reasons, "\n"), "aws_db_instance is a protected type: its data will be lost") {
		t.Errorf("staging does not call out the protected type: %q", staging.Reasons)
	}
	if Worse(Pass, Warn) != Warn || Worse(Block, Warn) != Block || Worse(Pass, Pass) != Pass {
		t.Error("Worse orders verdicts wrongly")
	}
}

func analyse(t *testing.T, js []byte) *plan.Analysis {
	t.Helper()
	a, err := plan.Analyze(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func profile(t *testing.T, n environment.Name, protectTerraformData bool) environment.Profile {
	t.Helper()
	c := environment.DefaultConfig()
	if protectTerraformData {
		var err error
		c, err = environment.Parse("pipeline.yaml", []byte("version: 1\ndefaults:\n  add_protected_types: [terraform_data]\n"))
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := c.Profile(string(n))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A failing check block is only a warning in Terraform's log; the gate brings it into the
// verdict and the reasons, its message whole (it says what to do), on real plans. A check whose result waits for apply is no failure.
func TestFailingCheckBlockWarns(t *testing.T) {
	const checks = `
variable "replicas" {
  type    = number
  default = 1
}
resource "terraform_data" "a" {
  input = var.replicas
}
check "enough_replicas" {
  assert {
    condition     = var.replicas >= 3
    error_message = "Need at least 3 replicas for HA: set replicas in environments/<env>.tfvars to 3 or more, or drop this check."
  }
}
check "after_apply" {
  assert {
    condition     = terraform_data.a.output != null
    error_message = "known only after apply"
  }
}
`
	tests := []struct {
		name    string
		args    []string
		failed  []plan.FailedCheck
		verdict Verdict
	}{
		{"failing", nil, []plan.FailedCheck{{Address: "check.enough_replicas", Problems: []string{"Need at least 3 replicas for HA: set replicas in environments/<env>.tfvars to 3 or more, or drop this check."}}}, Warn},
		{"passing", []string{"-var=replicas=3"}, nil, Pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tftest.New(t, map[string]string{"main.tf": checks})
			w.Init()
			a, err := plan.Analyze(bytes.NewReader(w.PlanJSON(tt.args...)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a.FailedChecks, tt.failed) {
				t.Errorf("FailedChecks = %+v, want %+v", a.FailedChecks, tt.failed)
			}
			for _, n := range environment.Names {
				d := Decide(a, profile(t, n, false), Options{})
				if d.Verdict != tt.verdict {
					t.Errorf("%s: verdict %s %q, want %s", n, d.Verdict, d.Reasons, tt.verdict)
				}
				if tt.failed != nil && !slices.Contains(d.Reasons, `check.enough_replicas failed: "Need at least 3 replicas for HA: set replicas in environments/<env>.tfvars to 3 or more, or drop this check." (Terraform lets the plan go on)`) {
					t.Errorf("%s: reasons %q", n, d.Reasons)
				}
			}
		})
	}
}

// Providers that all name another region than the pipeline's warn: discovery and the
// post-deploy checks would look in the pipeline's region (the plan's regions are read from
// real plans in ci/plan's TestRegions).
func TestRegionMismatchWarns(t *testing.T) {
	for _, tt := range []struct {
		name    string
		regions plan.Regions
		region  string
		warn    bool
	}{
		{"providers elsewhere", plan.Regions{Named: []string{"eu-west-1"}}, "eu-west-3", true},
		{"the pipeline's among them", plan.Regions{Named: []string{"eu-west-3", "us-east-1"}}, "us-east-1", false},
		{"a provider naming none takes the pipeline's", plan.Regions{Named: []string{"", "eu-west-1"}}, "eu-west-3", false},
		{"a region the plan does not resolve", plan.Regions{Named: []string{"eu-west-1"}, Unknown: 1}, "eu-west-3", false},
		{"no provider region", plan.Regions{}, "eu-west-3", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := profile(t, environment.Test, false)
			p.Region = tt.region
			d := Decide(&plan.Analysis{Regions: tt.regions}, p, Options{})
			warned := d.Verdict == Warn && len(d.Reasons) == 1 && strings.Contains(d.Reasons[0], "but the pipeline's region for test is "+tt.region)
			if warned != tt.warn || (!tt.warn && d.Verdict != Pass) {
				t.Errorf("Decide = %s %q; want a region warning %v", d.Verdict, d.Reasons, tt.warn)
			}
		})
	}
}
