package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// containerHost is the address the engine's containers reach this host at: the engine's
// bridge (dagger0, made by .ci/engine.sh). A webhook receiver listening there is what a
// real Slack or Teams endpoint is to the module: a server across the network.
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

// TestNotifications: a pipeline run announces itself on the three channels pipeline.yaml
// names, with the URLs from one secret. Slack gets Block Kit, the webhook gets the versioned
// payload after one 500 (retried), Teams answers 500 for ever and is reported as not
// delivered while the run's verdict stays its own. The URLs' secret part appears nowhere.
func TestNotifications(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	host := containerHost(t)
	var mu sync.Mutex
	got := map[string][][]byte{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		channel := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
		got[channel] = append(got[channel], body)
		n := len(got[channel])
		mu.Unlock()
		switch {
		case channel == "teams", channel == "hook" && n == 1:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	l, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)

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

	mu.Lock()
	defer mu.Unlock()
	var slack struct {
		Blocks []struct {
			Type string `json:"type"`
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	if len(got["slack"]) != 1 || json.Unmarshal(got["slack"][0], &slack) != nil || len(slack.Blocks) == 0 ||
		!strings.HasPrefix(slack.Blocks[0].Text.Text, "test pipeline: ") {
		t.Errorf("slack received %q", got["slack"])
	}
	var payload struct {
		SchemaVersion int    `json:"schema_version"`
		Env           string `json:"env"`
		RunURL        string `json:"run_url"`
		Reproduce     string `json:"reproduce"`
	}
	if len(got["hook"]) != 2 || json.Unmarshal(got["hook"][1], &payload) != nil || payload.SchemaVersion != 1 || payload.Env != "test" ||
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
