package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/ghactions"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/report"
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
	// <head>; a line "*" means unknown and takes every stack).
	// +optional
	changedFiles *dagger.File,
) (string, error) {
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
		list, err := changedFiles.Contents(ctx)
		if err != nil {
			return repo, stacks.Selection{}, fmt.Errorf("read --changed-files: %w", err)
		}
		if changed, err = changes.ReadList(list); err != nil {
			return repo, stacks.Selection{}, err
		}
		if changed == nil {
			changed = []string{} // an empty list: nothing changed
		}
	}
	if always {
		changed = []string{changes.Everything}
	}
	if spec == "" {
		spec = stacks.AllStacks
		if changedFiles != nil {
			spec = stacks.ChangedStacks
		}
	}
	sel, err := repo.Select(tree, spec, changed)
	return repo, sel, err
}

// stackTree is ci/stacks' view of the repository the module was given.
type stackTree struct{ sourceTree }

func (t stackTree) Find(name string) ([]string, error) { return t.src.Glob(t.ctx, "**/"+name) }

func (t stackTree) Exists(file string) (bool, error) { return t.src.Exists(t.ctx, file) }

// inheritedConfig is the stack's configuration in a repository with a pipeline.yaml at its
// root: the stack's own pipeline.yaml over the repository's (environment.ParseInherited).
// ok is false when there is nothing to inherit: the stack is the root, or the root has no
// pipeline.yaml.
func (m *Infra) inheritedConfig(ctx context.Context) (environment.Config, bool, error) {
	if m.TerraformDir == "." {
		return environment.Config{}, false, nil
	}
	repo, ok, err := m.optionalFile(ctx, stacks.RepoFile)
	if err != nil || !ok {
		return environment.Config{}, false, err
	}
	p := path.Join(m.TerraformDir, environment.ConfigFile)
	own, ok, err := m.optionalFile(ctx, p)
	if err != nil {
		return environment.Config{}, false, err
	}
	var ownData []byte
	if ok {
		ownData = []byte(own)
	}
	c, err := environment.ParseInherited(stacks.RepoFile, []byte(repo), p, ownData)
	return c, true, err
}

// forStack is this module on one stack of the repository: its Terraform directory, and
// reproduce lines that name it.
func (m *Infra) forStack(dir string) *Infra {
	sm := *m
	sm.TerraformDir = dir
	sm.Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return strings.HasPrefix(o, "--terraform-dir=") })
	if dir != "terraform" {
		sm.Options = append(sm.Options, "--terraform-dir="+dir)
	}
	return &sm
}

// stackPipeline runs one stack's pipeline; dryRun is set when a stack it depends on
// blocked. It returns the stack's report directory, made with --report-on-failure.
type stackPipeline func(ctx context.Context, m *Infra, dryRun bool) (*dagger.Directory, error)

// stacksOptions are what a run of several stacks needs from the pipeline's flags.
type stacksOptions struct {
	spec            string
	maxParallel     int
	changedFiles    *dagger.File
	always          bool // manual dispatch or schedule: --changed-files selects everything
	env             string
	dryRun          bool
	reportOnFailure bool
}

