package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
)

// reportOnDisk writes a report's files to a directory, as the module exports them, and
// reads them back through a environment.ReadFile as the module reads a stack's report directory.
func reportOnDisk(t *testing.T, list []string) environment.ReadFile {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files(t, list) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return func(name string) ([]byte, bool, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, nil
		}
		return data, err == nil, err
	}
}

func TestReadStackReport(t *testing.T) {
	// A real stack's report: prod blocks the real plan's delete; a finding annotates.
	blocked := Report{Run: Run{Env: environment.Prod}, Plan: realPlan(t, environment.Prod),
		Steps: []StepReport{{Outcome: Outcome{Step: StepPlan, Verdict: gate.Block, Reasons: []string{"prod plan deletes terraform_data.old"}},
			Tools: []string{"trivy"}, Findings: []findings.Finding{{Tool: "trivy", RuleID: "AVD-AWS-0089", Severity: findings.High, Message: "no logging", File: "main.tf", Line: 1}}}}}
	blockedFiles, _, err := blocked.Files()
	if err != nil {
		t.Fatal(err)
	}
	broken := files(t, blockedFiles)
	broken[ResultFile] = `{"env":"prod","verdict":"fine"}`
	var brokenList []string
	for k, v := range broken {
		brokenList = append(brokenList, k, v)
	}
	cases := []struct {
		name     string
		read     environment.ReadFile
		verdict  gate.Verdict
		reasons  []string
		summary  string // a line the stack's summary holds
		own      bool   // its SARIF, JUnit and annotations are taken
		err      string // "" for none
		noReport bool
	}{
		{
			name:    "a blocked pipeline's report",
			read:    reportOnDisk(t, blockedFiles),
			verdict: gate.Block, reasons: []string{"Plan: prod plan deletes terraform_data.old"},
			summary: "# prod pipeline: block", own: true,
		},
		{
			name:    "nothing to deploy: a summary and no result passes",
			read:    reportOnDisk(t, []string{"summary.md", NothingToDeploy(errors.New("the push deleted the branch"))}),
			verdict: gate.Pass, reasons: []string{}, summary: "# Nothing to deploy",
		},
		{
			name: "a result.json with an unknown verdict",
			read: reportOnDisk(t, brokenList),
			err:  `stacks/a/result.json: verdict "fine"`,
		},
		{
			name: "the directory cannot be read",
			read: func(string) ([]byte, bool, error) { return nil, false, errors.New("engine gone") },
			err:  "read stacks/a/summary.md: engine gone",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, own, err := ReadStackReport(StackRun{Stack: "stacks/a", Report: StackReport("stacks/a")}, tc.read)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one holding %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tc.verdict || strings.Join(r.Reasons, "|") != strings.Join(tc.reasons, "|") || r.Reasons == nil {
				t.Errorf("verdict %s reasons %q; want %s %q", r.Verdict, r.Reasons, tc.verdict, tc.reasons)
			}
			if !strings.Contains(r.Summary, tc.summary) {
				t.Errorf("summary lacks %q:\n%s", tc.summary, r.Summary)
			}
			if got := own.SARIF != nil && own.JUnit != nil && strings.Contains(own.Annotations, "AVD-AWS-0089"); got != tc.own {
				t.Errorf("own files taken: %v, want %v (%+v)", got, tc.own, own)
			}
			// What was read merges into the combined report.
			res := NewStacksResult(environment.Prod, false, []StackRun{r}, nil)
			if _, err := StacksFiles(res, Call(nil, "pipeline"), "", []StackOwn{own}); err != nil {
				t.Errorf("the combined report refuses what was read: %v", err)
			}
		})
	}
}

func TestStackFailed(t *testing.T) {
	long := "terraform init failed in test (exit code 1):\n" + strings.Repeat("provider error line\n", 60) + "\nReproduce with: dagger call pipeline --env=test"
	cases := []struct {
		name, err, reason string
		summary           []string
	}{
		{"one line", "connect to the engine: refused", "connect to the engine: refused", []string{"The stack's pipeline could not run:\n\n```\nconnect to the engine: refused\n```"}},
		{"the first line is the reason, the end is shown", long, "terraform init failed in test (exit code 1):", []string{"[... 22 lines cut]", "Reproduce with: dagger call pipeline --env=test"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := StackRun{Stack: "stacks/b", Report: StackReport("stacks/b"), Held: []string{"stacks/a"}, Summary: "old"}
			r := StackFailed(in, fmt.Errorf("%s", tc.err))
			if r.Verdict != gate.Block || len(r.Reasons) != 1 || r.Reasons[0] != tc.reason || r.Stack != "stacks/b" || len(r.Held) != 1 {
				t.Errorf("row %+v; want stacks/b blocked by %q, still held", r, tc.reason)
			}
			for _, w := range tc.summary {
				if !strings.Contains(r.Summary, w) {
					t.Errorf("summary lacks %q:\n%s", w, r.Summary)
				}
			}
			if head := StacksHeader(NewStacksResult(environment.Test, false, []StackRun{r}, nil)); !strings.Contains(head, "- **block** `stacks/b`: "+tc.reason) {
				t.Errorf("the combined header does not give the reason:\n%s", head)
			}
		})
	}
}

// FuzzReadStackReport: whatever a stack's report holds, reading it never panics, and a
// report it accepts has a valid verdict.
func FuzzReadStackReport(f *testing.F) {
	f.Add([]byte("# test pipeline: pass\n"), []byte(`{"env":"test","verdict":"pass","reasons":[]}`), true)
	f.Add([]byte(""), []byte(`{"env":"prod","verdict":"block","reasons":null}`), true)
	f.Add([]byte("x"), []byte(`{`), true)
	f.Add([]byte("x"), []byte(nil), false)
	f.Fuzz(func(t *testing.T, summary, result []byte, hasResult bool) {
		read := func(name string) ([]byte, bool, error) {
			switch name {
			case "summary.md":
				return summary, true, nil
			case ResultFile:
				return result, hasResult, nil
			}
			return nil, false, nil
		}
		r, _, err := ReadStackReport(StackRun{Stack: "s"}, read)
		if err != nil {
			return
		}
		switch r.Verdict {
		case gate.Pass, gate.Warn, gate.Block:
		default:
			t.Fatalf("accepted verdict %q", r.Verdict)
		}
		if r.Reasons == nil || r.Summary != string(summary) {
			t.Fatalf("reasons %v, summary %q", r.Reasons, r.Summary)
		}
	})
}
