// Package notify tells people how a run ended: a Slack incoming webhook (Block Kit), a
// Microsoft Teams workflow webhook (Adaptive Card) and a generic JSON webhook with a
// versioned payload. Webhook URLs are secrets: they never appear in a message, an error or a
// report. Delivery retries what may pass on a second try (timeouts, 429 with its
// Retry-After, 5xx) within a bounded time, and a notification that cannot be delivered is
// reported, never turned into a failed run.
package notify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/markdown"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// SchemaVersion is the version of the generic webhook payload.
const SchemaVersion = 1

// maxReasons bounds the reasons a message carries; the report has them all.
const maxReasons = 5

// Message is what a notification says about one run.
type Message struct {
	Check     string           // "pipeline" or "drift"
	Env       environment.Name //
	Verdict   string           // pass, warn or block
	Reasons   []string         // why it did not pass
	Counts    map[string]int   // e.g. create, update, delete, replace; drifted
	RunURL    string           // the CI run, when there is one
	Reproduce string           // the dagger call that reruns it
	// Stack is the stack's directory (--terraform-dir): a --stacks run sends one message
	// per stack. DryRun says nothing was applied (--dry-run, a stack held by another).
	Stack  string
	DryRun bool
}

// Payload is the generic webhook's JSON body (schema_version 1).
type Payload struct {
	SchemaVersion int              `json:"schema_version"`
	Source        string           `json:"source"` // always "infrapipe"
	Check         string           `json:"check"`
	Env           environment.Name `json:"env"`
	Verdict       string           `json:"verdict"`
	Reasons       []string         `json:"reasons"`
	MoreReasons   int              `json:"more_reasons"` // reasons left out of this payload
	Counts        map[string]int   `json:"counts"`
	RunURL        string           `json:"run_url,omitempty"`
	Reproduce     string           `json:"reproduce"`
	Stack         string           `json:"stack,omitempty"`
	DryRun        bool             `json:"dry_run"`
}

func (m Message) title() string {
	t := fmt.Sprintf("%s %s: %s", m.Env, m.Check, m.Verdict)
	if m.Stack != "" && m.Stack != "." {
		t = fmt.Sprintf("%s %s of %s: %s", m.Env, m.Check, m.Stack, m.Verdict)
	}
	if m.DryRun {
		t += " (dry run: nothing applied)"
	}
	return t
}

func (m Message) reasons() ([]string, int) {
	if len(m.Reasons) <= maxReasons {
		return m.Reasons, 0
	}
	return m.Reasons[:maxReasons], len(m.Reasons) - maxReasons
}

func (m Message) counts() string {
	var parts []string
	for _, k := range []string{"create", "update", "replace", "delete", "import", "drifted"} {
		if n, ok := m.Counts[k]; ok {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	return strings.Join(parts, ", ")
}

// oneLine keeps a reason to one bounded line: a message is a summary, not a log.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Webhook is the generic JSON payload.
func Webhook(m Message) ([]byte, error) {
	reasons, more := m.reasons()
	p := Payload{SchemaVersion: SchemaVersion, Source: "infrapipe", Check: m.Check, Env: m.Env, Verdict: m.Verdict,
		Reasons: make([]string, len(reasons)), MoreReasons: more, Counts: m.Counts, RunURL: m.RunURL, Reproduce: m.Reproduce,
		Stack: m.Stack, DryRun: m.DryRun}
	for i, r := range reasons {
		p.Reasons[i] = oneLine(r)
	}
	if p.Counts == nil {
		p.Counts = map[string]int{}
	}
	return marshal(p)
}

// marshal is JSON without Go's HTML escaping: these bodies are read by chat services and
// people, and Slack's links are written <url|text>.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// slackText escapes text for Slack mrkdwn: &, < and > are its only control characters, and
// escaping them keeps a reason from forming a link or a mention.
func slackText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Slack is a Block Kit message for an incoming webhook.
func Slack(m Message) ([]byte, error) {
	reasons, more := m.reasons()
	var body strings.Builder
	if c := m.counts(); c != "" {
		fmt.Fprintf(&body, "*Changes:* %s\n", slackText(c))
	}
	for _, r := range reasons {
		fmt.Fprintf(&body, "• %s\n", slackText(oneLine(r)))
	}
	if more > 0 {
		fmt.Fprintf(&body, "… and %d more in the report\n", more)
	}
	if body.Len() == 0 {
		body.WriteString("Nothing to report.")
	}
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": m.title()}},
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": body.String()}},
	}
	var context []map[string]any
	if m.RunURL != "" {
		context = append(context, map[string]any{"type": "mrkdwn", "text": "<" + slackText(m.RunURL) + "|The run>"})
	}
	context = append(context, map[string]any{"type": "mrkdwn", "text": "Reproduce: `" + slackText(strings.ReplaceAll(m.Reproduce, "`", "'")) + "`"})
	blocks = append(blocks, map[string]any{"type": "context", "elements": context})
	return marshal(map[string]any{"text": m.title(), "blocks": blocks})
}

// Teams is an Adaptive Card for a Teams workflow webhook ("Post to a channel when a webhook
// request is received").
func Teams(m Message) ([]byte, error) {
	reasons, more := m.reasons()
	body := []map[string]any{
		{"type": "TextBlock", "size": "Large", "weight": "Bolder", "text": m.title(), "wrap": true},
	}
	if c := m.counts(); c != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": "Changes: " + c, "wrap": true})
	}
	for _, r := range reasons {
		body = append(body, map[string]any{"type": "TextBlock", "text": "- " + markdown.Text(oneLine(r)), "wrap": true})
	}
	if more > 0 {
		body = append(body, map[string]any{"type": "TextBlock", "text": fmt.Sprintf("… and %d more in the report", more), "wrap": true})
	}
	body = append(body, map[string]any{"type": "TextBlock", "text": "Reproduce: " + m.Reproduce, "wrap": true, "fontType": "Monospace", "isSubtle": true})
	card := map[string]any{"type": "AdaptiveCard", "version": "1.4", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "body": body}
	if m.RunURL != "" {
		card["actions"] = []map[string]any{{"type": "Action.OpenUrl", "title": "The run", "url": m.RunURL}}
	}
	return marshal(map[string]any{
		"type":        "message",
		"attachments": []map[string]any{{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}},
	})
}

