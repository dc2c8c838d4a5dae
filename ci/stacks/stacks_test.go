package stacks

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/ghactions"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

const backendS3 = "terraform {\n  backend \"s3\" {}\n}\n"

// layout is a repository of four stacks: network (a backend block) and app (a marker, no
// backend) both use modules/shared, which uses modules/shared/naming; data uses
// modules/db; app depends on network and data; examples/ and a testdata stack are excluded.
func layout() map[string]string {
	return map[string]string{
		"pipeline.yaml": `version: 1
stacks:
  include: ["stacks/**", "legacy"]
  exclude: ["**/testdata/**"]
  depends_on:
    stacks/app: [stacks/network, stacks/data]
defaults:
  backend:
    bucket: org-state
    region: eu-west-1
`,
		"stacks/network/main.tf":              backendS3 + "module \"shared\" {\n  source = \"../../modules/shared\"\n}\n",
		"stacks/app/pipeline.yaml":            "version: 1\n",
		"stacks/app/main.tf":                  "module \"shared\" {\n  source = \"../../modules/shared\"\n}\n",
		"stacks/data/versions.tf":             "terraform {\n  cloud {}\n}\n",
		"stacks/data/main.tf":                 "module \"db\" {\n  source = \"../../modules/db\"\n}\n",
		"legacy/main.tf":                      backendS3,
		"modules/shared/main.tf":              "module \"naming\" {\n  source = \"./naming\"\n}\n",
		"modules/shared/naming/main.tf":       "resource \"terraform_data\" \"n\" {}\n",
		"modules/db/main.tf":                  "resource \"terraform_data\" \"db\" {}\n",
		"stacks/testdata/broken/main.tf":      "this does not { parse",
		"examples/demo/main.tf":               backendS3,
		"docs/stacks.md":                      "# stacks\n",
		".dagger/main.go":                     "package main\n",
		"stacks/network/environments/test.tf": "# not a stack of its own: no backend, no marker\n",
	}
}

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	tftest.WriteFiles(t, root, layout())
	r, err := Discover(NewDirTree(root))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range r.Stacks {
		got = append(got, s.Dir+"@"+string(rune('0'+s.Level))+" ("+s.Found+")")
	}
	want := []string{
		`legacy@0 (backend "s3" in legacy/main.tf)`,
		`stacks/data@0 (a cloud block in stacks/data/versions.tf)`,
		`stacks/network@0 (backend "s3" in stacks/network/main.tf)`,
		`stacks/app@1 (holds stacks/app/pipeline.yaml)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Discover:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if string(r.ConfigData) != layout()["pipeline.yaml"] {
		t.Errorf("ConfigData = %q", r.ConfigData)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("Warnings = %q, want none: every include pattern finds a stack", r.Warnings)
	}
}

// An include pattern that matches no directory with .tf files is a warning, not an error:
// a typo drops stacks without a word, but a change that deletes a stack must still run.
func TestDiscoverWarnsOfAnIncludeThatFindsNothing(t *testing.T) {
	root := t.TempDir()
	tftest.WriteFiles(t, root, map[string]string{
		"pipeline.yaml":    "version: 1\nstacks:\n  include: [stacks/*, stack/*, gone]\n",
		"stacks/a/main.tf": backendS3,
	})
	r, err := Discover(NewDirTree(root))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`pipeline.yaml: stacks.include[1]: "stack/*" matches no directory with .tf files, so it adds no stack`,
		`pipeline.yaml: stacks.include[2]: "gone" matches no directory with .tf files, so it adds no stack`,
	}
	if strings.Join(r.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("Warnings:\n%s\nwant\n%s", strings.Join(r.Warnings, "\n"), strings.Join(want, "\n"))
	}
	if len(r.Stacks) != 1 || r.Stacks[0].Dir != "stacks/a" {
		t.Errorf("Stacks = %+v, want stacks/a", r.Stacks)
	}
	// Every selection carries them, for the matrix's log and the combined summary.
	for _, spec := range []string{"all", "stacks/a"} {
		sel, err := r.Select(NewDirTree(root), spec, nil)
		if err != nil || len(sel.Warnings) != 2 {
			t.Errorf("Select(%q) = %+v, %v; want the two warnings", spec, sel, err)
		}
	}
}

func TestDiscoverWithoutRepositoryFile(t *testing.T) {
	root := t.TempDir()
	tftest.WriteFiles(t, root, map[string]string{"main.tf": backendS3, "modules/m/main.tf": "", "other/pipeline.yaml": "version: 1\n"})
	r, err := Discover(NewDirTree(root))
	if err != nil || len(r.Stacks) != 1 || r.Stacks[0].Dir != "." {
		t.Fatalf("a single stack at the root: %+v, %v", r.Stacks, err)
	}
}

func TestDiscoverErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"a cycle", map[string]string{
			"pipeline.yaml": "version: 1\nstacks:\n  depends_on:\n    a: [b]\n    b: [c]\n    c: [a]\n",
			"a/main.tf":     backendS3, "b/main.tf": backendS3, "c/main.tf": backendS3,
		}, "pipeline.yaml: stacks.depends_on: the stacks depend on each other in a cycle: a → b → c → a"},
		{"a stack depending on itself", map[string]string{
			"pipeline.yaml": "version: 1\nstacks:\n  depends_on:\n    a: [a/]\n",
			"a/main.tf":     backendS3,
		}, "cycle: a → a"},
		{"an unknown dependency", map[string]string{
			"pipeline.yaml": "version: 1\nstacks:\n  depends_on:\n    a: [nope]\n",
			"a/main.tf":     backendS3, "b/main.tf": backendS3,
		}, "a depends on nope, which is not a stack: valid stacks are a, b"},
		{"an unknown dependent", map[string]string{
			"pipeline.yaml": "version: 1\nstacks:\n  depends_on:\n    nope: [a]\n",
			"a/main.tf":     backendS3,
		}, "stacks.depends_on names nope, which is not a stack: valid stacks are a"},
		{"a file that does not parse", map[string]string{
			"a/main.tf": backendS3, "b/broken.tf": "terraform {\n  backend \"s3\" {\n",
		}, "b/broken.tf does not parse as Terraform configuration"},
		{"an unknown key", map[string]string{"pipeline.yaml": "version: 1\nstacks:\n  includes: [a]\n"}, "pipeline.yaml: stacks.includes: unknown key: valid keys are include, exclude, marker, depends_on"},
		{"a pattern not in a list", map[string]string{"pipeline.yaml": "version: 1\n\n\nstacks:\n  include: stacks/*\n"}, `pipeline.yaml: stacks.include: want a list, got "stacks/*"`},
		{"a key twice", map[string]string{"pipeline.yaml": "version: 1\nstacks:\n  include: [a]\n  include: [b]\n"}, "pipeline.yaml: stacks.include: key appears twice"},
		{"a stack twice in depends_on", map[string]string{"pipeline.yaml": "version: 1\nstacks:\n  depends_on:\n    a: [b]\n    a: [c]\n"}, "pipeline.yaml: stacks.depends_on.a: key appears twice"},
		{"a dependency not in a list", map[string]string{"pipeline.yaml": "version: 1\nstacks:\n  depends_on:\n    a: b\n"}, `pipeline.yaml: stacks.depends_on.a: want a list, got "b"`},
		{"an empty marker", map[string]string{"pipeline.yaml": "version: 1\nstacks:\n  marker:\n"}, "pipeline.yaml: stacks.marker: empty value"},
		{"a list of stacks", map[string]string{"pipeline.yaml": "version: 1\nstacks: [a]\n"}, "pipeline.yaml: stacks: want a mapping of keys (include, exclude, marker, depends_on), got a list"},
		{"a bad pattern", map[string]string{"pipeline.yaml": "version: 1\nstacks:\n  include: [\"a/[\"]\n"}, `stacks.include[0]: "a/[" is not a directory pattern`},
		{"a pattern outside", map[string]string{"pipeline.yaml": "version: 1\nstacks:\n  exclude: [../x]\n"}, `stacks.exclude[0]: "../x" is not a directory pattern`},
		{"a marker path", map[string]string{"pipeline.yaml": "version: 1\nstacks:\n  marker: a/b\n"}, `stacks.marker: "a/b" is not a file name`},
		{"a dependency outside", map[string]string{"pipeline.yaml": "version: 1\nstacks:\n  depends_on:\n    a: [../b]\n"}, `stacks.depends_on.a: "../b" is not a stack directory`},
		{"a bad inherited default", map[string]string{"pipeline.yaml": "version: 1\ndefaults:\n  lock_timeout: soon\n"}, "pipeline.yaml: defaults.lock_timeout"},
		{"a shared state key", map[string]string{"pipeline.yaml": "version: 1\ndefaults:\n  backend:\n    key: s.tfstate\n"}, "defaults.backend.key: every stack inherits"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tftest.WriteFiles(t, root, tt.files)
			_, err := Discover(NewDirTree(root))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, dir string
		want         bool
	}{
		{"stacks/*", "stacks/network", true},
		{"stacks/*", "stacks/network/sub", false},
		{"stacks/*", "stacks", false},
		{"stacks/**", "stacks", true},
		{"stacks/**", "stacks/a/b/c", true},
		{"**/testdata/**", "ci/x/testdata/stacks/app", true},
		{"**/testdata/**", "testdata", true},
		{"**/testdata/**", "testdatas", false},
		{"**", ".", true},
		{".", ".", true},
		{".", "a", false},
		{"terraform", "terraform", true},
		{"terraform", "terraform-network", false},
		{"live/*/network", "live/eu/network", true},
	} {
		if got := Match(tt.pattern, tt.dir); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.dir, got, tt.want)
		}
	}
}

// gitRepo is a real git repository in a temporary directory.
type gitRepo struct {
	t   *testing.T
	dir string
}

func newGitRepo(t *testing.T, files map[string]string) *gitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	g := &gitRepo{t: t, dir: t.TempDir()}
	g.git("init", "-q", "-b", "main")
	tftest.WriteFiles(t, g.dir, files)
	g.git("add", "-A")
	g.git("commit", "-qm", "base")
	return g
}

func (g *gitRepo) git(args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = g.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// Each case branches from main, commits a change and selects from the branch's diff, as
// a pull request would: exactly the stacks the change touches, and their dependents.
func TestChangedOnGitBranches(t *testing.T) {
	g := newGitRepo(t, layout())
	for _, tt := range []struct {
		name    string
		change  func(t *testing.T, dir string)
		want    string // selected stacks, in order
		why     string // one of the reasons, when given
		removed string
	}{
		{"a shared nested module selects exactly its users and their dependents", func(t *testing.T, dir string) {
			tftest.WriteFiles(t, dir, map[string]string{"modules/shared/naming/main.tf": "resource \"terraform_data\" \"n2\" {}\n"})
		}, "stacks/network,stacks/app", "modules/shared/naming/main.tf: in module modules/shared/naming, which the stack uses", ""},
		{"a module one stack uses", func(t *testing.T, dir string) {
			tftest.WriteFiles(t, dir, map[string]string{"modules/db/main.tf": "resource \"terraform_data\" \"db2\" {}\n"})
		}, "stacks/data,stacks/app", "depends on stacks/data, which the change touches", ""},
		{"the dependent alone selects none of its dependencies", func(t *testing.T, dir string) {
			tftest.WriteFiles(t, dir, map[string]string{"stacks/app/main.tf": "# x\n"})
		}, "stacks/app", "stacks/app/main.tf: in the stack", ""},
		{"docs only", func(t *testing.T, dir string) {
			tftest.WriteFiles(t, dir, map[string]string{"docs/stacks.md": "# more\n"})
		}, "", "", ""},
		{"the repository's pipeline.yaml governs every stack", func(t *testing.T, dir string) {
			tftest.WriteFiles(t, dir, map[string]string{"pipeline.yaml": layout()["pipeline.yaml"] + "# note\n"})
		}, "legacy,stacks/data,stacks/network,stacks/app", "the repository's pipeline.yaml", ""},
		{"a stack's policies govern only it", func(t *testing.T, dir string) {
			tftest.WriteFiles(t, dir, map[string]string{"stacks/network/policies/deny.rego": "package x\n"})
		}, "stacks/network,stacks/app", "stacks/network/policies/deny.rego: in the stack", ""},
		{"the pipeline itself", func(t *testing.T, dir string) {
			tftest.WriteFiles(t, dir, map[string]string{".dagger/main.go": "package main // x\n"})
		}, "legacy,stacks/data,stacks/network,stacks/app", "part of the pipeline", ""},
		{"a module renamed, its users updated", func(t *testing.T, dir string) {
			g.git("mv", "modules/db", "modules/database")
			tftest.WriteFiles(t, dir, map[string]string{"stacks/data/main.tf": "module \"db\" {\n  source = \"../../modules/database\"\n}\n"})
		}, "stacks/data,stacks/app", "modules/database/main.tf: in module modules/database", "modules/db"},
		{"a stack renamed", func(t *testing.T, dir string) {
			g.git("mv", "legacy", "stacks/legacy")
		}, "stacks/legacy", "stacks/legacy/main.tf: in the stack", "legacy"},
		{"a stack deleted", func(t *testing.T, dir string) {
			g.git("rm", "-rq", "legacy")
		}, "", "", "legacy"},
		{"a stack nested in another", func(t *testing.T, dir string) {
			tftest.WriteFiles(t, dir, map[string]string{"stacks/network/edge/main.tf": backendS3})
		}, "stacks/network/edge", "stacks/network/edge/main.tf: in the stack", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g.git("checkout", "-q", "main")
			g.git("checkout", "-qb", "change-"+strings.ReplaceAll(tt.name, " ", "-"))
			tt.change(t, g.dir)
			g.git("add", "-A")
			g.git("commit", "-qm", tt.name)
			changed, err := GitDiff(context.Background(), g.dir, "main", "HEAD")
			if err != nil {
				t.Fatal(err)
			}
			r, err := Discover(NewDirTree(g.dir))
			if err != nil {
				t.Fatal(err)
			}
			sel, err := r.Changed(NewDirTree(g.dir), changed)
			if err != nil {
				t.Fatal(err)
			}
			var why []string
			for _, s := range sel.Stacks {
				why = append(why, s.Why...)
			}
			if got := strings.Join(sel.Dirs(), ","); got != tt.want || !strings.Contains(strings.Join(why, "\n"), tt.why) || strings.Join(sel.Removed, ",") != tt.removed {
				t.Errorf("changed %v: selected %q removed %v, why:\n%s\nwant %q (%q), removed %q", changed, got, sel.Removed, strings.Join(why, "\n"), tt.want, tt.why, tt.removed)
			}
		})
	}
}

func TestChangedRefusesBrokenModule(t *testing.T) {
	root := t.TempDir()
	files := layout()
	files["modules/shared/naming/bad.tf"] = "module \"x\" {\n  source = \n"
	tftest.WriteFiles(t, root, files)
	r, err := Discover(NewDirTree(root))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Changed(NewDirTree(root), []string{"docs/stacks.md"}); err == nil || !strings.Contains(err.Error(), "modules/shared/naming/bad.tf does not parse") {
		t.Errorf("a broken module: %v", err)
	}
}

func TestSelect(t *testing.T) {
	root := t.TempDir()
	tftest.WriteFiles(t, root, layout())
	tree := NewDirTree(root)
	r, err := Discover(tree)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		spec    string
		changed []string
		want    string
		rerun   string // Rerun's --stacks
		named   string
		why     string // each selected stack's Why, joined with "; " and the stacks with " | "
		err     string
	}{
		{"all", nil, "legacy,stacks/data,stacks/network,stacks/app", "legacy,stacks/data,stacks/network,stacks/app", "",
			"--stacks=all: every stack runs | --stacks=all: every stack runs | --stacks=all: every stack runs | --stacks=all: every stack runs", ""},
		{"stacks/app, stacks/network/", nil, "stacks/network,stacks/app", "stacks/network,stacks/app", "stacks/app, stacks/network/", " | ", ""},
		{"changed", []string{"modules/db/main.tf"}, "stacks/data,stacks/app", "stacks/data,stacks/app", "",
			"modules/db/main.tf: in module modules/db, which the stack uses | depends on stacks/data, which the change touches", ""},
		{"changed", []string{}, "", "changed", "", "", ""},
		{"changed", []string{"stacks/.terraform-version"}, "stacks/data,stacks/network,stacks/app", "stacks/data,stacks/network,stacks/app", "",
			"stacks/.terraform-version: a .terraform-version the stack's Terraform version comes from | stacks/.terraform-version: a .terraform-version the stack's Terraform version comes from | " +
				"stacks/.terraform-version: a .terraform-version the stack's Terraform version comes from; depends on stacks/network, which the change touches; depends on stacks/data, which the change touches", ""},
		{"changed", []string{"stacks/network/.terraform-version"}, "stacks/network,stacks/app", "stacks/network,stacks/app", "",
			"stacks/network/.terraform-version: a .terraform-version the stack's Terraform version comes from | depends on stacks/network, which the change touches", ""},
		{"changed", []string{".tflint.hcl"}, "legacy,stacks/data,stacks/network,stacks/app", "legacy,stacks/data,stacks/network,stacks/app", "",
			".tflint.hcl: the repository's .tflint.hcl, which lints a stack without its own | .tflint.hcl: the repository's .tflint.hcl, which lints a stack without its own | " +
				".tflint.hcl: the repository's .tflint.hcl, which lints a stack without its own | .tflint.hcl: the repository's .tflint.hcl, which lints a stack without its own; depends on stacks/network, which the change touches; depends on stacks/data, which the change touches", ""},
		{"changed", []string{"*"}, "legacy,stacks/data,stacks/network,stacks/app", "legacy,stacks/data,stacks/network,stacks/app", "",
			"the change is not known (*): every stack runs | the change is not known (*): every stack runs | the change is not known (*): every stack runs | " +
				"the change is not known (*): every stack runs; depends on stacks/network, which the change touches; depends on stacks/data, which the change touches", ""},
		{"changed", nil, "", "", "", "", "--stacks=changed needs --changed-files"},
		{"", nil, "", "", "", "", "--stacks is empty"},
		{"stacks/nope", nil, "", "", "", "", `--stacks: "stacks/nope" is not a stack: valid values are changed, all, or some of legacy, stacks/app, stacks/data, stacks/network`},
		{"all,stacks/app", nil, "", "", "", "", `--stacks: all stands alone: give --stacks=all, or a list of stacks (legacy, stacks/app, stacks/data, stacks/network)`},
		{"../x", nil, "", "", "", "", `--stacks: "../x" is not a stack directory`},
	} {
		sel, err := r.Select(tree, tt.spec, tt.changed)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Select(%q) err = %v, want %q", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil || strings.Join(sel.Dirs(), ",") != tt.want {
			t.Errorf("Select(%q, %v) = %v, %v; want %s", tt.spec, tt.changed, sel.Dirs(), err, tt.want)
		}
		if got := sel.Rerun(tt.spec); got != tt.rerun {
			t.Errorf("Select(%q, %v).Rerun = %q, want %q", tt.spec, tt.changed, got, tt.rerun)
		}
		// A rerun of --stacks=changed that took nothing reads the same list again.
		wantList := ""
		if tt.spec == ChangedStacks && tt.want == "" {
			wantList = ChangedFilesFile
		}
		if got := sel.RerunChangedFiles(tt.spec, ""); got != wantList {
			t.Errorf("Select(%q, %v).RerunChangedFiles = %q, want %q", tt.spec, tt.changed, got, wantList)
		}
		// The caller's file, when it is known, is the one the line names.
		if got := sel.RerunChangedFiles(tt.spec, "./ch.txt"); (wantList == "") != (got == "") || (got != "" && got != "./ch.txt") {
			t.Errorf("Select(%q, %v).RerunChangedFiles with ./ch.txt = %q", tt.spec, tt.changed, got)
		}
		if got := Named(tt.spec); got != tt.named {
			t.Errorf("Named(%q) = %q, want %q", tt.spec, got, tt.named)
		}
		why := make([]string, len(sel.Stacks))
		for i, s := range sel.Stacks {
			why[i] = strings.Join(s.Why, "; ")
		}
		if got := strings.Join(why, " | "); got != tt.why {
			t.Errorf("Select(%q, %v) why %q, want %q", tt.spec, tt.changed, got, tt.why)
		}
	}
}

// A call without --stacks takes the changed stacks when it has the change's list, else
// all; a --stacks given, blanks too, stays for Select to take or refuse.
func TestSpec(t *testing.T) {
	for _, tt := range []struct {
		spec         string
		changedGiven bool
		want         string
	}{
		{"", true, ChangedStacks},
		{"", false, AllStacks},
		{"stacks/app", true, "stacks/app"},
		{"all", true, AllStacks},
		{" ", false, " "},
	} {
		if got := Spec(tt.spec, tt.changedGiven); got != tt.want {
			t.Errorf("Spec(%q, %v) = %q, want %q", tt.spec, tt.changedGiven, got, tt.want)
		}
	}
}

func TestMatrix(t *testing.T) {
	root := t.TempDir()
	tftest.WriteFiles(t, root, layout())
	r, err := Discover(NewDirTree(root))
	if err != nil {
		t.Fatal(err)
	}
	sel, _ := r.Select(NewDirTree(root), "stacks/app,stacks/data", nil)
	want := `{"include":[{"stack":"stacks/data","level":0,"depends_on":[]},{"stack":"stacks/app","level":1,"depends_on":["stacks/data"]}]}`
	if got := sel.Matrix(); got != want {
		t.Errorf("Matrix = %s\nwant %s", got, want)
	}
	// Without the stacks it depends on, a stack waits for nothing: level 0.
	alone, _ := r.Select(NewDirTree(root), "stacks/app", nil)
	if got, want := alone.Matrix(), `{"include":[{"stack":"stacks/app","level":0,"depends_on":[]}]}`; got != want {
		t.Errorf("Matrix = %s\nwant %s", got, want)
	}
	if got := (Selection{}).Matrix(); got != `{"include":[]}` {
		t.Errorf("empty Matrix = %s", got)
	}
}

// The pull request's values, as GitHub's payload gives them, select what the pull request
// changes; a push that created a branch (no commit before it) selects every stack.
func TestChangedFromPullRequestPayload(t *testing.T) {
	g := newGitRepo(t, layout())
	g.git("checkout", "-qb", "feature")
	tftest.WriteFiles(t, g.dir, map[string]string{"modules/db/main.tf": "resource \"terraform_data\" \"db3\" {}\n"})
	g.git("commit", "-qam", "db")
	// main moves on meanwhile: the pull request's diff starts where it branched.
	g.git("checkout", "-q", "main")
	tftest.WriteFiles(t, g.dir, map[string]string{"legacy/main.tf": backendS3 + "# main moved on\n"})
	g.git("commit", "-qam", "main moves")
	mainHead := strings.TrimSpace(g.git("rev-parse", "HEAD"))
	g.git("checkout", "-q", "feature")
	head := strings.TrimSpace(g.git("rev-parse", "HEAD"))
	event := filepath.Join(t.TempDir(), "event.json")
	payload := `{"pull_request": {"number": 7, "head": {"sha": "` + head + `"}, "base": {"sha": "` + mainHead + `"}}}`
	if err := os.WriteFile(event, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	gh, err := ghactions.NewContext(environment.DefaultConfig(), ghactions.Values{EventName: "pull_request", Ref: "refs/pull/7/merge", EventPath: event})
	if err != nil {
		t.Fatal(err)
	}
	changed, err := GitDiff(context.Background(), g.dir, gh.Base, gh.SHA)
	if err != nil || strings.Join(changed, ",") != "modules/db/main.tf" {
		t.Fatalf("GitDiff(base %s, head %s) = %v, %v (main's own change must not show)", gh.Base, gh.SHA, changed, err)
	}
	r, err := Discover(NewDirTree(g.dir))
	if err != nil {
		t.Fatal(err)
	}
	if sel, err := r.Changed(NewDirTree(g.dir), changed); err != nil || strings.Join(sel.Dirs(), ",") != "stacks/data,stacks/app" {
		t.Errorf("selected %v, %v", sel.Dirs(), err)
	}
	// A push that created the branch: GitHub gives no commit before it.
	if changed, err := GitDiff(context.Background(), g.dir, "", head); err != nil || strings.Join(changed, ",") != "*" {
		t.Errorf("no base: %v, %v", changed, err)
	}
}

func TestGitDiffRefusesOptions(t *testing.T) {
	for _, ref := range []string{"--output=/tmp/x", "a b", "main..x", "-"} {
		if _, err := GitDiff(context.Background(), t.TempDir(), ref, "HEAD"); err == nil || !strings.Contains(err.Error(), "base ref") {
			t.Errorf("GitDiff(%q) = %v", ref, err)
		}
	}
}

// TestNested finds the stacks below one stack's directory as Discover would, on a
// repository whose stacks.depends_on holds a cycle and names a stack that does not exist:
// ordering is not a single stack's business, so neither stops its run.
func TestNested(t *testing.T) {
	base := map[string]string{
		"pipeline.yaml": `version: 1
stacks:
  exclude: ["**/examples/**"]
  depends_on:
    stacks/app: [stacks/data]
    stacks/data: [stacks/app]
    gone: [stacks/app]
`,
		"main.tf":                          backendS3,
		"modules/naming/main.tf":           "resource \"terraform_data\" \"n\" {}\n",
		"stacks/network/main.tf":           backendS3,
		"stacks/network/edge/main.tf":      backendS3,
		"stacks/network/modules/m/main.tf": "resource \"terraform_data\" \"m\" {}\n",
		"stacks/network/examples/main.tf":  backendS3,
		"stacks/networking/main.tf":        backendS3,
		"stacks/app/pipeline.yaml":         "version: 1\n",
		"stacks/app/main.tf":               "resource \"terraform_data\" \"a\" {}\n",
		"stacks/data/versions.tf":          "terraform {\n  cloud {}\n}\n",
	}
	const broken = "terraform {\n  backend \"s3\" {\n"
	discovered := t.TempDir()
	tftest.WriteFiles(t, discovered, base)
	if _, err := Discover(NewDirTree(discovered)); err == nil || !strings.Contains(err.Error(), "stacks.depends_on") {
		t.Fatalf("Discover: %v; want the stacks.depends_on error that Nested must not return", err)
	}
	for _, tt := range []struct {
		name  string
		dir   string
		extra map[string]string // over base
		want  string            // stacks, comma-separated
		err   string
	}{
		{name: "the root stack: modules and excluded directories are its own", dir: ".",
			want: "stacks/app,stacks/data,stacks/network,stacks/network/edge,stacks/networking"},
		{name: "a stack below the root", dir: "stacks/network", want: "stacks/network/edge"},
		{name: "written with a slash", dir: "stacks/network/", want: "stacks/network/edge"},
		{name: "nothing below", dir: "stacks/network/edge"},
		{name: "a marker stack", dir: "stacks/app"},
		{name: "not a stack itself", dir: "stacks", want: "stacks/app,stacks/data,stacks/network,stacks/network/edge,stacks/networking"},
		{name: "include limits what is a stack", dir: ".", extra: map[string]string{"pipeline.yaml": "version: 1\nstacks:\n  include: [\"stacks/*\"]\n"},
			want: "stacks/app,stacks/data,stacks/network,stacks/networking"},
		{name: "a broken file elsewhere is not read", dir: "stacks/network", extra: map[string]string{"legacy/broken.tf": broken}, want: "stacks/network/edge"},
		{name: "a broken file below", dir: ".", extra: map[string]string{"legacy/broken.tf": broken}, err: "legacy/broken.tf does not parse"},
		{name: "outside the repository", dir: "../x", err: `"../x" is not a stack directory`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tftest.WriteFiles(t, root, base)
			tftest.WriteFiles(t, root, tt.extra)
			got, err := Nested(NewDirTree(root), tt.dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Nested(%q) = %q, %v; want error %q", tt.dir, got, err, tt.err)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != tt.want {
				t.Errorf("Nested(%q) = %q, %v; want %q", tt.dir, got, err, tt.want)
			}
		})
	}
}

// Terraform reads .tf.json files as well as .tf: a stack may be made of them alone, and a
// module called from one is used as much as one called from a .tf file.
func TestTFJSONStacks(t *testing.T) {
	base := map[string]string{
		// Its backend and its module call are only in JSON.
		"stacks/json/main.tf.json": `{"terraform": [{"backend": {"s3": {}}}], "module": {"net": {"source": "../../modules/net"}}}`,
		// A .tf backend, its module call only in main.tf.json.
		"stacks/mixed/backend.tf":   backendS3,
		"stacks/mixed/main.tf.json": `{"module": {"net": {"source": "../../modules/net"}}}`,
		// A marker and nothing but .tf.json; and a cloud block in JSON.
		"stacks/marked/pipeline.yaml":     "version: 1\n",
		"stacks/marked/main.tf.json":      `{"resource": {"terraform_data": {"m": {}}}}`,
		"stacks/cloud/versions.tf.json":   `{"terraform": {"cloud": {}}}`,
		"stacks/json/nested/main.tf.json": `{"terraform": {"backend": {"local": {}}}}`,
		"modules/net/main.tf.json":        `{"module": {"sub": {"source": "./sub"}}}`,
		"modules/net/sub/main.tf":         "resource \"terraform_data\" \"s\" {}\n",
		"modules/unused/main.tf.json":     `{"resource": {"terraform_data": {"u": {}}}}`,
		// Ignored, as Terraform ignores it: its name starts with a dot.
		"stacks/json/.#main.tf.json": "{ not json",
	}
	const all = "stacks/cloud,stacks/json,stacks/json/nested,stacks/marked,stacks/mixed"
	for _, tt := range []struct {
		name    string
		extra   map[string]string // over base
		changed []string
		want    string // Discover's stacks; with changed, those selected
		why     string // one of the reasons, when given
		removed string
		found   string // Found of stacks/json, when given
		err     string
	}{
		{name: "discovered", want: all, found: `backend "s3" in stacks/json/main.tf.json`},
		{name: "a module called only from main.tf.json", changed: []string{"modules/net/main.tf.json"}, want: "stacks/json,stacks/mixed",
			why: "modules/net/main.tf.json: in module modules/net, which the stack uses"},
		{name: "a nested module below it", changed: []string{"modules/net/sub/main.tf"}, want: "stacks/json,stacks/mixed",
			why: "in module modules/net/sub, which the stack uses"},
		{name: "a module no stack uses", changed: []string{"modules/unused/main.tf.json"}},
		{name: "a .tf.json stack's own file", changed: []string{"stacks/marked/main.tf.json"}, want: "stacks/marked", why: "stacks/marked/main.tf.json: in the stack"},
		{name: "a .tf.json module deleted", changed: []string{"modules/gone/main.tf.json"}, removed: "modules/gone"},
		{name: "a broken .tf.json", extra: map[string]string{"stacks/other/main.tf.json": `{"terraform": `},
			err: "stacks/other/main.tf.json does not parse as Terraform configuration"},
		{name: "a broken .tf.json in a module", extra: map[string]string{"modules/net/bad.tf.json": `{"module": {"x": {"source": ]}}`}, changed: []string{"docs/x.md"},
			err: "modules/net/bad.tf.json does not parse as Terraform configuration"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tftest.WriteFiles(t, root, base)
			tftest.WriteFiles(t, root, tt.extra)
			tree := NewDirTree(root)
			r, err := Discover(tree)
			var sel Selection
			if err == nil && tt.changed != nil {
				sel, err = r.Changed(tree, tt.changed)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if tt.changed == nil {
				var dirs []string
				for _, s := range r.Stacks {
					dirs = append(dirs, s.Dir)
				}
				got = strings.Join(dirs, ",")
				if s, _ := r.Stack("stacks/json"); tt.found != "" && s.Found != tt.found {
					t.Errorf("stacks/json found by %q, want %q", s.Found, tt.found)
				}
			} else {
				got = strings.Join(sel.Dirs(), ",")
			}
			var why []string
			for _, s := range sel.Stacks {
				why = append(why, s.Why...)
			}
			if got != tt.want || !strings.Contains(strings.Join(why, "\n"), tt.why) || strings.Join(sel.Removed, ",") != tt.removed {
				t.Errorf("got %q removed %v, why:\n%s\nwant %q (%q), removed %q", got, sel.Removed, strings.Join(why, "\n"), tt.want, tt.why, tt.removed)
			}
		})
	}
	root := t.TempDir()
	tftest.WriteFiles(t, root, base)
	if got, err := Nested(NewDirTree(root), "stacks/json"); err != nil || strings.Join(got, ",") != "stacks/json/nested" {
		t.Errorf("Nested(stacks/json) = %q, %v", got, err)
	}
	tftest.WriteFiles(t, root, map[string]string{"stacks/json/nested/deeper/x.tf.json": "{"})
	if _, err := Nested(NewDirTree(root), "stacks/json"); err == nil || !strings.Contains(err.Error(), "stacks/json/nested/deeper/x.tf.json does not parse") {
		t.Errorf("Nested over a broken .tf.json: %v", err)
	}
}

// A one-stack run's view of a selection: the other stacks, and whether it is among them.
func TestSelectionOthers(t *testing.T) {
	sel := Selection{Stacks: []Selected{{Stack: Stack{Dir: "stacks/network"}}, {Stack: Stack{Dir: "terraform"}}}}
	if others, dependent := sel.Others("terraform"); !slices.Equal(others, []string{"stacks/network"}) || !dependent {
		t.Errorf("Others(terraform) = %v, %v; want stacks/network, true", others, dependent)
	}
	if others, dependent := sel.Others("stacks/app"); len(others) != 2 || dependent {
		t.Errorf("Others(stacks/app) = %v, %v; want both, false", others, dependent)
	}
}
