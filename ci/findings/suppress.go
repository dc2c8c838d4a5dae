package findings

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"

	"github.com/infrapipe/infrapipe/ci/internal/yamlschema"
)

// Suppression accepts one known finding, with a reason a reviewer can judge. It lives in a
// versioned file next to the Terraform code, so every suppression is reviewed like code.
type Suppression struct {
	RuleID string `yaml:"rule"`
	// Resource is an address in which only * is a wildcard (aws_s3_bucket.*,
	// module.m["a"].*): addresses are full of brackets, which a glob would read as a
	// character class. File is a path glob (modules/*/main.tf, modules/**/*.tf). Empty
	// matches any.
	Resource string `yaml:"resource,omitempty"`
	File     string `yaml:"file,omitempty"`
	Reason   string `yaml:"reason"`
	// Expires is the last day (UTC) the suppression applies, e.g. 2026-12-31.
	Expires string `yaml:"expires,omitempty"`

	expires time.Time
}

// Suppressions is the whole file.
type Suppressions struct {
	Entries []Suppression `yaml:"suppressions"`

	name string // the file, as ParseSuppressions was given it, for the notices
}

// ParseSuppressions reads the YAML form:
//
//	suppressions:
//	  - rule: CKV_AWS_18
//	    resource: aws_s3_bucket.logs
//	    reason: access logs of the log bucket itself would loop
//	    expires: 2026-12-31
func ParseSuppressions(name string, data []byte) (Suppressions, error) {
	var s Suppressions
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) { // an empty file is no suppressions
		return Suppressions{}, fmt.Errorf("suppressions %s: not valid YAML: %w", name, err)
	}
	if len(doc.Content) > 0 {
		if err := yamlschema.Decode(doc.Content[0], "", &s); err != nil {
			return Suppressions{}, fmt.Errorf("suppressions %s: %s", name, entryNumbered(err.Error()))
		}
	}
	// A second document (after ---) would be ignored, and its suppressions with it.
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return Suppressions{}, fmt.Errorf("suppressions %s: more than one YAML document: keep every entry under one suppressions: list", name)
	}
	for i := range s.Entries {
		e := &s.Entries[i]
		where := fmt.Sprintf("suppressions %s: entry %d", name, i+1)
		if strings.TrimSpace(e.RuleID) == "" {
			return Suppressions{}, fmt.Errorf("%s: rule is required", where)
		}
		if strings.TrimSpace(e.Reason) == "" {
			return Suppressions{}, fmt.Errorf("%s (%s): reason is required: say why the finding is accepted", where, e.RuleID)
		}
		for _, v := range []struct{ key, value string }{{"rule", e.RuleID}, {"resource", e.Resource}, {"file", e.File}} {
			if v.value != strings.TrimSpace(v.value) {
				// Findings carry no such spaces: the entry would never match, and say nothing.
				return Suppressions{}, fmt.Errorf("%s: %s %q has spaces around it and would match no finding: remove them", where, v.key, v.value)
			}
		}
		// A resource pattern is always valid: only * is special in it.
		if !doublestar.ValidatePattern(e.File) {
			return Suppressions{}, fmt.Errorf("%s (%s): file %q is not a valid glob: use * within a directory, ** across directories, ? for one character, [abc] for a set (modules/*/main.tf, modules/**/*.tf)", where, e.RuleID, e.File)
		}
		if e.Expires != "" {
			t, err := time.Parse(time.DateOnly, e.Expires)
			if err != nil {
				return Suppressions{}, fmt.Errorf("%s (%s): expires %q: want a date like 2026-12-31", where, e.RuleID, e.Expires)
			}
			e.expires = t
		}
	}
	s.name = name
	return s, nil
}

// entryPath is how yamlschema names an entry: suppressions[0], numbered from 0.
var entryPath = regexp.MustCompile(`^suppressions\[([0-9]+)\]\.?`)

// entryNumbered renames yamlschema's suppressions[0].tool to entry 1: tool, so that every
// error and notice about the file names an entry as "entry N", numbered from 1 like the
// entries a reader counts in the file.
func entryNumbered(msg string) string {
	m := entryPath.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	i, err := strconv.Atoi(m[1])
	if err != nil {
		return msg
	}
	rest := strings.TrimPrefix(msg[len(m[0]):], ":")
	if !strings.HasPrefix(rest, " ") {
		rest = " " + rest
	}
	return fmt.Sprintf("entry %d:%s", i+1, rest)
}

func (e Suppression) matches(f Finding) bool {
	return sameRule(e.RuleID, f.RuleID) && addressMatch(e.Resource, f.Resource) && fileMatch(e.File, f.File)
}

