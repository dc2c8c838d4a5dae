package ghactions

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
)

// FuzzNewContext feeds arbitrary payloads and values: NewContext never panics, its errors
// (printed in the job log) hold no raw line break that could start a workflow command, and
// whatever it accepts resolves to a real environment and a well-formed ref.
func FuzzNewContext(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed payloads: %v", err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		event := strings.SplitN(filepath.Base(s), "-", 2)[0]
		f.Add(data, event, "", "")
		f.Add(data, event, "refs/heads/main", "prod")
	}
	f.Add([]byte(`{"pull_request": {"number": "2\n::error::pwned"}}`), "pull_request", "", "")
	f.Fuzz(func(t *testing.T, payload []byte, eventName, ref, requested string) {
		// The payload as the module hands it over (--github-event's bytes); EventPath reads
		// the same bytes from a file (TestNewContext).
		c, err := NewContext(environment.DefaultConfig(), Values{EventName: eventName, Ref: ref, Event: payload, RequestedEnv: requested})
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error holds a raw line break: %q", err)
			}
			return
		}
		if _, err := environment.ParseName(string(c.Target.Name)); err != nil {
			t.Errorf("accepted an invalid environment: %v", err)
		}
		if c.Ref != "" && checkRef(c.Ref) != nil {
			t.Errorf("accepted ref %q", c.Ref)
		}
		if c.SHA != "" && !shaRE.MatchString(c.SHA) {
			t.Errorf("accepted SHA %q", c.SHA)
		}
	})
}

// FuzzWriteOutputs: an output is either refused or read back by the runner exactly as given,
// never as extra outputs.
func FuzzWriteOutputs(f *testing.F) {
	f.Add("resources_to_destroy", "2")
	f.Add("summary", "a\nb\r\nc")
	f.Add("x", "_GitHubActionsFileCommandDelimeter_")
	f.Add("a<<EOF", "1")
	f.Add("n", "x\nevil=1\n::set-output name=evil::2")
	f.Fuzz(func(t *testing.T, name, value string) {
		path := filepath.Join(t.TempDir(), "out")
		if err := WriteOutputs(path, []Output{{Name: name, Value: value}}); err != nil {
			return
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got := parseOutputFile(t, string(data))
		if len(got) != 1 || got[name] != value {
			t.Errorf("wrote %q=%q, the runner reads %q", name, value, got)
		}
	})
}

// FuzzAnnotate: whatever a scanner reports, each finding is exactly one annotation line.
func FuzzAnnotate(f *testing.F) {
	f.Add("checkov", "CKV_AWS_18", "main.tf", "aws_s3_bucket.x", "Ensure logging", 12, 4)
	f.Add("t,o:ol", "R\n::error::x", "a\r\nb.tf,line=1", "r%0A", "m\n::add-mask::%s%", -1, 9)
	f.Fuzz(func(t *testing.T, tool, rule, file, resource, msg string, line, sev int) {
		var b strings.Builder
		fs := []findings.Finding{{Tool: tool, RuleID: rule, File: file, Resource: resource, Message: msg, Line: line, Severity: findings.Severity(sev)}}
		Annotate(&b, fs, AnnotateOptions{Dir: "terraform"})
		out := b.String()
		if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
			t.Fatalf("one finding became %d lines: %q", strings.Count(out, "\n"), out)
		}
		if strings.Contains(out, "\r") {
			t.Errorf("raw carriage return in %q", out)
		}
		if !strings.HasPrefix(out, "::error ") && !strings.HasPrefix(out, "::warning ") && !strings.HasPrefix(out, "::notice ") {
			t.Errorf("not an annotation: %q", out)
		}
	})
}