// Render is the body a channel takes.
func Render(c environment.Channel, m Message) ([]byte, error) {
	switch c {
	case environment.ChannelSlack:
		return Slack(m)
	case environment.ChannelTeams:
		return Teams(m)
	case environment.ChannelWebhook:
		return Webhook(m)
	}
	return nil, fmt.Errorf("unknown channel %s", untrusted.Quote(string(c)))
}

// ParseWebhooks reads the --notify-webhooks secret: one "channel=URL" per line (blank lines
// and # comments skipped). Errors name the line and the channel, never a URL.
func ParseWebhooks(secret string) (map[environment.Channel]string, error) {
	out := map[environment.Channel]string{}
	s := bufio.NewScanner(strings.NewReader(secret))
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, raw, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		c := environment.Channel(name)
		switch {
		case !ok:
			return nil, fmt.Errorf("--notify-webhooks line %d: want channel=URL (slack, teams or webhook)", n)
		case !slices.Contains(environment.Channels, c):
			// Not quoted: a URL with "=" in its query puts part of the secret before it.
			return nil, fmt.Errorf("--notify-webhooks line %d: unknown channel before \"=\": valid channels are slack, teams, webhook (the line is a secret and is not shown)", n)
		}
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("--notify-webhooks line %d: the %s URL is not an http(s) URL (the value is a secret and is not shown)", n, c)
		}
		if _, dup := out[c]; dup {
			return nil, fmt.Errorf("--notify-webhooks line %d: %s is given twice", n, c)
		}
		out[c] = u.String()
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("--notify-webhooks: %w", err)
	}
	return out, nil
}

// Options bound a delivery.
type Options struct {
	Client      *http.Client  // nil: a client with Attempt as its timeout
	Attempt     time.Duration // one request; default 10s
	Total       time.Duration // every attempt and wait together; default 45s
	MaxAttempts int           // default 4
	Backoff     time.Duration // the first wait, doubled each retry; default 1s
}

func (o Options) withDefaults() Options {
	if o.Attempt <= 0 {
		o.Attempt = 10 * time.Second
	}
	if o.Total <= 0 {
		o.Total = 45 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Attempt}
	}
	return o
}

// Delivery is how one channel's notification went.
type Delivery struct {
	Channel   environment.Channel `json:"channel"`
	Delivered bool                `json:"delivered"`
	Attempts  int                 `json:"attempts"`
	Error     string              `json:"error,omitempty"`
}

