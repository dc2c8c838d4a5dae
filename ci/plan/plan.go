// Package plan reads `terraform show -json` output and says what a plan would do: how many
// resources it creates, changes, replaces, deletes, imports or forgets, and why each
// destructive change happens. It keeps addresses and attribute paths, never attribute
// values, so nothing it returns can leak a secret into a PR comment or a log.
package plan

import (
	"fmt"
	"strconv"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Kind is what a plan does to one resource instance.
type Kind string

const (
	Create Kind = "create"
	Update Kind = "update"
	Delete Kind = "delete"
	// ReplaceDeleteFirst destroys the old object before creating the new one (Terraform's
	// default), so there is a window with neither.
	ReplaceDeleteFirst Kind = "replace-delete-first"
	// ReplaceCreateFirst comes from lifecycle create_before_destroy.
	ReplaceCreateFirst Kind = "replace-create-first"
	// Forget removes the object from state but leaves it running (a removed block with
	// destroy = false).
	Forget Kind = "forget"
	// CreateThenForget creates a new object and forgets the old one without destroying it.
	CreateThenForget Kind = "create-then-forget"
	NoOp             Kind = "no-op"
	Read             Kind = "read"
)

// Change is one resource instance in the plan, without any attribute value.
type Change struct {
	Address         string   `json:"address"`
	PreviousAddress string   `json:"previous_address,omitempty"` // set when a moved block applies
	Type            string   `json:"type"`
	Mode            string   `json:"mode"` // managed or data
	Kind            Kind     `json:"kind"`
	Actions         []string `json:"actions"` // Terraform's own action list
	// Reason is Terraform's action_reason, e.g. replace_because_tainted.
	Reason string `json:"reason,omitempty"`
	// ReplacePaths are the attributes that force a replacement, e.g. triggers_replace.
	ReplacePaths []string `json:"replace_paths,omitempty"`
	Importing    bool     `json:"importing,omitempty"`
	// ImportID is the ID an import block gives; Terraform prints it in the plan too.
	ImportID string `json:"import_id,omitempty"`
	Deposed  string `json:"deposed,omitempty"` // a leftover object of an earlier failed replace
}

// Managed reports whether the change is to a managed resource rather than a data source.
func (c Change) Managed() bool { return c.Mode != string(tfjson.DataResourceMode) }

// Replace reports whether the change replaces the object, in either order.
func (c Change) Replace() bool { return c.Kind == ReplaceDeleteFirst || c.Kind == ReplaceCreateFirst }

// Destructive reports whether applying the change destroys a managed object.
func (c Change) Destructive() bool {
	return c.Managed() && (c.Kind == Delete || c.Replace())
}

// Verb is the change in a few words for a sentence: "replaces", "deletes", ...
func (c Change) Verb() string {
	switch c.Kind {
	case Create:
		return "creates"
	case Update:
		return "updates"
	case Delete:
		return "deletes"
	case ReplaceDeleteFirst, ReplaceCreateFirst:
		return "replaces"
	case Forget:
		return "forgets"
	case CreateThenForget:
		return "creates anew and forgets"
	case Read:
		return "reads"
	default:
		return "keeps"
	}
}

// Why explains a change in words: the attributes that force a replacement, or Terraform's
// reason. Empty when Terraform gives none (plain creates and updates).
func (c Change) Why() string {
	paths := strings.Join(c.ReplacePaths, ", ")
	if (c.Kind == Forget || c.Kind == CreateThenForget) && c.Reason == string(tfjson.ActionReasonDeleteBecauseNoResourceConfig) {
		// Terraform gives a forget the reason of a delete; it is a removed block's doing.
		return "removed block with destroy = false"
	}
	switch tfjson.ActionReason(c.Reason) {
	case tfjson.ActionReasonReplaceBecauseTainted:
		return "tainted by an earlier failed apply or terraform taint"
	case tfjson.ActionReasonReplaceByRequest:
		return "replacement requested with -replace"
	case tfjson.ActionReasonReplaceByTriggers:
		return "lifecycle replace_triggered_by fired"
	case tfjson.ActionReasonReplaceBecauseCannotUpdate:
		if paths != "" {
			return paths + " changed"
		}
		return "an attribute changed that cannot be updated in place"
	case tfjson.ActionReasonDeleteBecauseNoResourceConfig:
		return "removed from the configuration"
	case tfjson.ActionReasonDeleteBecauseWrongRepetition:
		return "count or for_each added or removed"
	case tfjson.ActionReasonDeleteBecauseCountIndex:
		return "count index out of range"
	case tfjson.ActionReasonDeleteBecauseEachKey:
		return "for_each key removed"
	case tfjson.ActionReasonDeleteBecauseNoModule:
		return "module removed from the configuration"
	case tfjson.ActionReasonDeleteBecauseNoMoveTarget:
		return "moved block target does not exist"
	}
	if paths != "" {
		return paths + " changed"
	}
	if c.Deposed != "" {
		return "deposed object " + c.Deposed + " left by an earlier replacement"
	}
	if c.Reason != "" {
		return strings.ReplaceAll(c.Reason, "_", " ")
	}
	return ""
}

// Counts tallies a plan the way a reviewer reads it. Import and Move count changes that
// also have a Kind (an imported resource may be a no-op or an update).
type Counts struct {
	Create             int `json:"create"`
	Update             int `json:"update"`
	Delete             int `json:"delete"`
	Replace            int `json:"replace"` // both orders together
	ReplaceDeleteFirst int `json:"replace_delete_first"`
	ReplaceCreateFirst int `json:"replace_create_first"`
	Import             int `json:"import"`
	Forget             int `json:"forget"`
	NoOp               int `json:"no_op"`
	Read               int `json:"read"`
	Move               int `json:"move"`
	Drift              int `json:"drift"` // objects changed outside Terraform
	// Outputs counts the root module's outputs the apply adds, changes or removes: a plan
	// that changes only outputs still has to be applied for the state, `terraform output`
	// and terraform_remote_state readers to see the new values.
	Outputs int `json:"outputs"`
}

// Analysis is what a plan does, without attribute values.
type Analysis struct {
	FormatVersion    string `json:"format_version"`
	TerraformVersion string `json:"terraform_version,omitempty"`
	Counts           Counts `json:"counts"`
	// Changes holds every resource change except no-ops that neither import nor move, in
	// the plan's order.
	Changes []Change `json:"changes"`
	// Drift holds what changed outside Terraform since the last apply (resource_drift).
	Drift []Change `json:"drift,omitempty"`
	// Errored is set when Terraform saved a plan that failed part way (plan -out on error).
	Errored bool `json:"errored,omitempty"`
	// FailedChecks are the check blocks and conditions the plan found failing.
	FailedChecks []FailedCheck `json:"failed_checks,omitempty"`
	// Regions are the AWS regions the configuration puts resources in.
	Regions Regions `json:"regions"`
	// Outputs are the root module outputs the apply changes, by name, sorted.
	Outputs []OutputChange `json:"output_changes,omitempty"`

	relevantDrift []Change // the part of Drift a normal plan shows (KeepRelevantDrift)
}

// Destructive lists the changes that destroy a managed object: deletes and replacements.
func (a *Analysis) Destructive() []Change {
	var out []Change
	for _, c := range a.Changes {
		if c.Destructive() {
			out = append(out, c)
		}
	}
	return out
}

// OutputChange is a root module output the apply writes: its name and whether it is added
// (create), changed (update) or removed (delete). Never its value: an output may be
// sensitive.
type OutputChange struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
}

