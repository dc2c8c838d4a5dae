package pipeline

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
)

// Scan is what the tools of a findings step (security scan, compliance) found, with the
// repository's suppressions applied, and the tools that could not run.
type Scan struct {
	Tools    []string
	Findings []findings.Finding
	Notices  []string // suppressions to review: expired, or matching no finding
	Broken   []ToolFailure
}

// Judge judges the findings against threshold and the tools that could not run by the
// profile; the string is the step's section without its heading, those tools first.
func (s Scan) Judge(step Step, p environment.Profile, threshold findings.Severity) (Outcome, string) {
	outcome, verdict := FindingsOutcome(step, s.Findings, threshold)
	tools := ToolsOutcome(p, step, s.Broken)
	return Merge(outcome, tools), FindingsSection(tools, s.Findings, verdict, s.Notices)
}

// Threshold is the severity at which findings fail a scan: flag (--threshold) when given,
// else the environment's.
func Threshold(p environment.Profile, flag string) (findings.Severity, error) {
	if flag == "" {
		return p.SeverityThreshold, nil
	}
	th, err := findings.ParseSeverity(flag)
	if err == nil && th == findings.Unknown {
		// A tool's severity for what it could not rate: as a threshold it blocks everything.
		err = fmt.Errorf("unknown severity %q: valid values are CRITICAL, HIGH, MEDIUM, LOW, INFO", flag)
	}
	if err != nil {
		return 0, fmt.Errorf("--threshold: %w", err)
	}
	return th, nil
}

// Step is the pipeline's findings step (security scan, compliance) as Judge judges it, its
// section under the step's heading; the tools are named in the report's SARIF runs.
func (s Scan) Step(step Step, p environment.Profile, threshold findings.Severity) StepReport {
	outcome, section := s.Judge(step, p, threshold)
	return StepReport{Outcome: outcome, Tools: s.Tools, Findings: s.Findings, Markdown: StepHeading(step, nil) + section}
}

// ScanFiles are the report files of a findings function (security-scan, compliance):
// results.sarif, findings.json and summary.md, as name, contents pairs. When the scan
// blocks at threshold there are no files: the error holds the reasons and the summary.
func ScanFiles(step Step, p environment.Profile, s Scan, threshold findings.Severity, sarif findings.SARIFOptions, reproduce Command) ([]string, error) {
	outcome, section := s.Judge(step, p, threshold)
	summary := StepHeading(step, s.Tools) + section + reproduce.Markdown()
	if outcome.Verdict == gate.Block {
		return nil, fmt.Errorf("%s failed in %s: %s\n\n%s", strings.ToLower(string(step)), p.Name, strings.Join(outcome.Reasons, "; "), summary)
	}
	sarif.Tools = s.Tools
	var log strings.Builder
	if err := findings.WriteSARIF(&log, findings.MergeSARIF(s.Findings, sarif)); err != nil {
		return nil, fmt.Errorf("write results.sarif: %w", err)
	}
	js, err := json.MarshalIndent(s.Findings, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write findings.json: %w", err)
	}
	return []string{"results.sarif", log.String(), "findings.json", string(js) + "\n", "summary.md", summary}, nil
}