// Send posts m to each channel whose URL is given, in the order of environment.Channels.
// It never fails: each Delivery says what happened.
func Send(ctx context.Context, channels []environment.Channel, urls map[environment.Channel]string, m Message, o Options) []Delivery {
	o = o.withDefaults()
	var out []Delivery
	for _, c := range environment.Channels {
		if !slices.Contains(channels, c) {
			continue
		}
		u, ok := urls[c]
		if !ok {
			out = append(out, Delivery{Channel: c, Error: "no URL for " + string(c) + " in --notify-webhooks"})
			continue
		}
		body, err := Render(c, m)
		if err != nil {
			out = append(out, Delivery{Channel: c, Error: err.Error()})
			continue
		}
		out = append(out, post(ctx, c, u, body, o))
	}
	return out
}

// Announce posts m on the channels n names when m's outcome is one n notifies of. webhooks
// reads --notify-webhooks ("" when it was not given), only then. A secret that cannot be
// read or parsed is a failed delivery on every channel: a notification never changes the
// run's verdict.
func Announce(ctx context.Context, n environment.Notify, m Message, webhooks func() (string, error), o Options) []Delivery {
	if len(n.Channels) == 0 || !n.Notifies(m.Check, m.Verdict) {
		return nil
	}
	secret, err := webhooks()
	var urls map[environment.Channel]string
	if err == nil {
		urls, err = ParseWebhooks(secret)
	}
	if err != nil {
		var ds []Delivery
		for _, c := range environment.Channels { // Send's order
			if slices.Contains(n.Channels, c) {
				ds = append(ds, Delivery{Channel: c, Error: err.Error()})
			}
		}
		return ds
	}
	return Send(ctx, n.Channels, urls, m, o)
}

// post delivers one body with retries; every error is scrubbed of the URL.
func post(ctx context.Context, c environment.Channel, u string, body []byte, o Options) Delivery {
	d := Delivery{Channel: c}
	ctx, cancel := context.WithTimeout(ctx, o.Total)
	defer cancel()
	wait := o.Backoff
	for d.Attempts < o.MaxAttempts {
		d.Attempts++
		retry, after, err := attempt(ctx, u, body, o)
		if err == nil {
			d.Delivered, d.Error = true, ""
			return d
		}
		d.Error = scrub(err.Error(), u)
		if !retry || d.Attempts == o.MaxAttempts {
			break
		}
		if after > 0 {
			wait = after
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			d.Error += fmt.Sprintf("; gave up: the next try (in %s) would pass the %s bound", wait.Round(time.Millisecond), o.Total)
			break
		}
		select {
		case <-ctx.Done():
			d.Error += "; gave up: " + ctx.Err().Error()
			return d
		case <-time.After(wait):
		}
		wait *= 2
	}
	return d
}

// attempt is one POST: whether a failure may pass on a retry, and the server's Retry-After.
func attempt(ctx context.Context, u string, body []byte, o Options) (retry bool, after time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false, 0, errors.New("the URL cannot be requested")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "infrapipe-notify/1")
	resp, err := o.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL
		}
		return true, 0, fmt.Errorf("POST failed: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, 0, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("HTTP 429 (rate limited)")
	case resp.StatusCode >= 500:
		return true, retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("HTTP %d", resp.StatusCode)
	default:
		return false, 0, fmt.Errorf("HTTP %d: the endpoint refused the notification (not retried)", resp.StatusCode)
	}
}

// retryAfter reads Retry-After in seconds or as an HTTP date; 0 when absent or unreadable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// scrub removes the URL (and its host and path) from an error, whatever library wrote it.
func scrub(msg, u string) string {
	msg = strings.ReplaceAll(msg, u, "<webhook URL>")
	if p, err := url.Parse(u); err == nil {
		if p.Path != "" && p.Path != "/" {
			msg = strings.ReplaceAll(msg, p.Path, "<path>")
		}
		if p.RawQuery != "" {
			msg = strings.ReplaceAll(msg, p.RawQuery, "<query>")
		}
	}
	return msg
}

// Markdown is the report's notifications section; "" when nothing was sent.
func Markdown(ds []Delivery) string {
	if len(ds) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("## Notifications\n\n")
	for _, d := range ds {
		if d.Delivered {
			fmt.Fprintf(&b, "- %s: delivered (%d attempt(s))\n", d.Channel, d.Attempts)
		} else {
			fmt.Fprintf(&b, "- %s: **not delivered** after %d attempt(s): %s (the run's verdict is unchanged)\n", d.Channel, d.Attempts, markdown.Text(d.Error))
		}
	}
	return b.String()
}
