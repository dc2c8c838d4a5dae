package e2e

import (
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
	s.Write(t, "pipeline.yaml", strings.Replace(readStackFile(t, s, "pipeline.yaml"), "  test:\n", "  test:\n    post_deploy: [converged, outputs]\n", 1))
	ctor := append(s.Ctor(), moto.Ctor()...)
	first := export(t, nil, append(ctor, "pipeline", "--env=test")...)
	if steps := stepNames(readResult(t, first)); !strings.Contains(steps, "Post-deploy tests") {
		t.Fatalf("the first run did not test its apply (steps %s)", steps)
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
