package main

import (
	"fmt"
	"strings"
	"testing"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/pipeline"
)

// A stack's run names its own Terraform directory in reproduce lines, once, and keeps the
// call's other constructor options.
func TestForStack(t *testing.T) {
	m := &Infra{TerraformDir: "infra", Options: []string{"--terraform-dir=infra", "--emulate-aws"}}
	for _, tt := range []struct{ dir, want string }{
		{"stacks/network", "--emulate-aws --terraform-dir=stacks/network"},
		{"terraform", "--emulate-aws"}, // the default needs no flag
		{".", "--emulate-aws --terraform-dir=."},
	} {
		sm := m.forStack(tt.dir)
		if sm.TerraformDir != tt.dir || strings.Join(sm.Options, " ") != tt.want {
			t.Errorf("forStack(%q): dir %q, options %v; want %s", tt.dir, sm.TerraformDir, sm.Options, tt.want)
		}
	}
	if m.TerraformDir != "infra" || len(m.Options) != 2 {
		t.Errorf("forStack changed the module it copies: %+v", m)
	}
}

// --changed-files selects only with --stacks=changed: beside named stacks or all, both
// pipeline and stacks refuse it before reading the repository (there is none here: a call
// that goes on to read it panics, which counts as not refused).
func TestChangedFilesNeedStacksChanged(t *testing.T) {
	const want = "--changed-files selects stacks only with --stacks=changed: "
	m, changed := &Infra{}, &dagger.File{}
	refused := func(call func() error) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("not refused: went on to read the repository (%v)", r)
			}
		}()
		return call()
	}
	for _, spec := range []string{"all", "stacks/network,terraform"} {
		err := refused(func() error { _, err := m.Stacks(t.Context(), spec, changed); return err })
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("stacks --stacks=%s --changed-files: %v, want %q", spec, err, want)
		}
		f := pipelineFlags{Flags: pipeline.Flags{Env: "test", Stacks: spec}, changedFiles: changed}
		err = refused(func() error { _, err := m.runPipeline(t.Context(), f); return err })
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("pipeline --stacks=%s --changed-files: %v, want %q", spec, err, want)
		}
	}
}
