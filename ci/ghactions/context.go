// Package ghactions is the pipeline's GitHub Actions input and output, built on
// go-githubactions: the run's context from the values the workflow passes in (the Dagger
// module cannot see the runner's environment), step outputs in the runner's file format,
// and annotations for findings. Everything that comes from an event or
// a finding is validated or escaped here, so the workflow's YAML needs no logic.
package ghactions

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// Values are the GitHub facts the workflow hands over as plain arguments, e.g.
// --github-event-name="$GITHUB_EVENT_NAME" --github-ref="$GITHUB_REF"
// --requested-env="$INPUT_ENVIRONMENT". All of them are untrusted.
type Values struct {
	EventName string // GITHUB_EVENT_NAME
	Ref       string // GITHUB_REF; read from the payload when empty
	// EventPath is the webhook payload file (GITHUB_EVENT_PATH); optional. Without it the
	// pull request number, the SHA and the workflow_dispatch switches stay unknown.
	EventPath string
	// Event is the payload itself, for a caller that holds no file of it (the module's
	// --github-event); it is kept in a private temporary file while NewContext reads it.
	Event []byte
	// RequestedEnv is the environment the caller asks for (the workflow_dispatch input, or a
	// promotion job's fixed stage); it wins over the event rules.
	RequestedEnv string
	// EventLabel names the payload in errors the way the caller gave it (the module's
	// "--github-event", whose file lives at a temporary path); EventPath when empty.
	EventLabel string
}

func (v Values) eventLabel() string {
	if v.EventLabel != "" {
		return v.EventLabel
	}
	return v.EventPath
}

// Context is one run's GitHub context, validated and resolved to an environment.
type Context struct {
	EventName string
	Ref       string
	// Target is the environment the run deploys to and why, from ci/environment's rules.
	Target environment.Target
	// PullRequest is the pull request's number on pull_request events, else 0.
	PullRequest int
	// SHA is the commit the run is about: the pull request's head or the pushed commit.
	SHA string
	// Base is what the change is compared with: the pull request's base commit, or the
	// commit before a push; empty when unknown (a new branch, another event).
	Base string
	// Inputs are the workflow_dispatch switches from the payload; on pull request events
	// DryRun is on (code under review is planned, never applied) and the rest are off.
	Inputs Inputs
	// Actor is the login of who triggered the event (the payload's sender), for the run
	// record; empty when the payload has none or it is not a GitHub login.
	Actor string
}

// Inputs are the boolean workflow_dispatch inputs of infrastructure.yml.
type Inputs struct {
	ForceRecreate bool
	DryRun        bool
	SkipTests     bool
}

