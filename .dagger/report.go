package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/pipeline"
)

// reportDir writes report files (name, contents, name, contents, ...) to the module's scratch
// directory and returns them as a Directory. Unlike WithNewFile, their contents never enter
// the call graph that `dagger call`'s progress output and traces print: plan.txt, summaries
// and results reach the caller as files, not as lines in a CI log.
func reportDir(ctx context.Context, nameContents ...string) (*dagger.Directory, error) {
	if len(nameContents)%2 != 0 {
		return nil, fmt.Errorf("reportDir: a file name without contents")
	}
	dir, err := os.MkdirTemp(".", "report-")
	if err != nil {
		return nil, fmt.Errorf("write the report: %w", err)
	}
	for i := 0; i < len(nameContents); i += 2 {
		if err := os.WriteFile(filepath.Join(dir, nameContents[i]), []byte(nameContents[i+1]), 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", nameContents[i], err)
		}
	}
	// Sync loads the files into the engine now, while this function's process still runs.
	return dag.CurrentModule().Workdir(filepath.Base(dir)).Sync(ctx)
}

// reportDir is reportDir of a run's report files, redacted first of the run's secret
// values (--tf-var-file's, --git-credentials' tokens): every report of a run goes out
// through here.
func (r *run) reportDir(ctx context.Context, nameContents ...string) (*dagger.Directory, error) {
	return reportDir(ctx, pipeline.RedactFiles(nameContents, r.masked)...)
}

// dirReader reads the text files of a directory (the repository, a report) for ci/: ok is
// false for a file the directory does not have.
func dirReader(ctx context.Context, dir *dagger.Directory) environment.ReadFile {
	return func(name string) ([]byte, bool, error) {
		if ok, err := dir.Exists(ctx, name); err != nil || !ok {
			return nil, false, err
		}
		s, err := dir.File(name).Contents(ctx)
		return []byte(s), err == nil, err
	}
}
