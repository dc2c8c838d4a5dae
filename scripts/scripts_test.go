// Package scripts_test checks that each wrapper script turns its flags into exactly one
// `dagger call` with the expected arguments, and that bad input never reaches dagger.
package scripts_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/internal/daggertest"
)

type run struct {
	code           int
	stdout, stderr string
	argv           []string // nil when dagger was not called
}

// runScript runs one wrapper with only the stand-in dagger, bash and coreutils on PATH,
// from another directory than its own, as a user running ./scripts/x.sh from the
// repository root does.
func runScript(t *testing.T, script string, args []string, env map[string]string) run {
	t.Helper()
	dagger := daggertest.NewFake(t, "")
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed to run the wrapper scripts: %v", err)
	}
	path, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, append([]string{path}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(dagger.Env(),
		"PATH="+dagger.Dir+string(os.PathListSeparator)+"/usr/bin:/bin",
		"HOME="+t.TempDir(),
	)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String(), argv: dagger.Argv(t)}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", script, err)
	}
	return r
}

var awsEnv = map[string]string{
	"AWS_ACCESS_KEY_ID":     "AKIAEXAMPLE",
	"AWS_SECRET_ACCESS_KEY": "secret",
	"AWS_SESSION_TOKEN":     "token",
}

var awsArgs = []string{
	"--aws-access-key-id=env:AWS_ACCESS_KEY_ID",
	"--aws-secret-access-key=env:AWS_SECRET_ACCESS_KEY",
	"--aws-session-token=env:AWS_SESSION_TOKEN",
}

func concat(parts ...[]string) []string { return slices.Concat(parts...) }

type wrapperCall struct {
	name   string
	script string
	args   []string
	env    map[string]string
	want   []string
}

var wrapperCalls = []wrapperCall{
	{
		name:   "import dry run, the issue's example",
		script: "import-and-refresh-enhanced.sh",
		args:   []string{"-e", "prod", "-p", "myproject", "--dry-run"},
		want:   []string{"call", "import", "--env=prod", "--project=myproject", "--dry-run", "export", "--path=./import-results"},
	},
	{
		name:   "import long flags, force, flags in any order",
		script: "import-and-refresh-enhanced.sh",
		args:   []string{"--force", "--project", "my_project-2", "--env", "test", "-o", "imp"},
		want:   []string{"call", "import", "--env=test", "--project=my_project-2", "--force", "export", "--path=imp"},
	},
	{
		name:   "import with both switches",
		script: "import-and-refresh-enhanced.sh",
		args:   []string{"-e", "staging", "-p", "p", "--force", "--dry-run"},
		want:   []string{"call", "import", "--env=staging", "--project=p", "--dry-run", "--force", "export", "--path=./import-results"},
	},
	{
		name:   "import passes AWS credentials as secrets, never as values",
		script: "import-and-refresh-enhanced.sh",
		args:   []string{"-e", "prod", "-p", "myproject"},
		env:    awsEnv,
		want:   concat([]string{"call"}, awsArgs, []string{"import", "--env=prod", "--project=myproject", "export", "--path=./import-results"}),
	},
	{
		name:   "import passes only the credentials that are set",
		script: "import-and-refresh-enhanced.sh",
		args:   []string{"-e", "prod", "-p", "myproject"},
		env:    map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"},
		want:   concat([]string{"call"}, awsArgs[:2], []string{"import", "--env=prod", "--project=myproject", "export", "--path=./import-results"}),
	},
	{
		name:   "security scan with the module's defaults",
		script: "security-scan.sh",
		want:   []string{"call", "security-scan", "export", "--path=./security-results"},
	},
	{
		name:   "security scan with prod's threshold, elsewhere",
		script: "security-scan.sh",
		args:   []string{"-o", "out", "--env", "prod"},
		env:    awsEnv, // a scan reads code only: no credentials passed
		want:   []string{"call", "security-scan", "--env=prod", "export", "--path=out"},
	},
	{
		name:   "compliance, the issue's example",
		script: "validate-compliance.sh",
		args:   []string{"-e", "test"},
		want:   []string{"call", "compliance", "--env=test", "export", "--path=./compliance-results"},
	},
	{
		name:   "compliance with credentials and an output directory",
		script: "validate-compliance.sh",
		args:   []string{"--env", "prod", "--output", "./c"},
		env:    awsEnv,
		want:   concat([]string{"call"}, awsArgs, []string{"compliance", "--env=prod", "export", "--path=./c"}),
	},
	{
		name:   "tests, the issue's example",
		script: "run-all-tests.sh",
		args:   []string{"-e", "staging", "-p", "myproject", "-r", "eu-west-1", "--skip-destructive", "-o", "./test-results"},
		want: []string{"call", "--region=eu-west-1", "test", "--env=staging", "--project=myproject",
			"--skip-destructive", "export", "--path=./test-results"},
	},
	{
		name:   "tests default output directory",
		script: "run-all-tests.sh",
		args:   []string{"-e", "test", "-p", "myproject", "-r", "us-gov-west-1"},
		want: []string{"call", "--region=us-gov-west-1", "test", "--env=test", "--project=myproject",
			"export", "--path=./test-results"},
	},
	{
		name:   "tests output directory with a space stays one argument",
		script: "run-all-tests.sh",
		args:   []string{"-e", "prod", "-p", "myproject", "-r", "eu-west-1", "--output", "out dir/$(x)"},
		env:    awsEnv,
		want: concat([]string{"call", "--region=eu-west-1"}, awsArgs,
			[]string{"test", "--env=prod", "--project=myproject", "export", "--path=out dir/$(x)"}),
	},
}

