package main

import (
	"context"
	"fmt"
	"path"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

// unaffected is the report of a run whose change touches nothing this pipeline deploys
// (pipeline.Unaffected decides), or nil when the pipeline must run.
func (m *Infra) unaffected(ctx context.Context, env string, changedFiles *dagger.File, reproduce pipeline.Command) (*dagger.Directory, error) {
	changed, err := readChangedFiles(ctx, changedFiles)
	if err != nil {
		return nil, err
	}
	files, err := pipeline.Unaffected(stackTree{sourceTree{ctx: ctx, src: m.Source}}, env, m.TerraformDir, changed, reproduce)
	if files == nil || err != nil {
		return nil, err
	}
	return reportDir(ctx, files...)
}

// changedFilesArg is how a reproduce line names --changed-files: the file's name in the
// current directory, where workflows write it (the engine keeps no path).
func changedFilesArg(ctx context.Context, f *dagger.File) string {
	if name, err := f.Name(ctx); err == nil && name != "" {
		return "./" + name
	}
	return stacks.ChangedFilesFile
}

// readChangedFiles is --changed-files as ci/changes reads it: an empty list is nothing
// changed, a line "*" everything.
func readChangedFiles(ctx context.Context, f *dagger.File) ([]string, error) {
	list, err := f.Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("read --changed-files: %w", err)
	}
	return changes.ReadList(list)
}

// sourceTree is ci/changes' view of the repository the module was given.
type sourceTree struct {
	ctx context.Context
	src *dagger.Directory
}

func (t sourceTree) TFFiles(dir string) ([]string, error) {
	var files []string
	for _, pattern := range changes.ConfigPatterns {
		found, err := t.src.Glob(t.ctx, path.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	return files, nil
}

func (t sourceTree) Read(file string) ([]byte, error) {
	s, err := t.src.File(file).Contents(t.ctx)
	return []byte(s), err
}
