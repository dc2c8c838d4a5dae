package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// secretPath is the part of a webhook URL that is the secret (Slack's and Teams' URLs carry
// their token in the path).
const secretPath = "/services/T000/B000/s3cr3t-t0ken"

var msg = Message{
	Check: "pipeline", Env: "prod", Verdict: "block",
	Reasons: []string{"prod plan deletes aws_s3_bucket.logs", "<!channel> & <https://evil.example|click> *bold*",
		"r3", "r4", "r5", "r6", "r7"},
	Counts:    map[string]int{"create": 2, "delete": 1},
	RunURL:    "https://github.com/o/r/actions/runs/42",
	Reproduce: "dagger call pipeline --env=prod",
}

// receiver is a real HTTP server that records what it was sent and answers with the status
// codes it is told, in turn (the last one repeats).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	times  []time.Time
}

func newReceiver(t *testing.T, handle func(n int, w http.ResponseWriter, req *http.Request)) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.times = append(r.times, time.Now())
		n := len(r.bodies)
		r.mu.Unlock()
		if req.URL.Path != secretPath || req.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		handle(n, w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) url() string { return r.URL + secretPath }

func status(codes ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(codes[min(n, len(codes))-1])
	}
}

func TestPayloads(t *testing.T) {
	var slack struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	data, err := Slack(msg)
	if err != nil || json.Unmarshal(data, &slack) != nil {
		t.Fatalf("Slack = %s, %v", data, err)
	}
	if slack.Text != "prod pipeline: block" || slack.Blocks[0].Type != "header" || slack.Blocks[0].Text.Text != "prod pipeline: block" {
		t.Errorf("slack header: %s", data)
	}
	section := slack.Blocks[1].Text.Text
	for _, want := range []string{"*Changes:* 2 create, 1 delete", "• prod plan deletes aws_s3_bucket.logs", "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;", "… and 2 more in the report"} {
		if !strings.Contains(section, want) {
			t.Errorf("slack section lacks %q:\n%s", want, section)
		}
	}
	if !strings.Contains(string(data), "<https://github.com/o/r/actions/runs/42|The run>") {
		t.Errorf("slack has no run link: %s", data)
	}

	var teams struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string           `json:"type"`
				Body    []map[string]any `json:"body"`
				Actions []map[string]any `json:"actions"`
			} `json:"content"`
		} `json:"attachments"`
	}
	data, err = Teams(msg)
	if err != nil || json.Unmarshal(data, &teams) != nil {
		t.Fatalf("Teams = %s, %v", data, err)
	}
	card := teams.Attachments[0]
	if teams.Type != "message" || card.ContentType != "application/vnd.microsoft.card.adaptive" || card.Content.Type != "AdaptiveCard" ||
		card.Content.Body[0]["text"] != "prod pipeline: block" || card.Content.Actions[0]["url"] != msg.RunURL {
		t.Errorf("teams card: %s", data)
	}

	var p Payload
	data, err = Webhook(msg)
	if err != nil || json.Unmarshal(data, &p) != nil {
		t.Fatalf("Webhook = %s, %v", data, err)
	}
	if p.SchemaVersion != 1 || p.Source != "infrapipe" || p.Check != "pipeline" || p.Env != "prod" || p.Verdict != "block" ||
		len(p.Reasons) != 5 || p.MoreReasons != 2 || p.Counts["delete"] != 1 || p.RunURL != msg.RunURL || p.Reproduce != msg.Reproduce ||
		p.Stack != "" || p.DryRun || strings.Contains(string(data), `"stack"`) {
		t.Errorf("webhook payload: %s", data)
	}

	// One stack of a --stacks run, held by another: the receiver learns which, and that
	// nothing was applied.
	held := msg
	held.Stack, held.DryRun, held.Verdict = "stacks/app", true, "warn"
	if data, err = Webhook(held); err != nil || json.Unmarshal(data, &p) != nil || p.Stack != "stacks/app" || !p.DryRun {
		t.Errorf("webhook payload of a held stack: %s (%v)", data, err)
	}
	if data, err = Slack(held); err != nil || !strings.Contains(string(data), `"text":"prod pipeline of stacks/app: warn (dry run: nothing applied)"`) {
		t.Errorf("slack title of a held stack: %s (%v)", data, err)
	}
}

