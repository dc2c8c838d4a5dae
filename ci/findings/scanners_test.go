package findings

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// These tests run the real scanners on testdata/misconfigured and read their output through
// the package's readers, as the Dagger module does with the same tools in containers.

// tool finds a scanner on PATH; .ci/run puts the cached builds there (.ci/tools.sh).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH: run the tests through .ci/run, or `source .ci/tools.sh && install_tools` (%v)", name, err)
	}
	return p
}

// scan runs a scanner in a copy of testdata/misconfigured and returns its stdout. Scanners
// exit non-zero when they find something, so the exit code is only checked against
// okCodes; a crash shows up as a parse error afterwards anyway.
func scan(t *testing.T, okCodes []int, name string, args ...string) (dir string, stdout []byte) {
	t.Helper()
	dir = t.TempDir()
	src, err := os.ReadFile(filepath.Join("testdata", "misconfigured", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool(t, name), args...)
	cmd.Dir = dir
	home := t.TempDir() // no user config (~/.tflint.hcl, trivy cache) leaks in
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "NO_COLOR=1")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, ok := range okCodes {
		if code == ok {
			return dir, out.Bytes()
		}
	}
	t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), code, stderr.String())
	return "", nil
}

// key is what the assertions compare: rule, file:line and severity.
func key(f Finding) string { return fmt.Sprintf("%s %s:%d %s", f.RuleID, f.File, f.Line, f.Severity) }

func requireFindings(t *testing.T, fs []Finding, tool string, want []string) {
	t.Helper()
	have := map[string]bool{}
	var all []string
	for _, f := range fs {
		if f.Tool != tool {
			t.Errorf("finding from %q, want %q: %+v", f.Tool, tool, f)
		}
		have[key(f)] = true
		all = append(all, key(f))
	}
	sort.Strings(all)
	for _, w := range want {
		if !have[w] {
			t.Errorf("%s: missing %q; got:\n%s", tool, w, strings.Join(all, "\n"))
		}
	}
}

func TestTfsecSARIF(t *testing.T) {
	_, out := scan(t, []int{0, 1}, "tfsec", ".", "--format", "sarif", "--no-module-downloads", "--no-color")
	fs, err := ParseSARIF("tfsec.sarif", out)
	if err != nil {
		t.Fatal(err)
	}
	requireFindings(t, fs, "tfsec", []string{
		"aws-s3-no-public-access-with-acl main.tf:26 HIGH",
		"aws-vpc-no-public-ingress-sgr main.tf:38 HIGH",
		"aws-ebs-enable-volume-encryption main.tf:45 HIGH",
		"aws-rds-encrypt-instance-storage-data main.tf:55 HIGH",
		"aws-s3-enable-versioning main.tf:20 MEDIUM",
	})
}

// tflint's two formats must agree: the module may use either.
func TestTflintSARIFAndJSON(t *testing.T) {
	want := []string{
		"terraform_required_version main.tf:3 LOW",
		"terraform_unused_declarations main.tf:16 LOW",
		"terraform_typed_variables main.tf:16 LOW",
		"terraform_deprecated_interpolation main.tf:61 LOW",
	}
	_, sarif := scan(t, []int{0, 2}, "tflint", "--format=sarif", "--force")
	fromSARIF, err := ParseSARIF("tflint.sarif", sarif)
	if err != nil {
		t.Fatal(err)
	}
	requireFindings(t, fromSARIF, "tflint", want)

	_, js := scan(t, []int{0, 2}, "tflint", "--format=json", "--force")
	fromJSON, err := ParseTflintJSON("tflint.json", js)
	if err != nil {
		t.Fatal(err)
	}
	requireFindings(t, fromJSON, "tflint", want)
	if len(fromJSON) != len(fromSARIF) {
		t.Errorf("tflint json has %d findings, sarif %d", len(fromJSON), len(fromSARIF))
	}
}

// TestMergeRealScanners merges real scanner output and checks the merged file keeps each
// tool's findings with file and line.
func TestMergeRealScanners(t *testing.T) {
	_, tfsec := scan(t, []int{0, 1}, "tfsec", ".", "--format", "sarif", "--no-module-downloads", "--no-color")
	_, tflint := scan(t, []int{0, 2}, "tflint", "--format=sarif", "--force")
	_, trivy := scan(t, []int{0}, "trivy", trivyArgs(t, "sarif")...)
	var all []Finding
	for name, data := range map[string][]byte{"tfsec.sarif": tfsec, "tflint.sarif": tflint, "trivy.sarif": trivy} {
		fs, err := ParseSARIF(name, data)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fs...)
	}
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, MergeSARIF(all, SARIFOptions{Tools: []string{"tfsec", "tflint", "trivy"}, Root: "infra"})); err != nil {
		t.Fatal(err)
	}
	checkSARIFSchema(t, buf.Bytes())
	merged, err := ParseSARIF("merged.sarif", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	byTool := map[string][]Finding{}
	for _, f := range merged {
		byTool[f.Tool] = append(byTool[f.Tool], f)
	}
	requireFindings(t, byTool["tfsec"], "tfsec", []string{"aws-vpc-no-public-ingress-sgr infra/main.tf:38 HIGH"})
	requireFindings(t, byTool["tflint"], "tflint", []string{"terraform_unused_declarations infra/main.tf:16 LOW"})
	requireFindings(t, byTool["trivy"], "trivy", []string{"AWS-0092 infra/main.tf:26 HIGH"})
	if len(merged) != len(all) {
		t.Errorf("merged %d findings, read %d", len(merged), len(all))
	}
	if r := Evaluate(merged, High); r.Passed() {
		t.Error("the misconfigured directory passed a HIGH threshold")
	}
}

// trivyArgs runs trivy offline: no check bundle download (it falls back to the checks
// built into the binary), no telemetry, a cache of its own.
func trivyArgs(t *testing.T, format string) []string {
	return []string{"config", "--format", format, "--skip-check-update", "--disable-telemetry",
		"--cache-dir", t.TempDir(), "--quiet", "."}
}

// Trivy's SARIF and JSON outputs must name the same checks at the same lines.
func TestTrivySARIFAndJSON(t *testing.T) {
	want := []string{
		"AWS-0107 main.tf:38 HIGH", // security group ingress from 0.0.0.0/0
		"AWS-0026 main.tf:45 HIGH", // unencrypted EBS volume
		"AWS-0080 main.tf:55 HIGH", // unencrypted RDS storage
		"AWS-0092 main.tf:26 HIGH", // public S3 ACL
	}
	_, sarif := scan(t, []int{0}, "trivy", trivyArgs(t, "sarif")...)
	fromSARIF, err := ParseSARIF("trivy.sarif", sarif)
	if err != nil {
		t.Fatal(err)
	}
	requireFindings(t, fromSARIF, "trivy", want)

	_, js := scan(t, []int{0}, "trivy", trivyArgs(t, "json")...)
	fromJSON, err := ParseTrivyJSON("trivy.json", js)
	if err != nil {
		t.Fatal(err)
	}
	requireFindings(t, fromJSON, "trivy", want)
	if len(fromJSON) != len(fromSARIF) {
		t.Errorf("trivy json has %d findings, sarif %d", len(fromJSON), len(fromSARIF))
	}
}
