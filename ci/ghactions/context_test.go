package ghactions

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
)

const prHead = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"

func event(name string) string { return filepath.Join("testdata", "events", name) }

func TestNewContext(t *testing.T) {
	tests := []struct {
		name string
		v    Values
		want Context
	}{
		{
			name: "pull request plans the preview environment",
			v:    Values{EventName: "pull_request", Ref: "refs/pull/2/merge", EventPath: event("pull_request-synchronize.json")},
			want: Context{Actor: "Codertocat", EventName: "pull_request", Ref: "refs/pull/2/merge", PullRequest: 2, SHA: prHead, Base: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
				Inputs: Inputs{DryRun: true}, Target: environment.Target{Name: environment.Preview, Why: "event pull_request"}},
		},
		{
			name: "pull request without a payload still resolves",
			v:    Values{EventName: "pull_request", Ref: "refs/pull/7/merge"},
			want: Context{EventName: "pull_request", Ref: "refs/pull/7/merge", Inputs: Inputs{DryRun: true},
				Target: environment.Target{Name: environment.Preview, Why: "event pull_request"}},
		},
		{
			name: "push to main deploys test; the ref comes from the payload when not passed",
			v:    Values{EventName: "push", EventPath: event("push-main.json")},
			want: Context{Actor: "Codertocat", EventName: "push", Ref: "refs/heads/main", SHA: prHead, Base: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
				Target: environment.Target{Name: environment.Test, Why: "event push on refs/heads/main"}},
		},
		{
			name: "a promotion job names its stage on a push",
			v:    Values{EventName: "push", Ref: "refs/heads/main", EventPath: event("push-main.json"), RequestedEnv: "staging"},
			want: Context{Actor: "Codertocat", EventName: "push", Ref: "refs/heads/main", SHA: prHead, Base: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
				Target: environment.Target{Name: environment.Staging, Why: "explicit input staging"}},
		},
		{
			name: "a pull request is a dry run even when it names an environment",
			v:    Values{EventName: "pull_request", Ref: "refs/pull/2/merge", EventPath: event("pull_request-synchronize.json"), RequestedEnv: "test"},
			want: Context{Actor: "Codertocat", EventName: "pull_request", Ref: "refs/pull/2/merge", PullRequest: 2, SHA: prHead, Base: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
				Inputs: Inputs{DryRun: true}, Target: environment.Target{Name: environment.Test, Why: "explicit input test"}},
		},
		{
			name: "workflow_dispatch reads the environment and switches from the payload",
			v:    Values{EventName: "workflow_dispatch", Ref: "refs/heads/main", EventPath: event("workflow_dispatch-staging.json")},
			want: Context{Actor: "Codertocat", EventName: "workflow_dispatch", Ref: "refs/heads/main", Inputs: Inputs{ForceRecreate: true},
				Target: environment.Target{Name: environment.Staging, Why: "workflow_dispatch: the event payload's inputs.environment is staging"}},
		},
		{
			name: "workflow_dispatch input passed by the workflow wins over the payload",
			v: Values{EventName: "workflow_dispatch", Ref: "refs/heads/main", EventPath: event("workflow_dispatch-staging.json"),
				RequestedEnv: "prod"},
			want: Context{Actor: "Codertocat", EventName: "workflow_dispatch", Ref: "refs/heads/main", Inputs: Inputs{ForceRecreate: true},
				Target: environment.Target{Name: environment.Prod, Why: "workflow_dispatch: the workflow input is prod"}},
		},
		{
			name: "workflow_dispatch with boolean inputs",
			v:    Values{EventName: "workflow_dispatch", EventPath: event("workflow_dispatch-prod-booleans.json")},
			want: Context{Actor: "Codertocat", EventName: "workflow_dispatch", Ref: "refs/heads/main", Inputs: Inputs{ForceRecreate: true, SkipTests: true},
				Target: environment.Target{Name: environment.Prod, Why: "workflow_dispatch: the event payload's inputs.environment is prod"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewContext(environment.DefaultConfig(), tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("context\n got %+v\nwant %+v", *got, tt.want)
			}
			if tt.v.EventPath == "" {
				return
			}
			// The same payload handed over as bytes (the module's --github-event) reads the same.
			payload, err := os.ReadFile(tt.v.EventPath)
			if err != nil {
				t.Fatal(err)
			}
			v := tt.v
			v.EventPath, v.Event = "", payload
			if got, err := NewContext(environment.DefaultConfig(), v); err != nil || *got != tt.want {
				t.Errorf("from the payload's bytes: context %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
}

// The actor is the payload's sender when it is a GitHub login; anything else is left out
// of the run record rather than failing the run.
func TestActor(t *testing.T) {
	for login, want := range map[string]string{"octocat": "octocat", "dependabot[bot]": "dependabot[bot]", "x\n::error::y": "", "": "", strings.Repeat("a", 40): ""} {
		c := &Context{EventName: "push"}
		if err := c.readPayload(map[string]any{"sender": map[string]any{"login": login}}); err != nil || c.Actor != want {
			t.Errorf("sender %q: actor %q, %v; want %q", login, c.Actor, err, want)
		}
	}
}

func TestNewContextRejects(t *testing.T) {
	malformed := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(malformed, []byte(`{"pull_request": {"number": 2`), 0o644); err != nil {
		t.Fatal(err)
	}
	badSHA := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(badSHA, []byte(`{"after": "abc\n::error::pwned"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	badBase := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(badBase, []byte(`{"after": "`+prHead+`", "before": "HEAD~1 --output=/tmp/x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	badPR := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(badPR, []byte(`{"pull_request": {"number": "2; id\n::error::pwned"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		v    Values
		want []string // parts of the error, in order
	}{
		{
			name: "real workflow_dispatch payload without an environment input",
			v:    Values{EventName: "workflow_dispatch", EventPath: event("workflow_dispatch-name.json")},
			want: []string{`no environment for event "workflow_dispatch" on ref "refs/heads/master"`, `pass the "environment" input`},
		},
		{
			name: "push of a tag matches no rule",
			v:    Values{EventName: "push", Ref: "refs/tags/simple-tag"},
			want: []string{`no environment for event "push" on ref "refs/tags/simple-tag"`},
		},
		{
			name: "hostile workflow_dispatch payload",
			v:    Values{EventName: "workflow_dispatch", EventPath: event("workflow_dispatch-hostile.json")},
			want: []string{`workflow_dispatch input force_recreate is "yes, please": valid values are true and false`},
		},
		{
			name: "hostile requested environment is rejected, escaped",
			v:    Values{EventName: "workflow_dispatch", EventPath: event("workflow_dispatch-staging.json"), RequestedEnv: "prod\n::set-output name=x::1 $(id)"},
			want: []string{`unknown environment "prod\n::set-output name=x::1 $(id)"`, "valid environments are preview, test, staging, prod"},
		},
		{
			name: "hostile environment from the payload",
			v: Values{EventName: "workflow_dispatch", EventPath: func() string {
				p := filepath.Join(t.TempDir(), "event.json")
				if err := os.WriteFile(p, []byte(`{"inputs": {"environment": "prod; rm -rf / %0A"}}`), 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}()},
			want: []string{`unknown environment "prod; rm -rf / %0A"`},
		},
		{
			name: "hostile event name",
			v:    Values{EventName: "push\n::error::pwned"},
			want: []string{`GitHub event name "push\n::error::pwned" is not valid`},
		},
		{
			name: "missing event name",
			v:    Values{Ref: "refs/heads/main"},
			want: []string{"no GitHub event name given: --github-ref and --requested-env need --github-event-name", "pass --env"},
		},
		{
			name: "hostile ref",
			v:    Values{EventName: "push", Ref: "refs/heads/main\n::error::pwned"},
			want: []string{`GitHub ref "refs/heads/main\n::error::pwned" is not a valid ref`},
		},
		{
			name: "ref with a space",
			v:    Values{EventName: "push", Ref: "refs/heads/a b"},
			want: []string{`GitHub ref "refs/heads/a b" is not a valid ref`},
		},
		{
			name: "short ref",
			v:    Values{EventName: "push", Ref: "main"},
			want: []string{`GitHub ref "main" is not a valid ref: expected a full ref such as refs/heads/main`},
		},
		{
			name: "payload file missing",
			v:    Values{EventName: "push", EventPath: filepath.Join(t.TempDir(), "nope.json")},
			want: []string{"GitHub event payload:", "nope.json", "no such file"},
		},
		{
			name: "payload truncated",
			v:    Values{EventName: "pull_request", EventPath: malformed},
			want: []string{"GitHub event payload " + malformed, "unmarshal"},
		},
		{
			name: "payload with a hostile SHA",
			v:    Values{EventName: "push", Ref: "refs/heads/main", EventPath: badSHA},
			want: []string{`commit "abc\n::error::pwned" is not a commit SHA`},
		},
		{
			name: "payload with a hostile base commit",
			v:    Values{EventName: "push", Ref: "refs/heads/main", EventPath: badBase},
			want: []string{`base commit "HEAD~1 --output=/tmp/x" is not a commit SHA`},
		},
		{
			name: "payload with a pull request number that is not one",
			v:    Values{EventName: "pull_request", EventPath: badPR},
			want: []string{`pull_request.number "2; id\n::error::pwned" is not a pull request number`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewContext(environment.DefaultConfig(), tt.v)
			if err == nil {
				t.Fatalf("no error, context %+v", *got)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error holds a raw newline, a hostile value could start a workflow command:\n%s", msg)
			}
			rest := msg
			for _, part := range tt.want {
				i := strings.Index(rest, part)
				if i < 0 {
					t.Fatalf("error %q\nlacks %q (in order)", msg, part)
				}
				rest = rest[i+len(part):]
			}
		})
	}
}

// A repository's pipeline.yaml rules reach the resolution: the context does not decide on
// its own.
func TestNewContextUsesConfigRules(t *testing.T) {
	cfg, err := environment.Parse("pipeline.yaml", []byte(`version: 1
resolve:
  rules:
    - event: push
      ref: refs/tags/*
      environment: prod
`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewContext(cfg, Values{EventName: "push", Ref: "refs/tags/v1.2.0"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Target.Name != environment.Prod {
		t.Errorf("got %+v, want prod for a pushed tag", *got)
	}

	// A push that deleted the tag (GitHub's real payload: deleted, a zero "after") matches
	// the same rule, but there is nothing to deploy: no error to fix, no plan to run.
	_, err = NewContext(cfg, Values{EventName: "push", Ref: "refs/tags/simple-tag", EventPath: event("push-tag-deleted.json")})
	if !errors.Is(err, environment.ErrNothingToDeploy) || !strings.Contains(err.Error(), `the push deleted "refs/tags/simple-tag"`) {
		t.Errorf("deleted tag: error %v, want nothing to deploy naming the ref", err)
	}
	if strings.Contains(fmt.Sprint(err), "add a rule") {
		t.Errorf("deleted tag: error %q tells the user to add a rule", err)
	}
}
