package daggertest

import (
	"errors"
	"maps"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{
		"awsAccessKeyID": "aws-access-key-id", "infracostAPIKey": "infracost-apikey", "infracostApiKey": "infracost-api-key",
		"SecurityScan": "security-scan", "githubEventName": "github-event-name", "env": "env",
		"reportOnFailure": "report-on-failure", "ResolveEnv": "resolve-env",
	} {
		if got := Kebab(in); got != want {
			t.Errorf("Kebab(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestReadModule(t *testing.T) {
	mod, err := ReadModule("testdata/module")
	if err != nil {
		t.Fatal(err)
	}
	want := Module{
		"":              {"region": true, "aws-access-key-id": true},
		"security-scan": {"ctx": true, "env": true, "fail-on": true},
		"pipeline":      {"ctx": true, "infracost-api-key": true},
	}
	if !maps.EqualFunc(mod, want, maps.Equal) {
		t.Errorf("ReadModule = %v\nwant %v", mod, want)
	}
	if _, err := ReadModule(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no module source") {
		t.Errorf("ReadModule of an empty directory: %v, want no module source", err)
	}
}

func TestCheck(t *testing.T) {
	mod, err := ReadModule("testdata/module")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		argv []string
		want string // "" for no error
	}{
		{[]string{"--region=eu-west-1", "security-scan", "--env=prod", "export", "--path=out"}, ""},
		{[]string{"pipeline", "--infracost-api-key=env:K"}, ""},
		{[]string{"--regoin=eu-west-1", "pipeline"}, "the module's constructor takes no --regoin"},
		{[]string{"security-scan", "--project=x", "--env=prod"}, "the module's function security-scan takes no --project"},
		{[]string{"plan", "--env=prod"}, `the module has no function "plan"`},
		{[]string{"import"}, `the module has no function "import"`},
		{[]string{"security-scan", "export", "--nothing-the-module-has"}, ""}, // export is Dagger's
		{[]string{"-m", "github.com/infrapipe/infrapipe", "--region=eu-west-1", "pipeline"}, ""},
		{[]string{"infra", "--region=eu-west-1", "pipeline"}, ""}, // a toolchain
		{[]string{"infra", "--regoin=eu-west-1", "pipeline"}, "the module's constructor takes no --regoin"},
		{[]string{"-m", "github.com/infrapipe/infrapipe", "plan"}, `the module has no function "plan"`},
	}
	for _, tt := range tests {
		err := mod.Check(tt.argv)
		if got := errString(err); got != tt.want {
			t.Errorf("Check(%q) = %q, want %q", tt.argv, got, tt.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestFake(t *testing.T) {
	tests := []struct {
		name string
		args []string
		exit string
		want int
	}{
		{"arguments stay distinct", []string{"call", "x", "--path=out dir\nline", ""}, "", 0},
		{"exit status", []string{"call"}, "3", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake(t, `echo "ran then" > "$FAKE_THEN"`)
			if got := f.Argv(t); got != nil {
				t.Fatalf("Argv before any call = %q, want nil", got)
			}
			then := t.TempDir() + "/then"
			cmd := exec.Command(f.Dir+"/dagger", tt.args...)
			cmd.Env = append(f.Env(), "FAKE_THEN="+then, ExitVar+"="+tt.exit)
			err := cmd.Run()
			var exitErr *exec.ExitError
			switch {
			case errors.As(err, &exitErr):
				if exitErr.ExitCode() != tt.want {
					t.Errorf("exit %d, want %d", exitErr.ExitCode(), tt.want)
				}
			case err != nil:
				t.Fatal(err)
			case tt.want != 0:
				t.Errorf("exit 0, want %d", tt.want)
			}
			if got := f.Argv(t); !slices.Equal(got, tt.args) {
				t.Errorf("Argv = %q, want %q", got, tt.args)
			}
			if out, err := os.ReadFile(then); err != nil || string(out) != "ran then\n" {
				t.Errorf("then lines: %q, %v; want them run", out, err)
			}
		})
	}
}

func TestCalls(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		want       []Call
	}{
		{"none", "echo dagger call\nls", nil},
		{"one line", "dagger call lint", []Call{{1, []string{"lint"}}}},
		{"progress flag and quotes", `dagger --progress=plain call --region="$AWS_REGION" plan --env='a b'`,
			[]Call{{1, []string{"--region=$AWS_REGION", "plan", "--env=a b"}}}},
		{"continuations join, the line is the first", "x=1\ndagger call \\\n  plan \\\n  --env=test\n",
			[]Call{{2, []string{"plan", "--env=test"}}}},
		{"operators end a call", `guard=1 && dagger call lint || status=$?; dagger call verdict --report=./r && echo "a && dagger call no"`,
			[]Call{{1, []string{"lint"}}, {1, []string{"verdict", "--report=./r"}}}},
		{"redirections are no arguments", `dagger call stacks --changed-files=./c.txt > stacks.json 2>&1; dagger call lint >>log <in --x=1; dagger call a 2> err b`,
			[]Call{{1, []string{"stacks", "--changed-files=./c.txt"}}, {1, []string{"lint", "--x=1"}}, {1, []string{"a", "b"}}}},
		{"a quoted > is an argument", `dagger call plan --note='a > b' >out`, []Call{{1, []string{"plan", "--note=a > b"}}}},
		{"a comment and a pipe end a call", "dagger call plan --env=test # dagger call x\ndagger call lint | tee out",
			[]Call{{1, []string{"plan", "--env=test"}}, {2, []string{"lint"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Calls(tt.text)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Calls\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
