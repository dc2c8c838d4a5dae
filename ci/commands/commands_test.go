package commands

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gitauth"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/plan"
	"github.com/infrapipe/infrapipe/ci/state"
	"github.com/infrapipe/infrapipe/internal/gittest"
)

func need(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s is not on PATH: .ci/run installs the tools these tests need (%v)", tool, err)
	}
}

// run runs a command line in dir, as the module runs it in a container, and returns its
// exit code and combined output.
func run(t *testing.T, dir string, env []string, args []string) (int, string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatalf("run %s: %v", strings.Join(args, " "), err)
	}
	return 0, out.String()
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestTerraformCommands runs the Terraform command lines in the order a deploy runs them,
// against an S3 backend on moto, with the real terraform.
func TestTerraformCommands(t *testing.T) {
	terraform := tftest.Binary(t)
	moto := mototest.Start(t)
	tmp := t.TempDir()
	cliConfig := filepath.Join(tmp, "terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), moto.Env()...)
	env = append(env, "AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL="+moto.URL, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1",
		"TF_CLI_CONFIG_FILE="+cliConfig, "PATH="+filepath.Dir(terraform)+string(os.PathListSeparator)+os.Getenv("PATH"))
	// Locking through a DynamoDB table: it works on every Terraform .ci/tools.sh may provide
	// (use_lockfile needs 1.10).
	backend := environment.Backend{
		Bucket: "infrapipe-commands-test", Key: "test/terraform.tfstate", Region: "eu-west-1",
		DynamoDBTable: "infrapipe-commands-locks",
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	if err := state.PrepareEmulator(context.Background(), moto.URL, backend); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(tmp, "terraform")
	files := map[string]string{
		"main.tf": `terraform {
  backend "s3" {}
}
variable "v" {
  type = string
}
resource "terraform_data" "x" {
  input            = var.v
  triggers_replace = var.v
}
`,
		"environments/test.tfvars": "v = \"a\"\n",
		"test.tfbackend":           state.TFBackend(backend, state.Endpoints{S3: moto.URL, STS: moto.URL, DynamoDB: moto.URL}),
	}
	tftest.WriteFiles(t, dir, files)

	if code, out := run(t, dir, append(env, "TF_PLUGIN_CACHE_DIR="+filepath.Join(tmp, "plugins")), InstallProviders()); code != 0 {
		t.Fatalf("install providers: exit %d\n%s", code, out)
	}
	initArgs, err := state.InitArgs(environment.Test, backend, "test.tfbackend")
	if err != nil {
		t.Fatal(err)
	}
	if code, out := run(t, dir, env, append([]string{"terraform"}, initArgs...)); code != 0 {
		t.Fatalf("terraform init: exit %d\n%s", code, out)
	}

	profile, err := environment.Default(environment.Test)
	if err != nil {
		t.Fatal(err)
	}
	profile.VarFile = "environments/test.tfvars"
	planArgs := append(state.LockArgs(profile), "-var-file="+profile.VarFile)

	// A plan with changes: the three files of one plan, plan's own exit code kept.
	planOut := filepath.Join(tmp, "plan")
	if code, out := run(t, dir, env, Plan(planOut, planArgs...)); code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, out)
	}
	if got := strings.TrimSpace(read(t, filepath.Join(planOut, "plan.exitcode"))); got != "2" {
		t.Errorf("plan.exitcode = %s, want 2 (changes)", got)
	}
	a, err := plan.AnalyzeFile(filepath.Join(planOut, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Counts.Create != 1 {
		t.Errorf("plan.json creates %d resources, want 1: %+v", a.Counts.Create, a.Counts)
	}
	if txt := read(t, filepath.Join(planOut, "plan.txt")); !strings.Contains(txt, "terraform_data.x will be created") {
		t.Errorf("plan.txt does not render the plan:\n%s", txt)
	}

	// A stored plan travels as base64 and renders the same plan again.
	if code, out := run(t, dir, env, Encode(planOut)); code != 0 {
		t.Fatalf("encode: exit %d\n%s", code, out)
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(read(t, filepath.Join(planOut, "tfplan.b64"))), ""))
	if err != nil || !bytes.Equal(decoded, []byte(read(t, filepath.Join(planOut, "tfplan")))) {
		t.Fatalf("tfplan.b64 does not decode to tfplan (%v)", err)
	}
	storedOut := filepath.Join(tmp, "stored")
	if err := os.MkdirAll(storedOut, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, out := run(t, dir, env, ShowEncoded(storedOut, filepath.Join(planOut, "tfplan.b64"))); code != 0 {
		t.Fatalf("show the stored plan: exit %d\n%s", code, out)
	}
	if got, want := read(t, filepath.Join(storedOut, "plan.txt")), read(t, filepath.Join(planOut, "plan.txt")); got != want {
		t.Errorf("the stored plan renders differently:\n%s\nwant:\n%s", got, want)
	}
	if code, out := run(t, dir, env, Show(storedOut)); code != 0 || read(t, filepath.Join(storedOut, "plan.json")) != read(t, filepath.Join(planOut, "plan.json")) {
		t.Errorf("show the saved plan: exit %d, plan.json differs\n%s", code, out)
	}

	// The saved plan applies; applying it a second time is refused as stale.
	applyOut := filepath.Join(tmp, "apply")
	if code, out := run(t, dir, env, Apply(applyOut, filepath.Join(planOut, "tfplan"), state.LockArgs(profile)...)); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	if log := read(t, filepath.Join(applyOut, "apply.log")); !strings.Contains(log, "Apply complete! Resources: 1 added") {
		t.Errorf("apply.log:\n%s", log)
	}
	if code, out := run(t, dir, env, Apply(applyOut, filepath.Join(planOut, "tfplan"))); code == 0 || !strings.Contains(out, "Saved plan is stale") {
		t.Errorf("a second apply of the same saved plan: exit %d, want a stale-plan refusal\n%s", code, out)
	}

	// Nobody holds the lock: the probe takes it and lets it go.
	if code, out := run(t, dir, env, LockProbe("-var-file="+profile.VarFile)); code != 0 {
		t.Errorf("lock probe on a free state: exit %d\n%s", code, out)
	}

	// The pulled state is a valid backup.
	pulled := filepath.Join(tmp, "pull", "state.tfstate")
	if code, out := run(t, dir, env, Pull(pulled)); code != 0 {
		t.Fatalf("state pull: exit %d\n%s", code, out)
	}
	b, err := state.NewBackup(environment.Test, []byte(read(t, pulled)), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b.Resources != 1 {
		t.Errorf("backup holds %d resources, want 1", b.Resources)
	}

	// Nothing changed outside Terraform: the drift check says so.
	driftOut := filepath.Join(tmp, "drift")
	if code, out := run(t, dir, env, Drift(driftOut, state.DriftArgs(filepath.Join(driftOut, "drift.tfplan"), planArgs...)...)); code != 0 {
		t.Fatalf("drift: exit %d\n%s", code, out)
	}
	exitCode := strings.TrimSpace(read(t, filepath.Join(driftOut, "drift.exitcode")))
	d, err := state.ReadDrift(environment.Test, map[string]int{"0": 0, "2": 2}[exitCode], read(t, filepath.Join(driftOut, "drift.log")), []byte(read(t, filepath.Join(driftOut, "drift.json"))))
	if err != nil || exitCode != "0" || d.Status != state.DriftNone {
		t.Errorf("drift: exit code %s, status %s, err %v", exitCode, d.Status, err)
	}

	// terraform output -json (sensitive values in clear text) leaves nothing on the output.
	quietOut := filepath.Join(tmp, "quiet")
	if code, out := run(t, dir, env, Quiet(quietOut, "terraform", "output", "-json", "-no-color")); code != 0 || out != "" {
		t.Errorf("quiet: exit %d, output %q, want none", code, out)
	}
	if got := strings.TrimSpace(read(t, filepath.Join(quietOut, "code"))); got != "0" || strings.TrimSpace(read(t, filepath.Join(quietOut, "stdout"))) != "{}" {
		t.Errorf("quiet: code %s, stdout %q", got, read(t, filepath.Join(quietOut, "stdout")))
	}

	// A failing plan fails with Terraform's message, and no plan.json is left to be
	// mistaken for a result.
	badOut := filepath.Join(tmp, "bad")
	code, out := run(t, dir, env, Plan(badOut, "-var-file=environments/missing.tfvars"))
	if code == 0 || !strings.Contains(out, "missing.tfvars") {
		t.Errorf("plan with a missing var file: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(badOut, "plan.json")); err == nil {
		t.Error("a failed plan left plan.json behind")
	}
}

// Quiet keeps a failing command's exit code and both streams.
func TestQuietKeepsAFailure(t *testing.T) {
	out := filepath.Join(t.TempDir(), "q")
	code, printed := run(t, t.TempDir(), os.Environ(), Quiet(out, "sh", "-c", "echo secret-out; echo secret-err >&2; exit 3"))
	if code != 0 || printed != "" {
		t.Errorf("quiet itself: exit %d, printed %q; want 0 and nothing", code, printed)
	}
	code, stdout, stderr, err := ReadQuiet("sh", func(name string) (string, error) {
		data, err := os.ReadFile(filepath.Join(out, name))
		return string(data), err
	})
	if err != nil || code != 3 || stdout != "secret-out\n" || stderr != "secret-err\n" {
		t.Errorf("ReadQuiet = %d, %q, %q, %v; want 3, secret-out, secret-err", code, stdout, stderr, err)
	}
	if err := os.WriteFile(filepath.Join(out, "code"), []byte("\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ReadQuiet("sh", func(name string) (string, error) {
		data, err := os.ReadFile(filepath.Join(out, name))
		return string(data), err
	}); err == nil || !strings.Contains(err.Error(), "exit code of sh") {
		t.Errorf("ReadQuiet of an empty exit code: %v, want an error naming it", err)
	}
}

// misconfigured is Terraform with findings every scanner reports: a public bucket ACL, SSH
// open to the world, and no required_version for tflint.
const misconfigured = `resource "aws_s3_bucket_acl" "public" {
  bucket = "logs"
  acl    = "public-read"
}

resource "aws_security_group" "ssh" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
`

// Which .tflint.hcl lints a stack (real tflint): the stack's own governs its local modules
// too (tflint otherwise lints each module with its own configuration, or none), and a stack
// without one is linted under the repository root's. Either turns off a rule that would fire.
func TestTflintConfig(t *testing.T) {
	need(t, "tflint")
	const off = "rule \"terraform_unused_declarations\" {\n  enabled = false\n}\n"
	for _, tt := range []struct {
		name  string
		files map[string]string // from the repository's root
		stack string            // the Terraform directory
		file  string            // where the findings must be judged by the configuration
	}{
		{"the stack's governs its modules", map[string]string{
			"infra/.tflint.hcl":       off,
			"infra/main.tf":           "variable \"unused\" {\n  type = string\n}\nmodule \"m\" {\n  source = \"./modules/m\"\n}\n",
			"infra/modules/m/main.tf": "variable \"name\" {\n  type    = string\n  default = \"x\"\n}\n",
		}, "infra", "modules/m/main.tf"},
		{"the repository's serves a stack without one", map[string]string{
			".tflint.hcl":   off,
			"infra/main.tf": "variable \"unused\" {\n  type = string\n}\n",
		}, "infra", "main.tf"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root, out := t.TempDir(), t.TempDir()
			tftest.WriteFiles(t, root, tt.files)
			if code, log := run(t, filepath.Join(root, tt.stack), append(os.Environ(), "HOME="+t.TempDir()), Tflint(out, root)); code != 0 {
				t.Fatalf("tflint: exit %d\n%s", code, log)
			}
			fs, err := findings.ParseTflintJSON("tflint.json", []byte(read(t, filepath.Join(out, "tflint.json"))))
			if err != nil {
				t.Fatal(err)
			}
			if hasFinding(fs, "terraform_unused_declarations", tt.file) || !hasFinding(fs, "terraform_required_version", tt.file) {
				t.Errorf("findings %+v: want %s linted, under the configuration", fs, tt.file)
			}
		})
	}
}

func TestScannerCommandsReadByFindings(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(misconfigured), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	env := append(os.Environ(), "HOME="+t.TempDir())

	t.Run("tflint", func(t *testing.T) {
		need(t, "tflint")
		if code, log := run(t, dir, env, Tflint(out, t.TempDir())); code != 0 {
			t.Fatalf("tflint: exit %d\n%s", code, log)
		}
		fs, err := findings.ParseTflintJSON("tflint.json", []byte(read(t, filepath.Join(out, "tflint.json"))))
		if err != nil {
			t.Fatal(err)
		}
		if !hasFinding(fs, "terraform_required_version", "main.tf") {
			t.Errorf("tflint findings lack terraform_required_version on main.tf: %+v", fs)
		}
	})
	t.Run("trivy", func(t *testing.T) {
		need(t, "trivy")
		report := filepath.Join(out, "trivy.json")
		if code, log := run(t, dir, env, Trivy(t.TempDir(), report)); code != 0 {
			t.Fatalf("trivy: exit %d\n%s", code, log)
		}
		fs, err := findings.ParseTrivyJSON("trivy.json", []byte(read(t, report)))
		if err != nil {
			t.Fatal(err)
		}
		var failing int
		for _, f := range findings.Evaluate(fs, findings.High).Failing {
			if f.File == "main.tf" && f.Line > 0 {
				failing++
			}
		}
		if failing == 0 {
			t.Errorf("trivy found nothing HIGH or worse with a file and line in main.tf: %+v", fs)
		}
	})
}

func hasFinding(fs []findings.Finding, rule, file string) bool {
	for _, f := range fs {
		if f.RuleID == rule && f.File == file && f.Line > 0 {
			return true
		}
	}
	return false
}

// FmtCheck names an unformatted file and shows the change that fixes it, with fmt's exit
// code.
func TestFmtCheckShowsTheDiff(t *testing.T) {
	terraform := tftest.Binary(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte("resource \"terraform_data\" \"a\" {\ninput=\"x\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + filepath.Dir(terraform) + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TF_CLI_CONFIG_FILE=/dev/null"}
	code, out := run(t, dir, env, FmtCheck())
	if code != 3 || !strings.Contains(out, "main.tf\n") || !strings.Contains(out, "-input=\"x\"") || !strings.Contains(out, `+  input = "x"`) {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte("resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := run(t, dir, env, FmtCheck()); code != 0 || out != "" {
		t.Errorf("formatted file: exit %d, output %q", code, out)
	}
}

// UpdateModules, run after InstallProviders, fetches a module that follows a branch as the
// branch is now (real git server, real Terraform): the module's authors merged since the
// providers were installed, and the engine keeps that install cached.
func TestUpdateModulesFollowsTheBranch(t *testing.T) {
	need(t, "terraform")
	const user, token = "x-access-token", "ghs-update-modules"
	version := func(v string) map[string]string {
		return map[string]string{"m/main.tf": "output \"version\" {\n  value = \"" + v + "\"\n}\n"}
	}
	repo := gittest.Serve(t, "127.0.0.1:0", user, token, version("one"))
	creds := filepath.Join(t.TempDir(), "git-credentials")
	if err := os.WriteFile(creds, []byte("http://"+user+":"+token+"@"+repo.Addr+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "TF_IN_AUTOMATION=1")
	for _, v := range gitauth.Env(creds, []string{"http://" + repo.Addr}) {
		env = append(env, v.Name+"="+v.Value)
	}
	dir := t.TempDir()
	tftest.WriteFiles(t, dir, map[string]string{"main.tf": "module \"m\" {\n  source = \"git::http://" + repo.Addr + "/modules.git//m?ref=main\"\n}\n"})
	fetched := func() string {
		return read(t, filepath.Join(dir, ".terraform", "modules", "m", "m", "main.tf"))
	}
	if code, out := run(t, dir, env, InstallProviders()); code != 0 {
		t.Fatalf("install providers: exit %d\n%s", code, out)
	}
	repo.Commit(t, version("two"))
	if !strings.Contains(fetched(), `"one"`) {
		t.Fatalf("the first install fetched:\n%s", fetched())
	}
	if code, out := run(t, dir, env, UpdateModules()); code != 0 {
		t.Fatalf("update modules: exit %d\n%s", code, out)
	}
	if !strings.Contains(fetched(), `"two"`) {
		t.Errorf("after UpdateModules the module is still:\n%s", fetched())
	}
}

// Describe names each script of the package by what it does, and any other line by itself,
// on one short line: every command the package builds is named.
func TestDescribe(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{InstallProviders(), "the providers' install (terraform init -backend=false)"},
		{Plan("/out", "-lock-timeout=5m"), "terraform plan"},
		{FmtCheck(), "terraform fmt -check"},
		{Tflint("/out", "/src"), "tflint"},
		{UpdateModules(), "terraform get -update -no-color"},
		{[]string{"sh", "-c", "echo a\nb", "unknown"}, "sh -c echo a b unknown"},
		{[]string{"terraform", strings.Repeat("x", 200)}, "terraform " + strings.Repeat("x", 87) + "..."},
	} {
		if got := Describe(tt.args); got != tt.want {
			t.Errorf("Describe(%.60q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}
