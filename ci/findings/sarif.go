package findings

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// SARIF 2.1.0, reduced to the fields the scanners write and GitHub code scanning reads.
// Small structs rather than a SARIF library keep the Dagger module's import graph light.
const (
	SARIFVersion = "2.1.0"
	SARIFSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

// SARIFLog is a whole SARIF file.
type SARIFLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []SARIFRun `json:"runs"`
}

// SARIFRun is the output of one tool.
type SARIFRun struct {
	Tool    SARIFTool     `json:"tool"`
	Results []SARIFResult `json:"results"`
	// Properties say how many results were left out (MaxSARIFResults).
	Properties map[string]any `json:"properties,omitempty"`
}

// MaxSARIFResults is how many results of one tool the log keeps, the most severe: GitHub code
// scanning shows at most 5,000 results of a run and refuses an upload with more than 25,000.
// The summary and findings.json keep every finding.
const MaxSARIFResults = 5000

type SARIFTool struct {
	Driver SARIFDriver `json:"driver"`
}

type SARIFDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []SARIFRule `json:"rules,omitempty"`
}

type SARIFRule struct {
	ID                   string              `json:"id"`
	Name                 string              `json:"name,omitempty"`
	ShortDescription     *SARIFMessage       `json:"shortDescription,omitempty"`
	FullDescription      *SARIFMessage       `json:"fullDescription,omitempty"`
	Help                 *SARIFMessage       `json:"help,omitempty"`
	HelpURI              string              `json:"helpUri,omitempty"`
	DefaultConfiguration *SARIFConfiguration `json:"defaultConfiguration,omitempty"`
	Properties           map[string]any      `json:"properties,omitempty"`
}

type SARIFConfiguration struct {
	Level string `json:"level,omitempty"`
}

type SARIFMessage struct {
	Text string `json:"text"`
}

type SARIFResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           *int              `json:"ruleIndex,omitempty"`
	Level               string            `json:"level,omitempty"`
	Message             SARIFMessage      `json:"message"`
	Locations           []SARIFLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type SARIFLocation struct {
	PhysicalLocation *SARIFPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []SARIFLogicalLocation `json:"logicalLocations,omitempty"`
}

type SARIFPhysicalLocation struct {
	ArtifactLocation SARIFArtifactLocation `json:"artifactLocation"`
	Region           *SARIFRegion          `json:"region,omitempty"`
}

type SARIFArtifactLocation struct {
	URI string `json:"uri"`
}

type SARIFRegion struct {
	StartLine int `json:"startLine,omitempty"`
	EndLine   int `json:"endLine,omitempty"`
}

type SARIFLogicalLocation struct {
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind,omitempty"`
}

// sarifLevels are the values SARIF 2.1.0 allows for result.level.
var sarifLevels = []string{"none", "note", "warning", "error"}

