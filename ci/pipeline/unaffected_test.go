package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/report"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

// An unaffected run passes with has_changes=false, in result.json and the workflow outputs,
// and its summary lists the change; an unknown environment is refused.
func TestUnaffectedFiles(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		changed []string
		summary []string
		wantErr string
	}{
		{"docs changed", "test", []string{"README.md", "docs/usage.md"},
			[]string{"# test pipeline: pass", "- `README.md`\n- `docs/usage.md`\n"}, ""},
		{"nothing changed", "preview", []string{}, []string{"# preview pipeline: pass", "The change holds no files."}, ""},
		{"unknown environment", "qa", nil, nil, "unknown environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reproduce := Call(nil, "pipeline").Flag("env", tt.env).Flag("changed-files", "./changed.txt")
			list, err := UnaffectedFiles(tt.env, "terraform", tt.changed, nil, false, reproduce)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fs := files(t, list)
			if len(fs) != 5 {
				t.Errorf("files %v, want outputs.env, annotations.txt, summary.md, comment.md, %s", list, ResultFile)
			}
			if want := report.CommentMarker(tt.env) + "\n" + fs["summary.md"]; fs["comment.md"] != want {
				t.Errorf("comment.md:\n%s\nwant the marker, then the summary", fs["comment.md"])
			}
			for _, w := range tt.summary {
				if !strings.Contains(fs["summary.md"], w) {
					t.Errorf("summary.md lacks %q:\n%s", w, fs["summary.md"])
				}
			}
			const delim = "_GitHubActionsFileCommandDelimeter_" // go-githubactions' heredoc delimiter
			if !strings.HasSuffix(fs["summary.md"], reproduce.Markdown()) {
				t.Errorf("summary.md does not end with the reproduce line:\n%s", fs["summary.md"])
			}
			for _, o := range []string{"environment<<" + delim + "\n" + tt.env, "has_changes<<" + delim + "\nfalse", "verdict<<" + delim + "\npass",
				"reproduce<<" + delim + "\n" + reproduce.String()} {
				if !strings.Contains(fs["outputs.env"], o+"\n"+delim+"\n") {
					t.Errorf("outputs.env lacks %q:\n%s", o, fs["outputs.env"])
				}
			}
			res, err := ReadResult(ResultFile, []byte(fs[ResultFile]))
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != gate.Pass || string(res.Env) != tt.env || res.Check != "pipeline" || res.Err() != nil {
				t.Errorf("result.json reads back as %+v", res)
			}
			if !strings.Contains(fs[ResultFile], `"has_changes": "false"`) || !strings.HasSuffix(fs[ResultFile], "}\n") {
				t.Errorf("result.json:\n%s", fs[ResultFile])
			}
		})
	}
}

// Unaffected decides on a repository of two stacks on disk: a change to this stack runs it; a change to
// another stack is a pass that names that stack; one to no stack names none.
func TestUnaffected(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"stacks/a", "stacks/b"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dir, "main.tf"), []byte("resource \"terraform_data\" \"x\" {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// A stack is a directory with a pipeline.yaml (stacks.Discover).
		if err := os.WriteFile(filepath.Join(root, dir, "pipeline.yaml"), []byte("version: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tree := stacks.NewDirTree(root)
	reproduce := Call(nil, "pipeline").Flag("env", "test")
	for _, tt := range []struct {
		name    string
		changed []string
		runs    bool
		others  string
	}{
		{"this stack", []string{"stacks/a/main.tf"}, true, ""},
		{"unknown", []string{"*"}, true, ""},
		{"another stack", []string{"stacks/b/main.tf"}, false, "The change touches other stacks, which this run does not run: `stacks/b`."},
		{"no stack", []string{"README.md"}, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			list, err := Unaffected(tree, "test", "stacks/a", tt.changed, reproduce)
			if err != nil {
				t.Fatal(err)
			}
			if tt.runs != (list == nil) {
				t.Fatalf("runs: %v, want %v (files %d)", list == nil, tt.runs, len(list))
			}
			if tt.runs {
				return
			}
			summary := files(t, list)["summary.md"]
			if !strings.Contains(summary, "No change touches the stack `stacks/a`") ||
				strings.Contains(summary, "other stacks") != (tt.others != "") || !strings.Contains(summary, tt.others) {
				t.Errorf("summary.md:\n%s", summary)
			}
		})
	}
}
