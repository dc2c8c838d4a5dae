package pipeline

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/notify"
	"github.com/infrapipe/infrapipe/ci/plan"
	"github.com/infrapipe/infrapipe/ci/runs"
	"github.com/infrapipe/infrapipe/ci/state"
)

// DriftReport is a drift check's report: what drifted, or why the check could not run,
// and the verdict. The caller announces it (Message), records it (Facts), and then writes
// its files.
type DriftReport struct {
	// Drift is ci/state's report; a check that could not run is one with status error and
	// no changes, so drift.json is never missing from a scheduled job's artifact.
	Drift  state.Drift
	Result Result
	md     string
}

// NewDriftReport judges the drift check of env that returned d, or err when it could not
// run (which blocks, see DriftResult).
func NewDriftReport(env environment.Name, d state.Drift, err error, failOnDrift bool) DriftReport {
	if err != nil {
		res := FailedCheck("drift", env, err)
		return DriftReport{
			Drift:  state.Drift{Env: env, Status: state.DriftError, Changes: []state.DriftChange{}, Error: strings.Join(res.Reasons, "; ")},
			Result: res,
			md:     DriftFailed(env, err),
		}
	}
	return DriftReport{Drift: d, Result: DriftResult(d, failOnDrift), md: d.Markdown()}
}

// Message is the notification of the check.
func (r DriftReport) Message(runURL string, reproduce Command) notify.Message {
	return notify.Message{
		Check: "drift", Env: r.Result.Env, Verdict: string(r.Result.Verdict), Reasons: r.Result.Reasons,
		Counts: map[string]int{"drifted": len(r.Drift.Changes)}, RunURL: runURL, Reproduce: reproduce.String(),
	}
}

// Facts are the check's run record, for a check that started at started and ended at
// ended.
func (r DriftReport) Facts(started, ended time.Time, reproduce Command) runs.Facts {
	return runs.Facts{
		Kind: runs.KindDrift, Started: started, Verdict: r.Result.Verdict, Reasons: r.Result.Reasons,
		Plan:      &plan.Counts{Drift: len(r.Drift.Changes)},
		Steps:     []runs.Step{runs.StepOf("Drift check", r.Result.Verdict, 0, started, ended)},
		Reproduce: reproduce.String(),
	}
}

// Summary is drift.md without its closing line: the drift (or why the check could not run),
// how it was announced (Result.Notifications) and a warning when its record was not
// written. A failing call ends its error with it.
func (r DriftReport) Summary(record runs.Written) string {
	return r.md + notify.Markdown(r.Result.Notifications) + record.Markdown()
}

// Err is the drift function's failure when the result blocks: the reasons, then the
// summary the report would have held; nil when it does not block.
func (r DriftReport) Err(record runs.Written) error {
	err := r.Result.Err()
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w\n\n%s", err, r.Summary(record))
}

// Files are the report directory's files, as name and contents pairs: drift.md, drift.json
// (ci/state's report) and result.json (the verdict, which `verdict --report` reads).
func (r DriftReport) Files(record runs.Written, reproduce Command) ([]string, error) {
	js, err := json.MarshalIndent(r.Drift, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write drift.json: %w", err)
	}
	result, err := json.MarshalIndent(r.Result, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", ResultFile, err)
	}
	return []string{
		"drift.md", r.Summary(record) + reproduce.Markdown(),
		"drift.json", string(js) + "\n",
		ResultFile, string(result) + "\n",
	}, nil
}
