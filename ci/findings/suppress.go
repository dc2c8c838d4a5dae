package findings

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/infrapipe/infrapipe/ci/internal/yamlschema"
)

// Suppression accepts one known finding, with a reason a reviewer can judge. It lives in a
// versioned file next to the Terraform code, so every suppression is reviewed like code.
type Suppression struct {
	RuleID string `yaml:"rule"`
	// Resource and File are path.Match globs (aws_s3_bucket.*, modules/*/main.tf); empty
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
			return Suppressions{}, fmt.Errorf("suppressions %s: %w", name, err)
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
		for _, g := range []string{e.Resource, e.File} {
			if _, err := path.Match(g, ""); err != nil {
				return Suppressions{}, fmt.Errorf("%s (%s): bad glob %q: %w", where, e.RuleID, g, err)
			}
		}
		if e.Expires != "" {
			t, err := time.Parse(time.DateOnly, e.Expires)
			if err != nil {
				return Suppressions{}, fmt.Errorf("%s (%s): expires %q: want a date like 2026-12-31", where, e.RuleID, e.Expires)
			}
			e.expires = t
		}
	}
	return s, nil
}

func (e Suppression) matches(f Finding) bool {
	return e.RuleID == f.RuleID && globOrEqual(e.Resource, f.Resource) && globOrEqual(e.File, f.File)
}

// globOrEqual matches a value against a suppression's pattern; empty matches anything. An
// exact value matches itself too: an address such as aws_instance.web[0] or
// aws_s3_bucket.b["eu"] is also a valid glob, whose brackets would match one character.
func globOrEqual(pattern, value string) bool {
	if pattern == "" || pattern == value {
		return true
	}
	ok, _ := path.Match(pattern, value)
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

// Apply marks the findings a suppression matches (Finding.Suppressed holds the reason)
// and returns a notice for every expired suppression: it stops applying, and the notice
// tells the reader why a finding came back, or that the entry can go. The first matching
// live entry wins.
func (s Suppressions) Apply(fs []Finding, now time.Time) ([]Finding, []string) {
	out := make([]Finding, len(fs))
	var notices []string
	noticed := map[int]bool{}
	for i, f := range fs {
		out[i] = f
		for j, e := range s.Entries {
			if !e.matches(f) {
				continue
			}
			if e.expired(now) {
				if !noticed[j] {
					noticed[j] = true
					notices = append(notices, fmt.Sprintf("%s expired on %s; the finding applies again", e.describe(), e.Expires))
				}
				continue
			}
			out[i].Suppressed = e.Reason
			break
		}
	}
	for j, e := range s.Entries {
		if e.expired(now) && !noticed[j] {
			notices = append(notices, fmt.Sprintf("%s expired on %s and matches no finding; remove it", e.describe(), e.Expires))
		}
	}
	return out, notices
}
