package environment

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/sethvargo/go-githubactions"

	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// Trigger is what the workflow knows about why it runs. The Dagger module cannot see the
// runner's environment variables, so the workflow passes these values in explicitly.
type Trigger struct {
	EventName string // GITHUB_EVENT_NAME, e.g. push, pull_request, workflow_dispatch
	Ref       string // GITHUB_REF, e.g. refs/heads/main
	// EventPath is GITHUB_EVENT_PATH, the webhook payload as a file; optional. When set, the
	// workflow_dispatch input and a missing ref are read from it.
	EventPath string
	// Input is the workflow_dispatch input value (inputs.environment); optional, and when
	// given it wins over the payload.
	Input string
}

// Target is the resolved environment and the rule that chose it, for the run's log.
type Target struct {
	Name Name
	Why  string
}

// ErrNothingToDeploy is returned (wrapped, with the reason) for an event that needs no run:
// a push that deleted a branch or tag. Callers report it and succeed without planning.
var ErrNothingToDeploy = errors.New("nothing to deploy")

// Resolve decides which environment a run targets: a workflow_dispatch input wins, then the
// first matching rule of the config. Whatever the source, the result is checked against the
// profile names, so nothing from an event payload reaches a shell unchecked.
func (c Config) Resolve(t Trigger) (Target, error) {
	gh, err := githubContext(t)
	if err != nil {
		return Target{}, err
	}
	input := c.DispatchInput
	if input == "" {
		input = DefaultDispatchInput
	}
	if gh.EventName == "workflow_dispatch" {
		value, from := t.Input, "the workflow input"
		if value == "" {
			value, from = payloadInput(gh.Event, input), "the event payload's inputs."+input
		}
		if value != "" {
			n, err := ParseName(value)
			if err != nil {
				return Target{}, fmt.Errorf("workflow_dispatch input %s: %w", input, err)
			}
			return Target{Name: n, Why: "workflow_dispatch: " + from + " is " + string(n)}, nil
		}
	} else if t.Input != "" {
		// An explicit choice from the caller (e.g. the CLI) still wins on other events.
		n, err := ParseName(t.Input)
		if err != nil {
			return Target{}, fmt.Errorf("environment input: %w", err)
		}
		return Target{Name: n, Why: "explicit input " + string(n)}, nil
	}
	ref := gh.Ref
	if ref == "" {
		if r, ok := gh.Event["ref"].(string); ok {
			ref = r
		}
	}
	if deleted, _ := gh.Event["deleted"].(bool); deleted && gh.EventName == "push" {
		return Target{}, fmt.Errorf("the push deleted %s: %w", untrusted.Quote(ref), ErrNothingToDeploy)
	}
	for _, r := range c.rulesOrDefault() {
		if r.Event != gh.EventName {
			continue
		}
		if ok, _ := matchRef(r.Ref, ref); !ok {
			continue
		}
		if _, err := ParseName(string(r.Environment)); err != nil {
			return Target{}, fmt.Errorf("rule for %s: %w", r.Event, err)
		}
		why := "event " + r.Event
		if r.Ref != "" {
			why += " on " + r.Ref
		}
		return Target{Name: r.Environment, Why: why}, nil
	}
	// An event no rule names is likely a typo: say which events the rules cover.
	var events []string
	for _, r := range c.rulesOrDefault() {
		if !slices.Contains(events, r.Event) {
			events = append(events, r.Event)
		}
	}
	covered := ""
	if !slices.Contains(events, gh.EventName) {
		covered = " (the rules cover the events " + strings.Join(events, ", ") + ")"
	}
	return Target{}, fmt.Errorf("no environment for event %s on ref %s%s: pass the %q input, or add a rule under resolve.rules in %s",
		untrusted.Quote(gh.EventName), untrusted.Quote(ref), covered, input, ConfigFile)
}

func (c Config) rulesOrDefault() []Rule {
	if c.Rules == nil && c.profiles == nil {
		return DefaultRules
	}
	return c.Rules
}

// githubContext builds the go-githubactions context from the trigger's values instead of the
// process environment; the library then parses the payload file when one is given.
func githubContext(t Trigger) (*githubactions.GitHubContext, error) {
	if t.EventPath != "" {
		// The library ignores a missing payload file; a typo here would silently drop the
		// workflow_dispatch input, so insist.
		if _, err := os.Stat(t.EventPath); err != nil {
			return nil, fmt.Errorf("read GitHub event payload: %w", err)
		}
	}
	env := map[string]string{
		"GITHUB_EVENT_NAME": t.EventName,
		"GITHUB_REF":        t.Ref,
		"GITHUB_EVENT_PATH": t.EventPath,
	}
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }))
	gh, err := a.Context()
	if err != nil {
		return nil, fmt.Errorf("read GitHub event %s: %w", t.EventPath, err)
	}
	if gh.EventName == "" {
		return nil, fmt.Errorf("no GitHub event name: pass GITHUB_EVENT_NAME (push, pull_request, workflow_dispatch, ...)")
	}
	return gh, nil
}

func payloadInput(event map[string]any, name string) string {
	inputs, _ := event["inputs"].(map[string]any)
	s, _ := inputs[name].(string)
	return s
}

// matchRef matches a full ref against a rule's ref or pattern; empty matches all. Patterns
// are doublestar's, as GitHub Actions' branch filters read theirs: "*" and "?" stay within a
// segment, "**" as a whole segment crosses "/" (refs/heads/** matches refs/heads/feature/x).
func matchRef(pattern, ref string) (bool, error) {
	if pattern == "" {
		return true, nil
	}
	return doublestar.Match(pattern, ref)
}
