package importer_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/importer"
)

// The import plan targets exactly the entries that get an import block, and asks Terraform
// for their configuration only when some have none.
func TestTargetArgs(t *testing.T) {
	mapped := resolved(t, "testdata/plan-import.json")
	var imports []string
	for _, e := range mapped.Imports() {
		imports = append(imports, "-target="+e.Address)
	}
	if len(imports) == 0 || len(imports) == len(mapped.Entries) {
		t.Fatalf("the real mapping imports %d of %d entries; the test needs some of each", len(imports), len(mapped.Entries))
	}
	generating := *mapped
	generating.GenerateConfigOut = true
	for _, tc := range []struct {
		name string
		plan *importer.Plan
		want []string
	}{
		{"imports only, skipped and unmapped entries left out", mapped, imports},
		{"with resources that have no configuration", &generating, append(slices.Clone(imports), "-generate-config-out=generated.tf")},
		{"nothing to import", &importer.Plan{}, nil},
	} {
		if got := tc.plan.TargetArgs(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestBackupError(t *testing.T) {
	denied := errors.New("access denied")
	p := &importer.Plan{StateRemovals: []string{"aws_s3_bucket.a", "aws_sns_topic.b"}}
	err := p.BackupError(environment.Prod, denied)
	const want = "state backup before --force removes 2 addresses from the prod state (nothing was changed): access denied"
	if !errors.Is(err, denied) || err.Error() != want {
		t.Errorf("got %v, want %q wrapping the backup's error", err, want)
	}
}

func TestCheckProject(t *testing.T) {
	prod, err := environment.Default(environment.Prod)
	if err != nil {
		t.Fatal(err)
	}
	custom := prod
	custom.ProjectTagKey = "team:project"
	for _, tc := range []struct {
		name, project string
		profile       environment.Profile
		want          string // "" for no error
	}{
		{"given", "shop", prod, ""},
		{"missing", "", prod, "--project is required: the value of the " + prod.ProjectTagKey + " tag that marks this project's resources"},
		{"missing, the profile's own tag key", "", custom, "--project is required: the value of the team:project tag"},
		{"blank", " ", prod, `--project " " is no ` + prod.ProjectTagKey + " tag value: give 1 to 256 characters without leading or trailing spaces"},
		{"padded", "shop ", prod, `--project "shop " is no`},
		{"too long", strings.Repeat("p", 257), prod, `--project "pppp`},
	} {
		err := importer.CheckProject(tc.project, tc.profile)
		if (err == nil) != (tc.want == "") || err != nil && !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// The request discovers by the profile's tags in the run's region, through the emulator
// when there is one.
func TestRequestFor(t *testing.T) {
	staging, err := environment.Default(environment.Staging)
	if err != nil {
		t.Fatal(err)
	}
	staging.ProjectTagKey, staging.EnvironmentTagKey = "app", "stage"
	opts := importer.OptionsFor(staging)
	opts.Force = true
	req := importer.RequestFor(staging, "shop", "eu-west-1", "http://127.0.0.1:5000", opts)
	d := req.Discovery
	if d.Project != "shop" || d.Environment != "staging" || d.ProjectTagKey != "app" || d.EnvironmentTagKey != "stage" ||
		d.Region != "eu-west-1" || d.Endpoint != "http://127.0.0.1:5000" {
		t.Errorf("discovery config %+v", d)
	}
	if req.Options != opts || req.PlanJSON != nil || req.Dir != "" || req.ImportIDs != nil {
		t.Errorf("request %+v; want only the discovery config and the options", req)
	}
}
