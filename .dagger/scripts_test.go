package main

// The engine never runs these tests (it builds the module without them); .ci/module-check.sh
// runs them on the real generated code. They check what the module itself holds besides calls:
// the shell scripts it runs in containers and the tool command lines. (Reproduce lines are
// ci/pipeline's Command, tested there.) The scripts run here with
// real Terraform and a real moto_server, as they run in the Terraform and moto images.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/plan"
	"github.com/infrapipe/infrapipe/ci/state"
)

func need(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s is not on PATH: .ci/run installs the tools these tests need (%v)", tool, err)
	}
}

// startMoto runs moto_server on a free port until the test ends.
func startMoto(t *testing.T) string {
	t.Helper()
	need(t, "moto_server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return url
		}
	}
	t.Fatalf("moto_server did not answer on %s", url)
	return ""
}

// sh runs a script the way the module does (sh -c SCRIPT NAME ARGS...) and returns its exit
// code and combined output.
func sh(t *testing.T, dir string, env []string, script string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-c", script}, args...)...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatalf("run %s: %v", args[0], err)
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

func TestScriptsWithTerraformAndMoto(t *testing.T) {
	need(t, "terraform")
	endpoint := startMoto(t)
	tmp := t.TempDir()
	cliConfig := filepath.Join(tmp, "terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=eu-west-1",
		"AWS_ENDPOINT_URL="+endpoint, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1",
		"TF_CLI_CONFIG_FILE="+cliConfig,
	)
	// Locking through the DynamoDB table the bootstrap creates: it works on every Terraform
	// .ci/tools.sh may provide (use_lockfile needs 1.10).
	backend := environment.Backend{
		Bucket: "infrapipe-scripts-test", Key: "test/terraform.tfstate", Region: "eu-west-1",
		DynamoDBTable: "infrapipe-scripts-locks",
	}

	// The emulator bootstrap (ci/state, tested there) creates the versioned bucket and the
	// lock table, from this process as the module's own process does.
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	if err := state.PrepareEmulator(context.Background(), backend.Region, endpoint, backend); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(endpoint + "/" + backend.Bucket + "?versioning")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(body.String(), "<Status>Enabled</Status>") {
		t.Fatalf("state bucket versioning after bootstrap: %s", body.String())
	}

	dir := filepath.Join(tmp, "terraform")
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
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
		"test.tfbackend":           state.TFBackend(backend, state.Endpoints{S3: endpoint, STS: endpoint, DynamoDB: endpoint}),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if code, out := sh(t, dir, append(env, "TF_PLUGIN_CACHE_DIR="+filepath.Join(tmp, "plugins")), installProvidersScript, "providers"); code != 0 {
		t.Fatalf("install providers: exit %d\n%s", code, out)
	}
	initArgs, err := state.InitArgs(environment.Test, backend, "test.tfbackend")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("terraform", initArgs...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("terraform init: %v\n%s", err, out)
	}

	profile, err := environment.Default(environment.Test)
	if err != nil {
		t.Fatal(err)
	}
	profile.VarFile = "environments/test.tfvars"
	planArgs := append(state.LockArgs(profile), "-var-file="+profile.VarFile)

	// A plan with changes: the three files of one plan, plan's own exit code kept.
	planOut := filepath.Join(tmp, "plan")
	if code, out := sh(t, dir, env, planScript, append([]string{"plan", planOut}, planArgs...)...); code != 0 {
		t.Fatalf("plan script: exit %d\n%s", code, out)
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

	// The saved plan applies; applying it a second time is refused as stale.
	applyOut := filepath.Join(tmp, "apply")
	code, out := sh(t, dir, env, applyScript, append([]string{"apply", applyOut, filepath.Join(planOut, "tfplan")}, state.LockArgs(profile)...)...)
	if code != 0 {
		t.Fatalf("apply script: exit %d\n%s", code, out)
	}
	if log := read(t, filepath.Join(applyOut, "apply.log")); !strings.Contains(log, "Apply complete! Resources: 1 added") {
		t.Errorf("apply.log:\n%s", log)
	}
	if code, out := sh(t, dir, env, applyScript, "apply", applyOut, filepath.Join(planOut, "tfplan")); code == 0 || !strings.Contains(out, "Saved plan is stale") {
		t.Errorf("a second apply of the same saved plan: exit %d, want a stale-plan refusal\n%s", code, out)
	}

	// The pulled state is a valid backup.
	pulled := filepath.Join(tmp, "pull", "state.tfstate")
	args := pullArgs(pulled)
	if code, out := sh(t, dir, env, args[2], args[3:]...); code != 0 {
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
	driftArgs := append([]string{"drift", driftOut}, state.DriftArgs(profile, filepath.Join(driftOut, "drift.tfplan"))...)
	if code, out := sh(t, dir, env, driftScript, driftArgs...); code != 0 {
		t.Fatalf("drift script: exit %d\n%s", code, out)
	}
	exitCode := strings.TrimSpace(read(t, filepath.Join(driftOut, "drift.exitcode")))
	d, err := state.ReadDrift(environment.Test, map[string]int{"0": 0, "2": 2}[exitCode], read(t, filepath.Join(driftOut, "drift.log")), []byte(read(t, filepath.Join(driftOut, "drift.json"))))
	if err != nil || exitCode != "0" || d.Status != state.DriftNone {
		t.Errorf("drift: exit code %s, status %s, err %v", exitCode, d.Status, err)
	}

	// A failing plan fails the script with Terraform's message, and no plan.json is left to
	// be mistaken for a result.
	badOut := filepath.Join(tmp, "bad")
	code, out = sh(t, dir, env, planScript, "plan", badOut, "-var-file=environments/missing.tfvars")
	if code == 0 || !strings.Contains(out, "missing.tfvars") {
		t.Errorf("plan with a missing var file: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(badOut, "plan.json")); err == nil {
		t.Error("a failed plan left plan.json behind")
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

func TestScannerCommandsReadByFindings(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(misconfigured), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	env := append(os.Environ(), "HOME="+t.TempDir())

	t.Run("tflint", func(t *testing.T) {
		need(t, "tflint")
		if code, log := sh(t, dir, env, tflintScript, "tflint", out); code != 0 {
			t.Fatalf("tflint script: exit %d\n%s", code, log)
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
		args := trivyArgs(t.TempDir(), report)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = dir, env
		if log, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("trivy: %v\n%s", err, log)
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

// Lint names an unformatted file and shows the change that fixes it, with fmt's exit code.
func TestFmtScriptShowsTheDiff(t *testing.T) {
	need(t, "terraform")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte("resource \"terraform_data\" \"a\" {\ninput=\"x\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TF_CLI_CONFIG_FILE=/dev/null"}
	code, out := sh(t, dir, env, fmtScript)
	if code != 3 || !strings.Contains(out, "main.tf\n") || !strings.Contains(out, "-input=\"x\"") || !strings.Contains(out, `+  input = "x"`) {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte("resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := sh(t, dir, env, fmtScript); code != 0 || out != "" {
		t.Errorf("formatted file: exit %d, output %q", code, out)
	}
}
