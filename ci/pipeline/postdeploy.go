package pipeline

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Endpoint is a health endpoint among a deployment's outputs.
type Endpoint struct {
	Output string // the output's name, e.g. api_url
	URL    string
}

// HealthEndpoints picks, from `terraform output -json`, the outputs the post-deploy tests
// call: named *_url or *_endpoint, not sensitive, with an http(s) URL as value. The
// convention keeps the configuration free of test-only settings. Sorted by output name, so
// reports do not reorder between runs.
func HealthEndpoints(outputJSON []byte) ([]Endpoint, error) {
	var outputs map[string]struct {
		Value     any  `json:"value"`
		Sensitive bool `json:"sensitive"`
	}
	if err := json.Unmarshal(outputJSON, &outputs); err != nil {
		return nil, fmt.Errorf("terraform output -json: not JSON: %w", err)
	}
	var out []Endpoint
	for name, o := range outputs {
		url, ok := o.Value.(string)
		if o.Sensitive || !ok || !(strings.HasSuffix(name, "_url") || strings.HasSuffix(name, "_endpoint")) ||
			!(strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://")) {
			continue
		}
		out = append(out, Endpoint{Output: name, URL: url})
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return strings.Compare(a.Output, b.Output) })
	return out, nil
}