var (
	eventNameRE = regexp.MustCompile(`^[a-z_]{1,64}$`)
	shaRE       = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	// loginRE is a GitHub login, or an app's bot account (dependabot[bot]).
	loginRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$`)
)

// NewContext validates the values, reads the payload through go-githubactions and resolves
// the target environment with cfg's rules (environment.Config.Resolve: a requested
// environment wins, then the first matching event rule).
func NewContext(cfg environment.Config, v Values) (*Context, error) {
	if v.EventName == "" {
		return nil, fmt.Errorf("no GitHub event name given: --github-ref and --requested-env need --github-event-name, e.g. --github-event-name=workflow_dispatch; without GitHub values, pass --env")
	}
	if !eventNameRE.MatchString(v.EventName) {
		return nil, fmt.Errorf("GitHub event name %s is not valid: expected an event such as push, pull_request or workflow_dispatch", untrusted.Quote(v.EventName))
	}
	if v.Ref != "" {
		if err := checkRef(v.Ref); err != nil {
			return nil, err
		}
	}
	if v.Event != nil {
		dir, err := os.MkdirTemp("", "github-event")
		if err != nil {
			return nil, fmt.Errorf("keep the GitHub event payload %s: %w", v.eventLabel(), err)
		}
		defer os.RemoveAll(dir)
		v.EventPath = filepath.Join(dir, "event.json")
		if err := os.WriteFile(v.EventPath, v.Event, 0o600); err != nil {
			return nil, fmt.Errorf("keep the GitHub event payload %s: %w", v.eventLabel(), err)
		}
	}
	if v.EventPath != "" {
		// go-githubactions skips a missing payload silently; a wrong path must not quietly
		// drop the workflow_dispatch input.
		if _, err := os.Stat(v.EventPath); err != nil {
			return nil, fmt.Errorf("GitHub event payload: %w", err)
		}
	}
	env := map[string]string{
		"GITHUB_EVENT_NAME": v.EventName,
		"GITHUB_REF":        v.Ref,
		"GITHUB_EVENT_PATH": v.EventPath,
	}
	gh, err := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] })).Context()
	if err != nil {
		return nil, fmt.Errorf("GitHub event payload %s: %w", v.eventLabel(), err)
	}

	c := &Context{EventName: gh.EventName, Ref: gh.Ref}
	if c.Ref == "" {
		if ref, ok := gh.Event["ref"].(string); ok && ref != "" {
			if err := checkRef(ref); err != nil {
				return nil, fmt.Errorf("event payload: %w", err)
			}
			c.Ref = ref
		}
	}
	if err := c.readPayload(gh.Event); err != nil {
		return nil, fmt.Errorf("GitHub event payload %s: %w", v.eventLabel(), err)
	}
	if IsPullRequest(c.EventName) {
		c.Inputs.DryRun = true
	}
	c.Target, err = cfg.Resolve(environment.Trigger{
		EventName: v.EventName,
		Ref:       c.Ref,
		EventPath: v.EventPath,
		Input:     v.RequestedEnv,
	})
	if err != nil {
		return nil, fmt.Errorf("resolve the environment: %w", err)
	}
	return c, nil
}

func (c *Context) readPayload(event map[string]any) error {
	if event == nil {
		return nil
	}
	if sender, ok := event["sender"].(map[string]any); ok {
		if login, ok := sender["login"].(string); ok && loginRE.MatchString(login) {
			c.Actor = login
		}
	}
	sha, base := "", ""
	switch {
	case IsPullRequest(c.EventName):
		pr, _ := event["pull_request"].(map[string]any)
		n, ok := pr["number"].(float64)
		if !ok || n < 1 || n > math.MaxInt32 || n != math.Trunc(n) {
			return fmt.Errorf("pull_request.number %s is not a pull request number", untrusted.Quote(fmt.Sprint(pr["number"])))
		}
		c.PullRequest = int(n)
		head, _ := pr["head"].(map[string]any)
		sha, _ = head["sha"].(string)
		b, _ := pr["base"].(map[string]any)
		base, _ = b["sha"].(string)
	case c.EventName == "push":
		sha, _ = event["after"].(string)
		base, _ = event["before"].(string)
	case c.EventName == "workflow_dispatch":
		inputs, _ := event["inputs"].(map[string]any)
		for _, in := range []struct {
			name string
			dst  *bool
		}{
			{"force_recreate", &c.Inputs.ForceRecreate},
			{"dry_run", &c.Inputs.DryRun},
			{"skip_tests", &c.Inputs.SkipTests},
		} {
			b, err := boolInput(in.name, inputs[in.name])
			if err != nil {
				return err
			}
			*in.dst = b
		}
	}
	if sha != "" {
		if !shaRE.MatchString(sha) {
			return fmt.Errorf("commit %s is not a commit SHA", untrusted.Quote(sha))
		}
		c.SHA = sha
	}
	// A push that created a branch has no commit before it: all zeros, unknown here.
	if base != "" && strings.Trim(base, "0") != "" {
		if !shaRE.MatchString(base) {
			return fmt.Errorf("base commit %s is not a commit SHA", untrusted.Quote(base))
		}
		c.Base = base
	}
	return nil
}

// IsPullRequest reports whether an event runs for a pull request's code: such a run is
// always a dry run.
func IsPullRequest(event string) bool {
	return event == "pull_request" || event == "pull_request_target"
}

// boolInput reads a boolean workflow_dispatch input: the payload carries "true"/"false"
// strings, the inputs context real booleans; an absent input is false, the safe default.
func boolInput(name string, v any) (bool, error) {
	switch v := v.(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		switch v {
		case "", "false":
			return false, nil
		case "true":
			return true, nil
		}
	}
	return false, fmt.Errorf("workflow_dispatch input %s is %s: valid values are true and false", name, untrusted.Quote(fmt.Sprint(v)))
}

// checkRef accepts what git accepts as a full ref name (git check-ref-format), so a hostile
// ref cannot carry whitespace, control characters or a workflow command into a log.
func checkRef(ref string) error {
	bad := !strings.HasPrefix(ref, "refs/") || len(ref) > 255 ||
		strings.Contains(ref, "..") || strings.Contains(ref, "//") || strings.Contains(ref, "@{") ||
		strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") || strings.HasSuffix(ref, ".lock") ||
		strings.ContainsAny(ref, " ~^:?*[\\")
	for _, r := range ref {
		if r < 0x20 || r == 0x7f {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("GitHub ref %s is not a valid ref: expected a full ref such as refs/heads/main or refs/pull/1/merge", untrusted.Quote(ref))
	}
	return nil
}
