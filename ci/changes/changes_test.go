package changes

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// repo writes a repository: a stack using a local module (which uses a nested one) and a
// registry module, an unused module, and files that are none of the stack's business.
func repo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	tftest.WriteFiles(t, dir, map[string]string{
		"terraform/main.tf": `module "net" {
  source = "../modules/network"
}
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.0.0"
}
`,
		"terraform/pipeline.yaml":              "version: 1\n",
		"modules/network/main.tf":              "module \"subnets\" {\n  source = \"./subnets\"\n}\n",
		"modules/network/subnets/main.tf":      "resource \"terraform_data\" \"s\" {}\n",
		"modules/unused/main.tf":               "resource \"terraform_data\" \"u\" {}\n",
		"docs/guide.md":                        "# guide\n",
		".dagger/main.go":                      "package main\n",
		".github/workflows/infrastructure.yml": "name: x\n",
	})
	return dir
}

func TestDecide(t *testing.T) {
	tree := DirTree(repo(t))
	mods, err := LocalModules(tree, "terraform")
	if err != nil || strings.Join(mods, ",") != "modules/network,modules/network/subnets" {
		t.Fatalf("LocalModules = %v, %v", mods, err)
	}
	for _, tt := range []struct {
		name     string
		changed  []string
		affected bool
		why      string
	}{
		{"docs only", []string{"docs/guide.md", "README.md"}, false, ""},
		{"the stack's pipeline.yaml", []string{"docs/guide.md", "terraform/pipeline.yaml"}, true, "terraform/pipeline.yaml: in the stack"},
		{"a nested module the stack uses", []string{"modules/network/subnets/main.tf"}, true, "in module modules/network/subnets, which the stack uses"},
		{"the repository's pipeline.yaml", []string{"pipeline.yaml"}, true, "pipeline.yaml: the repository's pipeline.yaml, which the stack inherits"},
		{"the repository's .tflint.hcl", []string{".tflint.hcl"}, true, ".tflint.hcl: the repository's .tflint.hcl, which lints a stack without its own"},
		{"the repository's .terraform-version", []string{".terraform-version"}, true, ".terraform-version: a .terraform-version the stack's Terraform version comes from"},
		{"the stack's .terraform-version", []string{"terraform/.terraform-version"}, true, "terraform/.terraform-version: in the stack"},
		{"another directory's .terraform-version", []string{"stacks/network/.terraform-version", "modules/unused/.terraform-version"}, false, ""},
		{"a module nobody uses", []string{"modules/unused/main.tf"}, false, ""},
		{"the Dagger module", []string{".dagger/main.go"}, true, ".dagger/main.go: part of the pipeline"},
		{"the workflow", []string{".github/workflows/infrastructure.yml"}, true, "part of the pipeline"},
		{"a file named like a prefix", []string{"terraform-notes.md", "cix/x.go"}, false, ""},
		{"unknown change", []string{Everything}, true, "everything runs"},
		{"nothing", nil, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decide(tree, "terraform", tt.changed)
			if err != nil {
				t.Fatal(err)
			}
			if d.Affected != tt.affected || !strings.Contains(strings.Join(d.Why, "\n"), tt.why) {
				t.Errorf("Decide(%v) = %+v, want affected %v with %q", tt.changed, d, tt.affected, tt.why)
			}
		})
	}
	if d, err := Decide(tree, ".", []string{"docs/guide.md"}); err != nil || !d.Affected {
		t.Errorf("a stack at the root holds every file: %+v, %v", d, err)
	}
}

