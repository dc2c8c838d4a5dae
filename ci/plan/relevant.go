package plan

import (
	"encoding/json"
	"reflect"

	tfjson "github.com/hashicorp/terraform-json"
)

// KeepRelevantDrift leaves in a normal plan's analysis only the drift that matters to its
// apply: an object the plan changes (the apply acts on what was changed by hand, and
// overwrites it), or one whose changed values the plan's changes depend on, which is what
// Terraform's own plan output shows (relevant_attributes; jsonformat's precomputeDiffs).
// The rest is noise a refresh turns up and the plan does not act on, such as tags read back
// as {} where the state had null: every later plan of an untagged bucket said "No changes"
// and warned of an overwrite that never happens. A refresh-only plan (the drift function)
// shows all drift and does not call this.
func (a *Analysis) KeepRelevantDrift() {
	a.Drift = a.relevantDrift
	if a.Drift == nil {
		a.Drift = []Change{}
	}
	a.Counts.Drift = len(a.Drift)
}

// driftValues are a resource_drift entry's values, read only to compare them at the
// relevant paths; they are never kept.
type driftValues struct {
	Change *struct {
		Before json.RawMessage `json:"before"`
		After  json.RawMessage `json:"after"`
	} `json:"change"`
}

// differs reports whether the drift entry changed anything but a null the provider reads
// back as an empty collection (tags null → {}, a list null → []): Terraform does not show
// such an entry as a change made outside Terraform, and neither does the summary.
func (d driftValues) differs() bool {
	if d.Change == nil {
		return true
	}
	var before, after any
	if json.Unmarshal(d.Change.Before, &before) != nil || json.Unmarshal(d.Change.After, &after) != nil {
		return true // values it cannot read: keep what Terraform reported
	}
	return !reflect.DeepEqual(withoutEmpty(before), withoutEmpty(after))
}

// withoutEmpty is v with every empty map and list, at any depth, made null.
func withoutEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = withoutEmpty(e)
		}
		return out
	case []any:
		if len(x) == 0 {
			return nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withoutEmpty(e)
		}
		return out
	}
	return v
}

// relevant reports whether the drift entry of address changed a value at one of the paths
// that relevant_attributes names for its resource (or for every resource).
func relevant(address string, d driftValues, attrs []tfjson.ResourceAttribute) bool {
	var paths [][]json.RawMessage
	for _, ra := range attrs {
		if ra.Resource == "" || ra.Resource == address {
			paths = append(paths, ra.Attribute)
		}
	}
	if len(paths) == 0 || d.Change == nil {
		return false
	}
	var before, after any
	if json.Unmarshal(d.Change.Before, &before) != nil || json.Unmarshal(d.Change.After, &after) != nil {
		return true // values it cannot read: keep what Terraform reported
	}
	for _, p := range paths {
		if !reflect.DeepEqual(at(before, p), at(after, p)) {
			return true
		}
	}
	return false
}

// at is the value at path in v (a step is an attribute name or map key, or a list index),
// nil where there is none.
func at(v any, path []json.RawMessage) any {
	for _, step := range path {
		var key string
		var index int
		switch {
		case json.Unmarshal(step, &key) == nil:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[key]
		case json.Unmarshal(step, &index) == nil:
			l, ok := v.([]any)
			if !ok || index < 0 || index >= len(l) {
				return nil
			}
			v = l[index]
		default:
			return nil
		}
	}
	return v
}
