package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// quotingPolicy is a user rule that quotes an attribute in its message, as a careless
// policy may: the plan JSON holds sensitive values in clear.
const quotingPolicy = `package infrapipe.quotes_input

deny contains {"rule": "quotes_input", "severity": "HIGH", "resource": rc.address,
	"message": sprintf("%s has input %v", [rc.address, rc.change.after.input])} if {
	some rc in input.resource_changes
	rc.type == "terraform_data"
}
`

// TestPolicyMessagesRedacted runs real opa on a real plan whose input comes from a
// sensitive variable: the policy's message carries the secret, and findings.Redact with
// plan.SensitiveValues removes it before it can reach a summary, the SARIF or a log.
func TestPolicyMessagesRedacted(t *testing.T) {
	const secret = "s3cr3t-db-password"
	js := tftest.SensitivePlan(t, secret)
	tmp := t.TempDir()
	planFile, userDir := filepath.Join(tmp, "plan.json"), filepath.Join(tmp, "policies")
	if err := os.MkdirAll(userDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planFile, js, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(userDir, "quotes.rego"), []byte(quotingPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runOPA(t, Eval{User: []string{userDir}, Input: planFile})
	if err != nil {
		t.Fatalf("opa eval: %v\n%s", err, out)
	}
	r, err := Parse("opa.json", out)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 1 || !strings.Contains(r.Findings[0].Message, secret) {
		t.Fatalf("test is broken: the policy's message should quote the secret: %+v", r.Findings)
	}
	values, err := plan.SensitiveValues(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	got := findings.Redact(r.Findings, values)
	if want := "terraform_data.db has input " + findings.Redacted; got[0].Message != want {
		t.Errorf("redacted message %q, want %q", got[0].Message, want)
	}
}
