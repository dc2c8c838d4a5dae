package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/internal/gittest"
)

// TestPrivateGitModule: a stack whose module lives on a private git host (basic auth, served
// on the engine's bridge) lints and plans with --git-credentials, and the token shows
// nowhere; without them the plan fails saying to pass them, and a line git could not read is
// refused by its number.
func TestPrivateGitModule(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	token := "ghs-" + unique(t) + unique(t)
	module := func(version string) map[string]string {
		return map[string]string{"labels/main.tf": "variable \"name\" {\n  type = string\n}\n\nresource \"terraform_data\" \"label\" {\n  input = \"${var.name}-" + version + "\"\n}\n"}
	}
	repo := gittest.Serve(t, containerHost(t)+":0", "x-access-token", token, module("v1"))
	server := repo.Addr
	s := newStack(t, "app")
	s.Write(t, "private.tf", fmt.Sprintf("module \"labels\" {\n  source = \"git::http://%s/modules.git//labels?ref=v1\"\n  name   = var.project\n}\n", server))
	env := []string{"GIT_CREDENTIALS=http://x-access-token:" + token + "@" + server + "\n"}
	ctor := append(s.Ctor(), "--emulate-aws", "--git-credentials=env:GIT_CREDENTIALS")

	dir := filepath.Join(t.TempDir(), "plan")
	res := call(t, env, append(slices.Clone(ctor), "plan", "--env=test", "export", "--path="+dir)...)
	if res.Err != nil {
		t.Fatalf("plan with --git-credentials failed: %v\n%s", res.Err, lastLines(res.Stderr, 40))
	}
	if plan := readFile(t, dir, "plan.txt"); !strings.Contains(plan, "module.labels.terraform_data.label will be created") {
		t.Errorf("plan.txt does not create the private module's resource:\n%s", lastLines(plan, 40))
	}
	if summary := readFile(t, dir, "summary.md"); !strings.Contains(summary, "--git-credentials=env:GIT_CREDENTIALS") {
		t.Errorf("the summary's reproduce line does not pass --git-credentials:\n%s", lastLines(summary, 10))
	}
	assertNoLeak(t, token, "plan stdout", res.Stdout)
	assertNoLeak(t, token, "plan stderr", res.Stderr)
	assertNoLeakInDir(t, token, dir)

	// validate fetches the module too.
	lint := mustCall(t, env, append(slices.Clone(ctor), "lint")...)
	assertNoLeak(t, token, "lint output", lint.Output())

	res = mustFail(t, nil, append(s.Ctor("--emulate-aws"), "plan", "--env=test")...)
	if want := "pass --git-credentials=env:GIT_CREDENTIALS"; !strings.Contains(res.Stderr, want) {
		t.Errorf("a plan without credentials does not say %q:\n%s", want, lastLines(res.Stderr, 30))
	}

	bad := []string{"GIT_CREDENTIALS=http://x-access-token@" + server + "\n"}
	res = mustFail(t, bad, append(slices.Clone(ctor), "plan", "--env=test")...)
	if want := "--git-credentials line 1: no user and token before the host"; !strings.Contains(res.Stderr, want) {
		t.Errorf("a credentials line without a token is not refused with %q:\n%s", want, lastLines(res.Stderr, 30))
	}

	// A module that follows a branch is fetched as it is at each run, as a fresh checkout's
	// terraform init fetches it, not as the engine cached it at the first run.
	s.Write(t, "latest.tf", fmt.Sprintf("module \"latest\" {\n  source = \"git::http://%s/modules.git//labels?ref=main\"\n  name   = var.project\n}\n", server))
	for _, version := range []string{"v1", "v2"} {
		if version != "v1" {
			repo.Commit(t, module(version))
		}
		dir := filepath.Join(t.TempDir(), "plan-"+version)
		mustCall(t, env, append(slices.Clone(ctor), "plan", "--env=test", "export", "--path="+dir)...)
		if plan := readFile(t, dir, "plan.txt"); !strings.Contains(plan, `"`+s.Project+"-"+version+`"`) {
			t.Errorf("with the branch at %s, the plan does not create module.latest's label %s-%s:\n%s", version, s.Project, version, lastLines(plan, 40))
		}
	}
}
