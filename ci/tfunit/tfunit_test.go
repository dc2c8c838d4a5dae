package tfunit

import (
	"errors"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

const module = `
variable "name" {
  type = string
  validation {
    condition     = length(var.name) > 1
    error_message = "a name has two characters or more"
  }
}
resource "terraform_data" "a" {
  input = "app-${var.name}"
}
output "full" {
  value = terraform_data.a.input
}
`

// test runs the real terraform test on the module with tests (file → contents), written
// after the init (which refuses a test file that does not parse), and reads it.
func test(t *testing.T, tests map[string]string) Result {
	t.Helper()
	w := tftest.New(t, map[string]string{"main.tf": module})
	w.Init("-backend=false")
	tftest.WriteFiles(t, w.Dir, tests)
	stdout, stderr, err := w.Exec(Command()[1:]...)
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r, err := Read(code, stdout, stderr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Real terraform test runs: each run block's result in file order, failures with the
// diagnostic's message and place, and a test file that does not parse as an error of no run.
func TestRead(t *testing.T) {
	pass := `
variables {
  name = "xy"
}
run "plans_the_name" {
  command = plan
  assert {
    condition     = terraform_data.a.input == "app-xy"
    error_message = "the name is not prefixed"
  }
}
`
	tests := []struct {
		name  string
		files map[string]string
		runs  []string // file/run=status
		diag  string   // in some run's diagnostics
		error string   // in Errors
		ok    bool
	}{
		{"every run passes", map[string]string{"tests/a.tftest.hcl": pass}, []string{"tests/a.tftest.hcl/plans_the_name=pass"}, "", "", true},
		{"an assertion fails", map[string]string{"tests/a.tftest.hcl": pass, "b.tftest.hcl": `
variables {
  name = "xy"
}
run "applies" {
  assert {
    condition     = output.full == "wrong"
    error_message = "the output is not wrong"
  }
}
run "after" {
  command = plan
}
`}, []string{"b.tftest.hcl/applies=fail", "b.tftest.hcl/after=pass", "tests/a.tftest.hcl/plans_the_name=pass"},
			"Test assertion failed: the output is not wrong (b.tftest.hcl:7)", "", false},
		{"an expected failure does not come", map[string]string{"tests/v.tftest.hcl": `
run "short_name" {
  command = plan
  variables {
    name = "long enough"
  }
  expect_failures = [var.name]
}
`}, []string{"tests/v.tftest.hcl/short_name=error"}, "Missing expected failure", "", false},
		{"a test file does not parse", map[string]string{"tests/broken.tftest.hcl": "run \"x\" { bad\n"}, nil, "",
			"Argument or block definition required", false},
		{"no test files", nil, nil, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := test(t, tt.files)
			var runs []string
			var diags []string
			for _, run := range r.Runs {
				runs = append(runs, run.File+"/"+run.Name+"="+run.Status)
				diags = append(diags, run.Diagnostics...)
			}
			if !slices.Equal(runs, tt.runs) {
				t.Errorf("runs %q, want %q", runs, tt.runs)
			}
			if tt.diag != "" && !slices.ContainsFunc(diags, func(d string) bool { return strings.Contains(d, tt.diag) }) {
				t.Errorf("diagnostics %q, want one with %q", diags, tt.diag)
			}
			if tt.error != "" && !slices.ContainsFunc(r.Errors, func(e string) bool { return strings.Contains(e, tt.error) }) {
				t.Errorf("errors %q, want one with %q", r.Errors, tt.error)
			}
			if tt.error == "" && len(r.Errors) > 0 {
				t.Errorf("errors %q, want none", r.Errors)
			}
			if r.OK() != tt.ok {
				t.Errorf("OK() = %v, want %v (%+v)", r.OK(), tt.ok, r)
			}
			// junit.xml fails where the tests did, a case per run block.
			suite := r.JUnit()
			failed := 0
			for _, c := range suite.Cases {
				if c.Failure != "" {
					failed++
				}
			}
			if (failed == 0) != tt.ok || len(suite.Cases) < len(r.Runs) {
				t.Errorf("JUnit() = %+v, for a result OK %v with %d runs", suite, tt.ok, len(r.Runs))
			}
			// Each run block that ran is timed from Terraform's own timestamps.
			for i, run := range r.Runs {
				if run.Status != "skip" && run.Elapsed <= 0 {
					t.Errorf("run %s/%s (%s) has no time", run.File, run.Name, run.Status)
				}
				if suite.Cases[i].Time != run.Elapsed {
					t.Errorf("case %s has time %v, run block %v", suite.Cases[i].Name, suite.Cases[i].Time, run.Elapsed)
				}
			}
		})
	}
}

// Output that is not Terraform's messages is an error naming the line; Terraform exiting
// before any message is a Result that says so.
func TestReadOther(t *testing.T) {
	if _, err := Read(1, "{\"type\":\"version\"}\n{not json\n", ""); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error %v, want one naming line 2", err)
	}
	r, err := Read(1, "", "Error: Terraform exited early\n")
	if err != nil || r.OK() || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "code 1: Error: Terraform exited early") {
		t.Errorf("Read = %+v, %v; want one error with the output", r, err)
	}
	// For the lint step the unreadable output is an error of the tests, not of lint.
	if r := ReadResult(1, "{not json\n", ""); r.OK() || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "line 1") {
		t.Errorf("ReadResult = %+v, want the reading error as the tests' error", r)
	}
	// A run block Terraform listed and never finished (interrupted) did not pass, in
	// junit.xml too.
	r, err = Read(130, `{"type":"test_abstract","test_abstract":{"a.tftest.hcl":["x"]}}`+"\n", "interrupted")
	if err != nil || len(r.Runs) != 1 || r.Runs[0].Status != "not run" || r.OK() {
		t.Fatalf("Read = %+v, %v; want x not run", r, err)
	}
	if c := r.JUnit().Cases[0]; c.Failure != "not run" {
		t.Errorf("junit case %+v, want a failure", c)
	}
}