func TestWrappersCallDagger(t *testing.T) {
	for _, tt := range wrapperCalls {
		t.Run(tt.name, func(t *testing.T) {
			r := runScript(t, tt.script, tt.args, tt.env)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			if !slices.Equal(r.argv, tt.want) {
				t.Errorf("dagger argv\n got %q\nwant %q", r.argv, tt.want)
			}
		})
	}
}

func TestWrappersRejectBadInput(t *testing.T) {
	tests := []struct {
		name   string
		script string
		args   []string
		reason string // the first stderr line
	}{
		{"import unknown flag", "import-and-refresh-enhanced.sh",
			[]string{"-e", "prod", "-p", "x", "--yes"}, "unknown argument: --yes"},
		{"import missing env", "import-and-refresh-enhanced.sh",
			[]string{"-p", "x"}, "missing -e ENV"},
		{"import missing project", "import-and-refresh-enhanced.sh",
			[]string{"-e", "prod"}, "missing -p PROJECT"},
		{"import flag without value", "import-and-refresh-enhanced.sh",
			[]string{"-p", "x", "-e"}, "-e needs a value"},
		{"import unknown environment", "import-and-refresh-enhanced.sh",
			[]string{"-e", "production", "-p", "x"},
			"invalid environment 'production': valid values are preview, test, staging, prod"},
		{"import shell metacharacters in env", "import-and-refresh-enhanced.sh",
			[]string{"-e", "prod;touch pwned", "-p", "x"},
			"invalid environment 'prod;touch pwned': valid values are preview, test, staging, prod"},
		{"import shell metacharacters in project", "import-and-refresh-enhanced.sh",
			[]string{"-e", "prod", "-p", "$(touch pwned)"},
			"invalid project '$(touch pwned)': use letters, digits, '.', '_' and '-'"},
		{"import equals form is not a flag it knows", "import-and-refresh-enhanced.sh",
			[]string{"--env=prod", "-p", "x"}, "unknown argument: --env=prod"},
		{"security scan unknown flag", "security-scan.sh",
			[]string{"--threshold", "HIGH"}, "unknown argument: --threshold"},
		{"security scan unknown environment", "security-scan.sh",
			[]string{"-e", "dev"}, "invalid environment 'dev': valid values are preview, test, staging, prod"},
		{"security scan output without value", "security-scan.sh",
			[]string{"-o"}, "-o needs a value"},
		{"compliance output swallowed a flag", "validate-compliance.sh",
			[]string{"-e", "test", "-o", "--help"}, "invalid output directory '--help'"},
		{"compliance missing env", "validate-compliance.sh",
			nil, "missing -e ENV"},
		{"compliance flag without value", "validate-compliance.sh",
			[]string{"--env"}, "--env needs a value"},
		{"compliance newline in env", "validate-compliance.sh",
			[]string{"-e", "test\nprod"},
			"invalid environment 'test"},
		{"tests missing region", "run-all-tests.sh",
			[]string{"-e", "test", "-p", "x"}, "missing -r REGION"},
		{"tests bad region", "run-all-tests.sh",
			[]string{"-e", "test", "-p", "x", "-r", "eu west"},
			"invalid region 'eu west': expected a region name such as eu-west-1"},
		{"tests output swallowed a flag", "run-all-tests.sh",
			[]string{"-e", "test", "-p", "x", "-r", "eu-west-1", "-o", "--skip-destructive"},
			"invalid output directory '--skip-destructive'"},
		{"tests unknown flag", "run-all-tests.sh",
			[]string{"-e", "test", "-p", "x", "-r", "eu-west-1", "-x"}, "unknown argument: -x"},
		{"tests missing output value", "run-all-tests.sh",
			[]string{"-e", "test", "-p", "x", "-r", "eu-west-1", "-o"}, "-o needs a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runScript(t, tt.script, tt.args, nil)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			if r.argv != nil {
				t.Errorf("dagger was called with %q", r.argv)
			}
			if r.stdout != "" {
				t.Errorf("stdout should be empty, got %q", r.stdout)
			}
			first, rest, _ := strings.Cut(r.stderr, "\n")
			if want := tt.script + ": " + tt.reason; first != want {
				t.Errorf("first stderr line\n got %q\nwant %q", first, want)
			}
			if !strings.Contains(rest, "Usage: "+tt.script) {
				t.Errorf("stderr lacks the usage text:\n%s", r.stderr)
			}
		})
	}
}

