package pipeline

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/tfunit"
)

// execIn runs args in dir with the real terraform first on PATH, as the module's container
// runs them, and returns the exit code and the two streams apart.
func execIn(t testing.TB, dir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(tftest.Binary(t))+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TF_CLI_CONFIG_FILE=/dev/null", "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatalf("run %s: %v", strings.Join(args, " "), err)
	}
	return 0, out.String(), errb.String()
}

// TestReadFmt runs commands.FmtCheck with the real terraform and reads what it left as the
// module does, from the Terraform directory "terraform" unless a case says otherwise. The
// diff it keeps must be the one terraform itself writes for the files it keeps.
// fmt that could not run at all (no terraform, killed) is the step's tool failing, not code
// that does not parse.
func TestReadFmtThatCouldNotRun(t *testing.T) {
	if _, _, failed, err := ReadFmt("terraform", nil, 127, "", "sh: terraform: not found"); err == nil || failed != "" || !strings.Contains(err.Error(), "terraform fmt failed (exit code 127)") {
		t.Errorf("ReadFmt of a missing terraform: failed %q, err %v", failed, err)
	}
}

func TestReadFmt(t *testing.T) {
	const (
		formatted   = "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n"
		unformatted = "resource \"terraform_data\" \"a\" {\ninput=\"x\"\n}\n"
	)
	// A repository with a stack nested in the one linted: terraform fmt -recursive walks
	// into it, its own module too, and into stacks/networking, a module whose name only
	// starts like the nested stack's.
	nestedStack := map[string]string{
		"main.tf":                          unformatted,
		"modules/m/main.tf":                "locals {\n   a=1\n}\n",
		"stacks/network/main.tf":           "terraform {\nbackend \"s3\" {}\n}\n",
		"stacks/network/modules/x/main.tf": "locals {\n  nested_only=1\n}\n",
		"stacks/networking/main.tf":        "locals {\n b=2\n}\n",
	}
	tests := []struct {
		name      string
		files     map[string]string
		dir       string   // the Terraform directory; "" is "terraform"
		nested    []string // stacks.Nested's
		want      []string // unformatted files
		wantDiff  []string // in the diff
		notInDiff []string
		wantErr   string
		wantBlock bool
	}{
		{name: "formatted", files: map[string]string{"main.tf": formatted, "modules/m/main.tf": formatted}},
		{
			name:      "unformatted, recursively",
			files:     map[string]string{"main.tf": unformatted, "modules/m/main.tf": "locals {\n   a=1\n}\n", "ok.tf": formatted},
			want:      []string{"terraform/main.tf", "terraform/modules/m/main.tf"},
			wantDiff:  []string{`-input="x"`, `+  input = "x"`, "+  a = 1"},
			wantBlock: true,
		},
		{
			// The diff's context holds a blank line: the section keeps it, or the diff
			// would not apply.
			name:      "blank lines in the diff's context",
			files:     map[string]string{"main.tf": "resource \"terraform_data\" \"a\" {\n  input   = 1\n}\n\nresource \"terraform_data\" \"b\" {\n  input = 2\n}\n"},
			want:      []string{"terraform/main.tf"},
			wantDiff:  []string{"-  input   = 1", "+  input = 1"},
			wantBlock: true,
		},
		{
			name:      "a nested stack, the Terraform directory at the root",
			files:     nestedStack,
			dir:       ".",
			nested:    []string{"stacks/network"},
			want:      []string{"main.tf", "modules/m/main.tf", "stacks/networking/main.tf"},
			wantDiff:  []string{`+  input = "x"`, "+  a = 1", "+  b = 2"},
			notInDiff: []string{"stacks/network/", "backend", "nested_only"},
			wantBlock: true,
		},
		{
			name:      "a nested stack below terraform/",
			files:     nestedStack,
			nested:    []string{"terraform/stacks/network"},
			want:      []string{"terraform/main.tf", "terraform/modules/m/main.tf", "terraform/stacks/networking/main.tf"},
			notInDiff: []string{"stacks/network/", "nested_only"},
			wantBlock: true,
		},
		{
			name:   "a stack elsewhere in the repository changes nothing",
			files:  nestedStack,
			nested: []string{"stacks/network"},
			want: []string{"terraform/main.tf", "terraform/modules/m/main.tf", "terraform/stacks/network/main.tf",
				"terraform/stacks/network/modules/x/main.tf", "terraform/stacks/networking/main.tf"},
			wantDiff:  []string{"nested_only"},
			wantBlock: true,
		},
		{
			name:   "only the nested stack is unformatted",
			files:  map[string]string{"main.tf": formatted, "stacks/network/main.tf": nestedStack["stacks/network/main.tf"], "stacks/network/edge/main.tf": unformatted},
			dir:    ".",
			nested: []string{"stacks/network", "stacks/network/edge"},
		},
		{
			name:    "fmt cannot parse the code",
			files:   map[string]string{"main.tf": "resource \"terraform_data\" \"a\" {\n"},
			wantErr: "exit code ",
		},
		{
			// The nested stack's own run reports it.
			name:   "fmt cannot parse a nested stack's code",
			files:  map[string]string{"main.tf": formatted, "stacks/network/main.tf": "resource \"terraform_data\" \"a\" {\n"},
			nested: []string{"terraform/stacks/network"},
		},
		{
			name:    "fmt cannot parse a module's code below a nested stack's sibling",
			files:   map[string]string{"main.tf": formatted, "modules/m/main.tf": "resource \"terraform_data\" \"a\" {\n"},
			nested:  []string{"terraform/stacks/network"},
			wantErr: "exit code ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = "terraform"
			}
			work := t.TempDir()
			tftest.WriteFiles(t, work, tt.files)
			code, stdout, stderr := execIn(t, work, commands.FmtCheck()...)
			got, diff, failed, err := ReadFmt(dir, tt.nested, code, stdout, stderr)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" {
				if !strings.Contains(failed, tt.wantErr) || !strings.Contains(failed, "main.tf") {
					t.Fatalf("failed %q, want %q naming main.tf (exit %d, stdout %q)", failed, tt.wantErr, code, stdout)
				}
				// It blocks lint with the file and line, and validate's result stays.
				l := Lint{FmtFailed: failed, Validate: "Error: x"}
				o := l.Outcome(LintFailAt)
				if o.Verdict != gate.Block || len(o.Reasons) != 2 || !strings.HasPrefix(o.Reasons[0], "terraform fmt failed: Error: ") || !strings.Contains(o.Reasons[0], "main.tf line ") {
					t.Errorf("outcome %+v, want a block naming fmt's error and where, and validate's", o)
				}
				if md := l.Markdown(LintFailAt); !strings.Contains(md, "terraform fmt: failed, the code does not parse") || !strings.Contains(md, "terraform validate: failed") {
					t.Errorf("lint section:\n%s", md)
				}
				return
			}
			if failed != "" {
				t.Fatal(failed)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("unformatted %q, want %q", got, tt.want)
			}
			for _, w := range tt.wantDiff {
				if !strings.Contains(diff, w) {
					t.Errorf("diff lacks %q:\n%s", w, diff)
				}
			}
			for _, w := range tt.notInDiff {
				if strings.Contains(diff, w) {
					t.Errorf("diff holds %q, of a nested stack:\n%s", w, diff)
				}
			}
			if tt.want == nil && diff != "" {
				t.Errorf("diff of formatted code: %q", diff)
			}
			if tt.want != nil {
				// What terraform writes when asked about the kept files alone.
				args := []string{"terraform", "fmt", "-check", "-diff", "-no-color"}
				for _, f := range got {
					rel, _ := strings.CutPrefix(f, "terraform/")
					args = append(args, rel)
				}
				if _, own, _ := execIn(t, work, args...); diff != own {
					t.Errorf("diff:\n%s\nwant terraform's for %q alone:\n%s", diff, args[5:], own)
				}
			}
			l := Lint{Unformatted: got, FmtDiff: diff}
			if o := l.Outcome(findings.High); (o.Verdict == gate.Block) != tt.wantBlock {
				t.Errorf("outcome %+v, want block %v", o, tt.wantBlock)
			}
			for _, f := range tt.want {
				if !strings.Contains(l.Markdown(LintFailAt), f) {
					t.Errorf("section lacks %s:\n%s", f, l.Markdown(LintFailAt))
				}
			}
			if diff != "" && !strings.Contains(l.Markdown(LintFailAt), strings.TrimRight(diff, "\n")) {
				t.Errorf("the section's diff is not terraform's:\n%s\nwant\n%s", l.Markdown(LintFailAt), diff)
			}
		})
	}
}