// ParseSARIF reads a SARIF 2.1.0 log written by any scanner. name (usually the file path)
// only labels errors. Each finding's Tool is the run's driver name in lower case, so
// "Checkov" and "checkov" merge.
func ParseSARIF(name string, data []byte) ([]Finding, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("sarif %s: empty output: the scanner wrote nothing, so it probably failed", name)
	}
	var log SARIFLog
	if err := json.Unmarshal(data, &log); err != nil {
		return nil, fmt.Errorf("sarif %s: %w", name, err)
	}
	if log.Version != SARIFVersion {
		return nil, fmt.Errorf("sarif %s: version %q, want %q", name, log.Version, SARIFVersion)
	}
	if log.Runs == nil {
		return nil, fmt.Errorf("sarif %s: no runs array", name)
	}
	var out []Finding
	for i, run := range log.Runs {
		tool := strings.ToLower(strings.TrimSpace(run.Tool.Driver.Name))
		if tool == "" {
			return nil, fmt.Errorf("sarif %s: run %d has no tool.driver.name", name, i)
		}
		rules := make(map[string]SARIFRule, len(run.Tool.Driver.Rules))
		for _, r := range run.Tool.Driver.Rules {
			rules[r.ID] = r
		}
		for j, res := range run.Results {
			if res.RuleID == "" {
				return nil, fmt.Errorf("sarif %s: %s result %d has no ruleId", name, tool, j)
			}
			rule := rules[res.RuleID]
			level := res.Level
			if level == "" && rule.DefaultConfiguration != nil {
				level = rule.DefaultConfiguration.Level
			}
			if level == "" {
				level = "warning" // the SARIF default
			}
			props := rule.Properties
			if _, ok := res.Properties["security-severity"]; ok {
				props = res.Properties // a result may be more specific than its rule
			}
			sev, err := sarifSeverity(tool, level, props)
			if err != nil {
				return nil, fmt.Errorf("sarif %s: %s result %d (%s): %w", name, tool, j, res.RuleID, err)
			}
			f := Finding{
				Tool:     tool,
				RuleID:   res.RuleID,
				Severity: sev,
				Message:  res.Message.Text,
				Link:     rule.HelpURI,
			}
			if f.Message == "" && rule.ShortDescription != nil {
				f.Message = rule.ShortDescription.Text
			}
			if len(res.Locations) > 0 {
				loc := res.Locations[0]
				if p := loc.PhysicalLocation; p != nil {
					f.File = strings.TrimPrefix(p.ArtifactLocation.URI, "file://")
					if p.Region != nil {
						f.Line = p.Region.StartLine
					}
				}
				for _, l := range loc.LogicalLocations {
					if l.FullyQualifiedName != "" {
						f.Resource = l.FullyQualifiedName
						break
					}
				}
			}
			if f.Resource == "" && rule.Help != nil {
				// Checkov names the resource only in the rule's help text.
				f.Resource = resourceFromHelp(rule.Help.Text)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// resourceFromHelp finds Checkov's "Resource: aws_s3_bucket.logs" line.
func resourceFromHelp(help string) string {
	for _, line := range strings.Split(help, "\n") {
		if r, ok := strings.CutPrefix(strings.TrimSpace(line), "Resource: "); ok {
			return strings.TrimSpace(r)
		}
	}
	return ""
}

// sarifSeverity prefers the numeric security-severity (a CVSS-like score GitHub also uses)
// over the coarse level, when the tool gives one above zero.
func sarifSeverity(tool, level string, props map[string]any) (Severity, error) {
	// Most tools write the score as a string ("8.9"), Checkov's documentation as a number.
	var score float64
	switch v := props["security-severity"].(type) {
	case string:
		score, _ = strconv.ParseFloat(v, 64)
	case float64:
		score = v
	}
	if score > 0 && score <= 10 {
		return scoreSeverity(score), nil
	}
	return levelSeverity(tool, level)
}

// scoreSeverity uses the CVSS v3 bands GitHub code scanning applies to security-severity.
func scoreSeverity(score float64) Severity {
	switch {
	case score >= 9:
		return Critical
	case score >= 7:
		return High
	case score >= 4:
		return Medium
	default:
		return Low
	}
}

// levelSeverity maps a SARIF level. tflint's levels describe lint, not risk: its warnings
// (unused variables, missing required_version) are LOW so they never block staging.
func levelSeverity(tool, level string) (Severity, error) {
	if tool == "tflint" {
		return tflintSeverity(level)
	}
	switch level {
	case "error":
		return High, nil
	case "warning":
		return Medium, nil
	case "note":
		return Low, nil
	case "none":
		return Info, nil
	}
	return Unknown, fmt.Errorf("level %q: valid values are %s", level, strings.Join(sarifLevels, ", "))
}

// sarifLevel is the inverse of levelSeverity for the merged log.
func sarifLevel(s Severity) string {
	switch {
	case s >= High:
		return "error"
	case s == Medium:
		return "warning"
	case s == Low:
		return "note"
	default:
		return "none"
	}
}

// securityScore places a severity inside GitHub's band for it, so the upload keeps it.
func securityScore(s Severity) string {
	switch s {
	case Critical:
		return "9.5"
	case High:
		return "8.0"
	case Medium:
		return "5.5"
	case Low:
		return "2.0"
	default:
		return "0.0"
	}
}

// Fingerprint identifies a finding across runs: tool, rule, resource, file and message
// (one rule may report several CVEs on one package). Lines are left out so an edit above a
// finding does not make it new.
func (f Finding) Fingerprint() string {
	sum := sha256.Sum256([]byte(f.Tool + "\x00" + f.RuleID + "\x00" + f.Resource + "\x00" + f.File + "\x00" + f.Message))
	return hex.EncodeToString(sum[:16])
}

// fingerprint is the finding's Fingerprint, with its rank among the run's identical findings
// after the first (a rule that fires on a group's ingress and its egress, same message):
// code scanning would merge results of one fingerprint into one alert.
func fingerprint(f Finding, seen map[string]int) string {
	fp := f.Fingerprint()
	seen[fp]++
	if n := seen[fp]; n > 1 {
		return fmt.Sprintf("%s/%d", fp, n)
	}
	return fp
}

// toolOrder lists the tools in the order their runs appear in the merged log.
var toolOrder = []string{"tflint", "tfsec", "trivy", "checkov", "opa", "terraform-compliance", "infracost"}

// toolRank places a tool missing from toolOrder (a SARIF driver of any name) last.
func toolRank(tool string) int {
	if i := slices.Index(toolOrder, tool); i >= 0 {
		return i
	}
	return len(toolOrder)
}

// SARIFOptions place the merged log in the repository, as GitHub code scanning needs.
type SARIFOptions struct {
	// Tools that ran: each gets a run even without findings, so the upload shows it ran.
	// A tool that could not run must not be listed: code scanning reads its empty run as
	// "nothing found" and closes the tool's open alerts.
	Tools []string
	// Root is the Terraform directory relative to the repository root ("terraform"):
	// scanners report files relative to it, GitHub wants repository paths.
	Root string
	// Fallback is the repository file that locates findings naming no usable file (policy
	// findings on the plan, paths inside a container): GitHub rejects results without a
	// location. Empty means Root/main.tf.
	Fallback string
	// MaxResults caps the results of a tool's run; zero means MaxSARIFResults.
	MaxResults int
}

// uri maps a finding's file to a repository path, or "" when it has none usable.
func (o SARIFOptions) uri(file string) string {
	if file == "" || path.IsAbs(file) || strings.Contains(file, "://") {
		return ""
	}
	return path.Join(o.Root, file)
}

// Place is the repository file and line where a finding is shown: its own file, or
// Fallback when it names none usable (OPA's findings on the plan, a container path), and
// its line, or 1 when it has none or is placed in the fallback. GitHub requires
// region.startLine on every location (GH1003). The annotations use Place too, so a finding
// is shown on the pull request where code scanning shows it.
func (o SARIFOptions) Place(f Finding) (file string, line int) {
	if uri := o.uri(f.File); uri != "" {
		return uri, max(f.Line, 1)
	}
	if o.Fallback != "" {
		return o.Fallback, 1
	}
	return path.Join(o.Root, "main.tf"), 1
}

// MergeSARIF builds one SARIF 2.1.0 log for GitHub code scanning: one run per tool (an
// empty one of EmptyRunTool when no tool ran), rules with help URIs, every result located
// in a repository file (see SARIFOptions), and stable partial fingerprints. Suppressed
// findings are left out: GitHub would otherwise reopen them.
func MergeSARIF(fs []Finding, o SARIFOptions) SARIFLog {
	byTool := map[string][]Finding{}
	for _, t := range o.Tools {
		byTool[t] = nil
	}
	for _, f := range fs {
		if f.Suppressed != "" {
			continue
		}
		byTool[f.Tool] = append(byTool[f.Tool], f)
	}
	names := make([]string, 0, len(byTool))
	for t := range byTool {
		names = append(names, t)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := toolRank(names[i]), toolRank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	log := SARIFLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []SARIFRun{}}
	for _, tool := range names {
		run := SARIFRun{Tool: SARIFTool{Driver: SARIFDriver{Name: tool}}, Results: []SARIFResult{}}
		index := map[string]int{}
		worst := map[string]Severity{}
		kept, most := byTool[tool], cmp.Or(o.MaxResults, MaxSARIFResults)
		if len(kept) > most {
			kept = slices.Clone(kept)
			slices.SortStableFunc(kept, func(a, b Finding) int { return cmp.Compare(b.Severity, a.Severity) })
			kept = kept[:most]
			run.Properties = map[string]any{"infrapipe/results-left-out": len(byTool[tool]) - most}
		}
		seen := map[string]int{} // fingerprint → results so far, to tell identical findings apart
		for _, f := range kept {
			i, ok := index[f.RuleID]
			if !ok {
				i = len(run.Tool.Driver.Rules)
				index[f.RuleID] = i
				rule := SARIFRule{
					ID:                   f.RuleID,
					ShortDescription:     &SARIFMessage{Text: firstLine(f.Message)},
					HelpURI:              f.Link,
					DefaultConfiguration: &SARIFConfiguration{Level: sarifLevel(f.Severity)},
					Properties:           map[string]any{"security-severity": securityScore(f.Severity)},
				}
				if f.Link != "" {
					rule.Help = &SARIFMessage{Text: f.Link}
				}
				run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rule)
			}
			// GitHub ranks by the rule's security-severity: keep the worst of its results.
			rule := &run.Tool.Driver.Rules[i]
			if f.Severity > worst[f.RuleID] {
				worst[f.RuleID] = f.Severity
				rule.DefaultConfiguration.Level = sarifLevel(f.Severity)
				rule.Properties["security-severity"] = securityScore(f.Severity)
			}
			msg := f.Message
			if msg == "" {
				msg = f.RuleID
			}
			res := SARIFResult{
				RuleID:              f.RuleID,
				RuleIndex:           &i,
				Level:               sarifLevel(f.Severity),
				Message:             SARIFMessage{Text: msg},
				PartialFingerprints: map[string]string{"infrapipe/v1": fingerprint(f, seen)},
				Properties:          map[string]any{"severity": f.Severity.String(), "security-severity": securityScore(f.Severity)},
			}
			file, line := o.Place(f)
			if f.File != "" && o.uri(f.File) == "" {
				res.Properties["file"] = f.File // a container path: kept for whoever reads the log
			}
			loc := SARIFLocation{PhysicalLocation: &SARIFPhysicalLocation{
				ArtifactLocation: SARIFArtifactLocation{URI: file},
				Region:           &SARIFRegion{StartLine: line},
			}}
			if f.Resource != "" {
				loc.LogicalLocations = []SARIFLogicalLocation{{FullyQualifiedName: f.Resource, Kind: "resource"}}
			}
			res.Locations = []SARIFLocation{loc}
			run.Results = append(run.Results, res)
		}
		log.Runs = append(log.Runs, run)
	}
	if len(log.Runs) == 0 {
		// No tool ran (preview runs no scanner): one empty run, as GitHub's upload refuses a
		// log without runs, and a run of this pipeline's own closes no scanner's alerts.
		log.Runs = append(log.Runs, SARIFRun{Tool: SARIFTool{Driver: SARIFDriver{Name: EmptyRunTool}}, Results: []SARIFResult{}})
	}
	return log
}

// EmptyRunTool names the one run of a log that no tool contributed to.
const EmptyRunTool = "infrapipe"

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// WriteSARIF writes the log as indented JSON after checking it.
func WriteSARIF(w io.Writer, log SARIFLog) error {
	if err := log.Validate(); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// Validate checks the fields SARIF 2.1.0's schema requires and GitHub rejects when absent.
func (l SARIFLog) Validate() error {
	if l.Version != SARIFVersion {
		return fmt.Errorf("sarif: version %q, want %q", l.Version, SARIFVersion)
	}
	if l.Schema == "" {
		return fmt.Errorf("sarif: $schema is empty")
	}
	if l.Runs == nil {
		return fmt.Errorf("sarif: runs is missing")
	}
	for i, run := range l.Runs {
		if run.Tool.Driver.Name == "" {
			return fmt.Errorf("sarif: run %d: tool.driver.name is empty", i)
		}
		for j, r := range run.Results {
			if r.Message.Text == "" {
				return fmt.Errorf("sarif: run %d (%s) result %d: message.text is empty", i, run.Tool.Driver.Name, j)
			}
			if r.RuleID == "" {
				return fmt.Errorf("sarif: run %d (%s) result %d: ruleId is empty", i, run.Tool.Driver.Name, j)
			}
			if !slices.Contains(sarifLevels, r.Level) {
				return fmt.Errorf("sarif: run %d (%s) result %d: level %q: valid values are %s",
					i, run.Tool.Driver.Name, j, r.Level, strings.Join(sarifLevels, ", "))
			}
			if r.RuleIndex != nil && (*r.RuleIndex < 0 || *r.RuleIndex >= len(run.Tool.Driver.Rules) ||
				run.Tool.Driver.Rules[*r.RuleIndex].ID != r.RuleID) {
				return fmt.Errorf("sarif: run %d (%s) result %d: ruleIndex %d does not point at rule %s",
					i, run.Tool.Driver.Name, j, *r.RuleIndex, r.RuleID)
			}
			if len(r.Locations) == 0 || r.Locations[0].PhysicalLocation == nil || r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" {
				return fmt.Errorf("sarif: run %d (%s) result %d (%s): no physicalLocation.artifactLocation.uri; GitHub code scanning rejects it",
					i, run.Tool.Driver.Name, j, r.RuleID)
			}
			if r.Locations[0].PhysicalLocation.Region == nil {
				return fmt.Errorf("sarif: run %d (%s) result %d (%s): no region.startLine; GitHub code scanning requires it (GH1003)",
					i, run.Tool.Driver.Name, j, r.RuleID)
			}
			for _, loc := range r.Locations {
				if p := loc.PhysicalLocation; p != nil && p.Region != nil && p.Region.StartLine < 1 {
					return fmt.Errorf("sarif: run %d (%s) result %d: region.startLine %d is below 1",
						i, run.Tool.Driver.Name, j, p.Region.StartLine)
				}
			}
		}
	}
	return nil
}