func TestWrappersHelp(t *testing.T) {
	for _, script := range []string{
		"import-and-refresh-enhanced.sh", "security-scan.sh", "validate-compliance.sh", "run-all-tests.sh",
	} {
		for _, flag := range []string{"-h", "--help"} {
			t.Run(script+" "+flag, func(t *testing.T) {
				r := runScript(t, script, []string{flag}, nil)
				if r.code != 0 || r.argv != nil || r.stderr != "" {
					t.Errorf("exit %d, dagger argv %q, stderr %q; want 0, no call, no stderr", r.code, r.argv, r.stderr)
				}
				if !strings.HasPrefix(r.stdout, "Usage: "+script) || !strings.Contains(r.stdout, "Runs: dagger call") {
					t.Errorf("help text:\n%s", r.stdout)
				}
			})
		}
	}
}

// The wrappers exec dagger, so its exit status is theirs: CI sees a failed scan as a failure.
func TestWrappersPassDaggerExitStatus(t *testing.T) {
	r := runScript(t, "security-scan.sh", nil, map[string]string{daggertest.ExitVar: "3"})
	if r.code != 3 {
		t.Errorf("exit %d, want dagger's 3", r.code)
	}
	if !slices.Equal(r.argv, []string{"call", "security-scan", "export", "--path=./security-results"}) {
		t.Errorf("dagger argv %q", r.argv)
	}
}

// The files must stay executable: users run ./scripts/x.sh directly.
func TestWrappersAreExecutable(t *testing.T) {
	scripts, err := filepath.Glob("*.sh")
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) != 4 {
		t.Errorf("found %d scripts %q, want the 4 wrappers", len(scripts), scripts)
	}
	for _, s := range scripts {
		info, err := os.Stat(s)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable (mode %v)", s, info.Mode())
		}
	}
}

// The calls the wrappers make exist in the Dagger module: each flag is a parameter of the
// constructor or of the function it follows, named as the Go SDK names them.
func TestWrappersCallTheModule(t *testing.T) {
	mod, err := daggertest.ReadModule("../.dagger")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range wrapperCalls {
		if err := mod.Check(tt.want[1:]); err != nil { // after "call"
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