// Each way a delivery can go, against real servers: the body arrives, transient failures
// are retried (honouring Retry-After), a refusal is not, a server that hangs or fails for
// ever is given up on within the bound, and the URL's secret never shows.
func TestSend(t *testing.T) {
	fast := Options{Attempt: 300 * time.Millisecond, Total: 3 * time.Second, MaxAttempts: 4, Backoff: 20 * time.Millisecond}
	tests := []struct {
		name      string
		handle    func(int, http.ResponseWriter, *http.Request)
		delivered bool
		attempts  int
		errWant   string
	}{
		{"delivered at once", status(200), true, 1, ""},
		{"500 twice, then delivered", status(500, 502, 204), true, 3, ""},
		{"500 for ever", status(500), false, 4, "HTTP 500"},
		{"a 4xx refusal is not retried", status(400), false, 1, "HTTP 400: the endpoint refused the notification (not retried)"},
		{"429 honours Retry-After", func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			w.WriteHeader(200)
		}, true, 2, ""},
		{"a server that hangs", func(_ int, _ http.ResponseWriter, req *http.Request) { <-req.Context().Done() }, false, 0, "Client.Timeout exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, tt.handle)
			start := time.Now()
			ds := Send(context.Background(), []environment.Channel{environment.ChannelWebhook},
				map[environment.Channel]string{environment.ChannelWebhook: r.url()}, msg, fast)
			elapsed := time.Since(start)
			if len(ds) != 1 {
				t.Fatalf("deliveries %+v", ds)
			}
			d := ds[0]
			if d.Delivered != tt.delivered || (tt.attempts > 0 && d.Attempts != tt.attempts) || !strings.Contains(d.Error, tt.errWant) {
				t.Errorf("delivery %+v, want delivered %v after %d attempt(s), error with %q", d, tt.delivered, tt.attempts, tt.errWant)
			}
			if elapsed > fast.Total+time.Second {
				t.Errorf("delivery took %s, beyond its %s bound", elapsed, fast.Total)
			}
			for _, s := range []string{d.Error, Markdown(ds)} {
				if strings.Contains(s, "s3cr3t") || strings.Contains(s, secretPath) {
					t.Errorf("the webhook's secret leaked: %q", s)
				}
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if tt.name == "429 honours Retry-After" && len(r.times) == 2 && r.times[1].Sub(r.times[0]) < 900*time.Millisecond {
				t.Errorf("retried %s after a 429 with Retry-After: 1", r.times[1].Sub(r.times[0]))
			}
			if tt.delivered {
				var p Payload
				if err := json.Unmarshal(r.bodies[len(r.bodies)-1], &p); err != nil || p.Env != "prod" {
					t.Errorf("the server got %s (%v)", r.bodies[len(r.bodies)-1], err)
				}
			}
		})
	}
}

// An unreachable endpoint and a channel listed without a URL are reported, and the error
// names neither the URL nor its token.
func TestSendUnreachableAndMissing(t *testing.T) {
	r := newReceiver(t, status(200))
	u := r.url()
	r.Close()
	ds := Send(context.Background(), []environment.Channel{environment.ChannelSlack, environment.ChannelTeams},
		map[environment.Channel]string{environment.ChannelSlack: u}, msg,
		Options{Attempt: 200 * time.Millisecond, Total: time.Second, MaxAttempts: 2, Backoff: 10 * time.Millisecond})
	if len(ds) != 2 || ds[0].Delivered || ds[0].Attempts != 2 || ds[1].Error != "no URL for teams in --notify-webhooks" {
		t.Fatalf("deliveries %+v", ds)
	}
	if strings.Contains(ds[0].Error, "s3cr3t") || strings.Contains(ds[0].Error, strings.TrimPrefix(r.URL, "http://")+secretPath) {
		t.Errorf("the URL leaked: %q", ds[0].Error)
	}
	md := Markdown(ds)
	if !strings.Contains(md, "- slack: **not delivered** after 2 attempt(s)") || !strings.Contains(md, "the run's verdict is unchanged") {
		t.Errorf("Markdown:\n%s", md)
	}
}

