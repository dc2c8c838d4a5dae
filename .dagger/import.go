package main

import (
	"context"

	"dagger/infra/internal/dagger"
)

// importFiles is the imports.tf a run adds to the configuration before it plans.
type importFiles struct {
	path string
	file *dagger.File
}

// importStep discovers and maps existing resources; nil when the profile skips import.
func (p *pipeline) importStep(ctx context.Context) (*importFiles, error) {
	return nil, nil
}
