// Package report turns the pipeline's decisions into what people and machines read: a
// Markdown plan summary for the PR comment and the step summary, result.json, and JUnit XML.
// It imports the deciding packages; none of them imports it.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// ResultSchemaVersion is result.json's format version; it changes when a field changes
// meaning or goes away, not when one is added.
const ResultSchemaVersion = 1

// Result is result.json: one plan's analysis and gate decision for one environment.
type Result struct {
	SchemaVersion int              `json:"schema_version"`
	Env           environment.Name `json:"env"`
	// State is the state object the run used, s3://<bucket>/<key>.
	State string `json:"state,omitempty"`
	// Region is the region the pipeline gives the AWS provider, which may differ from the
	// state bucket's; Regions are where the plan's aws provider configurations put
	// resources (Region for one that names none), and RegionsUnknown how many name theirs
	// by an expression the plan does not resolve.
	Region         string   `json:"region,omitempty"`
	Regions        []string `json:"regions,omitempty"`
	RegionsUnknown int      `json:"regions_unknown,omitempty"`
	// VarFiles are the variables files the plan read: the environment's, by its path in the
	// repository, and --tf-var-file by its flag.
	VarFiles         []string          `json:"var_files,omitempty"`
	Verdict          gate.Verdict      `json:"verdict"`
	Reasons          []string          `json:"reasons"`
	Counts           plan.Counts       `json:"counts"`
	Outputs          map[string]string `json:"outputs"`
	TerraformVersion string            `json:"terraform_version,omitempty"`
	FormatVersion    string            `json:"plan_format_version"`
	Changes          []Change          `json:"changes"`
	Drift            []Change          `json:"drift"`
	// OutputChanges are the root module outputs the apply saves, by name (no values).
	OutputChanges []plan.OutputChange `json:"output_changes,omitempty"`
}

// Change is one resource change as result.json and the summary show it: no values.
type Change struct {
	Address         string    `json:"address"`
	PreviousAddress string    `json:"previous_address,omitempty"`
	Type            string    `json:"type"`
	Kind            plan.Kind `json:"kind"`
	Actions         []string  `json:"actions"`
	Why             string    `json:"why,omitempty"`
	ImportID        string    `json:"import_id,omitempty"`
	Destructive     bool      `json:"destructive"`
	Protected       bool      `json:"protected"`
}

// NewResult puts an analysis and its decision together.
func NewResult(a *plan.Analysis, p environment.Profile, d gate.Decision) Result {
	r := Result{
		SchemaVersion:    ResultSchemaVersion,
		Env:              p.Name,
		State:            p.Backend.URL(),
		Region:           p.Region,
		Regions:          regions(a.Regions, p.Region),
		RegionsUnknown:   a.Regions.Unknown,
		Verdict:          d.Verdict,
		Reasons:          d.Reasons,
		Counts:           a.Counts,
		Outputs:          d.Outputs,
		TerraformVersion: a.TerraformVersion,
		FormatVersion:    a.FormatVersion,
		Changes:          make([]Change, 0, len(a.Changes)),
		Drift:            make([]Change, 0, len(a.Drift)),
		OutputChanges:    a.Outputs,
	}
	if r.Reasons == nil {
		r.Reasons = []string{}
	}
	for _, c := range a.Changes {
		r.Changes = append(r.Changes, change(c, p))
	}
	for _, c := range a.Drift {
		r.Drift = append(r.Drift, change(c, p))
	}
	return r
}

func change(c plan.Change, p environment.Profile) Change {
	return Change{
		Address:         c.Address,
		PreviousAddress: c.PreviousAddress,
		Type:            c.Type,
		Kind:            c.Kind,
		Actions:         c.Actions,
		Why:             c.Why(),
		ImportID:        c.ImportID,
		Destructive:     c.Destructive(),
		Protected:       c.Managed() && p.IsProtected(c.Type),
	}
}

// WriteJSON writes result.json, indented for people who open it.
func (r Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write result.json: %w", err)
	}
	return nil
}

// regions are the regions the plan names, the pipeline's region standing for a provider
// configuration that names none; sorted and unique.
func regions(r plan.Regions, pipeline string) []string {
	var out []string
	for _, name := range r.Named {
		if name == "" {
			name = pipeline
		}
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
