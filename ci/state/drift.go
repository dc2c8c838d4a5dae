package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/markdown"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// DriftStatus is the outcome of a refresh-only plan, from its -detailed-exitcode.
type DriftStatus string

const (
	DriftNone  DriftStatus = "none"  // exit 0: real infrastructure matches the state
	DriftFound DriftStatus = "drift" // exit 2: something changed outside Terraform
	DriftError DriftStatus = "error" // exit 1: the check itself failed
	// DriftNoState: the state holds no resources, so there was nothing to compare. Never
	// applied, or the backend points at a key where this environment's state is not.
	DriftNoState DriftStatus = "no-state"
)

// DriftChange is one resource that changed outside Terraform, in the form ci/plan gives a
// planned change (address, type, kind, actions), so reports render both alike. Its Kind is
// what happened to the real object: update (attributes changed) or delete (it is gone).
type DriftChange struct {
	plan.Change
	// Attributes names the top-level attributes that differ, never their values.
	Attributes []string `json:"attributes,omitempty"`
}

// Drift is the report of one drift check, written as drift.json and drift.md.
type Drift struct {
	Env     environment.Name `json:"env"`
	Status  DriftStatus      `json:"status"`
	Changes []DriftChange    `json:"changes"`
	// Outputs lists root outputs whose value changed with the refresh.
	Outputs []string `json:"outputs,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// DriftArgs is the refresh-only plan: it only reads, it locks like any plan, and its exit
// code says whether anything drifted. The saved plan feeds `terraform show -json`.
// planArgs are every plan's flags (locking, the variable files that exist), as the
// environment's plans take them: drift reads the same configuration the plan did.
func DriftArgs(planFile string, planArgs ...string) []string {
	return append([]string{"plan", "-refresh-only", "-detailed-exitcode", "-input=false", "-no-color", "-out=" + planFile}, planArgs...)
}

// ReadDrift turns a refresh-only plan's exit code, its output and (for exit 0 and 2) its
// `terraform show -json` into a report. A held lock comes back as a *LockError, not as a
// drift report: nobody should read "error" and miss that a run is stuck.
//
// The plan's shape comes from ci/plan (Analyze: validation, resource_drift as changes);
// the names of changed attributes and outputs, which ci/plan leaves out, from terraform-json.
func ReadDrift(env environment.Name, exitCode int, output string, planJSON []byte) (Drift, error) {
	d := Drift{Env: env, Changes: []DriftChange{}}
	switch exitCode {
	case 0:
		d.Status = DriftNone
	case 2:
		d.Status = DriftFound
	case 1:
		if err := CheckLock(env, output, 0, time.Time{}); err != nil {
			return Drift{}, err
		}
		d.Status, d.Error = DriftError, firstError(output)
		return d, nil
	default:
		return Drift{}, fmt.Errorf("drift check of %s: terraform exited %d; -detailed-exitcode gives 0, 1 or 2", env, exitCode)
	}
	if len(planJSON) == 0 {
		return Drift{}, fmt.Errorf("drift check of %s: exit %d but no plan JSON to read", env, exitCode)
	}
	analysis, err := plan.Analyze(bytes.NewReader(planJSON))
	if err != nil {
		return Drift{}, fmt.Errorf("drift check of %s: %w", env, err)
	}
	var detail tfjson.Plan
	if err := json.Unmarshal(planJSON, &detail); err != nil {
		return Drift{}, fmt.Errorf("drift check of %s: read plan JSON: %w", env, err)
	}
	if len(plan.ManagedResources(detail.PriorState)) == 0 {
		// Terraform finds no drift in an empty state: saying "matches" would hide that
		// nothing was compared.
		d.Status = DriftNoState
		return d, nil
	}
	attrs := map[string][]string{}
	for _, rc := range detail.ResourceDrift {
		if rc != nil && rc.Change != nil {
			attrs[rc.Address] = changedAttributes(rc.Change.Before, rc.Change.After)
		}
	}
	for _, c := range analysis.Drift {
		if !c.Managed() {
			continue
		}
		dc := DriftChange{Change: c}
		if c.Kind == plan.Update {
			dc.Attributes = attrs[c.Address]
		}
		d.Changes = append(d.Changes, dc)
	}
	for name, oc := range detail.OutputChanges {
		if oc != nil && !oc.Actions.NoOp() {
			d.Outputs = append(d.Outputs, name)
		}
	}
	sort.Slice(d.Changes, func(i, j int) bool { return d.Changes[i].Address < d.Changes[j].Address })
	sort.Strings(d.Outputs)
	if d.Status == DriftNone && len(d.Changes) > 0 {
		// Terraform said nothing changed, its plan says otherwise: trust the detail.
		d.Status = DriftFound
	}
	return d, nil
}

// Err is the drift check's verdict for a job's exit status. A check that failed always
// fails: a scheduled check that cannot run (expired role, unreachable backend) must not
// look like a clean one. Drift fails only with failOnDrift.
func (d Drift) Err(failOnDrift bool) error {
	switch d.Status {
	case DriftNone:
		return nil
	case DriftFound:
		if !failOnDrift {
			return nil
		}
		return fmt.Errorf("%s drifted: %d resource(s) changed outside Terraform", d.Env, len(d.Changes))
	case DriftError:
		return fmt.Errorf("drift check of %s failed: %s", d.Env, d.Error)
	}
	return fmt.Errorf("drift check of %s: status %q is not one of %s, %s, %s", d.Env, d.Status, DriftNone, DriftFound, DriftError)
}

// changedAttributes names the top-level attributes whose value differs; nested detail is in
// plan.json for whoever needs it.
func changedAttributes(before, after any) []string {
	b, _ := before.(map[string]any)
	a, _ := after.(map[string]any)
	var names []string
	for k, bv := range b {
		if av, ok := a[k]; !ok || !reflect.DeepEqual(av, bv) {
			names = append(names, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// Markdown renders the report for a job summary or an issue opened by the scheduled check.
func (d Drift) Markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "## Drift: %s\n\n", d.Env)
	switch d.Status {
	case DriftNone:
		sb.WriteString("No drift: real infrastructure matches the state.\n")
		return sb.String()
	case DriftNoState:
		sb.WriteString(NoStateReason(d.Env) + ".\n")
		return sb.String()
	case DriftError:
		fmt.Fprintf(&sb, "The drift check failed:\n\n%s\n", markdown.CodeBlock("", d.Error))
		return sb.String()
	}
	fmt.Fprintf(&sb, "%d resource(s) changed outside Terraform", len(d.Changes))
	if len(d.Outputs) > 0 {
		fmt.Fprintf(&sb, ", %d output(s) changed", len(d.Outputs))
	}
	sb.WriteString(". Apply the configuration to put them back, or change the configuration to match.\n\n")
	if len(d.Changes) > 0 {
		sb.WriteString("| Action | Resource | Changed attributes |\n|---|---|---|\n")
		for _, c := range d.Changes {
			attrs := strings.Join(c.Attributes, ", ")
			if c.Kind == plan.Delete {
				attrs = "deleted outside Terraform"
			}
			fmt.Fprintf(&sb, "| %s | %s | %s |\n", c.Kind, markdown.CodeSpan(c.Address), attrs)
		}
	}
	if len(d.Outputs) > 0 {
		spans := make([]string, len(d.Outputs))
		for i, o := range d.Outputs {
			spans[i] = markdown.CodeSpan(o)
		}
		fmt.Fprintf(&sb, "\nOutputs: %s\n", strings.Join(spans, ", "))
	}
	return sb.String()
}

// firstError keeps Terraform's first "Error:" diagnostic, which names the cause, and drops
// the plan output around it.
func firstError(output string) string {
	lines := cleanLines(output)
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "Error: ") {
			return strings.TrimSpace(strings.Join(lines[i:min(i+12, len(lines))], "\n"))
		}
	}
	return strings.TrimSpace(output)
}

// NoStateReason says why a drift check of an empty state compared nothing.
func NoStateReason(env environment.Name) string {
	return fmt.Sprintf("nothing to compare: the state of %s holds no resources (never applied, or the backend key in pipeline.yaml is not where %s's state lives)", env, env)
}

// RefreshLine is the line of an apply's summary for the refresh after it: the objects it
// took into the state and which attributes, or why it did not run or was not applied (note,
// Terraform's output cut to its first line), or "" when nothing was to take in.
func RefreshLine(took []DriftChange, note string) string {
	if note != "" {
		first, _, _ := strings.Cut(strings.TrimSpace(note), "\n")
		return "- The state was not refreshed after the apply, so the next drift check may report what the applied resources did to each other as changed outside Terraform: " + markdown.Text(first) + "\n"
	}
	if len(took) == 0 {
		return ""
	}
	names := make([]string, len(took))
	for i, c := range took {
		names[i] = markdown.CodeSpan(c.Address)
		if len(c.Attributes) > 0 {
			names[i] += " (" + markdown.Text(strings.Join(c.Attributes, ", ")) + ")"
		}
	}
	return "- The state was refreshed after the apply, taking in what the objects hold now: " + strings.Join(names, ", ") + "\n"
}
