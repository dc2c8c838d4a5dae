package main

import (
	"context"
	"fmt"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/notify"
)

// notify announces a run on the channels pipeline.yaml names for the environment, when its
// outcome is one that notifies (ci/environment, ci/notify). What happened is returned for
// the report; a notification that cannot be delivered never changes the run's verdict.
func (r *run) notify(ctx context.Context, webhooks *dagger.Secret, m notify.Message) []notify.Delivery {
	n := r.profile.Notify
	if len(n.Channels) == 0 || !n.Notifies(m.Check, m.Verdict) {
		return nil
	}
	urls, err := readWebhooks(ctx, webhooks)
	if err != nil {
		var ds []notify.Delivery
		for _, c := range n.Channels {
			ds = append(ds, notify.Delivery{Channel: c, Error: err.Error()})
		}
		return ds
	}
	return notify.Send(ctx, n.Channels, urls, m, notify.Options{})
}

// readWebhooks reads --notify-webhooks; without it no channel has a URL.
func readWebhooks(ctx context.Context, webhooks *dagger.Secret) (map[environment.Channel]string, error) {
	if webhooks == nil {
		return nil, nil
	}
	plain, err := webhooks.Plaintext(ctx)
	if err != nil {
		return nil, fmt.Errorf("read --notify-webhooks: %w", err)
	}
	return notify.ParseWebhooks(plain)
}
