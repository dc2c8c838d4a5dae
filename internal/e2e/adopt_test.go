package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/internal/gittest"
)

// TestAdoptedRepository: a Terraform repository of a user's own takes the module as
// docs/module.md says, fetched from a git host as `dagger init --blueprint` and `dagger
// toolchain install` fetch github.com/infrapipe/infrapipe: the functions run on that
// repository with no --source (nor --terraform-dir, for a stack in terraform/ or at the
// root), `dagger check` runs its lint, and the reproduce line, pasted at the repository's
// root, reruns there.
func TestAdoptedRepository(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	// Dagger v0.19.10 drops the port of an http:// module address: the host serves on 80.
	gittest.ServeTree(t, "127.0.0.1:80", "infrapipe", repoRoot(t))
	const address = "http://127.0.0.1/infrapipe.git"
	named := []string{"-m", address, "--source=."}
	tests := []struct {
		name  string
		stack string     // where the repository keeps its stack
		setup [][]string // dagger commands that install the module
		reach []string   // the words before the constructor's flags
		check string     // lint as `dagger check` names it; "" for no check
		// customizes: dagger.json can set the constructor's defaults (a toolchain's can).
		customizes bool
	}{
		{"blueprint", "terraform", [][]string{{"init", "--blueprint=" + address}}, nil, "lint", false},
		{"blueprint on a stack at the root", ".", [][]string{{"init", "--blueprint=" + address}}, nil, "lint", false},
		{"toolchain", "terraform", [][]string{{"init"}, {"toolchain", "install", address}}, []string{"infra"}, "infra:lint", true},
		// Named on the command line, the line names the module by its published address,
		// which this host stands in for.
		{"named with -m", "terraform", nil, named, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := userRepository(t, tt.stack)
			for _, args := range tt.setup {
				if res := runDagger(t, repo, nil, append(args, "--progress=plain")); res.Err != nil {
					t.Fatalf("dagger %s: %v\n%s", strings.Join(args, " "), res.Err, lastLines(res.Stderr, 30))
				}
			}
			out := filepath.Join(t.TempDir(), "plan")
			args := append(append([]string{"call", "--progress=plain"}, tt.reach...), "--emulate-aws", "plan", "--env=test", "export", "--path="+out)
			if res := runDagger(t, repo, nil, args); res.Err != nil {
				t.Fatalf("plan from the repository: %v\n%s", res.Err, lastLines(res.Stderr, 40))
			}
			if plan := readFile(t, out, "plan.txt"); !strings.Contains(plan, "aws_s3_bucket.data will be created") {
				t.Fatalf("the plan is not of the repository's stack:\n%s", lastLines(plan, 30))
			}
			line := lastSummaryLine(readFile(t, out, "summary.md"))
			want := strings.Join(slices.Concat([]string{"dagger", "call"}, tt.reach, []string{"--emulate-aws", "plan", "--env=test", "export", "--path=./plan"}), " ")
			want = strings.Replace(want, address, pipeline.ModuleAddress, 1)
			if line != want {
				t.Fatalf("reproduce line\n%s\nwant\n%s", line, want)
			}
			line = strings.Replace(line, pipeline.ModuleAddress, address, 1)

			// Pasted at the repository's root (with -m, this host for the published address),
			// the line plans again and leaves ./plan.
			cmd := exec.Command("sh", "-c", strings.Replace(line, "dagger call", "dagger --progress=plain call", 1))
			cmd.Dir = repo
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("the pasted line failed: %v\n%s", err, lastLines(string(b), 40))
			}
			if plan := readFile(t, filepath.Join(repo, "plan"), "plan.txt"); !strings.Contains(plan, "aws_s3_bucket.data will be created") {
				t.Errorf("the pasted line left no plan of the stack in ./plan:\n%s", lastLines(plan, 30))
			}

			if tt.check == "" {
				return
			}
			// dagger check lints the repository's stack: it passes, then fails on a file of it.
			res := runDagger(t, repo, nil, []string{"check", "--progress=plain", tt.check})
			if res.Err != nil {
				t.Fatalf("dagger check %s: %v\n%s", tt.check, res.Err, lastLines(res.Stderr, 40))
			}
			if !strings.Contains(res.Output(), "Success! The configuration is valid.") {
				t.Errorf("dagger check %s did not validate the repository's stack:\n%s", tt.check, lastLines(res.Output(), 30))
			}
			if err := os.WriteFile(filepath.Join(repo, tt.stack, "unformatted.tf"), []byte("locals {\n      a = 1\n}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			res = runDagger(t, repo, nil, []string{"check", "--progress=plain", tt.check})
			if res.Err == nil || !strings.Contains(res.Output(), "unformatted.tf") {
				t.Errorf("dagger check %s passed a misformatted file of the repository, or did not name it (%v):\n%s", tt.check, res.Err, lastLines(res.Output(), 30))
			}
			if !tt.customizes {
				return
			}

			// The Terraform directory set in dagger.json, as docs/module.md shows, is the one
			// dagger check lints.
			if err := os.Rename(filepath.Join(repo, "terraform"), filepath.Join(repo, "infra")); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(repo, "infra", "unformatted.tf")); err != nil {
				t.Fatal(err)
			}
			setToolchainDefault(t, repo, "terraformDir", "infra")
			res = runDagger(t, repo, nil, []string{"check", "--progress=plain", tt.check})
			if res.Err != nil || !strings.Contains(res.Output(), "Success! The configuration is valid.") {
				t.Errorf("dagger check %s with terraformDir set in dagger.json: %v\n%s", tt.check, res.Err, lastLines(res.Output(), 30))
			}
		})
	}
}

// userRepository is a git repository holding the end-to-end stack in dir (terraform, or "."
// for its root: the two layouts a call without --terraform-dir takes), and nothing of the
// module. Its directory has a name `dagger init` can give a module (not the temporary
// directory's number).
func userRepository(t *testing.T, dir string) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "acme-infra")
	if err := os.CopyFS(filepath.Join(repo, dir), os.DirFS(newStack(t, "app").Dir)); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	return repo
}

// setToolchainDefault gives the repository's one toolchain a default for a constructor
// argument, in dagger.json's "customizations" (Dagger v0.19).
func setToolchainDefault(t *testing.T, repo, argument, value string) {
	t.Helper()
	path := filepath.Join(repo, "dagger.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("dagger.json: %v", err)
	}
	toolchains, _ := cfg["toolchains"].([]any)
	if len(toolchains) != 1 {
		t.Fatalf("dagger.json has %d toolchains, want 1:\n%s", len(toolchains), data)
	}
	toolchains[0].(map[string]any)["customizations"] = []map[string]string{{"argument": argument, "default": value}}
	if data, err = json.MarshalIndent(cfg, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
