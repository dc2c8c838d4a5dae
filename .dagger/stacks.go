package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

// Stacks prints the repository's stacks that a run takes as a GitHub Actions matrix, one
// line of JSON: {"include":[{"stack":"stacks/network","level":0,"depends_on":[]},...]}.
// A workflow runs one job per entry, each the same `dagger call pipeline
// --stacks=<stack>` that a laptop runs; a job of level n waits for those below it.
func (m *Infra) Stacks(
	ctx context.Context,
	// Which stacks: changed (those --changed-files touches), all, or stack directories
	// separated by commas. Default: changed with --changed-files, else all.
	// +optional
	stacks string,
	// The paths the change touches, one a line (git diff --name-only --no-renames <base>
	// <head>; a line "*" means unknown and takes every stack). Only with --stacks=changed or
	// no --stacks: named stacks and all refuse it.
	// +optional
	changedFiles *dagger.File,
) (string, error) {
	if err := pipeline.CheckChangedFiles(stacks, changedFiles != nil); err != nil {
		return "", err
	}
	_, sel, err := m.selectStacks(ctx, stacks, changedFiles, false)
	if err != nil {
		return "", err
	}
	return sel.Matrix() + "\n", nil
}

// selectStacks finds the repository's stacks (ci/stacks) and what spec selects from them.
// always (a manual dispatch, the schedule) takes every stack --changed-files would.
func (m *Infra) selectStacks(ctx context.Context, spec string, changedFiles *dagger.File, always bool) (stacks.Repo, stacks.Selection, error) {
	tree := stackTree{sourceTree{ctx: ctx, src: m.Source}}
	repo, err := stacks.Discover(tree)
	if err != nil {
		return stacks.Repo{}, stacks.Selection{}, err
	}
	var changed []string
	if changedFiles != nil {
		if changed, err = readChangedFiles(ctx, changedFiles); err != nil {
			return repo, stacks.Selection{}, err
		}
	}
	if always {
		changed = []string{changes.Everything}
	}
	sel, err := repo.Select(tree, stacks.Spec(spec, changedFiles != nil), changed)
	for _, w := range sel.Warnings {
		fmt.Fprintf(os.Stderr, "warning: %s\n", w)
	}
	return repo, sel, err
}

// stackTree is ci/stacks' view of the repository the module was given.
type stackTree struct{ sourceTree }

func (t stackTree) Find(name string) ([]string, error) { return t.src.Glob(t.ctx, "**/"+name) }

func (t stackTree) Exists(file string) (bool, error) { return t.src.Exists(t.ctx, file) }

// forStack is this module on one stack of the repository: its Terraform directory, and
// reproduce lines that name it.
func (m *Infra) forStack(dir string) *Infra {
	sm := *m
	sm.TerraformDir, sm.TerraformDirPicked, sm.Options = dir, false, pipeline.StackOptions(m.Options, dir)
	return &sm
}

// pipelineStacks runs the pipeline of every stack --stacks selects in this one call, in
// the order and with the flags ci/pipeline.RunStacks gives each. The report holds a
// combined summary.md, result.json, results.sarif, junit.xml, and each stack's own report
// under stacks/<stack>/.
func (m *Infra) pipelineStacks(ctx context.Context, f pipelineFlags) (*dagger.Directory, error) {
	_, sel, err := m.selectStacks(ctx, f.Stacks, f.changedFiles, f.Always())
	if err != nil {
		return nil, f.StacksError(err)
	}
	name, err := environment.ParseName(f.Env) // Resolve gave one
	if err != nil {
		return nil, fmt.Errorf("--env: %w", err)
	}
	// The line names the stacks taken, so it reruns them without the change's file list.
	list := ""
	if f.changedFiles != nil {
		list = changedFilesArg(ctx, f.changedFiles)
	}
	reproduce := f.Reproduce(m.envCall("pipeline", f.Env), f.infracostAPIKey != nil).Flag("stacks", sel.Rerun(f.Stacks)).
		Flag("changed-files", sel.RerunChangedFiles(f.Stacks, list))
	m.announce(reproduce)

	var mu sync.Mutex
	dirs := map[string]*dagger.Directory{}
	runs, own, err := pipeline.RunStacks(sel, f.Flags, func(s stacks.Selected, flags pipeline.Flags) (environment.ReadFile, error) {
		one := f // flags already hold what the GitHub values resolved
		one.Flags, one.changedFiles, one.gh = flags, nil, gitHub{}
		dir, err := m.forStack(s.Dir).runPipeline(ctx, one)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		dirs[s.Dir] = dir
		return dirReader(ctx, dir), nil
	})
	if err != nil {
		return nil, err
	}
	res := pipeline.NewStacksResult(name, f.DryRun, runs, sel.Removed)
	res.Warnings, res.ForceRecreate = sel.Warnings, f.ForceRecreate
	files, err := pipeline.StacksFiles(res, reproduce, stacks.Named(f.Stacks), own)
	if err != nil {
		return nil, err
	}
	out, err := reportDir(ctx, files...)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if r.Report != "" {
			out = out.WithDirectory(r.Report, dirs[r.Stack])
		}
	}
	if res.Verdict == gate.Block && !f.ReportOnFailure {
		return nil, reproduce.Wrap(res.Err())
	}
	return out, nil
}
