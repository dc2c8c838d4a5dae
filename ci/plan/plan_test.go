package plan

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// scenario is one real Terraform run: apply `before` (when set), then plan `after`.
type scenario struct {
	name      string
	before    string
	after     string
	planArgs  []string
	want      Counts
	changes   map[string]Kind // address → kind of every listed change
	why       map[string]string
	importID  map[string]string
	movedFrom map[string]string
	outputs   []OutputChange
}

const twoResources = `
resource "terraform_data" "app" {
  input = "v1"
}
resource "terraform_data" "database" {
  input            = "orders"
  triggers_replace = ["engine-15"]
}
`

// Scenarios cover every kind of change Terraform plans with its built-in resource. Drift
// is not among them: terraform_data's refresh returns its state unchanged, so no
// out-of-band edit of the state can make Terraform report resource_drift. Real drift (tags
// edited and a bucket deleted with the AWS SDK) is tested in ci/gate with the moto-backed
// provider; TestDrift here checks the shape.
var scenarios = []scenario{
	{
		name:    "creation only",
		after:   twoResources + `resource "terraform_data" "many" { count = 2 }`,
		want:    Counts{Create: 4},
		changes: map[string]Kind{"terraform_data.app": Create, "terraform_data.database": Create, "terraform_data.many[0]": Create, "terraform_data.many[1]": Create},
	},
	{
		name:    "update in place",
		before:  twoResources,
		after:   strings.Replace(twoResources, `"v1"`, `"v2"`, 1),
		want:    Counts{Update: 1, NoOp: 1},
		changes: map[string]Kind{"terraform_data.app": Update},
	},
	{
		name:    "replace",
		before:  twoResources,
		after:   strings.Replace(twoResources, "engine-15", "engine-16", 1),
		want:    Counts{Replace: 1, ReplaceDeleteFirst: 1, NoOp: 1},
		changes: map[string]Kind{"terraform_data.database": ReplaceDeleteFirst},
		why:     map[string]string{"terraform_data.database": "triggers_replace changed"},
	},
	{
		name:   "create before destroy",
		before: `resource "terraform_data" "db" { triggers_replace = [1] }`,
		after: `resource "terraform_data" "db" {
  triggers_replace = [2]
  lifecycle { create_before_destroy = true }
}`,
		want:    Counts{Replace: 1, ReplaceCreateFirst: 1},
		changes: map[string]Kind{"terraform_data.db": ReplaceCreateFirst},
		why:     map[string]string{"terraform_data.db": "triggers_replace changed"},
	},
	{
		name:     "replace requested",
		before:   twoResources,
		after:    twoResources,
		planArgs: []string{"-replace=terraform_data.app"},
		want:     Counts{Replace: 1, ReplaceDeleteFirst: 1, NoOp: 1},
		changes:  map[string]Kind{"terraform_data.app": ReplaceDeleteFirst},
		why:      map[string]string{"terraform_data.app": "replacement requested with -replace"},
	},
	{
		name:    "delete",
		before:  twoResources,
		after:   `resource "terraform_data" "app" { input = "v1" }`,
		want:    Counts{Delete: 1, NoOp: 1},
		changes: map[string]Kind{"terraform_data.database": Delete},
		why:     map[string]string{"terraform_data.database": "removed from the configuration"},
	},
	{
		name:   "count shrinks",
		before: `resource "terraform_data" "n" { count = 3 }`,
		after:  `resource "terraform_data" "n" { count = 1 }`,
		want:   Counts{Delete: 2, NoOp: 1},
		why:    map[string]string{"terraform_data.n[2]": "count index out of range"},
	},
	{
		name: "import block",
		after: `
import {
  to = terraform_data.legacy
  id = "legacy-123"
}
resource "terraform_data" "legacy" {}
`,
		want:     Counts{Import: 1, NoOp: 1},
		changes:  map[string]Kind{"terraform_data.legacy": NoOp},
		importID: map[string]string{"terraform_data.legacy": "legacy-123"},
	},
	{
		name:   "no changes",
		before: twoResources,
		after:  twoResources,
		want:   Counts{NoOp: 2},
	},
	{
		name:    "forget",
		before:  twoResources,
		after:   `resource "terraform_data" "app" { input = "v1" }` + "\nremoved {\n  from = terraform_data.database\n  lifecycle { destroy = false }\n}\n",
		want:    Counts{Forget: 1, NoOp: 1},
		changes: map[string]Kind{"terraform_data.database": Forget},
		why:     map[string]string{"terraform_data.database": "removed block with destroy = false"},
	},
	{
		// A rename without a moved block: a delete and a create of one type, which the gate
		// points out (ci/gate's TestRenameHint).
		name:    "rename without a moved block",
		before:  twoResources,
		after:   strings.Replace(twoResources, `"database"`, `"db"`, 1),
		want:    Counts{Create: 1, Delete: 1, NoOp: 1},
		changes: map[string]Kind{"terraform_data.database": Delete, "terraform_data.db": Create},
	},
	{
		name:      "moved block",
		before:    twoResources,
		after:     strings.Replace(twoResources, `"database"`, `"db"`, 1) + "\nmoved {\n  from = terraform_data.database\n  to   = terraform_data.db\n}\n",
		want:      Counts{Move: 1, NoOp: 2},
		changes:   map[string]Kind{"terraform_data.db": NoOp},
		movedFrom: map[string]string{"terraform_data.db": "terraform_data.database"},
	},
	{
		// Terraform: "You can apply this plan to save these new output values"; plan
		// -detailed-exitcode exits 2. Nothing else changes, and the apply must still run.
		name:    "outputs only",
		before:  twoResources + `output "gone" { value = "x" }` + "\n" + `output "greeting" { value = "hello" }`,
		after:   twoResources + `output "greeting" { value = "hello, world" }` + "\n" + `output "app_id" { value = terraform_data.app.id }`,
		want:    Counts{NoOp: 2, Outputs: 3},
		outputs: []OutputChange{{"app_id", Create}, {"gone", Delete}, {"greeting", Update}},
	},
	{
		name:   "unchanged outputs",
		before: twoResources + `output "greeting" { value = "hello" }`,
		after:  twoResources + `output "greeting" { value = "hello" }`,
		want:   Counts{NoOp: 2},
	},
	{
		name:  "empty configuration",
		after: `terraform {}`,
		want:  Counts{},
	},
}

