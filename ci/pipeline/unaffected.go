package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/ghactions"
)

// UnaffectedFiles are the report files, name then contents, of a pipeline run on env whose
// change touches nothing the pipeline deploys (ci/changes decided): it passes with
// has_changes=false, and its summary lists what did change.
func UnaffectedFiles(env string, changed []string) ([]string, error) {
	name, err := environment.ParseName(env)
	if err != nil {
		return nil, err
	}
	res := RunResult{Result: Result{Check: "pipeline", Env: name, Verdict: gate.Pass, Reasons: []string{}},
		Outputs: map[string]string{"verdict": string(gate.Pass), "environment": env, "has_changes": "false"}}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write result.json: %w", err)
	}
	gh, err := GitHubFiles(res.Outputs, nil, ghactions.AnnotateOptions{})
	if err != nil {
		return nil, err
	}
	return append(gh, "summary.md", changes.Unaffected(env, changed), ResultFile, string(js)+"\n"), nil
}
