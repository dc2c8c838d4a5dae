package ghactions

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// Output is one step output, e.g. resources_to_destroy=2, read by later jobs as
// steps.<id>.outputs.<name>.
type Output struct {
	Name  string
	Value string
}

// fileDelimiter is the heredoc delimiter go-githubactions writes around every value. It is
// fixed, not random, so a value holding it could end the heredoc early and smuggle in
// outputs of its own: such values are refused.
const fileDelimiter = "_GitHubActionsFileCommandDelimeter_"

// outputNameRE is GitHub's rule for output names (letters, digits, '-' and '_', not
// starting with a digit); it also keeps '<<', '=' and newlines out of the file's key part.
var outputNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// SortedOutputs turns a map such as a gate decision's outputs into outputs ordered by name,
// so the file is the same on every run.
func SortedOutputs(m map[string]string) []Output {
	outs := make([]Output, 0, len(m))
	for k, v := range m {
		outs = append(outs, Output{Name: k, Value: v})
	}
	slices.SortFunc(outs, func(a, b Output) int { return strings.Compare(a.Name, b.Name) })
	return outs
}

// WriteOutputs appends the outputs to a file in the GITHUB_OUTPUT format (name<<delimiter,
// value, delimiter), the format the runner reads back, so multi-line values survive. Path is
// $GITHUB_OUTPUT on a runner, or outputs.env in the report directory that the workflow later
// appends to $GITHUB_OUTPUT. Nothing is written unless every output is valid.
func WriteOutputs(path string, outs []Output) error {
	if path == "" {
		return errors.New("write outputs: no file given (is GITHUB_OUTPUT set?)")
	}
	seen := map[string]bool{}
	for _, o := range outs {
		if err := checkOutput(o); err != nil {
			return fmt.Errorf("write outputs to %s: %w", path, err)
		}
		if seen[o.Name] {
			return fmt.Errorf("write outputs to %s: output %q given twice", path, o.Name)
		}
		seen[o.Name] = true
	}
	a := githubactions.New(githubactions.WithGetenv(fileEnv("GITHUB_OUTPUT", path)))
	return fileCommand(path, func() {
		for _, o := range outs {
			a.SetOutput(o.Name, o.Value)
		}
	})
}

// RenderOutputs returns what WriteOutputs would append, for the module to return as the
// report's outputs.env file.
func RenderOutputs(outs []Output) ([]byte, error) {
	dir, err := os.MkdirTemp("", "ghactions-outputs-")
	if err != nil {
		return nil, fmt.Errorf("render outputs: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "outputs.env")
	if err := WriteOutputs(path, outs); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("render outputs: %w", err)
	}
	return b, nil
}

func checkOutput(o Output) error {
	if !outputNameRE.MatchString(o.Name) {
		return fmt.Errorf("output name %s is not valid: use letters, digits, '-' and '_', not starting with a digit", untrusted.Quote(o.Name))
	}
	if strings.Contains(o.Value, fileDelimiter) {
		return fmt.Errorf("output %s: the value holds the file delimiter %s and would inject outputs", o.Name, fileDelimiter)
	}
	return nil
}

// fileEnv points one GITHUB_* file variable at path and hides the rest of the environment,
// so a test or the module never writes to a runner file it did not name.
func fileEnv(name, path string) githubactions.GetenvFunc {
	return func(k string) string {
		if k == name {
			return path
		}
		return ""
	}
}

// fileCommand runs go-githubactions file commands, which panic when the file cannot be
// written, and turns that panic into an error. The file is opened first so that the common
// failure (a missing directory, no permission) is a plain error naming the path.
func fileCommand(path string, write func()) (err error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write %s: %v", path, r)
		}
	}()
	write()
	return nil
}
