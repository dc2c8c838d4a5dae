package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	tfjson "github.com/hashicorp/terraform-json"
)

// MinSensitiveLen is the shortest sensitive value SensitiveValues returns: redacting "1"
// or "on" from a message would garble it and hide nothing.
const MinSensitiveLen = 4

// SensitiveValues returns the values a plan marks sensitive: resource attributes under
// before_sensitive and after_sensitive, sensitive outputs, and the values of variables
// declared sensitive, as text, longest first.
//
// Analyze never keeps a value, but other tools read the whole plan: a policy or a
// terraform-compliance scenario may quote an attribute in its message. The pipeline
// redacts these values from such findings (findings.Redact) before anything is written.
func SensitiveValues(r io.Reader) ([]string, error) {
	p, err := Decode(r)
	if err != nil {
		return nil, fmt.Errorf("read plan for its sensitive values: %w", err)
	}
	return Sensitive(p), nil
}

// Decode reads a whole plan (terraform show -json) as terraform-json holds it, for readers
// that need more than Analyze keeps (Sensitive, HeldImports): one decode serves them all.
func Decode(r io.Reader) (*tfjson.Plan, error) {
	var p tfjson.Plan
	if err := json.NewDecoder(r).Decode(&p); err != nil {
		return nil, truncated(err)
	}
	return &p, nil
}

// Sensitive is SensitiveValues of a decoded plan.
func Sensitive(p *tfjson.Plan) []string {
	seen := map[string]bool{}
	add := func(v any) {
		leaves(v, func(s string) {
			if len(s) >= MinSensitiveLen {
				seen[s] = true
			}
		})
	}
	for _, rc := range p.ResourceChanges {
		if c := rc.Change; c != nil {
			masked(c.Before, c.BeforeSensitive, add)
			masked(c.After, c.AfterSensitive, add)
		}
	}
	for _, rc := range p.ResourceDrift {
		if c := rc.Change; c != nil {
			masked(c.Before, c.BeforeSensitive, add)
			masked(c.After, c.AfterSensitive, add)
		}
	}
	for _, oc := range p.OutputChanges {
		masked(oc.Before, oc.BeforeSensitive, add)
		masked(oc.After, oc.AfterSensitive, add)
	}
	if p.Config != nil && p.Config.RootModule != nil {
		for name, v := range p.Config.RootModule.Variables {
			if pv := p.Variables[name]; v.Sensitive && pv != nil {
				add(pv.Value)
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	// Longest first, so that a secret containing another is replaced whole.
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		if a < b {
			return -1
		}
		return 1
	})
	return out
}

// masked calls add for each part of v that mask (Terraform's *_sensitive shape: true, or an
// object or list of the same shape as v) marks sensitive.
func masked(v, mask any, add func(any)) {
	switch m := mask.(type) {
	case bool:
		if m {
			add(v)
		}
	case map[string]any:
		obj, _ := v.(map[string]any)
		for k, sub := range m {
			masked(obj[k], sub, add)
		}
	case []any:
		list, _ := v.([]any)
		for i, sub := range m {
			if i < len(list) {
				masked(list[i], sub, add)
			}
		}
	}
}

// leaves calls fn with every string and number inside v, as text.
func leaves(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case float64:
		fn(strconv.FormatFloat(x, 'f', -1, 64))
	case json.Number:
		fn(x.String())
	case map[string]any:
		for _, sub := range x {
			leaves(sub, fn)
		}
	case []any:
		for _, sub := range x {
			leaves(sub, fn)
		}
	}
}
