package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// AnalyzeFile analyses a file written by `terraform show -json tfplan`.
func AnalyzeFile(path string) (*Analysis, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	defer f.Close()
	a, err := Analyze(f)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return a, nil
}

// checkEncoding refuses plan JSON that is not plain UTF-8, with what it is and how to write
// it: a PowerShell redirect (`>`) writes UTF-16, and some editors add a byte-order mark, and
// either otherwise fails as "invalid character 'ï'" or 'ÿ'.
func checkEncoding(br *bufio.Reader) error {
	head, _ := br.Peek(3)
	const howTo = "write it as UTF-8 without a byte-order mark: terraform show -json tfplan > plan.json in a POSIX shell, or in PowerShell terraform show -json tfplan | Out-File -Encoding utf8NoBOM plan.json"
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return errors.New("the plan JSON starts with a UTF-8 byte-order mark: " + howTo)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return errors.New("the plan JSON is UTF-16 (as a PowerShell redirect writes it): " + howTo)
	}
	return nil
}

// Analyze reads `terraform show -json` plan output.
//
// It decodes the document as a stream, one resource change at a time, and skips the parts
// it does not need (planned values, prior state, configuration) token by token, so memory
// stays a small multiple of one resource rather than of the whole plan: a plan of tens of
// thousands of resources is analysed in well under a second.
func Analyze(r io.Reader) (*Analysis, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if err := checkEncoding(br); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(br)
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, errors.New("empty input: expected the output of terraform show -json <planfile>")
	}
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not a Terraform plan: the JSON starts with %v, expected an object", tok)
	}
	a := &Analysis{Changes: []Change{}}
	var sawPlan, sawState bool
	var providers map[string]*tfjson.ProviderConfig
	var drift []json.RawMessage // read once the relevant attributes, which may follow, are known
	var relevantAttrs []tfjson.ResourceAttribute
	var vars rootVars
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, truncated(err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, fmt.Errorf("key %q appears twice in the plan", key)
		}
		seen[key] = true
		switch key {
		case "format_version":
			err = dec.Decode(&a.FormatVersion)
		case "terraform_version":
			err = dec.Decode(&a.TerraformVersion)
		case "errored":
			err = dec.Decode(&a.Errored)
		case "resource_changes":
			sawPlan = true
			err = eachChange(dec, func(c Change) {
				a.count(c)
				if c.Kind != NoOp || c.Importing || c.PreviousAddress != "" {
					a.Changes = append(a.Changes, c)
				}
			})
		case "resource_drift":
			sawPlan = true
			err = dec.Decode(&drift)
		case "relevant_attributes":
			err = dec.Decode(&relevantAttrs)
		case "checks":
			var checks []tfjson.CheckResultStatic
			err = dec.Decode(&checks)
			a.FailedChecks = failedChecks(checks)
		case "configuration":
			sawPlan = true
			var c struct {
				Providers map[string]*tfjson.ProviderConfig `json:"provider_config"`
				Root      struct {
					Variables map[string]*tfjson.ConfigVariable `json:"variables"`
				} `json:"root_module"`
			}
			err = dec.Decode(&c)
			providers, vars.declared = c.Providers, c.Root.Variables
		case "variables":
			err = dec.Decode(&vars.values)
		case "output_changes":
			sawPlan = true
			a.Outputs, err = outputChanges(dec)
			a.Counts.Outputs = len(a.Outputs)
		case "planned_values", "prior_state":
			sawPlan = true
			err = skip(dec)
		case "values", "lineage", "serial", "resources":
			// `terraform show -json` of a state has "values"; a raw .tfstate has
			// "lineage", "serial" and "resources".
			sawState = true
			err = skip(dec)
		default:
			err = skip(dec)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, truncated(err))
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, truncated(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the plan's JSON object")
	}
	if sawState && !sawPlan {
		return nil, errors.New("this is a Terraform state, not a plan: run terraform plan -out=tfplan, then terraform show -json tfplan")
	}
	// tfjson's own check: the format version is present and one this library understands.
	if err := (&tfjson.Plan{FormatVersion: a.FormatVersion}).Validate(); err != nil {
		return nil, fmt.Errorf("%w; supported plan format versions are %s", err, tfjson.PlanFormatVersionConstraints)
	}
	if !sawPlan {
		return nil, errors.New("not a Terraform plan: no planned_values or resource_changes")
	}
	a.Regions = awsRegions(providers, vars)
	if err := a.readDrift(drift, relevantAttrs); err != nil {
		return nil, fmt.Errorf("resource_drift: %w", err)
	}
	return a, nil
}

