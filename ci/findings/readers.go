package findings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Format names a tool output this package reads.
type Format string

const (
	FormatSARIF               Format = "sarif"                // checkov -o sarif, trivy -f sarif, tflint --format=sarif, tfsec --format sarif
	FormatCheckovJSON         Format = "checkov-json"         // checkov -o json
	FormatTflintJSON          Format = "tflint-json"          // tflint --format=json
	FormatTrivyJSON           Format = "trivy-json"           // trivy config -f json
	FormatTerraformCompliance Format = "terraform-compliance" // terraform-compliance console output
)

// Formats lists every Format, for error messages and flags.
var Formats = []Format{FormatSARIF, FormatCheckovJSON, FormatTflintJSON, FormatTrivyJSON, FormatTerraformCompliance}

// Parse reads one tool output. name (usually the file path) labels errors. Empty or
// malformed output is an error: a scanner that crashed must not look like a clean scan.
func Parse(format Format, name string, data []byte) ([]Finding, error) {
	switch format {
	case FormatSARIF:
		return ParseSARIF(name, data)
	case FormatCheckovJSON:
		return ParseCheckovJSON(name, data)
	case FormatTflintJSON:
		return ParseTflintJSON(name, data)
	case FormatTrivyJSON:
		return ParseTrivyJSON(name, data)
	case FormatTerraformCompliance:
		return ParseTerraformCompliance(name, data)
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return nil, fmt.Errorf("unknown output format %q for %s: valid values are %s", format, name, strings.Join(names, ", "))
}

// ReadFile reads and parses one tool output file.
func ReadFile(format Format, path string) ([]Finding, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s output: %w", format, err)
	}
	return Parse(format, path, data)
}

// decodeJSON rejects empty input and trailing garbage, which json.Unmarshal alone reports
// less clearly.
func decodeJSON(tool, name string, data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%s %s: empty output: the tool wrote nothing, so it probably failed", tool, name)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s %s: not valid %s JSON output: %w", tool, name, tool, err)
	}
	return nil
}

// checkovReport is one framework's block of `checkov -o json`.
type checkovReport struct {
	CheckType string `json:"check_type"`
	Results   *struct {
		FailedChecks []checkovCheck `json:"failed_checks"`
	} `json:"results"`
	// ResourceCount is set when checkov prints only a summary: it found nothing to scan.
	ResourceCount *int `json:"resource_count"`
}

type checkovCheck struct {
	CheckID       string  `json:"check_id"`
	CheckName     string  `json:"check_name"`
	FilePath      string  `json:"file_path"`
	FileLineRange []int   `json:"file_line_range"`
	Resource      string  `json:"resource"`
	Severity      *string `json:"severity"`
	Guideline     *string `json:"guideline"`
	// ShortDescription names the CVE or licence of package checks, which share a check_id.
	ShortDescription *string `json:"short_description"`
}

// ParseCheckovJSON reads `checkov -o json`: one object for a single framework, or a list
// with one object per framework. Checkov fills severity only with a platform API key; a
// failed check without one counts as MEDIUM so it still fails strict environments.
func ParseCheckovJSON(name string, data []byte) ([]Finding, error) {
	trimmed := bytes.TrimSpace(data)
	var reports []checkovReport
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := decodeJSON("checkov", name, data, &reports); err != nil {
			return nil, err
		}
	} else {
		var one checkovReport
		if err := decodeJSON("checkov", name, data, &one); err != nil {
			return nil, err
		}
		reports = []checkovReport{one}
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("checkov %s: empty report list", name)
	}
	var out []Finding
	for i, r := range reports {
		if r.CheckType == "" && r.ResourceCount != nil {
			// checkov prints only {"passed": 0, ..., "resource_count": 0} when it finds
			// nothing to scan: a wrong directory must not pass for a clean scan.
			return nil, fmt.Errorf("checkov %s: checkov scanned no resources (a bare summary): check the directory it was given", name)
		}
		if r.CheckType == "" || r.Results == nil {
			return nil, fmt.Errorf("checkov %s: report %d has no check_type/results: not a checkov -o json report", name, i)
		}
		for _, c := range r.Results.FailedChecks {
			if c.CheckID == "" {
				return nil, fmt.Errorf("checkov %s: %s failed check without check_id", name, r.CheckType)
			}
			sev := Medium
			if c.Severity != nil && *c.Severity != "" {
				s, err := ParseSeverity(*c.Severity)
				if err != nil {
					return nil, fmt.Errorf("checkov %s: %s: %w", name, c.CheckID, err)
				}
				sev = s
			}
			f := Finding{
				Tool:     "checkov",
				RuleID:   c.CheckID,
				Severity: sev,
				Resource: c.Resource,
				File:     strings.TrimPrefix(c.FilePath, "/"),
				Message:  c.CheckName,
			}
			if c.ShortDescription != nil && *c.ShortDescription != "" {
				f.Message = *c.ShortDescription
			}
			if len(c.FileLineRange) > 0 && c.FileLineRange[0] > 0 {
				f.Line = c.FileLineRange[0]
			}
			if c.Guideline != nil {
				f.Link = *c.Guideline
			}
			out = append(out, f)
		}
	}
	return out, nil
}

