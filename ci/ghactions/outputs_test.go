package ghactions

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseOutputFile reads a GITHUB_OUTPUT file the way the runner does (actions/runner,
// SetOutputFileCommand): "name=value" lines, or "name<<DELIM" and the lines up to DELIM.
func parseOutputFile(t *testing.T, data string) map[string]string {
	t.Helper()
	got := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		eq, heredoc := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case eq >= 0 && (heredoc < 0 || eq < heredoc):
			got[line[:eq]] = line[eq+1:]
		case heredoc >= 0:
			name, delim := line[:heredoc], line[heredoc+2:]
			var value []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				value = append(value, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("delimiter %q of %q never closed", delim, name)
			}
			got[name] = strings.Join(value, "\n")
		default:
			t.Fatalf("the runner would reject line %d: %q", i+1, line)
		}
	}
	return got
}

func TestWriteOutputs(t *testing.T) {
	outs := []Output{
		{Name: "resources_to_destroy", Value: "2"},
		{Name: "has-changes", Value: "true"},
		{Name: "reasons", Value: "prod plan replaces terraform_data.database\nrerun with --force-recreate"},
		{Name: "empty", Value: ""},
		{Name: "hostile", Value: "x\nevil=1\n::set-output name=evil::2\n$(id) `id` %0A 100%\n_GitHubActionsFileCommandDelimeter"},
	}
	path := filepath.Join(t.TempDir(), "github_output")
	if err := WriteOutputs(path, outs); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const d = "_GitHubActionsFileCommandDelimeter_"
	want := "resources_to_destroy<<" + d + "\n2\n" + d + "\n" +
		"has-changes<<" + d + "\ntrue\n" + d + "\n" +
		"reasons<<" + d + "\nprod plan replaces terraform_data.database\nrerun with --force-recreate\n" + d + "\n" +
		"empty<<" + d + "\n\n" + d + "\n" +
		"hostile<<" + d + "\nx\nevil=1\n::set-output name=evil::2\n$(id) `id` %0A 100%\n_GitHubActionsFileCommandDelimeter\n" + d + "\n"
	if string(data) != want {
		t.Errorf("file\n got %q\nwant %q", data, want)
	}
	// What the runner reads back is exactly what was written: no value became an output.
	wantMap := map[string]string{}
	for _, o := range outs {
		wantMap[o.Name] = o.Value
	}
	if got := parseOutputFile(t, string(data)); !maps.Equal(got, wantMap) {
		t.Errorf("runner reads\n got %q\nwant %q", got, wantMap)
	}

	// A second step appends; earlier outputs stay.
	if err := WriteOutputs(path, []Output{{Name: "verdict", Value: "block"}}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	if !strings.HasPrefix(string(data), want) || !strings.HasSuffix(string(data), "verdict<<"+d+"\nblock\n"+d+"\n") {
		t.Errorf("append lost or mangled content:\n%s", data)
	}
}

func TestWriteOutputsRejects(t *testing.T) {
	tests := []struct {
		name string
		outs []Output
		want string
	}{
		{"name with a newline", []Output{{Name: "a\nevil", Value: "1"}},
			`output name "a\nevil" is not valid: use letters, digits, '-' and '_', not starting with a digit`},
		{"name with a heredoc", []Output{{Name: "a<<X", Value: "1"}}, `output name "a<<X" is not valid`},
		{"name with equals", []Output{{Name: "a=b", Value: "1"}}, `output name "a=b" is not valid`},
		{"name with a space", []Output{{Name: "a b", Value: "1"}}, `output name "a b" is not valid`},
		{"name starting with a digit", []Output{{Name: "1a", Value: "1"}}, `output name "1a" is not valid`},
		{"empty name", []Output{{Name: "", Value: "1"}}, `output name "" is not valid`},
		{"value closing the heredoc early", []Output{
			{Name: "ok", Value: "1"},
			{Name: "msg", Value: "x\n_GitHubActionsFileCommandDelimeter_\nevil=1"}},
			"output msg: the value holds the file delimiter _GitHubActionsFileCommandDelimeter_ and would inject outputs"},
		{"duplicate", []Output{{Name: "a", Value: "1"}, {Name: "a", Value: "2"}}, `output "a" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "github_output")
			err := WriteOutputs(path, tt.outs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "write outputs to "+path+": ") {
				t.Errorf("error %q does not name the file", err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("file written although an output was invalid (stat: %v)", err)
			}
		})
	}
}

func TestWriteOutputsFileErrors(t *testing.T) {
	if err := WriteOutputs("", []Output{{Name: "a", Value: "1"}}); err == nil ||
		err.Error() != "write outputs: no file given (is GITHUB_OUTPUT set?)" {
		t.Errorf("empty path: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "out")
	err := WriteOutputs(missing, []Output{{Name: "a", Value: "1"}})
	if err == nil || !strings.Contains(err.Error(), "open "+missing) {
		t.Errorf("missing directory: %v", err)
	}
}

func TestRenderOutputsMatchesWriteOutputs(t *testing.T) {
	outs := SortedOutputs(map[string]string{
		"resources_to_replace": "1",
		"resources_to_add":     "3",
		"has_changes":          "true",
		"summary":              "line 1\nline 2",
	})
	var names []string
	for _, o := range outs {
		names = append(names, o.Name)
	}
	if got := strings.Join(names, ","); got != "has_changes,resources_to_add,resources_to_replace,summary" {
		t.Errorf("order %s", got)
	}
	rendered, err := RenderOutputs(outs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "github_output")
	if err := WriteOutputs(path, outs); err != nil {
		t.Fatal(err)
	}
	written, _ := os.ReadFile(path)
	if string(rendered) != string(written) {
		t.Errorf("rendered %q\nwritten  %q", rendered, written)
	}
	// outputs.env appended to GITHUB_OUTPUT by the workflow (cat >>) reads the same.
	want := map[string]string{"has_changes": "true", "resources_to_add": "3", "resources_to_replace": "1", "summary": "line 1\nline 2"}
	if got := parseOutputFile(t, string(rendered)); !maps.Equal(got, want) {
		t.Errorf("runner reads %q", got)
	}
	if empty, err := RenderOutputs(nil); err != nil || len(empty) != 0 {
		t.Errorf("no outputs: %q, %v", empty, err)
	}
	if _, err := RenderOutputs([]Output{{Name: "bad name", Value: "x"}}); err == nil {
		t.Error("invalid name rendered")
	}
}