func TestParseWebhooks(t *testing.T) {
	got, err := ParseWebhooks("# channels\nslack=https://hooks.slack.com/services/T/B/x\n\nwebhook = https://example.com/hook?key=s3cr3t\n")
	if err != nil || got[environment.ChannelSlack] != "https://hooks.slack.com/services/T/B/x" || got[environment.ChannelWebhook] != "https://example.com/hook?key=s3cr3t" {
		t.Fatalf("ParseWebhooks = %v, %v", got, err)
	}
	for _, tt := range []struct{ in, want string }{
		{"slack https://hooks.slack.com/s3cr3t", "line 1: want channel=URL"},
		{"email=https://x.example/s3cr3t", `line 1: unknown channel before "=": valid channels are slack, teams, webhook`},
		// A URL with a query and no channel: what stands before "=" is part of the secret.
		{"https://hooks.example/s3cr3t?token=abc", `line 1: unknown channel before "="`},
		{"teams=ftp://x.example/s3cr3t", "line 1: the teams URL is not an http(s) URL (the value is a secret and is not shown)"},
		{"slack=https://a/s3cr3t\nslack=https://b/s3cr3t", "line 2: slack is given twice"},
	} {
		_, err := ParseWebhooks(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("ParseWebhooks(%q) = %v, want %q without the secret", tt.in, err, tt.want)
		}
	}
}

// Whatever the secret holds, reading it never panics and an error never repeats a URL.
func FuzzParseWebhooks(f *testing.F) {
	f.Add("slack=https://hooks.slack.com/services/T/B/s3cr3t")
	f.Add("teams=http://x\nwebhook=https://y/z?k=v")
	f.Add("=\n#\nslack==")
	f.Fuzz(func(t *testing.T, in string) {
		_, err := ParseWebhooks(in)
		if err == nil {
			return
		}
		// The line the error names: its URL (after "=") must not be in the message, unless
		// the same text is part of the channel name, which is shown quoted when unknown.
		var n int
		if _, err := fmt.Sscanf(err.Error(), "--notify-webhooks line %d:", &n); err != nil {
			t.Fatalf("error %q names no line", err)
		}
		lines := strings.Split(strings.ReplaceAll(in, "\r", ""), "\n")
		if n < 1 || n > len(lines) {
			t.Fatalf("error %q names line %d of %d", err, n, len(lines))
		}
		name, v, ok := strings.Cut(lines[n-1], "=")
		v = strings.TrimSpace(v)
		if ok && strings.Contains(v, "://") && !strings.Contains(name, v) && strings.Contains(err.Error(), v) {
			t.Fatalf("error %q repeats the value %q", err, v)
		}
	})
}

// Announce reads the webhooks only when the environment's settings notify of this outcome,
// and a secret it cannot read or parse fails every channel's delivery, not the run; the
// deliveries come in one order (slack, teams, webhook) whatever pipeline.yaml's.
func TestAnnounce(t *testing.T) {
	r := newReceiver(t, status(200))
	onFailure := environment.Notify{Channels: []environment.Channel{environment.ChannelWebhook, environment.ChannelSlack},
		Pipeline: environment.NotifyFailure}
	webhooks := "webhook=" + r.url() + "\nslack=" + r.url() + "\n"
	tests := []struct {
		name    string
		n       environment.Notify
		verdict string
		secret  string
		readErr error
		read    bool     // whether the secret is read
		want    []string // each delivery: "channel ok" or "channel <error text>"
	}{
		{"no channels", environment.Notify{Pipeline: environment.NotifyAlways}, "block", webhooks, nil, false, nil},
		{"a pass when only failures notify", onFailure, "pass", webhooks, nil, false, nil},
		{"a block is announced on every channel", onFailure, "block", webhooks, nil, true, []string{"slack ok", "webhook ok"}},
		{"the secret cannot be read", onFailure, "block", "", errors.New("read --notify-webhooks: boom"), true,
			[]string{"slack read --notify-webhooks: boom", "webhook read --notify-webhooks: boom"}},
		{"the secret is not channel=URL lines", onFailure, "block", "not a line", nil, true,
			[]string{"slack --notify-webhooks line 1", "webhook --notify-webhooks line 1"}},
		{"no secret given", onFailure, "block", "", nil, true,
			[]string{"slack no URL for slack", "webhook no URL for webhook"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := msg
			m.Verdict = tt.verdict
			read := false
			ds := Announce(context.Background(), tt.n, m, func() (string, error) {
				read = true
				return tt.secret, tt.readErr
			}, Options{Attempt: time.Second, Total: 2 * time.Second, MaxAttempts: 1})
			if read != tt.read {
				t.Errorf("webhooks read: %v, want %v", read, tt.read)
			}
			var got []string
			for _, d := range ds {
				if d.Delivered {
					got = append(got, string(d.Channel)+" ok")
				} else {
					got = append(got, string(d.Channel)+" "+d.Error)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("deliveries %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("delivery %d: %q, want it to start with %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