type tflintReport struct {
	Issues *[]struct {
		Rule struct {
			Name     string `json:"name"`
			Severity string `json:"severity"`
			Link     string `json:"link"`
		} `json:"rule"`
		Message string `json:"message"`
		Range   struct {
			Filename string `json:"filename"`
			Start    struct {
				Line int `json:"line"`
			} `json:"start"`
		} `json:"range"`
	} `json:"issues"`
	Errors []struct {
		Message  string `json:"message"`
		Severity string `json:"severity"`
	} `json:"errors"`
}

// ParseTflintJSON reads `tflint --format=json`. tflint reports its own failures (bad
// config, unparsable HCL) in "errors"; those make the run an error, not a finding.
func ParseTflintJSON(name string, data []byte) ([]Finding, error) {
	var r tflintReport
	if err := decodeJSON("tflint", name, data, &r); err != nil {
		return nil, err
	}
	if r.Issues == nil {
		return nil, fmt.Errorf("tflint %s: no issues array: not a tflint --format=json report", name)
	}
	if len(r.Errors) > 0 {
		msgs := make([]string, len(r.Errors))
		for i, e := range r.Errors {
			msgs[i] = e.Message
		}
		return nil, fmt.Errorf("tflint %s: tflint failed: %s", name, strings.Join(msgs, "; "))
	}
	var out []Finding
	for i, is := range *r.Issues {
		if is.Rule.Name == "" {
			// A finding without a rule cannot be suppressed, grouped or uploaded.
			return nil, fmt.Errorf("tflint %s: issue %d has no rule name: not a tflint --format=json report", name, i)
		}
		sev, err := tflintSeverity(is.Rule.Severity)
		if err != nil {
			return nil, fmt.Errorf("tflint %s: %s: %w", name, is.Rule.Name, err)
		}
		out = append(out, Finding{
			Tool:     "tflint",
			RuleID:   is.Rule.Name,
			Severity: sev,
			File:     is.Range.Filename,
			Line:     is.Range.Start.Line,
			Message:  is.Message,
			Link:     is.Rule.Link,
		})
	}
	return out, nil
}

// tflintSeverity maps tflint's lint levels (JSON) and SARIF levels (its SARIF writer uses
// error, warning and note) to the shared scale.
func tflintSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "error":
		return High, nil
	case "warning":
		return Low, nil
	case "notice", "info", "note", "none":
		return Info, nil
	}
	return Unknown, fmt.Errorf("tflint severity %q: valid values are error, warning, notice", s)
}

type trivyReport struct {
	SchemaVersion int `json:"SchemaVersion"`
	Results       []struct {
		Target            string `json:"Target"`
		Misconfigurations []struct {
			ID            string `json:"ID"`
			AVDID         string `json:"AVDID"`
			Title         string `json:"Title"`
			Message       string `json:"Message"`
			Severity      string `json:"Severity"`
			PrimaryURL    string `json:"PrimaryURL"`
			Status        string `json:"Status"`
			CauseMetadata struct {
				Resource  string `json:"Resource"`
				StartLine int    `json:"StartLine"`
			} `json:"CauseMetadata"`
		} `json:"Misconfigurations"`
	} `json:"Results"`
}

// ParseTrivyJSON reads `trivy config -f json`. Only FAIL statuses are findings (with
// --include-non-failures trivy also lists PASS ones).
func ParseTrivyJSON(name string, data []byte) ([]Finding, error) {
	var r trivyReport
	if err := decodeJSON("trivy", name, data, &r); err != nil {
		return nil, err
	}
	if r.SchemaVersion == 0 {
		return nil, fmt.Errorf("trivy %s: no SchemaVersion: not a trivy -f json report", name)
	}
	var out []Finding
	for _, res := range r.Results {
		for _, m := range res.Misconfigurations {
			if m.Status != "" && m.Status != "FAIL" {
				continue
			}
			sev, err := ParseSeverity(m.Severity)
			if err != nil {
				return nil, fmt.Errorf("trivy %s: %s: %w", name, m.ID, err)
			}
			id := m.ID
			if id == "" {
				id = m.AVDID
			}
			if id == "" {
				return nil, fmt.Errorf("trivy %s: misconfiguration in %s without ID", name, res.Target)
			}
			msg := m.Message
			if msg == "" {
				msg = m.Title
			}
			out = append(out, Finding{
				Tool:     "trivy",
				RuleID:   id,
				Severity: sev,
				Resource: m.CauseMetadata.Resource,
				File:     res.Target,
				Line:     m.CauseMetadata.StartLine,
				Message:  msg,
				Link:     m.PrimaryURL,
			})
		}
	}
	return out, nil
}

// Sort orders findings most severe first, then by tool, file, line and rule, so reports
// and tests do not depend on the tools' output order.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Tool != b.Tool {
			return toolRank(a.Tool) < toolRank(b.Tool) || (toolRank(a.Tool) == toolRank(b.Tool) && a.Tool < b.Tool)
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		return a.Resource < b.Resource
	})
}
