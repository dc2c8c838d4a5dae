// Command receiver is the webhook endpoint of the end-to-end suite: a static binary the
// suite serves as a Dagger service (a scratch container), so notifications cross the
// engine's network to another container as they would to Slack or Teams.
//
// The first path segment names the channel. A channel listed in -fail answers 500 for
// ever; one in -fail-once answers 500 the first time, then 200. GET /received returns
// what each channel was sent, as JSON: {"channel": ["body", ...]}.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"
	"sync"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	fail := flag.String("fail", "", "comma-separated channels that answer 500 for ever")
	failOnce := flag.String("fail-once", "", "comma-separated channels that answer 500 once")
	flag.Parse()

	var mu sync.Mutex
	received := map[string][]string{}
	http.HandleFunc("GET /received", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(received); err != nil {
			log.Print(err)
		}
	})
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		channel, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		mu.Lock()
		received[channel] = append(received[channel], string(body))
		n := len(received[channel])
		mu.Unlock()
		if slices.Contains(strings.Split(*fail, ","), channel) || n == 1 && slices.Contains(strings.Split(*failOnce, ","), channel) {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
