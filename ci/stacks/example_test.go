package stacks

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// repoRoot is this repository, whose example layout the README and docs/stacks.md show.
const repoRoot = "../.."

// TestExampleRepository: the repository's own layout has two stacks, terraform/ and
// stacks/network/, which share modules/naming; each inherits the state bucket from the
// root pipeline.yaml and keeps a state key of its own; a change selects exactly its users.
func TestExampleRepository(t *testing.T) {
	tree := NewDirTree(repoRoot)
	r, err := Discover(tree)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(Selection{Stacks: selectAll(r)}.Dirs(), ","); got != "stacks/network,terraform" {
		t.Fatalf("the example repository's stacks are %s, want stacks/network,terraform", got)
	}
	keys := map[string]bool{}
	for _, s := range r.Stacks {
		cfg := stackConfig(t, s.Dir)
		for _, env := range environment.Names {
			p, err := cfg.Profile(string(env))
			if err != nil {
				t.Fatal(err)
			}
			if p.Backend.Bucket != "infrapipe-terraform-state" || keys[p.Backend.Key] || p.Backend.Key != path.Join(s.Dir, string(env), "terraform.tfstate") {
				t.Errorf("%s %s: backend %+v: want the repository's bucket and a key of its own", s.Dir, env, p.Backend)
			}
			keys[p.Backend.Key] = true
		}
	}
	for _, tt := range []struct{ changed, want string }{
		{"modules/naming/main.tf", "stacks/network,terraform"},
		{"stacks/network/main.tf", "stacks/network"},
		{"terraform/kms.tf", "terraform"},
		{"pipeline.yaml", "stacks/network,terraform"},
		{"README.md", ""},
	} {
		sel, err := r.Changed(tree, []string{tt.changed})
		if err != nil || strings.Join(sel.Dirs(), ",") != tt.want {
			t.Errorf("%s changed: %v, %v; want %s", tt.changed, sel.Dirs(), err, tt.want)
		}
	}
}

func selectAll(r Repo) []Selected {
	out := make([]Selected, len(r.Stacks))
	for i, s := range r.Stacks {
		out[i] = Selected{Stack: s}
	}
	return out
}

// stackConfig is a stack's configuration as the pipeline reads it: its pipeline.yaml over
// the repository's.
func stackConfig(t *testing.T, dir string) environment.Config {
	t.Helper()
	repo, err := os.ReadFile(filepath.Join(repoRoot, RepoFile))
	if err != nil {
		t.Fatal(err)
	}
	own, err := os.ReadFile(filepath.Join(repoRoot, dir, environment.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := environment.ParseInherited(RepoFile, repo, path.Join(dir, environment.ConfigFile), own)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestExampleStacksPlan plans every stack of the repository with real Terraform and the
// real hashicorp/aws provider against moto, each from a copy of the repository (local
// modules resolve as they do in the pipeline's container), with the test environment's
// variables: every stack plans, and both name their resources through modules/naming.
func TestExampleStacksPlan(t *testing.T) {
	r, err := Discover(NewDirTree(repoRoot))
	if err != nil {
		t.Fatal(err)
	}
	moto := mototest.Start(t)
	for _, s := range r.Stacks {
		t.Run(s.Dir, func(t *testing.T) {
			w := tftest.New(t, nil)
			copyDirs(t, w.Dir, s.Dir, "modules")
			w.UseRealAWSProvider()
			w.Dir = filepath.Join(w.Dir, filepath.FromSlash(s.Dir))
			// The state of a plan test lives in the workspace, not in a bucket.
			w.Write("backend_override.tf", "terraform {\n  backend \"local\" {}\n}\n")
			w.Env = append(w.Env, moto.Env()...)
			w.Init()
			cfg := stackConfig(t, s.Dir)
			p, err := cfg.Profile("test")
			if err != nil {
				t.Fatal(err)
			}
			var plan struct {
				ResourceChanges []struct {
					Address string `json:"address"`
					Change  struct {
						Actions []string       `json:"actions"`
						After   map[string]any `json:"after"`
					} `json:"change"`
				} `json:"resource_changes"`
			}
			data := w.PlanJSON("-var-file="+p.VarFile, "-var=aws_endpoint="+moto.URL, "-var=project=stacks-example")
			if err := json.Unmarshal(data, &plan); err != nil {
				t.Fatal(err)
			}
			var creates, named []string
			for _, rc := range plan.ResourceChanges {
				if slices.Equal(rc.Change.Actions, []string{"create"}) {
					creates = append(creates, rc.Address)
				}
				for _, k := range []string{"bucket", "name"} {
					if v, _ := rc.Change.After[k].(string); strings.HasPrefix(v, "stacks-example-test") {
						named = append(named, rc.Address)
					}
				}
				if tags, _ := rc.Change.After["tags"].(map[string]any); tags != nil {
					if v, _ := tags["Name"].(string); strings.HasPrefix(v, "stacks-example-test") {
						named = append(named, rc.Address)
					}
				}
			}
			if len(creates) == 0 || len(named) == 0 {
				t.Errorf("plan of %s: creates %v, named by modules/naming %v", s.Dir, creates, named)
			}
			t.Logf("%s plans %d creates", s.Dir, len(creates))
		})
	}
}

// copyDirs copies the repository's directories dirs into dst, at the same paths.
func copyDirs(t *testing.T, dst string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		src := filepath.Join(repoRoot, filepath.FromSlash(d))
		if err := os.CopyFS(filepath.Join(dst, filepath.FromSlash(d)), os.DirFS(src)); err != nil {
			t.Fatalf("copy %s: %v", d, err)
		}
	}
}
