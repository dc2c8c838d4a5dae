package state

import (
	"github.com/infrapipe/infrapipe/ci/internal/markdown"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// Restore is a checked plan to push a backup back over an environment's current state.
//
// Terraform's `state push` refuses a state whose serial is behind the current one ("cannot
// import state with serial 2 over newer state with serial 4") unless given -force, and
// -force also skips its lineage check. We never use -force: the pushed copy is the backup
// with only its serial raised to current+1, so Terraform accepts it as the next version of
// the same state and still checks the lineage itself (Terraform may add one more when it
// writes). The original backup file stays untouched (its checksum still verifies).
type Restore struct {
	Env     environment.Name `json:"env"`
	Backup  Snapshot         `json:"backup"`
	Current *Snapshot        `json:"current,omitempty"` // nil when the backend holds no state
	// SerialDelta is backup serial minus current serial: negative when rolling back.
	SerialDelta int64  `json:"serial_delta"`
	PushSerial  uint64 `json:"push_serial"`
	// Only in the backup (restored) and only in the current state (dropped from state, not
	// destroyed: the next plan will want to create or import them).
	Restored []string `json:"restored"`
	Dropped  []string `json:"dropped"`
	// Swapped are the addresses in both whose object differs (another id): the resource was
	// replaced since the backup, whose object may no longer exist.
	Swapped []Swap `json:"swapped,omitempty"`
	// State is the file to hand to `terraform state push` (without -force).
	State []byte `json:"-"`
	// From names the backup: its object key ("latest" resolved), or the --from-file flag.
	From string `json:"from,omitempty"`
	// Replaced is the key of the backup of the state the push replaced, "" before a push
	// or onto an empty backend.
	Replaced string `json:"replaced,omitempty"`
}

// Swap is a resource whose object differs between a backup and the current state.
type Swap struct {
	Address string `json:"address"`
	Backup  string `json:"backup_id"`
	Current string `json:"current_id"`
}

// LineageError is a restore refused because the backup belongs to another state (another
// environment, or a state recreated from scratch).
type LineageError struct {
	Env            environment.Name
	BackupLineage  string
	CurrentLineage string
}

func (e *LineageError) Error() string {
	return fmt.Sprintf("restore refused: backup lineage %s does not match the current %s state's lineage %s; "+
		"the backup comes from another state (another environment, or a state recreated since). "+
		"Pick a backup of %s taken from this lineage", e.BackupLineage, e.Env, e.CurrentLineage, e.Env)
}

// PrepareRestore compares a backup with the current state (`terraform state pull` output,
// empty when the state is gone) and prepares the file to push. A backup whose resources
// carry another environment's tag (tagKey, the profile's environment tag key; "" for no
// such check) is refused first: onto an empty backend there is no lineage to compare.
func PrepareRestore(env environment.Name, tagKey string, current, backup []byte) (Restore, error) {
	if _, err := environment.ParseName(string(env)); err != nil {
		return Restore{}, fmt.Errorf("restore: %w", err)
	}
	b, err := ReadState(backup)
	if err != nil {
		return Restore{}, fmt.Errorf("restore %s: backup: %w", env, err)
	}
	if err := b.checkEnvironment(env, tagKey); err != nil {
		return Restore{}, err
	}
	r := Restore{Env: env, Backup: b, PushSerial: b.Serial, Restored: b.Addresses}
	c, err := ReadState(current)
	switch {
	case errors.Is(err, ErrNoState):
		// The state object is gone: the backup becomes the state as it is.
		r.State = backup
		r.SerialDelta = int64(b.Serial)
		return r, nil
	case err != nil:
		return Restore{}, fmt.Errorf("restore %s: current state: %w", env, err)
	}
	if c.Lineage != b.Lineage {
		return Restore{}, &LineageError{Env: env, BackupLineage: b.Lineage, CurrentLineage: c.Lineage}
	}
	r.Current = &c
	r.SerialDelta = int64(b.Serial) - int64(c.Serial)
	r.Restored, r.Dropped = difference(b.Addresses, c.Addresses), difference(c.Addresses, b.Addresses)
	for _, a := range b.Addresses {
		if bid, cid := b.ids[a], c.ids[a]; bid != "" && cid != "" && bid != cid {
			r.Swapped = append(r.Swapped, Swap{Address: a, Backup: bid, Current: cid})
		}
	}
	r.PushSerial = max(b.Serial, c.Serial+1)
	if r.PushSerial == b.Serial {
		r.State = backup
		return r, nil
	}
	r.State, err = setSerial(backup, r.PushSerial)
	if err != nil {
		return Restore{}, fmt.Errorf("restore %s: %w", env, err)
	}
	return r, nil
}

// Summary says what the push will do, for the log and the job summary, before it happens.
func (r Restore) Summary() string {
	var sb strings.Builder
	from := ""
	if r.From != "" {
		from = " from " + markdown.CodeSpan(r.From)
	}
	fmt.Fprintf(&sb, "Restore %s state%s (lineage %s)\n", r.Env, from, r.Backup.Lineage)
	if r.Current == nil {
		fmt.Fprintf(&sb, "- current state: none; the backup's resources (serial %d) become the state, under the new lineage Terraform gives a pushed state on an empty backend\n", r.Backup.Serial)
	} else {
		fmt.Fprintf(&sb, "- backup serial %d, current serial %d (%+d); pushed as serial %d\n",
			r.Backup.Serial, r.Current.Serial, r.SerialDelta, r.PushSerial)
	}
	fmt.Fprintf(&sb, "- resources in backup: %d", len(r.Backup.Addresses))
	if r.Current != nil {
		fmt.Fprintf(&sb, ", in current state: %d", len(r.Current.Addresses))
	}
	sb.WriteString("\n")
	for _, a := range r.Restored {
		if r.Current != nil {
			fmt.Fprintf(&sb, "  + %s (back in state)\n", a)
		}
	}
	for _, a := range r.Dropped {
		fmt.Fprintf(&sb, "  - %s (leaves state; the real resource is not destroyed)\n", a)
	}
	for _, s := range r.Swapped {
		fmt.Fprintf(&sb, "  ~ %s: the backup names another object (id %s, now %s): it was replaced since, and the backup's object may no longer exist\n",
			s.Address, markdown.CodeSpan(s.Backup), markdown.CodeSpan(s.Current))
	}
	return sb.String()
}

// PushArgs is the push command; never -force (see Restore).
func PushArgs(file string) []string { return []string{"state", "push", file} }

func difference(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

// setSerial replaces the top-level "serial" value in place, keeping every other byte (key
// order, formatting) of the backup as it was.
func setSerial(data []byte, serial uint64) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("state is not a JSON object")
	}
	start, end := -1, -1
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read state: %w", err)
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("read state: %w", err)
		}
		if key, _ := tok.(string); !strings.EqualFold(key, "serial") {
			continue
		}
		if start >= 0 {
			return nil, errors.New("state has two \"serial\" keys")
		}
		end = int(dec.InputOffset())
		start = end - len(value)
	}
	if start < 0 {
		return nil, errors.New("state has no serial")
	}
	out := make([]byte, 0, len(data)+4)
	out = append(out, data[:start]...)
	out = strconv.AppendUint(out, serial, 10)
	return append(out, data[end:]...), nil
}