// TestReadValidate runs the real terraform validate on valid and invalid code.
func TestReadValidate(t *testing.T) {
	tests := []struct {
		name string
		main string
		want []string // in the diagnostics; none means valid
	}{
		{name: "valid", main: "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n"},
		{
			name: "undeclared reference",
			main: "resource \"terraform_data\" \"a\" {\n  input = var.missing\n}\n",
			want: []string{"Reference to undeclared input variable", "main.tf line 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tftest.New(t, map[string]string{"main.tf": tt.main})
			w.Init("-backend=false")
			code, stdout, stderr := execIn(t, w.Dir, "terraform", "validate", "-no-color")
			got := ReadValidate(code, stdout, stderr)
			if len(tt.want) == 0 && got != "" {
				t.Errorf("valid code: %q", got)
			}
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("diagnostics lack %q:\n%s", want, got)
				}
			}
			l := Lint{Validate: got}
			if o := l.Outcome(findings.High); (o.Verdict == gate.Block) != (len(tt.want) > 0) {
				t.Errorf("outcome %+v", o)
			}
		})
	}
}

// The stack's own tests (real terraform test): a run block that fails blocks lint in every
// environment and is listed with Terraform's message; passing tests and no tests at all
// (nil) leave lint to its other tools.
func TestLintTests(t *testing.T) {
	main := "resource \"terraform_data\" \"a\" {\n  input = \"app\"\n}\n"
	check := func(want string) string {
		return "run \"input\" {\n  command = plan\n  assert {\n    condition     = terraform_data.a.input == \"" + want +
			"\"\n    error_message = \"the input is not " + want + "\"\n  }\n}\n"
	}
	tests := []struct {
		name    string
		file    string // tests/a.tftest.hcl, "" for none
		verdict gate.Verdict
		want    []string // in the lint section
	}{
		{"passing", check("app"), gate.Pass, []string{"- terraform test: 1 passed, 0 failed, 0 errored, 0 skipped"}},
		{"failing", check("web"), gate.Block, []string{"- terraform test: 0 passed, 1 failed",
			"  - `tests/a.tftest.hcl` run `input`: fail", "    - Test assertion failed: the input is not web (tests/a.tftest.hcl:4)"}},
		{"no tests", "", gate.Pass, nil},
		{"terraform not set up", "not set up", gate.Block, []string{"- terraform test: 0 passed, 0 failed, 0 errored, 0 skipped",
			"not run: terraform could not be set up in the stack"}},
		{"failed runs and an error", "failed and errors", gate.Block, []string{"- terraform test: 1 passed, 1 failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tftest.New(t, map[string]string{"main.tf": main})
			l := Lint{}
			switch tt.file {
			case "":
			case "not set up": // the providers' install failed before the tests
				res := tfunit.NotSetUp()
				l.Tests = &res
			case "failed and errors": // each is a reason of its own
				l.Tests = &tfunit.Result{Passed: 1, Failed: 1, Errors: []string{"Unsupported argument (b.tftest.hcl:2)"}}
				if got := l.Outcome(findings.High).Reasons; len(got) != 2 || got[0] != "terraform test: 1 of 2 run block(s) did not pass" ||
					got[1] != "terraform test: Unsupported argument (b.tftest.hcl:2)" {
					t.Errorf("reasons %q, want the failed runs and the error", got)
				}
			default:
				w.Write("tests/a.tftest.hcl", tt.file)
				w.Init("-backend=false")
				code, stdout, stderr := execIn(t, w.Dir, tfunit.Command()...)
				res, err := tfunit.Read(code, stdout, stderr)
				if err != nil {
					t.Fatal(err)
				}
				l.Tests = &res
			}
			for _, env := range []environment.Name{environment.Preview, environment.Prod} {
				p, err := environment.Default(env)
				if err != nil {
					t.Fatal(err)
				}
				step := l.Step(p, true)
				if step.Outcome.Verdict != tt.verdict {
					t.Errorf("%s: verdict %s %q, want %s", env, step.Outcome.Verdict, step.Outcome.Reasons, tt.verdict)
				}
				for _, want := range tt.want {
					if !strings.Contains(step.Markdown, want) {
						t.Errorf("%s: the lint section lacks %q:\n%s", env, want, step.Markdown)
					}
				}
				if (step.Suite != nil) != (tt.file != "") || step.Suite != nil && len(step.Suite.Cases) != 1 {
					t.Errorf("%s: junit suite %+v, want one case when the stack has tests", env, step.Suite)
				}
				if tt.file == "" && strings.Contains(step.Markdown, "terraform test") {
					t.Errorf("%s: a stack without tests has a terraform test line:\n%s", env, step.Markdown)
				}
			}
		})
	}
}
