package plan

import (
	tfjson "github.com/hashicorp/terraform-json"
)

// FailedCheck is a check block (or a condition) that a plan found failing. Terraform only
// warns of a failing check block, in its log: the plan succeeds, and a pipeline that read
// nothing else said PASS while Terraform said "Check block assertion failed".
type FailedCheck struct {
	// Address is the check's, e.g. check.enough_replicas or module.db.check.backups[0].
	Address string `json:"address"`
	// Errored is a check that could not be evaluated (a data source that failed to read), as
	// opposed to one whose condition was false.
	Errored bool `json:"errored,omitempty"`
	// Problems are the author's error messages.
	Problems []string `json:"problems,omitempty"`
}

// failedChecks are the failing instances of the plan's checks ("checks", plan format 1.2
// and later). Checks whose result is unknown until apply are not failures.
func failedChecks(checks []tfjson.CheckResultStatic) []FailedCheck {
	var out []FailedCheck
	for _, c := range checks {
		if c.Status != tfjson.CheckStatusFail && c.Status != tfjson.CheckStatusError {
			continue
		}
		for _, in := range c.Instances {
			if in.Status != tfjson.CheckStatusFail && in.Status != tfjson.CheckStatusError {
				continue
			}
			fc := FailedCheck{Address: in.Address.ToDisplay, Errored: in.Status == tfjson.CheckStatusError}
			if fc.Address == "" {
				fc.Address = c.Address.ToDisplay
			}
			for _, p := range in.Problems {
				fc.Problems = append(fc.Problems, p.Message)
			}
			out = append(out, fc)
		}
	}
	return out
}