// HasChanges reports whether applying the plan would change anything, in state or in the
// cloud: Terraform's own test (plan -detailed-exitcode exits 2), outputs included. Drift
// alone is no change: a normal apply does not write it back.
func (c Counts) HasChanges() bool {
	return c.Create+c.Update+c.Delete+c.Replace+c.Import+c.Forget+c.Move+c.Outputs > 0
}

// kindOf maps Terraform's action list to a Kind; an unknown list is an error so that a
// future action never slips past the gate as "nothing happens".
func kindOf(a tfjson.Actions) (Kind, error) {
	switch {
	case a.Create():
		return Create, nil
	case a.Update():
		return Update, nil
	case a.Delete():
		return Delete, nil
	case a.DestroyBeforeCreate():
		return ReplaceDeleteFirst, nil
	case a.CreateBeforeDestroy():
		return ReplaceCreateFirst, nil
	case a.Forget():
		return Forget, nil
	case a.NoOp():
		return NoOp, nil
	case a.Read():
		return Read, nil
	case len(a) == 2 && a[0] == tfjson.ActionCreate && a[1] == tfjson.ActionForget:
		return CreateThenForget, nil
	}
	return "", fmt.Errorf("unknown actions %v: supported are [create], [update], [delete], [delete create], [create delete], [forget], [create forget], [no-op], [read]", []tfjson.Action(a))
}

// renderPath turns a replace path such as ["tags", "Name"] or ["rule", 0, "port"] into
// tags["Name"] or rule[0].port, the form Terraform's own plan output uses.
func renderPath(path any) string {
	steps, ok := path.([]any)
	if !ok {
		return "?"
	}
	var b strings.Builder
	for i, s := range steps {
		switch v := s.(type) {
		case string:
			if i == 0 {
				b.WriteString(v)
			} else if isIdent(v) {
				b.WriteString("." + v)
			} else {
				b.WriteString("[" + strconv.Quote(v) + "]")
			}
		case float64:
			b.WriteString("[" + strconv.FormatFloat(v, 'f', -1, 64) + "]")
		default:
			b.WriteString("[?]")
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '-') {
			continue
		}
		return false
	}
	return true
}