func TestAnalyzeRealPlans(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			out := tftest.New(t, nil).PlanChange(sc.before, sc.after, sc.planArgs...)
			a, err := Analyze(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("Analyze: %v\n%s", err, out)
			}
			if a.Counts != sc.want {
				t.Errorf("counts = %+v\nwant     %+v", a.Counts, sc.want)
			}
			if a.FormatVersion == "" || !strings.HasPrefix(a.FormatVersion, "1.") || a.TerraformVersion == "" {
				t.Errorf("versions = %q, %q", a.FormatVersion, a.TerraformVersion)
			}
			byAddr := map[string]Change{}
			for _, c := range a.Changes {
				byAddr[c.Address] = c
			}
			if a.Counts.HasChanges() != (len(a.Changes) > 0 || len(a.Outputs) > 0) {
				t.Errorf("HasChanges = %v with %d listed changes and %d outputs", a.Counts.HasChanges(), len(a.Changes), len(a.Outputs))
			}
			if !slices.Equal(a.Outputs, sc.outputs) {
				t.Errorf("outputs = %v, want %v", a.Outputs, sc.outputs)
			}
			for addr, kind := range sc.changes {
				if c, ok := byAddr[addr]; !ok || c.Kind != kind {
					t.Errorf("%s: got %+v, want kind %s", addr, c, kind)
				}
			}
			for addr, why := range sc.why {
				if got := byAddr[addr].Why(); got != why {
					t.Errorf("%s: Why() = %q, want %q", addr, got, why)
				}
			}
			for addr, id := range sc.importID {
				if c := byAddr[addr]; !c.Importing || c.ImportID != id {
					t.Errorf("%s: import = %v %q, want %q", addr, c.Importing, c.ImportID, id)
				}
			}
			for addr, prev := range sc.movedFrom {
				if c := byAddr[addr]; c.PreviousAddress != prev {
					t.Errorf("%s: previous address = %q, want %q", addr, c.PreviousAddress, prev)
				}
			}
			wantDestructive := sc.want.Delete + sc.want.Replace
			if got := len(a.Destructive()); got != wantDestructive {
				t.Errorf("Destructive() has %d changes, want %d", got, wantDestructive)
			}
		})
	}
}

