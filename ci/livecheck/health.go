package livecheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"time"
)

// HealthOptions bound the wait for a fresh service: a deployment that was just applied may
// take a while to answer (a load balancer registering targets, a function's cold start).
type HealthOptions struct {
	Client   *http.Client  // nil: one with Attempt as its timeout
	Attempt  time.Duration // one request; default 10s
	Total    time.Duration // all attempts and waits together; default 90s
	FirstGap time.Duration // the first wait between attempts, doubled up to 15s; default 2s
}

func (o HealthOptions) withDefaults() HealthOptions {
	if o.Attempt <= 0 {
		o.Attempt = 10 * time.Second
	}
	if o.Total <= 0 {
		o.Total = 90 * time.Second
	}
	if o.FirstGap <= 0 {
		o.FirstGap = 2 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Attempt}
	}
	return o
}

// Health asks an endpoint until it answers 2xx or 3xx, waiting longer between attempts,
// within the options' bound. The error says how it last failed and how many attempts it
// made; nil when it answered.
func Health(ctx context.Context, url string, o HealthOptions) (attempts int, err error) {
	o = o.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, o.Total)
	defer cancel()
	gap := o.FirstGap
	for {
		attempts++
		last := get(ctx, o.Client, url)
		if last == nil {
			return attempts, nil
		}
		deadline, _ := ctx.Deadline()
		if time.Until(deadline) < gap {
			return attempts, fmt.Errorf("GET %s: %v (%d attempt(s) within %s)", url, last, attempts, o.Total)
		}
		select {
		case <-ctx.Done():
			return attempts, fmt.Errorf("GET %s: %v (%d attempt(s) within %s)", url, last, attempts, o.Total)
		case <-time.After(gap):
		}
		gap = min(gap*2, 15*time.Second)
	}
}

func get(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// ViaEndpoint rewrites a URL whose host is alias (the name containers reach an emulator
// by) to endpoint (how this process reaches it); other URLs are returned as they are.
func ViaEndpoint(rawURL, alias, endpoint string) string {
	u, err := neturl.Parse(rawURL)
	if err != nil || endpoint == "" || u.Hostname() != alias {
		return rawURL
	}
	e, err := neturl.Parse(endpoint)
	if err != nil {
		return rawURL
	}
	u.Scheme, u.Host = e.Scheme, e.Host
	return u.String()
}
