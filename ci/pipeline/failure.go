package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/state"
)

// StepFailed is the error of a command that had to succeed and exited with code: it names
// the step, the environment and the end of the tool's output, where tools put their error.
// A held state lock is ci/state's *LockError instead (a lock released while the run waited
// is its *LockReleasedError), so the reader gets the lock's holder and how to release it.
//
// The step's name is added to a lock error when the message is read, not now: the module
// fills the error's force-unlock and import lines in afterwards (errors.As).
func StepFailed(step string, env environment.Name, code int, output string, lockTimeout time.Duration, now time.Time) error {
	if lockErr := state.CheckLock(env, output, lockTimeout, now); lockErr != nil {
		return &stepError{step: step, err: lockErr}
	}
	err := fmt.Errorf("%s failed in %s (exit code %d):\n%s", step, env, code, Tail(output, 60))
	if strings.Contains(output, "No value for required variable") {
		// Terraform's own advice, -var or -var-file, names flags the pipeline does not take.
		err = fmt.Errorf("%w\nThe pipeline passes no -var: set the variable in %s's var file (environments/%s.tfvars unless pipeline.yaml's var_file says otherwise), or, for a secret, in --tf-var-file", err, env, env)
	}
	return err
}

// stepError is "<step>: <err>", worded when read.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }

func (e *stepError) Unwrap() error { return e.err }
