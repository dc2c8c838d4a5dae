package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoChangesAppliesAndTestsNothing: a second pipeline run on an unchanged stack applies
// nothing, takes no backup and runs no post-deploy tests, says so, and passes; with
// --test-unchanged it runs the tests anyway.
func TestNoChangesAppliesAndTestsNothing(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	// The stack has no alarms: monitoring is left out, so the tests can pass.
	// A health endpoint served by the emulator: the module asks it from its own process.
	s.Write(t, "pipeline.yaml", strings.Replace(readStackFile(t, s, "pipeline.yaml"), "  test:\n", "  test:\n    post_deploy: [converged, deployment, outputs, health]\n", 1))
	s.Write(t, "health.tf", "output \"health_url\" {\n  value = \"${var.aws_endpoint}/moto-api/\"\n}\n")
	ctor := append(s.Ctor(), moto.Ctor()...)
	first := export(t, nil, append(ctor, "pipeline", "--env=test")...)
	if steps := stepNames(readResult(t, first)); !strings.Contains(steps, "Post-deploy tests:pass") {
		t.Fatalf("the first run did not test its apply, or the tests failed (steps %s):\n%s", steps, readFile(t, first, "summary.md"))
	}
	if summary := readFile(t, first, "summary.md"); !strings.Contains(summary, "| health endpoint health\\_url answers | pass |") {
		t.Errorf("the health endpoint was not asked:\n%s", summary)
	}

	second := export(t, nil, append(ctor, "pipeline", "--env=test")...)
	summary, res := readFile(t, second, "summary.md"), readResult(t, second)
	if res.Verdict == "block" || !strings.Contains(summary, "No changes: nothing was applied or backed up, and the post-deploy tests did not run") {
		t.Errorf("the run without changes: verdict %s, summary:\n%s", res.Verdict, summary)
	}
	if steps := stepNames(res); strings.Contains(steps, "Post-deploy tests") {
		t.Errorf("the run without changes ran the post-deploy tests (steps %s)", steps)
	}
	if !strings.Contains(summary, "Nothing to apply: the plan has no changes, so no state backup was taken either.") {
		t.Errorf("the apply section does not say nothing was applied or backed up:\n%s", summary)
	}

	third := export(t, nil, append(ctor, "pipeline", "--env=test", "--test-unchanged")...)
	if steps := stepNames(readResult(t, third)); !strings.Contains(steps, "Post-deploy tests") {
		t.Errorf("--test-unchanged did not run the tests (steps %s)", steps)
	}
}

func stepNames(r resultJSON) string {
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name+":"+s.Verdict)
	}
	return strings.Join(names, ", ")
}

// TestUnaffectedChangeRunsNothing: with the stack in a directory of a larger repository, a
// change that touches only other files plans, applies and tests nothing and passes, saying
// why; manual dispatch runs anyway.
func TestUnaffectedChangeRunsNothing(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	repo := t.TempDir()
	if err := os.CopyFS(filepath.Join(repo, "infra"), os.DirFS(s.Dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repo, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "docs", "guide.md"), []byte("# guide\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(t.TempDir(), "changed.txt")
	if err := os.WriteFile(changed, []byte("docs/guide.md\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctor := append([]string{"--source=" + repo, "--terraform-dir=infra"}, moto.Ctor()...)
	dir := export(t, nil, append(ctor, "pipeline", "--env=test", "--changed-files="+changed)...)
	summary, res := readFile(t, dir, "summary.md"), readResult(t, dir)
	if res.Verdict != "pass" || !strings.Contains(summary, "No change touches the stack `infra`") || !strings.Contains(summary, "`docs/guide.md`") ||
		!strings.Contains(lastSummaryLine(summary), "--terraform-dir=infra") || !strings.Contains(lastSummaryLine(summary), "pipeline --env=test --changed-files=./changed.txt") {
		t.Errorf("verdict %s, summary:\n%s", res.Verdict, summary)
	}
	// Without --terraform-dir the pipeline looks for terraform/, which this repository does
	// not have: an error naming its stack, not a change that touches nothing.
	noDir := append([]string{"--source=" + repo}, moto.Ctor()...)
	if out := mustFail(t, nil, append(noDir, "pipeline", "--env=test", "--changed-files="+changed)...).Output(); !strings.Contains(out, "the repository's stacks are infra") {
		t.Errorf("a pipeline without its stack's directory did not fail naming the stack:\n%s", lastLines(out, 20))
	}
	if _, ok := moto.State(t, testKey); ok {
		t.Error("a change outside the stack applied something")
	}
	mustCall(t, nil, "verdict", "--report="+dir)

	// A manual dispatch always runs, whatever the list says.
	dir = export(t, nil, append(ctor, "pipeline", "--env=test", "--dry-run", "--changed-files="+changed, "--github-event-name=workflow_dispatch")...)
	if summary := readFile(t, dir, "summary.md"); strings.Contains(summary, "No change touches") || !strings.Contains(summary, "| Plan |") {
		t.Errorf("a dispatch with the same list did not run:\n%s", summary)
	}
}