// pipelineStacks runs the pipeline of every selected stack in this one call: at most
// maxParallel at once, each after the selected stacks it depends on. A stack whose
// dependency blocked, or was itself held, is planned and checked as a dry run: nothing is
// applied on top of a blocked dependency, however deep, while independent stacks go on. The report holds a combined
// summary.md (ci/pipeline), result.json, results.sarif, junit.xml, and each stack's own
// report under stacks/<stack>/.
func (m *Infra) pipelineStacks(ctx context.Context, o stacksOptions, run stackPipeline) (*dagger.Directory, error) {
	if o.maxParallel < 1 {
		return nil, fmt.Errorf("--max-parallel is %d: give at least 1", o.maxParallel)
	}
	_, sel, err := m.selectStacks(ctx, o.spec, o.changedFiles, o.always)
	if err != nil {
		return nil, err
	}
	name, err := environment.ParseName(o.env)
	if o.env != "" && err != nil {
		return nil, fmt.Errorf("--env: %w", err)
	}
	// The line names the stacks taken, so it reruns them without the change's file list.
	named := strings.Join(sel.Dirs(), ",")
	if named == "" {
		named = o.spec
	}
	creds, err := m.credentials(ctx)
	if err != nil {
		return nil, err
	}
	reproduce := m.envCall("pipeline", o.env, creds).Flag("stacks", named).Bool("dry-run", o.dryRun)
	announce(reproduce)

	runs := make([]pipeline.StackRun, len(sel.Stacks))
	dirs := make([]*dagger.Directory, len(sel.Stacks))
	sarifs := make([]pipeline.StackFile, len(sel.Stacks))
	junits := make([]pipeline.StackFile, len(sel.Stacks))
	annotations := make([]string, len(sel.Stacks))
	done := map[string]chan struct{}{}
	for _, s := range sel.Stacks {
		done[s.Dir] = make(chan struct{})
	}
	slots := make(chan struct{}, o.maxParallel)
	var mu sync.Mutex
	stopped := map[string]bool{} // blocked, or held: what depends on it is not applied either
	var wg sync.WaitGroup
	for i, s := range sel.Stacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[s.Dir])
			var held []string
			for _, d := range s.DependsOn {
				if ch, ok := done[d]; ok {
					<-ch
					mu.Lock()
					if stopped[d] {
						held = append(held, d)
					}
					mu.Unlock()
				}
			}
			slots <- struct{}{}
			defer func() { <-slots }()
			r := pipeline.StackRun{Stack: s.Dir, Why: s.Why, Held: held, Report: pipeline.StackReport(s.Dir)}
			dir, err := run(ctx, m.forStack(s.Dir), o.dryRun || len(held) > 0)
			if err == nil {
				r, sarifs[i], junits[i], annotations[i], err = readStackReport(ctx, r, dir)
			}
			if err != nil {
				// The first line is the reason; a reproduce line may follow.
				reason, _, _ := strings.Cut(err.Error(), "\n")
				r.Verdict, r.Reasons = gate.Block, []string{reason}
				r.Summary = "The stack's pipeline could not run:\n\n" + pipeline.CodeBlock("", pipeline.Tail(err.Error(), 40))
				dir = nil
			}
			runs[i], dirs[i] = r, dir
			mu.Lock()
			stopped[s.Dir] = r.Verdict == gate.Block || len(held) > 0
			mu.Unlock()
		}()
	}
	wg.Wait()

	res := pipeline.NewStacksResult(name, o.dryRun, runs, sel.Removed)
	res.Outputs["reproduce"] = reproduce.String()
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write result.json: %w", err)
	}
	missing := func(f pipeline.StackFile) bool { return f.Data == nil }
	merged, err := pipeline.MergeStacksSARIF(slices.DeleteFunc(sarifs, missing))
	if err != nil {
		return nil, err
	}
	junit, err := pipeline.MergeStacksJUnit(slices.DeleteFunc(junits, missing))
	if err != nil {
		return nil, err
	}
	var sarif strings.Builder
	if err := findings.WriteSARIF(&sarif, merged); err != nil {
		return nil, fmt.Errorf("write results.sarif: %w", err)
	}
	gh, err := pipeline.GitHubFiles(res.Outputs, nil, ghactions.AnnotateOptions{})
	if err != nil {
		return nil, err
	}
	gh[3] = strings.Join(annotations, "") // each stack's annotations, made with its own threshold
	files := append(gh, "summary.md", pipeline.StacksSummary(report.MaxMarkdown, res, reproduce),
		"comment.md", pipeline.StacksComment(res, reproduce, namedStacks(o.spec)),
		pipeline.ResultFile, string(js)+"\n", "results.sarif", sarif.String(), "junit.xml", string(junit))
	out, err := reportDir(ctx, files...)
	if err != nil {
		return nil, err
	}
	for i, d := range dirs {
		if d != nil {
			out = out.WithDirectory(runs[i].Report, d)
		}
	}
	if res.Verdict == gate.Block && !o.reportOnFailure {
		return nil, reproduce.Wrap(res.Err())
	}
	return out, nil
}

// readStackReport reads what the combined report takes from a stack's own: its verdict and
// reasons, its summary, its SARIF log, its junit.xml and its annotations.
func readStackReport(ctx context.Context, r pipeline.StackRun, dir *dagger.Directory) (pipeline.StackRun, pipeline.StackFile, pipeline.StackFile, string, error) {
	read := func(name string) (string, bool, error) {
		ok, err := dir.Exists(ctx, name)
		if err != nil || !ok {
			return "", false, err
		}
		s, err := dir.File(name).Contents(ctx)
		return s, err == nil, err
	}
	var sarif, junit pipeline.StackFile
	summary, _, err := read("summary.md")
	if err != nil {
		return r, sarif, junit, "", err
	}
	r.Summary, r.Verdict, r.Reasons = summary, gate.Pass, []string{}
	js, ok, err := read(pipeline.ResultFile)
	if err != nil {
		return r, sarif, junit, "", err
	}
	if ok { // a push that deleted a branch has nothing to deploy, and no result
		res, err := pipeline.ReadResult(path.Join(r.Stack, pipeline.ResultFile), []byte(js))
		if err != nil {
			return r, sarif, junit, "", err
		}
		r.Verdict, r.Reasons = res.Verdict, res.Reasons
	}
	for _, f := range []struct {
		name string
		dst  *pipeline.StackFile
	}{{"results.sarif", &sarif}, {"junit.xml", &junit}} {
		data, ok, err := read(f.name)
		if err != nil {
			return r, sarif, junit, "", err
		}
		if ok {
			*f.dst = pipeline.StackFile{Stack: r.Stack, Data: []byte(data)}
		}
	}
	annotations, _, err := read("annotations.txt")
	return r, sarif, junit, annotations, err
}

// namedStacks is --stacks when it names stacks, "" for changed or all.
func namedStacks(spec string) string {
	if spec == stacks.ChangedStacks || spec == stacks.AllStacks {
		return ""
	}
	return spec
}
