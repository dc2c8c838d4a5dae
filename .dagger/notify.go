package main

import (
	"context"
	"fmt"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/notify"
)

// webhooks is --notify-webhooks, empty counting as not given, and checked before anything
// runs (ci/notify.ParseWebhooks): a bad line would otherwise show only when a run that
// failed tried to announce it.
func webhooks(ctx context.Context, s *dagger.Secret) (*dagger.Secret, error) {
	if s == nil {
		return nil, nil
	}
	plain, err := s.Plaintext(ctx)
	if err != nil {
		return nil, fmt.Errorf("read --notify-webhooks: %w", err)
	}
	if plain == "" { // as given does: a workflow passes the variable whether set or not
		return nil, nil
	}
	if _, err := notify.ParseWebhooks(plain); err != nil {
		return nil, err
	}
	return s, nil
}

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