func TestDecideRefusesBrokenConfiguration(t *testing.T) {
	dir := repo(t)
	if err := os.WriteFile(filepath.Join(dir, "modules/network/bad.tf"), []byte("module \"x\" {\n  source = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Decide(DirTree(dir), "terraform", []string{"docs/guide.md"}); err == nil || !strings.Contains(err.Error(), "modules/network/bad.tf does not parse") {
		t.Errorf("broken HCL: %v", err)
	}
	dir = repo(t)
	if err := os.WriteFile(filepath.Join(dir, "terraform/escape.tf"), []byte("module \"x\" {\n  source = \"../../outside\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Decide(DirTree(dir), "terraform", nil); err == nil || !strings.Contains(err.Error(), `terraform/escape.tf: module source "../../outside" leaves the repository`) {
		t.Errorf("a source outside the repository: %v", err)
	}
}

func TestReadList(t *testing.T) {
	got, err := ReadList("terraform/main.tf\r\n\n./docs//guide.md\n")
	if err != nil || strings.Join(got, ",") != "terraform/main.tf,docs/guide.md" {
		t.Errorf("ReadList = %v, %v", got, err)
	}
	if got, err := ReadList("a\n*\nb"); err != nil || len(got) != 1 || got[0] != Everything {
		t.Errorf("ReadList with * = %v, %v", got, err)
	}
	// An empty diff is a list of nothing, which Decide reads as "nothing changed"; nil would
	// read as "no list given".
	if got, err := ReadList("\n\n"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("ReadList of an empty diff = %#v, %v; want an empty, non-nil list", got, err)
	}
	for _, bad := range []string{"../etc/passwd", "/etc/passwd", "a/../../b", "..", "x\x00y", `"../x"`, `"/etc/passwd"`} {
		if _, err := ReadList("ok.tf\n" + bad); err == nil || !strings.Contains(err.Error(), "--changed-files line 2") {
			t.Errorf("ReadList(%q) = %v", bad, err)
		}
	}
	// Paths git quotes, as git quotes them (core.quotePath's default), read back.
	for _, tt := range []struct{ line, want string }{
		{`"terraform/caf\303\251.tf"`, "terraform/café.tf"},
		{`"terraform/a\"b.tf"`, `terraform/a"b.tf`},
		{`"terraform/back\\slash.tf"`, `terraform/back\slash.tf`},
		{`"terraform/tab\there.tf"`, "terraform/tab\there.tf"},
		{`"terraform/line\nbreak.tf"`, "terraform/line\nbreak.tf"},
	} {
		if got, err := ReadList("ok.tf\n" + tt.line + "\n"); err != nil || len(got) != 2 || got[1] != tt.want {
			t.Errorf("ReadList(%s) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
	if _, err := ReadList("ok.tf\n\"terraform/unterminated.tf\n"); err == nil ||
		!strings.Contains(err.Error(), "--changed-files line 2") || !strings.Contains(err.Error(), "not a path quoted as git quotes one") {
		t.Errorf("ReadList of a broken quote = %v", err)
	}
}

// The list as git writes it, in a real repository: a commit that touches only the nested
// module selects the stack; one that touches only docs does not.
func TestDecideOnGitDiff(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	dir := repo(t)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("init", "-q")
	run("add", ".")
	run("commit", "-qm", "base")
	for _, tt := range []struct {
		file     string
		affected bool
	}{
		{"docs/guide.md", false},
		{"modules/network/subnets/main.tf", true},
		// git quotes these names: a character outside ASCII, a quote, a tab.
		{"modules/network/subnets/café.tf", true},
		{"modules/network/subnets/say \"hi\".tf", true},
		{"modules/network/subnets/tab\there.tf", true},
		{"docs/naïve.md", false},
	} {
		if err := os.WriteFile(filepath.Join(dir, tt.file), []byte("# changed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		run("add", "-A")
		run("commit", "-qm", "change "+tt.file)
		changed, err := ReadList(run("diff", "--name-only", "HEAD~1", "HEAD"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decide(DirTree(dir), "terraform", changed)
		if err != nil || d.Affected != tt.affected {
			t.Errorf("%s changed: %+v, %v; want affected %v", tt.file, d, err, tt.affected)
		}
	}
}

// Whatever a changed-files list holds, a path it returns stays inside the repository.
func FuzzReadList(f *testing.F) {
	f.Add("terraform/main.tf\n../x\n")
	f.Add("*\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ReadList(s)
		if err != nil {
			return
		}
		for _, p := range got {
			if p != Everything && (strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../")) {
				t.Fatalf("ReadList(%q) returned %q", s, p)
			}
		}
	})
}

func TestUnaffected(t *testing.T) {
	many := make([]string, 25)
	for i := range many {
		many[i] = "docs/page" + strings.Repeat("x", i) + ".md"
	}
	md := Unaffected("test", "terraform", many, nil, false)
	if !strings.HasPrefix(md, "# test pipeline: pass\n") || !strings.Contains(md, "No change touches the stack `terraform`") ||
		!strings.Contains(md, "- `docs/page.md`") || !strings.Contains(md, "… and 5 more") || strings.Contains(md, "other stacks") {
		t.Errorf("Unaffected:\n%s", md)
	}
	md = Unaffected("test", "terraform", []string{"stacks/network/main.tf"}, []string{"stacks/network"}, true)
	if !strings.Contains(md, "The change touches other stacks, which this run does not run: `stacks/network`.") ||
		!strings.Contains(md, "`terraform` depends on one of them") {
		t.Errorf("Unaffected does not name the other stack the change touches, or that this one depends on it:\n%s", md)
	}
	if md := Unaffected("test", "terraform", []string{"a`|b"}, nil, false); strings.Contains(md, "- a`|b") {
		t.Errorf("a path was not quoted as code:\n%s", md)
	}
}

// The module that names a changed path is the deepest that holds it, whatever the order of
// the list; "modules/a" does not hold "modules/ab".
func TestModuleHolding(t *testing.T) {
	modules := []string{"modules/net/subnets", "modules/net", "modules/a"}
	for _, tt := range []struct{ path, want string }{
		{"modules/net/subnets/main.tf", "modules/net/subnets"},
		{"modules/net/main.tf", "modules/net"},
		{"modules/net", "modules/net"},
		{"modules/ab/main.tf", ""},
		{"terraform/main.tf", ""},
	} {
		got, ok := ModuleHolding(modules, tt.path)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("ModuleHolding(%q) = %q, %v; want %q", tt.path, got, ok, tt.want)
		}
	}
}

// jsonRepo is a repository whose stack calls its module only from main.tf.json, the module
// calling a nested one from its own .tf.json; and a stack made only of .tf.json files.
func jsonRepo() map[string]string {
	return map[string]string{
		"terraform/main.tf":        "resource \"terraform_data\" \"r\" {}\n",
		"terraform/main.tf.json":   `{"module": {"net": {"source": "../modules/net"}, "vpc": {"source": "terraform-aws-modules/vpc/aws", "version": "5.0.0"}}}`,
		"modules/net/main.tf.json": `{"//": "a comment", "module": [{"sub": {"source": "./sub"}}]}`,
		"modules/net/sub/main.tf":  "resource \"terraform_data\" \"s\" {}\n",
		"modules/other/main.tf":    "resource \"terraform_data\" \"o\" {}\n",
		"jsononly/main.tf.json":    `{"terraform": {"backend": {"s3": {}}}, "module": {"other": {"source": "../modules/other"}}}`,
		// Terraform ignores files whose names start with a dot (an editor's lock file).
		"jsononly/.#main.tf.json": "{ not json",
		"jsononly/.#main.tf":      "not { hcl",
	}
}

func TestLocalModulesReadsTFJSON(t *testing.T) {
	for _, tt := range []struct {
		name    string
		extra   map[string]string // over jsonRepo
		dir     string
		want    string // LocalModules, comma-separated
		changed string
		why     string // Decide's reason; "" for unaffected
		err     string
	}{
		{name: "a module called only from main.tf.json", dir: "terraform", want: "modules/net,modules/net/sub",
			changed: "modules/net/main.tf.json", why: "modules/net/main.tf.json: in module modules/net, which the stack uses"},
		{name: "a module called from a module's .tf.json", dir: "terraform", want: "modules/net,modules/net/sub",
			changed: "modules/net/sub/main.tf", why: "in module modules/net/sub, which the stack uses"},
		{name: "a module the JSON stack does not use", dir: "terraform", want: "modules/net,modules/net/sub", changed: "modules/other/main.tf"},
		{name: "a stack made only of .tf.json", dir: "jsononly", want: "modules/other",
			changed: "modules/other/main.tf", why: "in module modules/other, which the stack uses"},
		{name: "a broken .tf.json", dir: "terraform", extra: map[string]string{"modules/net/sub/bad.tf.json": `{"module": {"x": `},
			err: "modules/net/sub/bad.tf.json does not parse as Terraform configuration"},
		{name: "a .tf.json source that is not a string", dir: "terraform", extra: map[string]string{"terraform/bad.tf.json": `{"module": {"x": {"source": 1}}}`},
			err: `terraform/bad.tf.json: module "x": source must be a literal string`},
		{name: "a .tf.json source outside the repository", dir: "terraform", extra: map[string]string{"terraform/escape.tf.json": `{"module": {"x": {"source": "../../outside"}}}`},
			err: `terraform/escape.tf.json: module source "../../outside" leaves the repository`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tftest.WriteFiles(t, dir, jsonRepo())
			tftest.WriteFiles(t, dir, tt.extra)
			mods, err := LocalModules(DirTree(dir), tt.dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("LocalModules = %v, %v; want error %q", mods, err, tt.err)
				}
				if _, err := Decide(DirTree(dir), tt.dir, []string{"docs/x.md"}); err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Decide: %v; want error %q", err, tt.err)
				}
				return
			}
			if err != nil || strings.Join(mods, ",") != tt.want {
				t.Fatalf("LocalModules(%s) = %v, %v; want %s", tt.dir, mods, err, tt.want)
			}
			d, err := Decide(DirTree(dir), tt.dir, []string{tt.changed})
			if err != nil {
				t.Fatal(err)
			}
			if d.Affected != (tt.why != "") || !strings.Contains(strings.Join(d.Why, "\n"), tt.why) {
				t.Errorf("Decide(%s) = %+v, want affected %v with %q", tt.changed, d, tt.why != "", tt.why)
			}
		})
	}
}

func TestDirTreeTFFiles(t *testing.T) {
	dir := t.TempDir()
	tftest.WriteFiles(t, dir, jsonRepo())
	got, err := DirTree(dir).TFFiles("jsononly")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "jsononly/.#main.tf,jsononly/.#main.tf.json,jsononly/main.tf.json" {
		t.Errorf("TFFiles = %q", got)
	}
	files, err := ConfigFiles(DirTree(dir), "jsononly")
	if err != nil || strings.Join(files, ",") != "jsononly/main.tf.json" {
		t.Errorf("ConfigFiles = %q, %v", files, err)
	}
	// Module reads those files only, by name, as the root module's contents.
	mod, err := Module(DirTree(dir), "jsononly")
	if err != nil || len(mod) != 1 || string(mod["main.tf.json"]) != jsonRepo()["jsononly/main.tf.json"] {
		t.Errorf("Module = %q, %v", mod, err)
	}
}

// Terraform itself follows the module called from main.tf.json, as LocalModules does.
func TestTerraformFollowsTFJSONModules(t *testing.T) {
	files := jsonRepo()
	// Without the registry module, which init would download.
	files["terraform/main.tf.json"] = `{"module": {"net": {"source": "../modules/net"}}}`
	w := tftest.New(t, files)
	w.Dir = filepath.Join(w.Dir, "terraform")
	out := w.Run("init", "-no-color", "-input=false", "-backend=false")
	for _, want := range []string{"- net in ../modules/net", "- net.sub in ../modules/net/sub"} {
		if !strings.Contains(out, want) {
			t.Errorf("terraform init does not say %q:\n%s", want, out)
		}
	}
	mods, err := LocalModules(DirTree(filepath.Dir(w.Dir)), "terraform")
	if err != nil || strings.Join(mods, ",") != "modules/net,modules/net/sub" {
		t.Errorf("LocalModules = %v, %v", mods, err)
	}
}