// avdPrefixed is a Trivy check ID as Trivy up to v0.68 wrote it (AVD-AWS-0087); from v0.69
// its JSON and SARIF say AWS-0087. Suppression files outlive scanner upgrades, so the two
// name one check.
var avdPrefixed = regexp.MustCompile(`(?i)^avd-([a-z]+-[0-9]+)$`)

// sameRule reports whether a suppression's rule names the check a finding's ID names, in
// any case: no tool has two rules that differ only in case (Checkov's CKV_AWS_18, Trivy's
// AWS-0087, tflint's and OPA's snake_case, terraform-compliance's scenario names), and an
// entry written ckv_aws_18 would otherwise suppress nothing. tfsec's long IDs
// (aws-s3-block-public-policy) stay their own: no finding carries both a long and a short
// ID, so an equivalence would need a table of Trivy's checks.
func sameRule(rule, id string) bool {
	return strings.EqualFold(withoutAVD(rule), withoutAVD(id))
}

func withoutAVD(id string) string {
	if m := avdPrefixed.FindStringSubmatch(id); m != nil {
		return m[1]
	}
	return id
}

// addressMatch matches a resource address against a pattern in which * stands for any run
// of characters, / and . included, and everything else is literal: addresses carry
// brackets and quotes (aws_instance.web[0], module.m["a"].aws_s3_bucket.b, keys such as
// ["a/b"]), which a path glob would read as a character class or a separator. Empty
// matches anything.
func addressMatch(pattern, addr string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == "" || pattern == addr
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(addr) < len(first)+len(last) || !strings.HasPrefix(addr, first) || !strings.HasSuffix(addr, last) {
		return false
	}
	// The middle parts, in order, each as early as it occurs: the leftmost match leaves the
	// most room for the rest.
	rest := addr[len(first) : len(addr)-len(last)]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return true
}

// fileMatch matches a finding's file against a path glob: * and ? within a directory, **
// across directories, [abc] a set. Empty matches anything, and a path matches itself even
// when it has brackets in it.
func fileMatch(pattern, file string) bool {
	if pattern == "" || pattern == file {
		return true
	}
	ok, _ := doublestar.Match(pattern, file)
	return ok
}

// expired reports whether the suppression's last day is before now's date (UTC).
func (e Suppression) expired(now time.Time) bool {
	return !e.expires.IsZero() && now.UTC().After(e.expires.AddDate(0, 0, 1))
}

func (e Suppression) describe() string {
	s := "suppression for " + e.RuleID
	switch {
	case e.Resource != "":
		s += " on " + e.Resource
	case e.File != "":
		s += " in " + e.File
	}
	return s
}

// Apply marks the findings a suppression matches (Finding.Suppressed holds the reason;
// the first matching live entry wins) and returns notices, one per entry a reviewer should
// look at, in the file's order: an expired entry stops applying, and its notice tells the
// reader why a finding came back, or that the entry can go; a live entry that matched
// nothing is reported when reportsUnmatched says this run could have matched it.
func (s Suppressions) Apply(fs []Finding, now time.Time) ([]Finding, []string) {
	out, matched, revived := s.mark(fs, now)
	tools := toolsOf(fs)
	var notices []string
	for j, e := range s.Entries {
		switch {
		case e.expired(now) && revived[j]:
			notices = append(notices, fmt.Sprintf("%s expired on %s; the finding applies again", e.describe(), e.Expires))
		case e.expired(now) && matched[j]:
			notices = append(notices, fmt.Sprintf("%s expired on %s; another entry suppresses what it matched: remove it", e.describe(), e.Expires))
		case e.expired(now):
			notices = append(notices, fmt.Sprintf("%s expired on %s and matches no finding; remove it", e.describe(), e.Expires))
		case !matched[j] && reportsUnmatched(e.RuleID, tools):
			notices = append(notices, s.unmatched(j, fs))
		}
	}
	return out, notices
}

// mark suppresses a copy of fs. Every entry is tried on every finding, not only up to the
// winner, so that an entry is never called unmatched because an earlier one matched
// first. matched[j] says entry j matched a finding; revived[j] that it is expired and a
// finding it matched is suppressed by no live entry.
func (s Suppressions) mark(fs []Finding, now time.Time) (out []Finding, matched, revived []bool) {
	out = make([]Finding, len(fs))
	matched = make([]bool, len(s.Entries))
	revived = make([]bool, len(s.Entries))
	for i, f := range fs {
		out[i] = f
		var expired []int
		for j, e := range s.Entries {
			if !e.matches(f) {
				continue
			}
			matched[j] = true
			switch {
			case e.expired(now):
				expired = append(expired, j)
			case out[i].Suppressed == "":
				out[i].Suppressed = e.Reason
			}
		}
		for _, j := range expired {
			revived[j] = revived[j] || out[i].Suppressed == ""
		}
	}
	return out, matched, revived
}

