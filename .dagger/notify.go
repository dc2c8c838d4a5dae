package main

import (
	"context"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/notify"
)

// webhooks is --notify-webhooks, empty counting as not given, and checked before anything
// runs (ci/notify.ParseWebhooks): a bad line would otherwise show only when a run that
// failed tried to announce it.
func webhooks(ctx context.Context, s *dagger.Secret) (*dagger.Secret, error) {
	return given(ctx, "notify-webhooks", s, func(plain string) error {
		_, err := notify.ParseWebhooks(plain)
		return err
	})
}

// notify announces a run on the channels pipeline.yaml names for the environment
// (ci/notify.Announce). What happened is returned for the report; a notification that
// cannot be delivered never changes the run's verdict.
func (r *run) notify(ctx context.Context, webhooks *dagger.Secret, m notify.Message) []notify.Delivery {
	return notify.Announce(ctx, r.profile.Notify, m, func() (string, error) {
		return plaintext(ctx, "notify-webhooks", webhooks)
	}, notify.Options{})
}
