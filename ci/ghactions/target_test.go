package ghactions

import (
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// resolve-env's line is what the workflow splits on a tab: the environment, or "none" when
// there is nothing to deploy, which is not a failure; any other error stays one.
func TestTargetLine(t *testing.T) {
	tagsToProd, err := environment.Parse("pipeline.yaml", []byte("version: 1\nresolve:\n  rules:\n    - event: push\n      ref: refs/tags/*\n      environment: prod\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     environment.Config
		v       Values
		want    string
		wantErr string
	}{
		{"push to main", environment.DefaultConfig(), Values{EventName: "push", EventPath: event("push-main.json")},
			"test\tevent push on refs/heads/main\n", ""},
		{"pull request", environment.DefaultConfig(), Values{EventName: "pull_request", Ref: "refs/pull/7/merge"},
			"preview\tevent pull_request\n", ""},
		{"deleted tag is nothing to deploy", tagsToProd, Values{EventName: "push", Ref: "refs/tags/simple-tag", EventPath: event("push-tag-deleted.json")},
			"none\tresolve the environment: ", ""},
		{"hostile input fails", environment.DefaultConfig(), Values{EventName: "workflow_dispatch", RequestedEnv: "prod; rm -rf /"},
			"", "unknown environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TargetLine(NewContext(tt.cfg, tt.v))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != "" {
					t.Fatalf("got %q, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, tt.want) || !strings.HasSuffix(got, "\n") || strings.Count(got, "\t") != 1 {
				t.Errorf("got %q, want %q…, one tab, one newline at the end", got, tt.want)
			}
		})
	}
}