// ruleForms are the rule ID shapes that belong to one tool only: Checkov's CKV_AWS_18 and
// CKV2_AWS_6, Trivy's AWS-0087 and AVD-AWS-0087 (in any case, as rules match). tflint's and OPA's rules are both snake_case (terraform_unused_declarations,
// no_gp2_volumes), terraform-compliance's are its feature and scenario names, and tfsec's
// long IDs come from no step here: none of them says which step it was meant for.
var ruleForms = []struct {
	tool string
	form *regexp.Regexp
}{
	{"checkov", regexp.MustCompile(`(?i)^ckv2?_[a-z0-9]+_[0-9]+$`)},
	{"trivy", regexp.MustCompile(`(?i)^(avd-)?[a-z]+-[0-9]+$`)},
}

// reportsUnmatched decides whether a live entry that matched nothing is worth a notice. One
// suppressions file serves every findings step (lint's tflint, the security scan's Checkov
// and Trivy, compliance's OPA and terraform-compliance), and each step applies it to its
// own findings only, so an entry for another step's tool always matches nothing here. The
// entry is reported only when its rule has the ID shape of exactly one tool and that tool
// has findings in this run: then the step ran the tool the entry is for, the tool's IDs
// are in the step's report, and none was the entry's. An entry whose tool found nothing at
// all is not reported: the step cannot tell a clean run from a tool that is not its own,
// or that could not run.
func reportsUnmatched(rule string, tools map[string]bool) bool {
	for _, rf := range ruleForms {
		if rf.form.MatchString(rule) {
			return tools[rf.tool]
		}
	}
	return false
}

func toolsOf(fs []Finding) map[string]bool {
	tools := map[string]bool{}
	for _, f := range fs {
		tools[f.Tool] = true
	}
	return tools
}

// unmatched is the notice for entry j, numbered from 1 as ParseSuppressions' errors are.
// When findings have the entry's rule, the rule is right and its resource or file pattern
// is what missed them: the notice says so, and where those findings are.
func (s Suppressions) unmatched(j int, fs []Finding) string {
	e := s.Entries[j]
	name := s.name
	if name == "" {
		name = "suppressions.yaml"
	}
	what := "rule " + e.RuleID
	if e.Resource != "" {
		what += fmt.Sprintf(", resource %q", e.Resource)
	}
	if e.File != "" {
		what += fmt.Sprintf(", file %q", e.File)
	}
	head := fmt.Sprintf("%s: entry %d (%s) matched no finding in this run", name, j+1, what)
	var ruled, placed []Finding // the findings with the rule; those also on the resource
	for _, f := range fs {
		if sameRule(e.RuleID, f.RuleID) {
			ruled = append(ruled, f)
			if addressMatch(e.Resource, f.Resource) {
				placed = append(placed, f)
			}
		}
	}
	switch {
	case len(ruled) == 0:
		return head + ": check the rule ID (the findings' IDs are in findings.json or results.sarif) or remove the entry"
	case len(placed) == 0:
		return fmt.Sprintf("%s: rule %s matched %s, but none on resource %q: check the resource pattern (%s) or remove the entry",
			head, e.RuleID, countFindings(len(ruled)), e.Resource, where(ruled, "on", func(f Finding) string { return f.Resource }))
	default:
		return fmt.Sprintf("%s: rule %s matched %s, but none in file %q: check the file pattern, relative to the Terraform directory (%s) or remove the entry",
			head, e.RuleID, countFindings(len(placed)), e.File, where(placed, "in", func(f Finding) string { return f.File }))
	}
}

func countFindings(n int) string {
	if n == 1 {
		return "1 finding"
	}
	return fmt.Sprintf("%d findings", n)
}

// where names the distinct places of fs (up to 3, then how many more), for a notice that
// says the pattern missed them.
func where(fs []Finding, prep string, place func(Finding) string) string {
	var names []string
	seen := map[string]bool{}
	for _, f := range fs {
		if p := place(f); p != "" && !seen[p] {
			seen[p] = true
			names = append(names, p)
		}
	}
	if len(names) == 0 {
		return "the findings name none"
	}
	list := strings.Join(names[:min(3, len(names))], ", ")
	if len(names) > 3 {
		list += fmt.Sprintf(" and %d more", len(names)-3)
	}
	if len(fs) == 1 {
		return "the finding is " + prep + " " + list
	}
	return "the findings are " + prep + " " + list
}
