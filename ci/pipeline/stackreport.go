package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/report"
)

// ReadStackReport fills in what the combined report takes from a stack's own report
// directory: its verdict, reasons and steps (result.json), its summary, and its
// results.sarif, junit.xml and annotations.txt. A report without result.json (a push that
// deleted a branch has nothing to deploy) passes.
func ReadStackReport(r StackRun, read environment.ReadFile) (StackRun, StackOwn, error) {
	var own StackOwn
	get := func(name string) ([]byte, error) {
		data, ok, err := read(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path.Join(r.Stack, name), err)
		}
		if !ok {
			return nil, nil
		}
		if data == nil {
			data = []byte{} // there, and empty: not the same as missing
		}
		return data, nil
	}
	summary, err := get("summary.md")
	if err != nil {
		return r, own, err
	}
	r.Summary, r.Verdict, r.Reasons = string(summary), gate.Pass, []string{}
	js, err := get(ResultFile)
	if err != nil {
		return r, own, err
	}
	if js != nil {
		res, err := ReadResult(path.Join(r.Stack, ResultFile), js)
		if err != nil {
			return r, own, err
		}
		r.Verdict, r.Reasons = res.Verdict, res.Reasons
		if r.Reasons == nil {
			r.Reasons = []string{}
		}
		var outputs map[string]string
		if r.Steps, outputs, err = readSteps(path.Join(r.Stack, ResultFile), js); err != nil {
			return r, own, err
		}
		r.Changes = outputs["has_changes"] == "true"
		if ref := outputs["plan_ref"]; ref != "" {
			r.Stored = &StackPlan{Ref: ref, SHA256: outputs["plan_sha256"]}
		}
	}
	if own.SARIF, err = get("results.sarif"); err != nil {
		return r, own, err
	}
	if own.JUnit, err = get("junit.xml"); err != nil {
		return r, own, err
	}
	annotations, err := get("annotations.txt")
	own.Annotations = string(annotations)
	return r, own, err
}

// readSteps reads the steps of a pipeline's result.json, whose verdicts the combined
// summary gives their reasons, and its outputs: has_changes (absent from a run that
// planned nothing), and plan_ref and plan_sha256 when it stored its plan; name says where
// it came from.
func readSteps(name string, data []byte) (_ []StepResult, outputs map[string]string, _ error) {
	var res struct {
		Steps   []StepResult      `json:"steps"`
		Outputs map[string]string `json:"outputs"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&res); err != nil {
		return nil, nil, fmt.Errorf("%s: steps: %w", name, err)
	}
	for i, st := range res.Steps {
		switch st.Verdict {
		case gate.Pass, gate.Warn, gate.Block:
		default:
			return nil, nil, fmt.Errorf("%s: steps[%d] (%s): verdict %q: valid values are pass, warn, block", name, i, st.Name, st.Verdict)
		}
	}
	return res.Steps, res.Outputs, nil
}

// StackFailed is the row of a stack whose pipeline could not run at all (no report came
// back): it blocks with the error's first line as its reason (a reproduce line may follow),
// its summary holds the end of the error, and it has no report of its own to point at.
func StackFailed(r StackRun, err error) StackRun {
	reason, _, _ := strings.Cut(err.Error(), "\n")
	r.Verdict, r.Reasons, r.Steps, r.Report = gate.Block, []string{reason}, nil, ""
	r.Summary = "The stack's pipeline could not run:\n\n" + CodeBlock("", report.Tail(err.Error(), 40))
	return r
}
