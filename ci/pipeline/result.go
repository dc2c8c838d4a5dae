package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/notify"
	"github.com/infrapipe/infrapipe/ci/state"
)

// ResultFile is the file of a report directory that `verdict` reads.
const ResultFile = "result.json"

// Result is the verdict part of result.json. Every report a CI job uploads before it fails
// carries one (pipeline and drift), so one last step, `verdict --report`, fails the job
// after the report is safe, the same way for every report.
type Result struct {
	// Check names what ran, e.g. "pipeline" or "drift"; empty reads as "pipeline".
	Check   string           `json:"check,omitempty"`
	Env     environment.Name `json:"env"`
	Verdict gate.Verdict     `json:"verdict"`
	Reasons []string         `json:"reasons"`
	// Blocking are the reasons that block, when they are fewer than Reasons (a pipeline
	// that also warned): `verdict` fails with them alone.
	Blocking []string `json:"blocking,omitempty"`
	// Notifications say how the run was announced; a failed delivery never changes the
	// verdict.
	Notifications []notify.Delivery `json:"notifications,omitempty"`
}

// ReadReport reads the result of a report directory that `verdict --report` was given; a
// directory without result.json is named as not a report, rather than as a missing file.
func ReadReport(read environment.ReadFile) (Result, error) {
	data, ok, err := read(ResultFile)
	if err != nil {
		return Result{}, fmt.Errorf("read %s of --report: %w", ResultFile, err)
	}
	if !ok {
		return Result{}, fmt.Errorf("--report has no %s, so it is not a report: give the directory pipeline or drift exported with --report-on-failure, e.g. --report=./reports", ResultFile)
	}
	return ReadResult(ResultFile+" of --report", data)
}

// ReadResult reads the verdict part of a result.json; name says where it came from.
func ReadResult(name string, data []byte) (Result, error) {
	var r Result
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&r); err != nil {
		return Result{}, fmt.Errorf("%s: not a report result: %w", name, err)
	}
	switch r.Verdict {
	case gate.Pass, gate.Warn, gate.Block:
	default:
		return Result{}, fmt.Errorf("%s: verdict %q: valid values are pass, warn, block", name, r.Verdict)
	}
	if _, err := environment.ParseName(string(r.Env)); err != nil {
		return Result{}, fmt.Errorf("%s: env: %w", name, err)
	}
	if r.Check == "" {
		r.Check = "pipeline"
	}
	return r, nil
}

// Err is nil unless the result blocks; then it lists the reasons.
func (r Result) Err() error {
	if r.Verdict != gate.Block {
		return nil
	}
	check := r.Check
	if check == "" {
		check = "pipeline"
	}
	reasons := r.Reasons
	if len(r.Blocking) > 0 {
		reasons = r.Blocking
	}
	if len(reasons) == 0 {
		return fmt.Errorf("%s %s blocked (result.json gives no reason)", r.Env, check)
	}
	return fmt.Errorf("%s %s blocked:\n- %s", r.Env, check, strings.Join(reasons, "\n- "))
}

// String is the line `verdict` prints for a result that does not block.
func (r Result) String() string {
	check := r.Check
	if check == "" {
		check = "pipeline"
	}
	return fmt.Sprintf("%s %s: %s", r.Env, check, r.Verdict)
}

// DriftResult judges a drift check. A check that could not run blocks: a scheduled job
// that silently checks nothing is worse than a red one. Drift blocks with failOnDrift and
// warns without it.
func DriftResult(d state.Drift, failOnDrift bool) Result {
	r := Result{Check: "drift", Env: d.Env, Verdict: gate.Pass, Reasons: []string{}}
	switch d.Status {
	case state.DriftNone:
	case state.DriftNoState:
		r.Verdict = gate.Warn
		r.Reasons = append(r.Reasons, state.NoStateReason(d.Env))
	case state.DriftFound:
		r.Verdict = gate.Warn
		if failOnDrift {
			r.Verdict = gate.Block
		}
		what := make([]string, 0, len(d.Changes))
		for _, c := range d.Changes {
			what = append(what, c.Address)
		}
		reason := fmt.Sprintf("%d resource(s) changed outside Terraform", len(d.Changes))
		if len(what) > 0 {
			reason += ": " + strings.Join(what, ", ")
		}
		if len(d.Outputs) > 0 {
			reason += fmt.Sprintf("; output(s) changed: %s", strings.Join(d.Outputs, ", "))
		}
		r.Reasons = append(r.Reasons, reason)
	default:
		r.Verdict = gate.Block
		msg := d.Error
		if msg == "" {
			msg = fmt.Sprintf("status %q", d.Status)
		}
		r.Reasons = append(r.Reasons, "the drift check failed: "+msg)
	}
	return r
}

// TestsResult is the result of the post-deploy tests: blocked by the checks that failed
// (each "check: why"), so `verdict` fails a job that kept the test report.
func TestsResult(env environment.Name, failed []string) Result {
	o := TestsOutcome(failed)
	r := Result{Check: "test", Env: env, Verdict: o.Verdict, Reasons: o.Reasons}
	if r.Reasons == nil {
		r.Reasons = []string{}
	}
	return r
}

// FailedCheck is the result of a check that stopped before it could judge anything, so its
// report still carries a verdict.
func FailedCheck(check string, env environment.Name, err error) Result {
	return Result{Check: check, Env: env, Verdict: gate.Block, Reasons: []string{fmt.Sprintf("the %s check failed: %v", check, err)}}
}