// TestSensitiveValuesNeverKept plans a resource whose input is a sensitive variable and a
// secret-looking literal, and checks that no form of the analysis contains either.
func TestSensitiveValuesNeverKept(t *testing.T) {
	const secret, literal = "hunter2-s3cr3t", "plain-visible-value-77"
	cfg := `
variable "password" {
  type      = string
  sensitive = true
}
resource "terraform_data" "db" {
  input            = var.password
  triggers_replace = ["` + literal + `"]
}
`
	w := tftest.New(t, map[string]string{"main.tf": cfg})
	w.Init()
	w.Apply("-var=password=old-" + secret)
	w.Write("main.tf", strings.Replace(cfg, literal, literal+"-2", 1))
	out := w.PlanJSON("-var=password=" + secret)
	if !bytes.Contains(out, []byte(secret)) {
		t.Fatal("test is broken: the plan JSON does not contain the secret, so its absence proves nothing")
	}
	a, err := Analyze(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if a.Counts.Replace != 1 {
		t.Fatalf("counts = %+v", a.Counts)
	}
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	text := string(js) + a.Changes[0].Why()
	for _, s := range []string{secret, literal} {
		if strings.Contains(text, s) {
			t.Errorf("analysis carries the value %q: %s", s, text)
		}
	}
}

func TestAnalyzeFixtures(t *testing.T) {
	tests := []struct {
		file    string
		want    Counts
		address string
		kind    Kind
		why     string
	}{
		{"terraform-plan-replace-tainted.json", Counts{Replace: 1, ReplaceDeleteFirst: 1}, "null_resource.example", ReplaceDeleteFirst, "tainted by an earlier failed apply or terraform taint"},
		{"terraform-plan-import-update.json", Counts{Update: 1, Import: 1}, "corner_user_identity.user", Update, ""},
		{"terraform-plan-moved-block.json", Counts{NoOp: 1, Move: 1}, "random_id.test2", NoOp, ""},
		{"terraform-plan-delete-create.json", Counts{Replace: 1, ReplaceDeleteFirst: 1, NoOp: 1}, "null_resource.bar", ReplaceDeleteFirst, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a, err := AnalyzeFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if a.Counts != tt.want {
				t.Errorf("counts = %+v, want %+v", a.Counts, tt.want)
			}
			i := slices.IndexFunc(a.Changes, func(c Change) bool { return c.Address == tt.address })
			if i < 0 {
				t.Fatalf("%s not among changes %+v", tt.address, a.Changes)
			}
			if c := a.Changes[i]; c.Kind != tt.kind || c.Why() != tt.why {
				t.Errorf("change = %+v, why %q; want %s, %q", c, c.Why(), tt.kind, tt.why)
			}
		})
	}
}

