package findings

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	ansiEscape      = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")
	featuresSummary = regexp.MustCompile(`^(\d+) features? \((?:(\d+) passed)?(?:, )?(?:(\d+) failed)?`)
	scenarioSummary = regexp.MustCompile(`^(\d+) scenarios? \(.*?(?:(\d+) failed)?.*\)`)
	failedCount     = regexp.MustCompile(`(\d+) failed`)
	addressLike     = regexp.MustCompile(`^(?:module\.[^ ]+\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_\-\[\]"]+`)
)

// nofailHeadings are the tags that turn a terraform-compliance failure into a warning; the
// tool then prints the tag instead of "Failure:" before the message.
var nofailHeadings = []string{"warning", "no-failure", "no-fail", "info", "nofailure", "nofail", "dontfail"}

// ParseTerraformCompliance reads terraform-compliance's console output (run it with
// --no-ansi; colour codes are stripped anyway). Each failing scenario becomes a HIGH
// finding with rule ID "<feature>: <scenario>"; a scenario tagged @warning or @nofail
// becomes a LOW one. Output without the closing "N features (...)" summary means the tool
// stopped early, and is an error.
func ParseTerraformCompliance(name string, data []byte) ([]Finding, error) {
	text := ansiEscape.ReplaceAllString(string(data), "")
	if len(bytes.TrimSpace([]byte(text))) == 0 {
		return nil, fmt.Errorf("terraform-compliance %s: empty output: the tool wrote nothing, so it probably failed", name)
	}
	var (
		out                 []Finding
		feature, file       string
		scenario            string
		sawSummary          bool
		summaryFailed       int
		scenarioFailuresSum int
		lastScenarioFailed  string
	)
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(raw), "🚩"))
		switch {
		case strings.HasPrefix(line, "Feature:"):
			rest := strings.TrimSpace(strings.TrimPrefix(line, "Feature:"))
			feature, file = rest, ""
			if i := strings.Index(rest, "  #"); i >= 0 {
				feature, file = strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+3:])
			} else if i := strings.Index(rest, " # "); i >= 0 {
				feature, file = strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+3:])
			}
			scenario = ""
		case strings.HasPrefix(line, "Scenario Outline:"):
			scenario = strings.TrimSpace(strings.TrimPrefix(line, "Scenario Outline:"))
		case strings.HasPrefix(line, "Scenario:"):
			scenario = strings.TrimSpace(strings.TrimPrefix(line, "Scenario:"))
		case featuresSummary.MatchString(line):
			sawSummary = true
		case scenarioSummary.MatchString(line):
			if m := failedCount.FindStringSubmatch(line); m != nil {
				summaryFailed, _ = strconv.Atoi(m[1])
			}
		default:
			msg, sev, ok := complianceFailure(line)
			if !ok {
				continue
			}
			if feature == "" {
				return nil, fmt.Errorf("terraform-compliance %s: failure %q before any Feature line", name, msg)
			}
			rule := feature
			if scenario != "" {
				rule = feature + ": " + scenario
			}
			if sev == High && rule != lastScenarioFailed {
				scenarioFailuresSum++
				lastScenarioFailed = rule
			}
			out = append(out, Finding{
				Tool:     "terraform-compliance",
				RuleID:   rule,
				Severity: sev,
				Resource: addressLike.FindString(msg),
				File:     file,
				Message:  msg,
			})
		}
	}
	if !sawSummary {
		return nil, fmt.Errorf("terraform-compliance %s: no \"N features (...)\" summary line: the run did not finish", name)
	}
	if summaryFailed > 0 && scenarioFailuresSum == 0 {
		return nil, fmt.Errorf("terraform-compliance %s: summary reports %d failed scenarios but no failure message was found", name, summaryFailed)
	}
	return out, nil
}

// complianceFailure recognises the failure lines of terraform-compliance 1.x ("Failure:
// ...", or the nofail tag's name) and of 0.x (a Python "AssertionError: ...").
func complianceFailure(line string) (string, Severity, bool) {
	if m, ok := strings.CutPrefix(line, "Failure:"); ok {
		return strings.TrimSpace(m), High, true
	}
	if m, ok := strings.CutPrefix(line, "AssertionError:"); ok {
		return strings.TrimSpace(m), High, true
	}
	for _, h := range nofailHeadings {
		if len(line) > len(h) && strings.EqualFold(line[:len(h)+1], h+":") {
			return strings.TrimSpace(line[len(h)+1:]), Low, true
		}
	}
	return "", Unknown, false
}
