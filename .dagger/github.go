package main

import (
	"context"
	"fmt"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/ghactions"
)

// gitHub holds the GitHub Actions facts a workflow passes in. The module cannot see the
// runner's environment; every value is untrusted until ci/ghactions has validated it.
type gitHub struct {
	eventName    string
	ref          string
	requestedEnv string
	event        *dagger.File
}

// given reports whether the call came with GitHub context at all.
func (g gitHub) given() bool {
	return g.eventName != "" || g.ref != "" || g.requestedEnv != "" || g.event != nil
}

// ResolveEnv says which environment a GitHub Actions run targets and why, as
// "<environment><TAB><why>", e.g. "test<TAB>event push on refs/heads/main", or "none<TAB>why"
// when there is nothing to deploy (a push that deleted a branch or tag). A workflow_dispatch
// input wins, then pipeline.yaml's event rules (by default a pull request targets preview
// and a push to main targets test). Hostile values are rejected.
func (m *Infra) ResolveEnv(
	ctx context.Context,
	// The event name, e.g. --github-event-name="$GITHUB_EVENT_NAME".
	githubEventName string,
	// The ref, e.g. --github-ref="$GITHUB_REF".
	// +optional
	githubRef string,
	// The environment asked for, e.g. the workflow_dispatch input.
	// +optional
	requestedEnv string,
	// The event payload, e.g. --github-event="$GITHUB_EVENT_PATH".
	// +optional
	githubEvent *dagger.File,
) (string, error) {
	return ghactions.TargetLine(m.gitHubContext(ctx, gitHub{githubEventName, githubRef, requestedEnv, githubEvent}))
}

// gitHubContext validates the values and resolves the target environment with ci/ghactions
// and the repository's pipeline.yaml rules.
func (m *Infra) gitHubContext(ctx context.Context, g gitHub) (*ghactions.Context, error) {
	cfg, err := m.config(ctx)
	if err != nil {
		return nil, err
	}
	v := ghactions.Values{EventName: g.eventName, Ref: g.ref, RequestedEnv: g.requestedEnv, EventLabel: "--github-event"}
	if g.event != nil {
		payload, err := g.event.Contents(ctx)
		if err != nil {
			return nil, fmt.Errorf("read --github-event: %w", err)
		}
		v.Event = []byte(payload)
	}
	return ghactions.NewContext(cfg, v)
}
