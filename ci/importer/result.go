package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/markdown"
)

// Outcome is what Terraform said about the imports: read from `terraform show -json` of
// the plan made with the import blocks, and/or from the machine-readable log of
// `terraform plan -json` or `terraform apply -json`.
type Outcome struct {
	importing map[string]string // address → import ID the plan imports
	errors    map[string][]string
	general   []string // errors not tied to an address
	// Counted is the "import" count of the log's last change_summary, -1 if none.
	Counted int
}

// ReadOutcome collects the imports and errors from a plan (may be nil, e.g. when the plan
// failed) and a log (may be empty): Terraform's machine-readable one (-json), its plain
// output (-no-color, as the Dagger module runs it), or both interleaved. In plain output
// only the "Error: " diagnostics count; they name no address, so they fail the whole run.
func ReadOutcome(plan *tfjson.Plan, log []byte) (*Outcome, error) {
	o := &Outcome{importing: map[string]string{}, errors: map[string][]string{}, Counted: -1}
	if plan != nil {
		for _, rc := range plan.ResourceChanges {
			if rc != nil && rc.Change != nil && rc.Change.Importing != nil {
				o.importing[rc.Address] = rc.Change.Importing.ID
			}
		}
	}
	var plain plainErrors
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		var m logLine
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &m) != nil {
			plain.add(string(line))
			continue
		}
		switch m.Type {
		case "planned_change":
			if m.Change.Importing != nil && m.Change.Resource.Addr != "" {
				o.importing[m.Change.Resource.Addr] = m.Change.Importing.ID
			}
		case "change_summary":
			if m.Changes.Import != nil {
				o.Counted = *m.Changes.Import
			}
		case "apply_errored":
			o.errors[m.Hook.Resource.Addr] = append(o.errors[m.Hook.Resource.Addr], m.Message)
		case "diagnostic":
			if m.Diagnostic.Severity != "error" {
				continue
			}
			msg := m.Diagnostic.Summary
			if d := strings.TrimSpace(m.Diagnostic.Detail); d != "" {
				msg += ": " + d
			}
			if m.Diagnostic.Address != "" {
				o.errors[m.Diagnostic.Address] = append(o.errors[m.Diagnostic.Address], msg)
			} else {
				o.general = append(o.general, msg)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read terraform log: %w", err)
	}
	o.general = append(o.general, plain.done()...)
	return o, nil
}

// plainErrors collects the diagnostics of Terraform's -no-color output: "Error: SUMMARY",
// then the detail paragraphs up to the next diagnostic or the end of the output (Terraform
// prints errors last), read as "SUMMARY: DETAIL" like a -json diagnostic.
type plainErrors struct {
	errs    []string
	summary string
	detail  []string
	open    bool
}

func (p *plainErrors) add(line string) {
	switch {
	case strings.HasPrefix(line, "Error: "):
		p.close()
		p.summary, p.open = strings.TrimSpace(strings.TrimPrefix(line, "Error: ")), true
	case strings.HasPrefix(line, "Warning: "):
		p.close()
	case p.open && line != "":
		p.detail = append(p.detail, line)
	}
}

func (p *plainErrors) close() {
	if p.open {
		msg := p.summary
		if len(p.detail) > 0 {
			msg += ": " + strings.Join(p.detail, " ")
		}
		p.errs = append(p.errs, msg)
	}
	p.summary, p.detail, p.open = "", nil, false
}

func (p *plainErrors) done() []string {
	p.close()
	return p.errs
}

// logLine is the part of Terraform's machine-readable UI the importer needs.
type logLine struct {
	Type    string `json:"type"`
	Message string `json:"@message"`
	Change  struct {
		Resource  struct{ Addr string } `json:"resource"`
		Importing *struct {
			ID string `json:"id"`
		} `json:"importing"`
	} `json:"change"`
	Changes struct {
		Import *int `json:"import"`
	} `json:"changes"`
	Hook struct {
		Resource struct {
			Addr string `json:"addr"`
		} `json:"resource"`
	} `json:"hook"`
	Diagnostic struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
		Address  string `json:"address"`
	} `json:"diagnostic"`
}

// Resolve turns every pending import into imported or failed: imported when Terraform
// imports that ID into that address and the run reported no error; failed otherwise, with
// Terraform's error (one for the address, else the run's). A run with any error imports
// nothing (a failed plan is not applied), so then every import counts as failed; a re-run
// skips whatever did reach the state.
func (p *Plan) Resolve(o *Outcome) *Plan {
	out := &Plan{StateRemovals: p.StateRemovals, GenerateConfigOut: p.GenerateConfigOut}
	var runErrs []string
	for addr, errs := range o.errors {
		for _, e := range errs {
			runErrs = append(runErrs, addr+": "+e)
		}
	}
	sort.Strings(runErrs)
	runErrs = append(o.general, runErrs...)
	for _, e := range p.Entries {
		if e.Status == Import {
			id, importing := o.importing[e.Address]
			errs := o.errors[e.Address]
			switch {
			case len(errs) > 0:
				e.Status, e.Reason = Failed, strings.Join(errs, "; ")
			case importing && id != e.ID:
				e.Status, e.Reason = Failed, fmt.Sprintf("Terraform imports ID %q, not %q", id, e.ID)
			case len(runErrs) > 0:
				e.Status, e.Reason = Failed, "the run failed: "+strings.Join(runErrs, "; ")
			case importing:
				e.Status, e.Reason = Import, "" // imported once the plan is applied: Applied
			default:
				e.Status, e.Reason = Failed, "the plan does not import it (import block not applied)"
			}
		}
		out.Entries = append(out.Entries, e)
	}
	return out
}

// Applied is the plan after its apply succeeded: what it imports is now imported. A dry run,
// or a plan the gate blocked, is never Applied, so its report says "would import".
func (p *Plan) Applied() *Plan {
	out := &Plan{StateRemovals: p.StateRemovals, GenerateConfigOut: p.GenerateConfigOut}
	for _, e := range p.Entries {
		if e.Status == Import {
			e.Status = Imported
		}
		out.Entries = append(out.Entries, e)
	}
	return out
}

// Err fails the run when any import failed, naming each.
func (p *Plan) Err() error {
	var failed []string
	for _, e := range p.Entries {
		if e.Status == Failed {
			failed = append(failed, fmt.Sprintf("%s (%s): %s", e.Address, e.ID, e.Reason))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of the required imports failed: %s", len(failed), strings.Join(failed, "; "))
}

// StateChangedError is an import that failed after --force removed addresses from env's
// state: it says which are gone and gives the line that puts the state back from the
// backup taken first.
func StateChangedError(err error, env environment.Name, removed []string, restore string) error {
	return fmt.Errorf("%w\n\n--force removed %s from the %s state before this failed, and they were not imported again. "+
		"Put the state back from the backup taken first:\n%s", err, strings.Join(removed, ", "), env, markdown.CodeBlock("shell", restore)+"\n")
}
