// Package findings is the one shape every scanner's and policy engine's result takes, so
// that an environment's threshold, the SARIF upload and the summary treat them alike.
package findings

import (
	"fmt"
	"slices"
	"strings"
)

// Severity orders findings; the zero value is Unknown, which sorts below Info.
type Severity int

const (
	Unknown Severity = iota
	Info
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"UNKNOWN", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

func (s Severity) String() string {
	if s < Unknown || s > Critical {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity accepts the names above in any case.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Severity(i), nil
		}
	}
	return Unknown, fmt.Errorf("unknown severity %q: valid values are %s", s, strings.Join(severityNames[1:], ", "))
}

// MarshalText writes the name, so JSON and YAML carry "HIGH" rather than 4.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Finding is one problem reported by one tool.
type Finding struct {
	Tool     string   `json:"tool"`               // checkov, trivy, tflint, tfsec, opa, terraform-compliance, infracost
	RuleID   string   `json:"rule_id"`            // the tool's own rule identifier
	Severity Severity `json:"severity"`           // normalised
	Resource string   `json:"resource,omitempty"` // Terraform address, e.g. aws_s3_bucket.state
	File     string   `json:"file,omitempty"`     // relative to the Terraform directory
	Line     int      `json:"line,omitempty"`     // 1-based; 0 when unknown
	Message  string   `json:"message"`
	Link     string   `json:"link,omitempty"`
	// Suppressed holds the reason when a suppression entry matched; such findings are
	// reported but never fail a gate.
	Suppressed string `json:"suppressed,omitempty"`
}

// Brief names the first n findings of fs, the most severe first (Sort), in one line, for a
// reason that would otherwise only count them (a job log's error, a summary's header): rule,
// resource and file:line where known, then how many more; "" for none. Fields are the tools'
// own text, made one line.
func Brief(fs []Finding, n int) string {
	if len(fs) == 0 || n <= 0 {
		return ""
	}
	fs = slices.Clone(fs)
	Sort(fs)
	oneLine := strings.NewReplacer("\r", " ", "\n", " ").Replace
	var parts []string
	for _, f := range fs[:min(n, len(fs))] {
		s := oneLine(f.RuleID)
		if s == "" {
			s = f.Tool
		}
		var at []string
		if f.Resource != "" {
			at = append(at, oneLine(f.Resource))
		}
		switch {
		case f.File != "" && f.Line > 0:
			at = append(at, fmt.Sprintf("%s:%d", oneLine(f.File), f.Line))
		case f.File != "":
			at = append(at, oneLine(f.File))
		}
		if len(at) > 0 {
			s += " (" + strings.Join(at, ", ") + ")"
		}
		parts = append(parts, s)
	}
	out := strings.Join(parts, ", ")
	if more := len(fs) - n; more > 0 {
		out += fmt.Sprintf(" and %d more", more)
	}
	return out
}
