// Package tfunit reads what `terraform test -json` reports on a stack's own tests (its
// .tftest.hcl files): each run block's result with Terraform's diagnostics, for the lint
// step, which fails when a run block fails.
package tfunit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/report"
)

// Patterns are the test files `terraform test` reads by default, relative to the root
// module: those in the module's own directory and in tests/, in HCL or JSON.
var Patterns = []string{"*.tftest.hcl", "tests/*.tftest.hcl", "*.tftest.json", "tests/*.tftest.json"}

// Command is the command line that runs the tests, in the root module after an init.
func Command() []string { return []string{"terraform", "test", "-json", "-no-color"} }

// Run is one run block: its test file, its name, and how it ended (pass, fail, error or
// skip), with the diagnostics Terraform gave it and how long it ran, from Terraform's
// timestamps of its start and its end (0 when it gave none).
type Run struct {
	File, Name, Status string
	Diagnostics        []string
	Elapsed            time.Duration
}

// Result is one `terraform test`: its run blocks by file name, each file's in the order they
// ran, the diagnostics of no run block (a test file that does not parse), and Terraform's
// counts.
type Result struct {
	Runs                             []Run
	Errors                           []string
	Passed, Failed, Errored, Skipped int
}

// OK reports whether no run block failed or errored and nothing else went wrong. Skipped
// run blocks follow a failed one of their file, which counts there.
func (r Result) OK() bool { return r.Failed == 0 && r.Errored == 0 && len(r.Errors) == 0 }

// FirstError is the first of Errors in one line (one that quotes Terraform's output starts
// with what happened), "" when there is none: a reason or a failure's message.
func (r Result) FirstError() string {
	if len(r.Errors) == 0 {
		return ""
	}
	first, _, _ := strings.Cut(r.Errors[0], "\n")
	return first
}

// JUnit is the tests as a JUnit suite, a case per run block (its test file the class), for
// the pipeline's junit.xml. What stopped the tests before they ran is a failed case of its
// own, so a suite never reads as passed when nothing ran.
func (r Result) JUnit() report.Suite {
	s := report.Suite{Name: "terraform test"}
	for _, run := range r.Runs {
		c := report.Case{Name: run.Name, Classname: run.File, Time: run.Elapsed, Output: strings.Join(run.Diagnostics, "\n")}
		switch run.Status { // "not run" for one Terraform never finished (Read)
		case "pass":
		case "skip":
			c.Skipped = "skipped by terraform test"
		default:
			c.Failure = run.Status
			if len(run.Diagnostics) > 0 {
				c.Failure += ": " + run.Diagnostics[0]
			}
		}
		s.Cases = append(s.Cases, c)
	}
	if len(r.Errors) > 0 {
		s.Cases = append(s.Cases, report.Case{Name: "the test files", Failure: r.FirstError(), Output: strings.Join(r.Errors, "\n")})
	}
	return s
}

// NotSetUp is the Result of tests that could not start because Terraform could not be set
// up in the stack (its providers' install failed: a required_version, the lock file, a test
// file init refuses). Lint's validate line says why, with Terraform's output; the tests
// only say they did not run, and lint's other tools still report.
func NotSetUp() Result {
	return Result{Errors: []string{"not run: terraform could not be set up in the stack (terraform validate's line says why)"}}
}

// mockHint is added to a run block that failed for want of cloud credentials: lint runs
// the tests without any, on purpose, so the test file should mock the provider.
const mockHint = "lint runs terraform test without cloud credentials: mock the provider in this test file " +
	"(mock_provider \"aws\" {}, see docs/checks.md)"

// message is one line of Terraform's machine-readable UI, the parts of it tests report.
type message struct {
	Type      string              `json:"type"`
	Timestamp string              `json:"@timestamp"`
	TestFile  string              `json:"@testfile"`
	TestRun   string              `json:"@testrun"`
	Abstract  map[string][]string `json:"test_abstract"`
	Run       *struct {
		Path, Run, Progress, Status string
	} `json:"test_run"`
	Summary *struct {
		Status                           string
		Passed, Failed, Errored, Skipped int
	} `json:"test_summary"`
	Diagnostic *tfjson.Diagnostic `json:"diagnostic"`
}

// time is when Terraform wrote the message; zero when its timestamp does not parse.
func (m message) time() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, m.Timestamp)
	return t
}

