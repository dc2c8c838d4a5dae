package pipeline

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/plan"
	"github.com/infrapipe/infrapipe/ci/report"
)

// Repo is the repository as the scanners saw it: TerraformDir is the Terraform directory
// from the repository's root, Mount where the repository sits in the tools' containers, and
// Read reads a repository file that may be absent (suppressions.yaml).
type Repo struct {
	TerraformDir string
	Mount        string
	Read         environment.ReadFile
	// Nested are the stacks below the Terraform directory, from the repository's root
	// (stacks.Nested). The tools walk into them, but each is linted and scanned by its own
	// run, under its own suppressions: their findings are not this run's.
	Nested []string
}

// Relative makes finding paths relative to the Terraform directory, as the rest of ci/
// expects, from the container paths the scanners report.
func (r Repo) Relative(fs []findings.Finding) []findings.Finding {
	return findings.RelativeTo(fs, path.Join(r.Mount, r.TerraformDir), r.Mount)
}

// Own is the findings of this run's stack: Relative's, without those in a nested stack.
// Suppressions apply to what it returns, so that an entry is neither matched nor called
// unmatched by another stack's findings.
func (r Repo) Own(fs []findings.Finding) []findings.Finding {
	fs = r.Relative(fs)
	if len(r.Nested) == 0 {
		return fs
	}
	out := make([]findings.Finding, 0, len(fs))
	for _, f := range fs {
		if f.File == "" || !inNested(r.repoPath(f.File), r.Nested) { // "": a finding on the plan
			out = append(out, f)
		}
	}
	return out
}

// repoPath is the path from the repository's root of a file as Relative leaves it:
// relative to the Terraform directory, or in the container's copy of the repository.
func (r Repo) repoPath(file string) string {
	if rest, ok := strings.CutPrefix(file, r.Mount+"/"); ok && r.Mount != "" {
		return rest
	}
	return path.Join(r.TerraformDir, file)
}

// inNested reports whether p, a path from the repository's root, lies in one of the nested
// stacks' directories. "." is never one: the root stack holds every other.
func inNested(p string, nested []string) bool {
	return slices.ContainsFunc(nested, func(dir string) bool {
		dir = path.Clean(dir)
		return dir != "." && changes.Within(p, dir)
	})
}

// Suppress applies <terraform-dir>/suppressions.yaml, when the repository has one, as of
// now, to one step's findings; the strings are its notices: expired entries, and live ones
// that matched none of these findings (findings.Suppressions.Apply says which are judged).
func (r Repo) Suppress(fs []findings.Finding, now time.Time) ([]findings.Finding, []string, error) {
	s, ok, err := r.suppressions()
	if err != nil || !ok {
		return fs, nil, err
	}
	out, notices := s.Apply(fs, now)
	return out, notices, nil
}

// CheckSuppressions refuses a suppressions.yaml that does not parse before any step runs:
// found only by the steps that apply it, it would make lint and the scans "could not run",
// which warns outside prod, and the apply would go on unscanned.
func (r Repo) CheckSuppressions() error {
	_, _, err := r.suppressions()
	return err
}

// suppressions reads and parses <terraform-dir>/suppressions.yaml; ok is false when the
// repository has none.
func (r Repo) suppressions() (s findings.Suppressions, ok bool, err error) {
	p := path.Join(r.TerraformDir, "suppressions.yaml")
	data, ok, err := r.Read(p)
	if err != nil {
		return findings.Suppressions{}, false, fmt.Errorf("read %s: %w", p, err)
	}
	if !ok {
		return findings.Suppressions{}, false, nil
	}
	s, err = findings.ParseSuppressions(p, data)
	return s, err == nil, err
}

// ToolRun is what one scanner returned: its findings, or Err when it could not run (its
// image missing, a crash).
type ToolRun struct {
	Tool     Tool
	Findings []findings.Finding
	Err      error
}

// MergeScan is the findings of several tools as one scan: a tool that could not run does
// not stop the others, it is listed as broken for Scan.Judge to weigh by the profile; the
// findings' paths are made relative, those in nested stacks dropped (Repo.Own), the
// repository's suppressions applied and the result sorted.
func MergeScan(repo Repo, now time.Time, runs ...ToolRun) (Scan, error) {
	return merge(repo, now, nil, runs)
}

// MergeCompliance is MergeScan for the tools that read the plan (OPA, terraform-compliance):
// they may quote a sensitive value of planJSON (terraform show -json), and it must not reach
// the summary, the SARIF upload or the log, so it is redacted first.
func MergeCompliance(repo Repo, now time.Time, planJSON []byte, runs ...ToolRun) (Scan, error) {
	sensitive, err := plan.SensitiveValues(bytes.NewReader(planJSON))
	if err != nil {
		return Scan{}, err
	}
	return merge(repo, now, sensitive, runs)
}

// merge lists in Scan.Tools only the tools that ran: each gets a SARIF run, empty when it
// found nothing, and code scanning closes the alerts a run no longer reports. A tool that
// could not run is in Broken alone, so its alerts stay open until it runs again. When the
// findings cannot be judged (suppressions.yaml unreadable) the Scan is empty: no tool gets
// a run, rather than runs that would close every alert.
func merge(repo Repo, now time.Time, sensitive []string, runs []ToolRun) (Scan, error) {
	var s Scan
	var all []findings.Finding
	for _, r := range runs {
		if r.Err != nil {
			s.Broken = append(s.Broken, ToolFailure{Tool: r.Tool, Err: r.Err})
			continue
		}
		s.Tools = append(s.Tools, r.Tool.Name)
		all = append(all, r.Findings...)
	}
	if sensitive != nil {
		all = findings.Redact(all, sensitive)
	}
	all, notices, err := repo.Suppress(repo.Own(all), now)
	if err != nil {
		return Scan{}, err
	}
	findings.Sort(all)
	s.Findings, s.Notices = all, notices
	return s, nil
}

// ReadTerraformCompliance reads terraform-compliance's run: exit code 0 (all scenarios
// pass) and 1 (a scenario fails) are results, read from its console output (stdout); any
// other code is the tool failing, an error with its output's tail.
func ReadTerraformCompliance(code int, stdout, stderr string) ([]findings.Finding, error) {
	if code != 0 && code != 1 {
		return nil, fmt.Errorf("terraform-compliance failed (exit code %d):\n%s", code, report.Tail(stdout+"\n"+stderr, 40))
	}
	return findings.ParseTerraformCompliance("terraform-compliance output", []byte(stdout))
}
