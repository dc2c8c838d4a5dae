package pipeline

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
)

func TestToolsOutcome(t *testing.T) {
	checkov := Tool{Name: "checkov", Image: "bridgecrew/checkov:3.2.524", Flag: "checkov-image"}
	// What a v0.19 engine says when the image is in no registry it can reach.
	missing := errors.New("checkov: input: container.from resolve: failed to resolve source metadata for docker.io/bridgecrew/checkov:3.2.524: docker.io/bridgecrew/checkov:3.2.524: not found")
	crashed := errors.New("exit code: 2\n\nStderr:\nTraceback (most recent call last):\nModuleNotFoundError: No module named 'bc_jsonpath_ng'")
	for _, tc := range []struct {
		env     environment.Name
		err     error
		verdict gate.Verdict
		reason  string
	}{
		{environment.Test, missing, gate.Warn, "checkov could not run: image bridgecrew/checkov:3.2.524 is not available (use --checkov-image to pick another); in test a check that could not run warns"},
		{environment.Staging, missing, gate.Warn, "; in staging a check that could not run warns"},
		{environment.Prod, missing, gate.Block, "checkov could not run: image bridgecrew/checkov:3.2.524 is not available (use --checkov-image to pick another); in prod a check that could not run blocks"},
		{environment.Test, crashed, gate.Warn, "checkov could not run in image bridgecrew/checkov:3.2.524 (use --checkov-image to pick another): ModuleNotFoundError: No module named 'bc_jsonpath_ng'; in test a check that could not run warns"},
	} {
		p, err := environment.Default(tc.env)
		if err != nil {
			t.Fatal(err)
		}
		o := ToolsOutcome(p, StepSecurityScan, []ToolFailure{{Tool: checkov, Err: tc.err}})
		if o.Verdict != tc.verdict || len(o.Reasons) != 1 || !strings.Contains(o.Reasons[0], tc.reason) {
			t.Errorf("%s: %s %q, want %s containing %q", tc.env, o.Verdict, o.Reasons, tc.verdict, tc.reason)
		}
	}
	p, _ := environment.Default(environment.Prod)
	if o := ToolsOutcome(p, StepSecurityScan, nil); o.Verdict != gate.Pass || len(o.Reasons) != 0 {
		t.Errorf("no failed tool: %v, want a pass without reasons", o)
	}
}

func TestMerge(t *testing.T) {
	a := Outcome{Step: StepCompliance, Verdict: gate.Pass}
	b := Outcome{Step: StepCompliance, Verdict: gate.Warn, Reasons: []string{"terraform-compliance could not run"}}
	if got := Merge(a, b); got.Verdict != gate.Warn || len(got.Reasons) != 1 || got.Step != StepCompliance {
		t.Errorf("Merge: %+v", got)
	}
	// A warning beside a block stays a warning: the summary and verdict do not call it a
	// block.
	c := Outcome{Step: StepCompliance, Verdict: gate.Block, Reasons: []string{"2 findings"}}
	got := Merge(c, b)
	if got.Verdict != gate.Block || !slices.Equal(got.Reasons, []string{"2 findings"}) || !slices.Equal(got.Warnings, []string{"terraform-compliance could not run"}) {
		t.Errorf("Merge: %+v", got)
	}
	if r := Reasons([]Outcome{got}, gate.Block); !slices.Equal(r, []string{"Compliance: 2 findings"}) {
		t.Errorf("Reasons at block: %q", r)
	}
	if r := Reasons([]Outcome{got}, gate.Warn); !slices.Equal(r, []string{"Compliance: 2 findings", "Compliance: terraform-compliance could not run"}) {
		t.Errorf("Reasons at warn: %q", r)
	}
	if h := Header(Run{Env: "staging"}, []Outcome{got}); !strings.Contains(h, "- **block** Compliance: 2 findings\n- **warn** Compliance: terraform-compliance could not run\n") {
		t.Errorf("the summary's reasons:\n%s", h)
	}
}

func TestImageUnavailable(t *testing.T) {
	for msg, want := range map[string]bool{
		"failed to resolve source metadata for docker.io/x/y:1: not found":                      true,
		"pull access denied for x/y, repository does not exist":                                 true,
		"GET https://registry.example.com/v2/x/manifests/1: MANIFEST_UNKNOWN: manifest unknown": true,
		"exit code: 1\nchecks failed":                                                           false,
		// A tool that ran, and failed to download something of its own.
		"tflint: exit code 1:\nFailed to fetch GitHub releases: dial tcp: lookup api.github.com: no such host":               false,
		"tflint: tflint exited with code 1:\nFailed to fetch GitHub releases: dial tcp: lookup api.github.com: no such host": false,
	} {
		if got := ImageUnavailable(errors.New(msg)); got != want {
			t.Errorf("ImageUnavailable(%q) = %v, want %v", msg, got, want)
		}
	}
	if ImageUnavailable(nil) {
		t.Error("ImageUnavailable(nil)")
	}
}
