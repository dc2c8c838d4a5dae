package livecheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A fresh service that answers 503 twice is waited for; one that never answers, or hangs,
// fails within the bound, saying how often it was asked.
func TestHealth(t *testing.T) {
	var calls atomic.Int32
	fresh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer fresh.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer down.Close()
	hangs := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hangs.Close()

	o := HealthOptions{Attempt: 300 * time.Millisecond, Total: 2 * time.Second, FirstGap: 50 * time.Millisecond}
	if n, err := Health(context.Background(), fresh.URL, o); err != nil || n != 3 {
		t.Errorf("the fresh service: %d attempts, %v; want an answer on the third", n, err)
	}
	for _, tt := range []struct{ url, want string }{{down.URL, "HTTP 502"}, {hangs.URL, "attempt(s) within 2s"}} {
		start := time.Now()
		n, err := Health(context.Background(), tt.url, o)
		if err == nil || !strings.Contains(err.Error(), tt.want) || n < 2 {
			t.Errorf("Health(%s) = %d, %v; want a failure with %q after retries", tt.url, n, err, tt.want)
		}
		if time.Since(start) > o.Total+time.Second {
			t.Errorf("Health(%s) took %s, beyond its %s bound", tt.url, time.Since(start), o.Total)
		}
	}
}

func TestViaEndpoint(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://aws:5000/health?x=1", "http://10.88.0.7:5000/health?x=1"},
		{"https://api.example.com/health", "https://api.example.com/health"},
		{"http://awsx:5000/", "http://awsx:5000/"},
	} {
		if got := ViaEndpoint(tt.in, "aws", "http://10.88.0.7:5000"); got != tt.want {
			t.Errorf("ViaEndpoint(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := ViaEndpoint("http://aws:5000/", "aws", ""); got != "http://aws:5000/" {
		t.Errorf("without an emulator: %s", got)
	}
}