// Read never panics, and errors are one line.
func FuzzRead(f *testing.F) {
	f.Add(0, `{"type":"test_summary","test_summary":{"status":"pass","passed":1}}`, "")
	f.Add(1, `{"type":"test_abstract","test_abstract":{"a.tftest.hcl":["x","y"]}}
{"type":"test_run","test_run":{"path":"a.tftest.hcl","run":"x","progress":"complete","status":"fail"}}
{"type":"diagnostic","@testfile":"a.tftest.hcl","@testrun":"x","diagnostic":{"severity":"error","summary":"s","detail":"d","range":{"filename":"a.tftest.hcl","start":{"line":3}}}}`, "boom")
	f.Fuzz(func(t *testing.T, code int, stdout, stderr string) {
		r, err := Read(code, stdout, stderr)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		if code != 0 && r.OK() && r.Passed+r.Failed+r.Errored+r.Skipped == 0 && len(r.Runs) == 0 {
			t.Fatalf("exit code %d read as a pass: %+v", code, r)
		}
	})
}

// Patterns are the files terraform test itself reads: the lint step runs it only when they
// match something, so a file Terraform reads and the patterns miss would go untested.
func TestPatternsAreTerraformsOwn(t *testing.T) {
	run := "run \"x\" {\n  command = plan\n}\n"
	files := map[string]string{
		"a.tftest.hcl": run, "tests/b.tftest.hcl": run, "tests/deeper/c.tftest.hcl": run, "other/d.tftest.hcl": run,
		"e.tftest.json": `{"run": {"y": {"command": "plan"}}}`, "tests/f.tftest.json": `{"run": {"z": {"command": "plan"}}}`,
	}
	r := test(t, files)
	var read []string
	for _, run := range r.Runs {
		if !slices.Contains(read, run.File) {
			read = append(read, run.File)
		}
	}
	var matched []string
	for name := range files {
		for _, p := range Patterns {
			if ok, _ := path.Match(p, name); ok {
				matched = append(matched, name)
			}
		}
	}
	slices.Sort(read)
	slices.Sort(matched)
	if !slices.Equal(read, matched) || len(read) != 4 {
		t.Errorf("terraform test read %q, the patterns match %q", read, matched)
	}
}

// A run block whose provider asks for credentials (the real AWS provider, none given, as
// in lint) errors with the provider's message and the hint to mock it, once.
func TestReadCredentialsHint(t *testing.T) {
	w := tftest.New(t, map[string]string{
		"main.tf":     "provider \"aws\" {\n  region = \"us-east-1\"\n}\n\nresource \"aws_sns_topic\" \"t\" {\n  name = \"t\"\n}\n",
		"versions.tf": "terraform {\n  required_providers {\n    aws = { source = \"hashicorp/aws\" }\n  }\n}\n",
	})
	w.UseRealAWSProvider()
	w.Env = append(w.Env, "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_SHARED_CREDENTIALS_FILE="+w.Dir+"/none", "AWS_CONFIG_FILE="+w.Dir+"/none")
	w.Init("-backend=false")
	tftest.WriteFiles(t, w.Dir, map[string]string{"tests/t.tftest.hcl": "run \"plans\" {\n  command = plan\n}\n"})
	stdout, stderr, _ := w.Exec(Command()[1:]...)
	r, err := Read(1, stdout, stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Runs) != 1 || r.Runs[0].Status != "error" {
		t.Fatalf("runs %+v, want one that errored", r.Runs)
	}
	d := r.Runs[0].Diagnostics
	hints := 0
	for _, s := range d {
		if s == mockHint {
			hints++
		}
	}
	if !slices.ContainsFunc(d, func(s string) bool { return strings.Contains(s, "credential") && s != mockHint }) ||
		hints != 1 || d[len(d)-1] != mockHint {
		t.Errorf("diagnostics %q, want the provider's and then the hint once", d)
	}
}
