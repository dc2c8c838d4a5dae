package main

import (
	"context"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/state"
)

// bootstrapEmulator prepares the emulated account for the environment's backend (ci/state
// creates the versioned state bucket and the lock table, from this module's own process)
// and returns ctr unchanged once that is done; on real AWS the bucket is the user's to
// create.
func (r *run) bootstrapEmulator(ctx context.Context, ctr *dagger.Container) (*dagger.Container, error) {
	endpoint, err := r.processAWS(ctx)
	if err != nil {
		return nil, err
	}
	if err := state.PrepareEmulator(ctx, r.region(), endpoint, r.profile.Backend); err != nil {
		return nil, err
	}
	return ctr, nil
}
