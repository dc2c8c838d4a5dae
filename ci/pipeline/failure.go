package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gitauth"
	"github.com/infrapipe/infrapipe/ci/report"
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
	err := fmt.Errorf("%s failed in %s (exit code %d):\n%s", step, env, code, report.Tail(output, 60))
	if strings.Contains(output, "No value for required variable") {
		// Terraform's own advice, -var or -var-file, names flags the pipeline does not take.
		err = fmt.Errorf("%w\nThe pipeline passes no -var: set the variable in %s's var file (environments/%s.tfvars unless pipeline.yaml's var_file says otherwise), or, for a secret, in --tf-var-file", err, env, env)
	}
	if step == "terraform apply" {
		err = partApplied(err, env, output)
	}
	if h := Hint(output); h != "" {
		err = fmt.Errorf("%w\n%s", err, h)
	}
	return err
}

// hints are the pipeline's advice for Terraform errors whose own advice names what a user of
// the pipeline does not run by hand: the Terraform binary, provider installation, module
// downloads. Terraform wraps its messages, so words are matched across line breaks.
var hints = []struct {
	shows *regexp.Regexp
	say   string
}{
	{regexp.MustCompile(`Unsupported\s+Terraform\s+Core\s+version`),
		"The configuration's required_version does not allow this run's Terraform: pin a version it allows in .terraform-version (the log says which file pinned this one, if any), or pass --terraform-version=<a version it allows> (the image hashicorp/terraform:<version>), or --terraform-image=<an image with one>."},
	{regexp.MustCompile(`doesn't\s+match\s+any\s+of\s+the\s+checksums\s+previously\s+recorded`),
		"The lock file (.terraform.lock.hcl) has no checksum of this provider for linux_amd64, where the pipeline runs: run terraform providers lock -platform=linux_amd64 -platform=<yours, e.g. darwin_arm64> and commit the lock file."},
	{regexp.MustCompile(`previously-selected\s+version\s+\S+\s+is\s+no\s+longer\s+available|locked\s+provider\s+\S+\s+\S+\s+does\s+not\s+match\s+configured\s+version\s+constraint`),
		"The lock file (.terraform.lock.hcl) selects a provider version this run cannot install (with --terraform-image, only the image's providers are there): use an image that has it, or update the lock file (terraform init -upgrade) and commit it."},
	{regexp.MustCompile(`failed\s+to\s+resolve\s+(source\s+metadata\s+for|image)\s+"?\S*hashicorp/terraform:`),
		"The Terraform image cannot be pulled: its version comes from --terraform-version, the stack's .terraform-version or a required_version that allows one version (the log says which pinned it), else the default. Pin a version that has an image, or pass --terraform-image=<an image you can pull, e.g. a registry mirror's>."},
	{regexp.MustCompile(`Unable\s+to\s+find\s+remote\s+state`),
		"A terraform_remote_state this stack reads has no state in this environment yet (its defaults do not cover a state that is missing): the stack that writes it was never applied here. Apply that stack first (with it in pipeline.yaml's stacks.depends_on, pipeline --stacks=<both> applies them in that order), or point this environment's variables file at a state that exists. A pull request's dry run applies nothing, so in preview the stack it reads must already be deployed."},
	{regexp.MustCompile(`Could\s+not\s+download\s+module`),
		"A module source could not be fetched from the pipeline's containers. A private git source needs a token that can read it: pass --git-credentials=env:GIT_CREDENTIALS, git's credential-store lines (" + gitauth.Example + "); an ssh source of that host is then fetched over HTTPS, as the containers hold no SSH key. A private registry's module is vendored into the repository or given a local path."},
}

// Hint is the pipeline's advice on what a failed Terraform command printed, "" when it
// printed nothing hints know.
func Hint(output string) string {
	var says []string
	for _, h := range hints {
		if h.shows.MatchString(output) {
			says = append(says, h.say)
		}
	}
	return strings.Join(says, "\n")
}

// WithHint is msg and, on a line of its own, Hint's advice on it when msg does not give
// that advice already (an error that carries an earlier one).
func WithHint(msg string) string {
	if h := Hint(msg); h != "" && !strings.Contains(msg, h) {
		return msg + "\n" + h
	}
	return msg
}

// NotRun is the error of a step whose command could not run at all (its container could
// not be set up): msg is the engine's error, masked already.
func NotRun(step string, env environment.Name, msg string) error {
	return fmt.Errorf("%s (%s): %s", step, env, WithHint(msg))
}

// SetupFailed is the error of a container whose set-up command (cmd, e.g. the providers'
// install) exited with code before the step's own command: what it printed is the reason,
// which the engine's message ("exit code: 1" and a trace ID) leaves out.
func SetupFailed(cmd []string, code int, stdout, stderr string) error {
	output := stderr + "\n" + stdout
	return errors.New(WithHint(fmt.Sprintf("%s exited with code %d:\n%s", commands.Describe(cmd), code, report.Tail(output, 40))))
}

// completed matches Terraform's line for each change an apply finished.
var completed = regexp.MustCompile(`(?m): (Creation|Modifications|Destruction) complete after `)

// alreadyExists matches the AWS errors of a create whose object exists outside Terraform.
var alreadyExists = regexp.MustCompile(`ResourceInUseException|BucketAlreadyOwnedByYou|BucketAlreadyExists|EntityAlreadyExists|ResourceAlreadyExistsException|already exists`)

// partApplied says what a failed apply left: Terraform stops at the first error with the
// changes it finished already in the state, which the message "apply failed" hid; and a
// create refused because the object exists is what import is for.
func partApplied(err error, env environment.Name, output string) error {
	if n := len(completed.FindAllString(output, -1)); n > 0 {
		err = fmt.Errorf("%w\nThe apply stopped part-way: the %d change(s) it completed before the error are in the state of %s, the rest are not. A saved plan is applied once: plan %s again to see what is left", err, n, env, env)
	}
	if alreadyExists.MatchString(output) {
		err = fmt.Errorf("%w\nA resource the plan creates already exists outside Terraform: adopt it with this module's import (import --env=%s --project=<your Project tag> finds it by its tags), then plan again", err, env)
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