// ShownOnly ends the summary of a restore that was only compared: nothing changed, and the
// line that pushes the backup.
func ShownOnly(push string) string {
	return "\nNothing changed. To push this backup, run:\n\n" + markdown.CodeBlock("sh", push) + "\n"
}

// CheckRestoreSource refuses a restore-state call that names no backup, or two.
func CheckRestoreSource(from string, fromFile bool) error {
	if (from == "") == !fromFile {
		return errors.New("give exactly one of --from=<backup key or latest> and --from-file=<backup file>")
	}
	return nil
}

// Report is restore-state's answer: the comparison, then either the serial the backup was
// pushed as or, when it was only compared, that nothing changed and the line that pushes it.
func (r Restore) Report(pushed bool, pushLine string) string {
	if !pushed {
		return r.Summary() + ShownOnly(pushLine)
	}
	if r.Current == nil {
		return r.Summary() + "\nRestored into the empty backend, under the lineage and serial Terraform gave it (terraform state pull shows them).\n"
	}
	// The S3 backend records the push one serial higher, as Terraform counts its own write:
	// say so, or a reader comparing with `terraform state pull` sees a serial that is off.
	undo := ""
	if r.Replaced != "" {
		undo = "The state it replaced is kept as " + markdown.CodeSpan(r.Replaced) + ": restore-state --from with that key puts it back.\n"
	}
	return r.Summary() + "\nRestored: pushed as serial " + strconv.FormatUint(r.PushSerial, 10) +
		" (the backend may record it one higher: Terraform counts its own write).\n" + undo
}