// Read reads `terraform test -json`: its stdout (one JSON message a line), exit code and
// stderr. A test that failed is a Result, not an error; the error is for output that is not
// Terraform's. When Terraform stopped before summing up (a test file that does not parse,
// a configuration that does not load), its diagnostics, or else its output, are the
// Result's Errors.
func Read(code int, stdout, stderr string) (Result, error) {
	var r Result
	index := map[[2]string]int{} // file and run → its place in r.Runs
	run := func(file, name string) *Run {
		k := [2]string{file, name}
		if i, ok := index[k]; ok {
			return &r.Runs[i]
		}
		index[k] = len(r.Runs)
		r.Runs = append(r.Runs, Run{File: file, Name: name})
		return &r.Runs[len(r.Runs)-1]
	}
	started := map[[2]string]time.Time{} // file and run → when Terraform said it started
	summed := false
	lines := bufio.NewScanner(strings.NewReader(stdout))
	lines.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for n := 1; lines.Scan(); n++ {
		line := strings.TrimSpace(lines.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m message
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return Result{}, fmt.Errorf("read terraform test -json: line %d is not one of its messages: %w", n, err)
		}
		switch {
		case m.Type == "test_abstract":
			for file, names := range m.Abstract {
				for _, name := range names {
					run(file, name)
				}
			}
		case m.Type == "test_run" && m.Run != nil && m.Run.Progress == "starting":
			run(m.Run.Path, m.Run.Run)
			started[[2]string{m.Run.Path, m.Run.Run}] = m.time()
		case m.Type == "test_run" && m.Run != nil && m.Run.Progress == "complete":
			rb := run(m.Run.Path, m.Run.Run)
			rb.Status = m.Run.Status
			if start, end := started[[2]string{m.Run.Path, m.Run.Run}], m.time(); !start.IsZero() && end.After(start) {
				rb.Elapsed = end.Sub(start)
			}
		case m.Type == "test_summary" && m.Summary != nil:
			r.Passed, r.Failed, r.Errored, r.Skipped = m.Summary.Passed, m.Summary.Failed, m.Summary.Errored, m.Summary.Skipped
			summed = true
		case m.Type == "diagnostic" && m.Diagnostic != nil && m.Diagnostic.Severity == tfjson.DiagnosticSeverityError:
			if m.TestRun != "" {
				d := &run(m.TestFile, m.TestRun).Diagnostics
				*d = append(*d, describe(*m.Diagnostic))
				if wantsCredentials(*m.Diagnostic) && !slices.Contains(*d, mockHint) {
					*d = append(*d, mockHint)
				}
			} else {
				r.Errors = append(r.Errors, describe(*m.Diagnostic))
			}
		}
	}
	if err := lines.Err(); err != nil {
		return Result{}, fmt.Errorf("read terraform test -json: %w", err)
	}
	// A run block the abstract listed and Terraform never finished (it was interrupted) did
	// not pass.
	for i := range r.Runs {
		if r.Runs[i].Status == "" {
			r.Runs[i].Status = "not run"
		}
	}
	// The abstract lists the files as a map: by file, each file's run blocks in the order
	// they ran.
	slices.SortStableFunc(r.Runs, func(a, b Run) int { return strings.Compare(a.File, b.File) })
	if !summed && code != 0 && len(r.Errors) == 0 {
		r.Errors = append(r.Errors, fmt.Sprintf("terraform test exited with code %d: %s", code, report.Tail(stdout+"\n"+stderr, 20)))
	}
	if summed && code != 0 && r.OK() {
		r.Errors = append(r.Errors, fmt.Sprintf("terraform test exited with code %d although every run block passed: %s", code, report.Tail(stderr, 20)))
	}
	return r, nil
}

// wantsCredentials reports whether a diagnostic is a provider asking for credentials (the
// AWS provider's "No valid credential sources found", and its like).
func wantsCredentials(d tfjson.Diagnostic) bool {
	return strings.Contains(strings.ToLower(d.Summary+" "+d.Detail), "credential")
}

// ReadResult is Read for the lint step, where output that is not Terraform's is one more
// thing that went wrong with the tests (a Result's Errors), not a reason to lose the rest
// of the lint report.
func ReadResult(code int, stdout, stderr string) Result {
	r, err := Read(code, stdout, stderr)
	if err != nil {
		return Result{Errors: []string{err.Error()}}
	}
	return r
}

// describe is a diagnostic in one line: its summary, its detail and where it points.
func describe(d tfjson.Diagnostic) string {
	s := d.Summary
	if detail := strings.Join(strings.Fields(d.Detail), " "); detail != "" {
		s += ": " + detail
	}
	if d.Range != nil && d.Range.Filename != "" {
		s += fmt.Sprintf(" (%s:%d)", d.Range.Filename, d.Range.Start.Line)
	}
	return s
}
