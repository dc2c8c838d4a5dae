package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// containerHost is the address the engine's containers reach this host at: the engine's
// bridge (dagger0, made by .ci/engine.sh).
func containerHost(t *testing.T) string {
	t.Helper()
	iface, err := net.InterfaceByName("dagger0")
	if err != nil {
		t.Skipf("no dagger0 bridge (the engine is not the host-run one of .ci/engine.sh): %v", err)
	}
	addrs, err := iface.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil {
			return ip.IP.String()
		}
	}
	t.Skip("dagger0 has no IPv4 address")
	return ""
}

// Receiver is the webhook endpoint (./receiver) running in a container the engine serves as
// a Dagger service, its port tunnelled to this host by `dagger up`.
type Receiver struct {
	URL   string // as the module's containers reach it
	local string // as this test reaches it
}

// startReceiver builds ./receiver, serves it from a scratch container as a Dagger service
// and waits until it answers. args are the receiver's flags.
func startReceiver(t *testing.T, args ...string) Receiver {
	t.Helper()
	host := containerHost(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "receiver"), "./receiver")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the receiver: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	script := fmt.Sprintf("container | with-file /receiver $(host | file %s) | with-exposed-port 8080 | "+
		"as-service --args /receiver,%s | up --ports %d:8080", filepath.Join(dir, "receiver"), strings.Join(quoted, ","), port)
	ctx, cancel := context.WithCancel(context.Background())
	up := exec.CommandContext(ctx, "dagger", "--progress=plain", "--no-mod", "-c", script)
	up.Dir = dir
	var log bytes.Buffer
	up.Stdout, up.Stderr = &log, &log
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = up.Wait(); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	r := Receiver{URL: fmt.Sprintf("http://%s:%d", host, port), local: fmt.Sprintf("http://127.0.0.1:%d", port)}
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		select {
		case <-done:
			t.Fatalf("the receiver service ended: %s", lastLines(log.String(), 20))
		default:
		}
		if _, err := r.Received(); err == nil {
			return r
		}
	}
	t.Fatalf("the receiver service did not answer within 3 minutes: %s", lastLines(log.String(), 20))
	return r
}

// Received is what each channel was sent, in order.
func (r Receiver) Received() (map[string][]string, error) {
	resp, err := http.Get(r.local + "/received")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	got := map[string][]string{}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /received: %s", resp.Status)
	}
	return got, json.NewDecoder(resp.Body).Decode(&got)
}

// TestNotifications: a pipeline run announces itself on the three channels pipeline.yaml
// names, with the URLs from one secret, to a receiver in another container of the engine.
// Slack gets Block Kit, the webhook gets the versioned payload after one 500 (retried), Teams
// answers 500 for ever and is reported as not delivered while the run's verdict stays its
// own. The URLs' secret part appears nowhere.
func TestNotifications(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	srv := startReceiver(t, "-fail=teams", "-fail-once=hook")

	moto := startMoto(t)
	s := newStack(t, "app")
	s.Write(t, "pipeline.yaml", strings.Replace(readStackFile(t, s, "pipeline.yaml"), "  test:\n",
		"  test:\n    notify:\n      channels: [slack, teams, webhook]\n      pipeline: always\n", 1))
	const token = "s3cr3t-n0tify-t0ken"
	webhooks := "NOTIFY_WEBHOOKS=slack=" + srv.URL + "/slack/T0/B0/" + token + "\nteams=" + srv.URL + "/teams/" + token +
		"\nwebhook=" + srv.URL + "/hook?key=" + token + "\n"
	dir := t.TempDir() + "/reports"
	res := mustCall(t, []string{webhooks}, append(append(s.Ctor(), moto.Ctor()...), "pipeline", "--env=test", "--dry-run",
		"--notify-webhooks=env:NOTIFY_WEBHOOKS", "--run-url=https://github.com/o/r/actions/runs/7", "export", "--path="+dir)...)

	got, err := srv.Received()
	if err != nil {
		t.Fatal(err)
	}
	var slack struct {
		Blocks []struct {
			Type string `json:"type"`
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	if len(got["slack"]) != 1 || json.Unmarshal([]byte(got["slack"][0]), &slack) != nil || len(slack.Blocks) == 0 ||
		!strings.HasPrefix(slack.Blocks[0].Text.Text, "test pipeline: ") {
		t.Errorf("slack received %q", got["slack"])
	}
	var payload struct {
		SchemaVersion int    `json:"schema_version"`
		Env           string `json:"env"`
		RunURL        string `json:"run_url"`
		Reproduce     string `json:"reproduce"`
	}
	if len(got["hook"]) != 2 || json.Unmarshal([]byte(got["hook"][1]), &payload) != nil || payload.SchemaVersion != 1 || payload.Env != "test" ||
		payload.RunURL != "https://github.com/o/r/actions/runs/7" || !strings.Contains(payload.Reproduce, "pipeline --env=test --dry-run") {
		t.Errorf("the webhook received %d requests, the last %q; want the payload after one retry", len(got["hook"]), got["hook"])
	}
	if len(got["teams"]) < 2 {
		t.Errorf("teams answered 500 and was tried %d time(s), want retries", len(got["teams"]))
	}

	var result struct {
		Verdict       string `json:"verdict"`
		Notifications []struct {
			Channel   string `json:"channel"`
			Delivered bool   `json:"delivered"`
			Attempts  int    `json:"attempts"`
		} `json:"notifications"`
	}
	if err := json.Unmarshal([]byte(readFile(t, dir, "result.json")), &result); err != nil {
		t.Fatal(err)
	}
	delivered := map[string]bool{}
	for _, n := range result.Notifications {
		delivered[n.Channel] = n.Delivered
	}
	if !delivered["slack"] || delivered["teams"] || !delivered["webhook"] || result.Verdict == "block" {
		t.Errorf("result.json: verdict %s, notifications %+v; want slack and webhook delivered, teams not, and no block for it", result.Verdict, result.Notifications)
	}
	if summary := readFile(t, dir, "summary.md"); !strings.Contains(summary, "- teams: **not delivered** after") {
		t.Errorf("the summary does not report the failed delivery:\n%s", summary)
	}
	assertNoLeak(t, token, "pipeline stdout", res.Stdout)
	assertNoLeak(t, token, "pipeline stderr", res.Stderr)
	assertNoLeakInDir(t, token, dir)
}

// TestBadWebhooksRefusedBeforeAnythingRuns: a malformed --notify-webhooks used to show only
// when a run tried to announce itself; it is now refused first, without the secret.
func TestBadWebhooksRefusedBeforeAnythingRuns(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	s := newStack(t, "app")
	res := mustFail(t, []string{"NOTIFY_WEBHOOKS=https://hooks.example/s3cr3t?token=abc"},
		append(s.Ctor("--emulate-aws"), "pipeline", "--env=test", "--notify-webhooks=env:NOTIFY_WEBHOOKS")...)
	if want := `--notify-webhooks line 1: unknown channel before "="`; !strings.Contains(res.Stderr, want) {
		t.Errorf("a bad --notify-webhooks does not say %q:\n%s", want, lastLines(res.Stderr, 20))
	}
	if strings.Contains(res.Stderr, "s3cr3t") || strings.Contains(res.Stderr, "hooks.example") {
		t.Errorf("the error shows the secret:\n%s", lastLines(res.Stderr, 20))
	}
	if strings.Contains(res.Stderr, "terraform init") {
		t.Errorf("the pipeline ran before refusing the webhooks:\n%s", lastLines(res.Stderr, 20))
	}
}