// TestDrift uses a plan made by real Terraform (the update scenario) with its change copied
// into resource_drift, the shape Terraform writes when a refresh finds an object changed
// outside Terraform. Built-in resources cannot produce real drift (see scenarios); ci/gate
// has the real thing.
func TestDrift(t *testing.T) {
	a, err := AnalyzeFile("testdata/drift.json")
	if err != nil {
		t.Fatal(err)
	}
	if a.Counts.Drift != 1 || len(a.Drift) != 1 || a.Drift[0].Address != "terraform_data.app" || a.Drift[0].Kind != Update {
		t.Errorf("drift = %+v, %+v", a.Counts, a.Drift)
	}
	if a.Counts.HasChanges() != true || a.Counts.Update != 1 {
		t.Errorf("counts = %+v", a.Counts)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	real, err := os.ReadFile("testdata/terraform-plan-replace-tainted.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, input string
		want        string
	}{
		{"empty", "", "empty input"},
		{"whitespace", " \n", "empty input"},
		{"truncated", string(real[:len(real)/2]), "truncated"},
		{"truncated at end", string(real[:len(real)-2]), "truncated"},
		{"malformed", `{"format_version": "1.2", "resource_changes": [}`, "malformed JSON"},
		{"not an object", `[1, 2]`, "expected an object"},
		{"text", "Terraform used the selected providers to generate the following execution plan", "not JSON"},
		{"trailing data", `{"format_version":"1.2","planned_values":{}} {}`, "unexpected data after"},
		{"no version", `{"planned_values": {}}`, "format version is missing"},
		{"version 2", `{"format_version": "2.0", "planned_values": {}}`, `unsupported plan format version: "2.0.0"`},
		{"version 2 lists supported", `{"format_version": "2.1", "planned_values": {}}`, "supported plan format versions are >= 0.1, < 2.0"},
		{"version garbage", `{"format_version": "one", "planned_values": {}}`, "invalid format version"},
		{"version not string", `{"format_version": 1, "planned_values": {}}`, "format_version"},
		{"state via show", `{"format_version":"1.0","terraform_version":"1.11.4","values":{"root_module":{}}}`, "Terraform state, not a plan"},
		{"raw state file", `{"version":4,"terraform_version":"1.11.4","serial":3,"lineage":"0b1c","outputs":{},"resources":[]}`, "Terraform state, not a plan"},
		{"no plan content", `{"format_version":"1.2"}`, "not a Terraform plan"},
		{"unknown action", `{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":["explode"]}}]}`, "unknown actions [explode]"},
		{"no actions", `{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":[]}}]}`, "unknown actions []"},
		{"no change", `{"format_version":"1.2","resource_changes":[{"address":"a.b"}]}`, "without a change"},
		{"no address", `{"format_version":"1.2","resource_changes":[{"change":{"actions":["create"]}}]}`, "without an address"},
		{"changes not a list", `{"format_version":"1.2","resource_changes":{}}`, "expected a list"},
		{"duplicate key", `{"format_version":"1.2","resource_changes":[],"resource_changes":[]}`, "appears twice"},
		{"wrong field type", `{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":"create"}}]}`, "resource_changes: [0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Analyze(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("Analyze succeeded: %+v", a)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	if _, err := AnalyzeFile("testdata/missing.json"); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file error = %v", err)
	}
	path := filepath.Join(t.TempDir(), "cut.json")
	if err := os.WriteFile(path, real[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AnalyzeFile(path); err == nil || !strings.Contains(err.Error(), "plan "+path+": ") {
		t.Errorf("AnalyzeFile error does not name the file: %v", err)
	}
}

func TestRenderPath(t *testing.T) {
	tests := []struct {
		json string
		want string
	}{
		{`["triggers_replace"]`, "triggers_replace"},
		{`["tags", "Name"]`, "tags.Name"},
		{`["tags", "kubernetes.io/role"]`, `tags["kubernetes.io/role"]`},
		{`["ingress", 0, "cidr_blocks", 1]`, "ingress[0].cidr_blocks[1]"},
		{`["a", true]`, "a[?]"},
		{`"not a list"`, "?"},
	}
	for _, tt := range tests {
		var v any
		if err := json.Unmarshal([]byte(tt.json), &v); err != nil {
			t.Fatal(err)
		}
		if got := renderPath(v); got != tt.want {
			t.Errorf("renderPath(%s) = %q, want %q", tt.json, got, tt.want)
		}
	}
}

func FuzzAnalyze(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":["delete","create"],"replace_paths":[["x",0,"y"]]}}]}`))
	f.Add([]byte(`{"format_version":"1.2","planned_values":{},"variables":{"r":{"value":"eu-west-1"}},"configuration":{"provider_config":{"aws":{"name":"aws","full_name":"registry.terraform.io/hashicorp/aws","expressions":{"region":{"references":["var.r"]}}}},"root_module":{"variables":{"r":{}}}}}`))
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[],"resource_drift":[{"address":"a.b","change":{"actions":["update"],"before":{"tags":null},"after":{"tags":{}}}}],"relevant_attributes":[{"resource":"a.b","attribute":["tags",0]}],"checks":[{"address":{"kind":"check","to_display":"check.c"},"status":"fail","instances":[{"address":{"to_display":"check.c"},"status":"fail","problems":[{"message":"m"}]}]}]}`))
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[],"output_changes":{"a":{"actions":["update"],"before":"x","after":"y"},"b":{"actions":["no-op"]},"c":{"actions":["create"],"after_unknown":true,"after_sensitive":true}}}`))
	f.Add([]byte(`{"format_version":"1.2","prior_state":{"values":{"root_module":{"resources":[{"address":"a.old","mode":"managed","type":"a","values":{"id":"x"}}]}}},"resource_changes":[{"address":"a.new","type":"a","mode":"managed","change":{"actions":["no-op"],"importing":{"id":"x"}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// HeldImports reads the same document its own way: it never panics, and each import
		// it finds is held at another address.
		if p, err := Decode(bytes.NewReader(data)); err == nil {
			for _, h := range HeldImports(p) {
				if h.HeldAt == h.Address || h.ID == "" {
					t.Errorf("held import %+v", h)
				}
			}
		}
		a, err := Analyze(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range a.Regions.Named {
			if r != "" && !environment.ValidRegion(r) {
				t.Errorf("region %q is not a region's name", r)
			}
		}
		n := a.Counts
		if n.Replace != n.ReplaceDeleteFirst+n.ReplaceCreateFirst || n.Drift != len(a.Drift) || n.Outputs != len(a.Outputs) {
			t.Errorf("inconsistent counts %+v", n)
		}
		for _, o := range a.Outputs {
			if o.Kind != Create && o.Kind != Update && o.Kind != Delete {
				t.Errorf("output change %+v is no create, update or delete", o)
			}
		}
		for _, c := range a.Changes {
			if c.Address == "" || c.Kind == "" {
				t.Errorf("change without address or kind: %+v", c)
			}
			_ = c.Why()
		}
	})
}

// HeldImports on real plans: a rename written as an import of the old object (the state
// holds it at the old address, which the plan deletes) is found; the same import of an
// object the state does not hold is not.
func TestHeldImports(t *testing.T) {
	w := tftest.New(t, map[string]string{"main.tf": "resource \"terraform_data\" \"old\" {}\n"})
	w.Init()
	w.Apply()
	id := w.ID("terraform_data.old")
	for _, tt := range []struct {
		name, id string
		want     []HeldImport
	}{
		{"the old object", id, []HeldImport{{Address: "terraform_data.renamed", ID: id, HeldAt: "terraform_data.old"}}},
		{"another object", "an-object-elsewhere", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w.Write("main.tf", "resource \"terraform_data\" \"renamed\" {}\nimport {\n  to = terraform_data.renamed\n  id = \""+tt.id+"\"\n}\n")
			p, err := Decode(bytes.NewReader(w.PlanJSON()))
			if err != nil {
				t.Fatal(err)
			}
			if got := HeldImports(p); !slices.Equal(got, tt.want) {
				t.Errorf("HeldImports = %+v, want %+v", got, tt.want)
			}
		})
	}
}
