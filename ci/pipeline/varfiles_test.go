package pipeline

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// onDisk writes files (repository path → contents) to a directory and reads it as the module
// reads the repository it was given.
func onDisk(t *testing.T, files map[string]string) environment.ReadFile {
	t.Helper()
	root := t.TempDir()
	tftest.WriteFiles(t, root, files)
	return tftest.Reader(root)
}

func TestFindVarFiles(t *testing.T) {
	const secret = "/run/secrets/infrapipe/secret.tfvars"
	module := map[string][]byte{"main.tf": []byte(`variable "size" {}` + "\n" + `variable "password" {}` + "\n")}
	for _, tc := range []struct {
		name, varFile string
		set           bool              // var_file named in pipeline.yaml
		repo          map[string]string // files in the repository
		secret        string            // --tf-var-file's contents, "" when not given
		want          []string          // the -var-file flags
		names         []string          // the summary's names
		warns         string            // what Warnings says, "" for nothing
		err, checkErr string
	}{
		{name: "no file in the profile, no secret"},
		{name: "the profile's file is in the repository", varFile: "prod.tfvars",
			repo: map[string]string{"infra/prod.tfvars": "size = 3\n"},
			want: []string{"-var-file=prod.tfvars"}, names: []string{"infra/prod.tfvars"}},
		{name: "its JSON form is", varFile: "prod.tfvars",
			repo: map[string]string{"infra/prod.tfvars.json": `{"size": 3}`},
			want: []string{"-var-file=prod.tfvars.json"}, names: []string{"infra/prod.tfvars.json"}},
		{name: "the built-in file is not in the repository", varFile: "prod.tfvars",
			warns: "prod has no variables file (looked for infra/prod.tfvars and infra/prod.tfvars.json): the plan uses the variables' defaults"},
		{name: "a file elsewhere in the repository is not the stack's", varFile: "prod.tfvars",
			repo: map[string]string{"prod.tfvars": "size = 3\n"}, warns: "prod has no variables file"},
		// Terraform loads these by itself, in every environment: they are named, in its order,
		// and checked as the environment's file is.
		{name: "auto-loaded files come first, in Terraform's order", varFile: "prod.tfvars",
			repo: map[string]string{"infra/prod.tfvars": "size = 3\n", "infra/terraform.tfvars": "size = 1\n", "infra/b.auto.tfvars": "size = 2\n",
				"infra/a.auto.tfvars.json": `{"size": 2}`, "infra/other.tfvars": "size = 4\n"},
			want:  []string{"-var-file=prod.tfvars"},
			names: []string{"infra/terraform.tfvars", "infra/a.auto.tfvars.json", "infra/b.auto.tfvars", "infra/prod.tfvars"}},
		{name: "a misspelt name in an auto-loaded file", varFile: "prod.tfvars",
			repo:  map[string]string{"infra/prod.tfvars": "size = 3\n", "infra/ci.auto.tfvars": "legacy_flag = \"x\"\n"},
			want:  []string{"-var-file=prod.tfvars"},
			names: []string{"infra/ci.auto.tfvars", "infra/prod.tfvars"}, checkErr: "infra/ci.auto.tfvars: legacy_flag is not a variable of the stack"},
		{name: "the secret file comes last, so it wins", varFile: "prod.tfvars",
			repo:   map[string]string{"infra/prod.tfvars": "size = 3\n"},
			secret: "password = \"hunter2-hunter2\"\n",
			want:   []string{"-var-file=prod.tfvars", "-var-file=" + secret}, names: []string{"infra/prod.tfvars", SecretVarFile}},
		{name: "only the secret file", varFile: "prod.tfvars", secret: "password = \"x\"\n",
			want: []string{"-var-file=" + secret}, names: []string{SecretVarFile}},
		{name: "pipeline.yaml's file is in the repository", varFile: "env/prod.tfvars", set: true,
			repo: map[string]string{"infra/env/prod.tfvars": "size = 3\n"},
			want: []string{"-var-file=env/prod.tfvars"}, names: []string{"infra/env/prod.tfvars"}},
		{name: "pipeline.yaml names only that file, not its JSON form", varFile: "env/prod.tfvars", set: true,
			repo: map[string]string{"infra/env/prod.tfvars.json": `{"size": 3}`},
			err:  "pipeline.yaml's var_file for prod is env/prod.tfvars, which is not in the Terraform directory"},
		{name: "a misspelt name in the environment's file", varFile: "prod.tfvars",
			repo: map[string]string{"infra/prod.tfvars": "sise = 3\n"},
			want: []string{"-var-file=prod.tfvars"}, names: []string{"infra/prod.tfvars"},
			checkErr: "infra/prod.tfvars: sise is not a variable of the stack"},
		{name: "a misspelt name in the secret file", secret: "pasword = \"hunter2-hunter2\"\n",
			want: []string{"-var-file=" + secret}, names: []string{SecretVarFile},
			checkErr: "--tf-var-file: pasword is not a variable of the stack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := environment.Profile{Name: environment.Prod, VarFile: tc.varFile, VarFileSet: tc.set}
			mount := ""
			if tc.secret != "" {
				mount = secret
			}
			var auto []string // the names in the Terraform directory, as the module globs them
			for f := range tc.repo {
				if dir, name := filepath.Split(f); dir == "infra/" {
					auto = append(auto, name)
				}
			}
			v, err := FindVarFiles(onDisk(t, tc.repo), "infra", p, auto, mount, []byte(tc.secret))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("FindVarFiles: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Args(); !slices.Equal(got, tc.want) {
				t.Errorf("Args = %q, want %q", got, tc.want)
			}
			if got := v.Names(); !slices.Equal(got, tc.names) {
				t.Errorf("Names = %q, want %q", got, tc.names)
			}
			if w := strings.Join(v.Warnings(p.Name, module), "\n"); (w == "") != (tc.warns == "") || !strings.Contains(w, tc.warns) {
				t.Errorf("Warnings = %q, want %q", w, tc.warns)
			}
			err = v.Check(module)
			if (err == nil) != (tc.checkErr == "") || (err != nil && !strings.Contains(err.Error(), tc.checkErr)) {
				t.Errorf("Check: %v, want error %q", err, tc.checkErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Check's error shows the secret: %v", err)
			}
		})
	}
}

// The built-in var file may be written in JSON; a file pipeline.yaml names is that file only.
func TestVarFileCandidates(t *testing.T) {
	for _, tc := range []struct {
		p    environment.Profile
		want []string
	}{
		{environment.Profile{VarFile: "environments/test.tfvars"}, []string{"environments/test.tfvars", "environments/test.tfvars.json"}},
		{environment.Profile{VarFile: "env/test.tfvars", VarFileSet: true}, []string{"env/test.tfvars"}},
		{environment.Profile{}, nil},
	} {
		if got := VarFileCandidates(tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("VarFileCandidates(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
