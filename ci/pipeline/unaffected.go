package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/ghactions"
	"github.com/infrapipe/infrapipe/ci/report"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

// Unaffected is the report of a pipeline run on env whose change (changed, as
// changes.ReadList read it) touches nothing the pipeline deploys in dir, as name, contents
// pairs (UnaffectedFiles), or nil when the pipeline must run (changes.Decide). Its summary
// names the repository's stacks the change does touch (none when the stacks cannot be
// read: the run is still unaffected).
func Unaffected(tree stacks.Tree, env, dir string, changed []string, reproduce Command) ([]string, error) {
	d, err := changes.Decide(tree, dir, changed)
	if err != nil || d.Affected {
		return nil, err
	}
	var sel stacks.Selection
	if repo, err := stacks.Discover(tree); err == nil {
		sel, _ = repo.Changed(tree, changed)
	}
	others, dependent := sel.Others(dir)
	return UnaffectedFiles(env, dir, changed, others, dependent, reproduce)
}

// UnaffectedFiles are the report files, name then contents, of a pipeline run on env whose
// change touches nothing the pipeline deploys in dir (ci/changes decided): it passes with
// has_changes=false, and its summary names the other stacks the change touches (others;
// dependent when dir depends on one), lists what did change and ends with the reproduce
// line; comment.md replaces the pull request's comment with it.
func UnaffectedFiles(env, dir string, changed, others []string, dependent bool, reproduce Command) ([]string, error) {
	name, err := environment.ParseName(env)
	if err != nil {
		return nil, err
	}
	res := RunResult{Result: Result{Check: "pipeline", Env: name, Verdict: gate.Pass, Reasons: []string{}},
		Outputs: map[string]string{"verdict": string(gate.Pass), "environment": env, "has_changes": "false", "reproduce": reproduce.String()}}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write result.json: %w", err)
	}
	gh, err := GitHubFiles(res.Outputs, nil, ghactions.AnnotateOptions{})
	if err != nil {
		return nil, err
	}
	summary := changes.Unaffected(env, dir, changed, others, dependent) + "\n" + reproduce.Markdown()
	// The pull request's comment says so too: one an earlier push left would show a plan
	// this change no longer makes.
	return append(gh, "summary.md", summary, "comment.md", report.Comment(env, report.Text(summary)), ResultFile, string(js)+"\n"), nil
}
