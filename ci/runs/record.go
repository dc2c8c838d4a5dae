// Package runs keeps a record of every pipeline, apply, import and drift run: one JSON
// object per run, whatever its verdict, in the environment's state bucket under runs/, next
// to the state backups. The bucket is the one a team already secures and versions, and the
// records are what ci/kpis computes deployment KPIs from.
//
// A record holds what the run's report already shows (verdicts, counts, findings by
// severity and tool, the cost estimate, durations, the reproduce line) and nothing secret:
// no plan values, no state, no credentials, no webhook URLs.
package runs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// SchemaVersion is the records' format version. It changes when a field changes meaning or
// goes away, not when one is added: a reader skips records of a newer version rather than
// misread them (ErrNewerSchema).
const SchemaVersion = 1

// Kind is the function a record is of.
type Kind string

// The kinds of run that leave a record.
const (
	KindPipeline Kind = "pipeline"
	KindApply    Kind = "apply"
	KindImport   Kind = "import"
	KindDrift    Kind = "drift"
)

// Kinds lists the kinds in the order reports show them.
var Kinds = []Kind{KindPipeline, KindApply, KindImport, KindDrift}

// Record is one run. Times are UTC; durations are whole milliseconds.
type Record struct {
	SchemaVersion int              `json:"schema_version"`
	ID            string           `json:"id"` // e.g. 20261205T083000Z-9f86d081, also the object's name
	Kind          Kind             `json:"kind"`
	Env           environment.Name `json:"env"`
	Commit        string           `json:"commit,omitempty"`
	Ref           string           `json:"ref,omitempty"`
	Trigger       string           `json:"trigger,omitempty"` // the GitHub event name, e.g. push
	Actor         string           `json:"actor,omitempty"`   // the GitHub login that triggered it
	Started       time.Time        `json:"started"`
	Ended         time.Time        `json:"ended"`
	Verdict       gate.Verdict     `json:"verdict"`
	Reasons       []string         `json:"reasons,omitempty"`
	DryRun        bool             `json:"dry_run,omitempty"`
	Steps         []Step           `json:"steps"`
	Counts        *Counts          `json:"counts,omitempty"` // the plan's, when there was one
	Findings      []FindingCount   `json:"findings"`
	Cost          *Cost            `json:"cost,omitempty"` // when Infracost estimated it
	Applied       bool             `json:"applied"`
	Reproduce     string           `json:"reproduce,omitempty"`

	// Stored is when the bucket received the record (its LastModified), set by Read: one
	// clock for every runner, which orders runs when runners' clocks disagree.
	Stored time.Time `json:"-"`
}

// Step is one step of a run.
type Step struct {
	Name       string       `json:"name"`
	Verdict    gate.Verdict `json:"verdict"`
	DurationMS int64        `json:"duration_ms"`
	Findings   int          `json:"findings"`
}

// Counts are the plan's changes.
type Counts struct {
	Create  int `json:"create"`
	Update  int `json:"update"`
	Replace int `json:"replace"`
	Delete  int `json:"delete"`
	Import  int `json:"import"`
	Drift   int `json:"drift"`
}

// FindingCount is how many findings one tool reported at one severity; suppressed findings
// are counted apart, as they never fail a gate.
type FindingCount struct {
	Tool       string `json:"tool"`
	Severity   string `json:"severity"`
	Count      int    `json:"count"`
	Suppressed int    `json:"suppressed,omitempty"`
}

// Cost is Infracost's estimate for the run's plan, monthly.
type Cost struct {
	Currency     string  `json:"currency"`
	Monthly      float64 `json:"monthly"`
	MonthlyDelta float64 `json:"monthly_delta"`
}

// Duration is the run's wall time by its own runner's clock.
func (r Record) Duration() time.Duration { return r.Ended.Sub(r.Started) }

// Succeeded reports whether the run passed (or only warned).
func (r Record) Succeeded() bool { return r.Verdict == gate.Pass || r.Verdict == gate.Warn }

// Step is the named step, if the run had it.
func (r Record) Step(name string) (Step, bool) {
	i := slices.IndexFunc(r.Steps, func(s Step) bool { return s.Name == name })
	if i < 0 {
		return Step{}, false
	}
	return r.Steps[i], true
}

// ErrNewerSchema marks a record written by a newer infrapipe: its fields may mean something
// this version does not know, so it is counted and skipped, never guessed at.
var ErrNewerSchema = errors.New("record from a newer schema version")

// maxRecord bounds a record a reader accepts: one run is a few kilobytes.
const maxRecord = 1 << 20

var (
	idRE     = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-z-]{1,64}$`)
	verdicts = []gate.Verdict{gate.Pass, gate.Warn, gate.Block}
)

// Parse reads one record; name says where it came from (an object key). A record of a newer
// schema version is ErrNewerSchema; anything else that is not a valid record is an error
// naming what is wrong.
func Parse(name string, data []byte) (Record, error) {
	if len(data) > maxRecord {
		return Record{}, fmt.Errorf("%s: %d bytes, over the %d a run record takes", name, len(data), maxRecord)
	}
	var version struct {
		SchemaVersion int `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &version); err != nil {
		return Record{}, fmt.Errorf("%s: not a run record: %w", name, err)
	}
	switch {
	case version.SchemaVersion > SchemaVersion:
		return Record{}, fmt.Errorf("%s: schema_version %d (this infrapipe reads %d): %w", name, version.SchemaVersion, SchemaVersion, ErrNewerSchema)
	case version.SchemaVersion < 1:
		return Record{}, fmt.Errorf("%s: schema_version %d: valid values are 1 to %d", name, version.SchemaVersion, SchemaVersion)
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("%s: not a run record: %w", name, err)
	}
	if err := r.Check(); err != nil {
		return Record{}, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// Check rejects a record that a writer should not have written: the fields every KPI
// relies on must hold valid values.
func (r Record) Check() error {
	if !idRE.MatchString(r.ID) {
		return fmt.Errorf("id %s is not a run id such as 20261205T083000Z-9f86d081", untrusted.Quote(r.ID))
	}
	if !slices.Contains(Kinds, r.Kind) {
		return fmt.Errorf("kind %s: valid values are pipeline, apply, import, drift", untrusted.Quote(string(r.Kind)))
	}
	if _, err := environment.ParseName(string(r.Env)); err != nil {
		return fmt.Errorf("env: %w", err)
	}
	if !slices.Contains(verdicts, r.Verdict) {
		return fmt.Errorf("verdict %s: valid values are pass, warn, block", untrusted.Quote(string(r.Verdict)))
	}
	if r.Started.IsZero() || r.Ended.IsZero() {
		return fmt.Errorf("started and ended are required")
	}
	for i, s := range r.Steps {
		if !slices.Contains(verdicts, s.Verdict) {
			return fmt.Errorf("steps[%d].verdict %s: valid values are pass, warn, block", i, untrusted.Quote(string(s.Verdict)))
		}
		if s.DurationMS < 0 {
			return fmt.Errorf("steps[%d].duration_ms %d: a duration is not negative", i, s.DurationMS)
		}
	}
	for i, f := range r.Findings {
		if f.Count < 0 || f.Suppressed < 0 {
			return fmt.Errorf("findings[%d]: negative count", i)
		}
	}
	return nil
}

// Marshal is the record as stored: indented JSON with the current schema version.
func (r Record) Marshal() ([]byte, error) {
	r.SchemaVersion = SchemaVersion
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("run record %s: %w", r.ID, err)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("run record %s: %w", r.ID, err)
	}
	return append(data, '\n'), nil
}
