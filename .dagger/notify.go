package main

import (
	"context"
	"fmt"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/notify"
)

// notify announces a run on the channels pipeline.yaml names for the environment
// (ci/notify.Announce). What happened is returned for the report; a notification that
// cannot be delivered never changes the run's verdict.
func (r *run) notify(ctx context.Context, webhooks *dagger.Secret, m notify.Message) []notify.Delivery {
	return notify.Announce(ctx, r.profile.Notify, m, func() (string, error) {
		if webhooks == nil {
			return "", nil
		}
		plain, err := webhooks.Plaintext(ctx)
		if err != nil {
			return "", fmt.Errorf("read --notify-webhooks: %w", err)
		}
		return plain, nil
	}, notify.Options{})
}