// readDrift reads resource_drift: every entry into Drift, and those that matter to the
// plan's apply (an object it changes, with a difference more than a provider's null read
// back as empty; or relevant) aside for KeepRelevantDrift.
func (a *Analysis) readDrift(drift []json.RawMessage, attrs []tfjson.ResourceAttribute) error {
	changed := map[string]bool{}
	for _, c := range a.Changes {
		if c.Kind != NoOp {
			changed[c.Address] = true
		}
	}
	for i, raw := range drift {
		var rc resourceChange
		var values driftValues
		if err := json.Unmarshal(raw, &rc); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
		if err := json.Unmarshal(raw, &values); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
		c, err := fromTF(&rc)
		if err != nil {
			return fmt.Errorf("[%d] %s: %w", i, rc.Address, err)
		}
		a.Counts.Drift++
		a.Drift = append(a.Drift, c)
		if (changed[c.Address] && values.differs()) || relevant(c.Address, values, attrs) {
			a.relevantDrift = append(a.relevantDrift, c)
		}
	}
	return nil
}

// outputChanges reads output_changes: the outputs whose value the apply adds, changes or
// removes, by name. Their values are decoded by no one.
func outputChanges(dec *json.Decoder) ([]OutputChange, error) {
	var raw map[string]struct {
		Actions tfjson.Actions `json:"actions"`
	}
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	var out []OutputChange
	for name, oc := range raw {
		kind, err := kindOf(oc.Actions)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", name, err)
		}
		switch kind {
		case Create, Update, Delete:
			out = append(out, OutputChange{Name: name, Kind: kind})
		case NoOp:
		default:
			return nil, fmt.Errorf("output %q: unexpected actions %v", name, oc.Actions)
		}
	}
	slices.SortFunc(out, func(a, b OutputChange) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (a *Analysis) count(c Change) {
	n := &a.Counts
	switch c.Kind {
	case Create:
		n.Create++
	case Update:
		n.Update++
	case Delete:
		n.Delete++
	case ReplaceDeleteFirst:
		n.Replace++
		n.ReplaceDeleteFirst++
	case ReplaceCreateFirst:
		n.Replace++
		n.ReplaceCreateFirst++
	case Forget:
		n.Forget++
	case CreateThenForget:
		n.Create++
		n.Forget++
	case NoOp:
		n.NoOp++
	case Read:
		n.Read++
	}
	if c.Importing {
		n.Import++
	}
	if c.PreviousAddress != "" && c.PreviousAddress != c.Address {
		n.Move++
	}
}

// resourceChange is tfjson.ResourceChange without the attribute values: before, after and
// their sensitive and unknown markers are never decoded, so they cannot leak and cost
// nothing. The field types are terraform-json's own.
type resourceChange struct {
	Address         string              `json:"address"`
	PreviousAddress string              `json:"previous_address"`
	Mode            tfjson.ResourceMode `json:"mode"`
	Type            string              `json:"type"`
	DeposedKey      string              `json:"deposed"`
	ActionReason    tfjson.ActionReason `json:"action_reason"`
	Change          *struct {
		Actions      tfjson.Actions    `json:"actions"`
		ReplacePaths []any             `json:"replace_paths"`
		Importing    *tfjson.Importing `json:"importing"`
	} `json:"change"`
}

// eachChange decodes a JSON array of resource changes one element at a time.
func eachChange(dec *json.Decoder, fn func(Change)) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // null
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("expected a list, got %v", tok)
	}
	for i := 0; dec.More(); i++ {
		var rc resourceChange
		if err := dec.Decode(&rc); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
		c, err := fromTF(&rc)
		if err != nil {
			return fmt.Errorf("[%d] %s: %w", i, rc.Address, err)
		}
		fn(c)
	}
	_, err = dec.Token()
	return err
}

// fromTF keeps the shape of a change: addresses, actions, reasons and attribute paths.
func fromTF(rc *resourceChange) (Change, error) {
	if rc.Address == "" {
		return Change{}, errors.New("resource change without an address")
	}
	if rc.Change == nil {
		return Change{}, errors.New("resource change without a change")
	}
	kind, err := kindOf(rc.Change.Actions)
	if err != nil {
		return Change{}, err
	}
	c := Change{
		Address:         rc.Address,
		PreviousAddress: rc.PreviousAddress,
		Type:            rc.Type,
		Mode:            string(rc.Mode),
		Kind:            kind,
		Reason:          string(rc.ActionReason),
		Deposed:         rc.DeposedKey,
	}
	if c.Mode == "" {
		c.Mode = string(tfjson.ManagedResourceMode)
	}
	for _, a := range rc.Change.Actions {
		c.Actions = append(c.Actions, string(a))
	}
	for _, p := range rc.Change.ReplacePaths {
		c.ReplacePaths = append(c.ReplacePaths, renderPath(p))
	}
	if im := rc.Change.Importing; im != nil {
		c.Importing, c.ImportID = true, im.ID
	}
	return c, nil
}

// skip reads past one JSON value without keeping it: the decoder checks its syntax and
// hands the bytes to ignored, which drops them, so no value is ever allocated.
func skip(dec *json.Decoder) error {
	var v ignored
	return dec.Decode(&v)
}

type ignored struct{}

func (*ignored) UnmarshalJSON([]byte) error { return nil }

// truncated names the usual cause of an unexpected end: a plan cut off while written.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of JSON: the plan file is truncated")
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("malformed JSON at byte %d: %w", syn.Offset, err)
	}
	return err
}
