package policy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
)

// opaBinary finds the opa CLI, the same one OPA's container runs; .ci/run puts the cached
// build on PATH (.ci/tools.sh).
func opaBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("opa")
	if err != nil {
		t.Fatalf("opa is not on PATH: run the tests through .ci/run, or `source .ci/tools.sh && install_tools` (%v)", err)
	}
	return p
}

// runOPA runs the argv from Eval.Args with the real opa binary and returns stdout, and an
// error when opa exits non-zero.
func runOPA(t *testing.T, e Eval) ([]byte, error) {
	t.Helper()
	code, stdout, stderr := execOPA(t, e)
	if code != 0 {
		return []byte(stdout), fmt.Errorf("opa exit status %d: %s", code, stderr)
	}
	return []byte(stdout), nil
}

// execOPA runs the argv from Eval.Args with the real opa binary: its exit code and output,
// as Eval.Read takes them.
func execOPA(t *testing.T, e Eval) (code int, stdout, stderr string) {
	t.Helper()
	args, err := e.Args()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(opaBinary(t), args[1:]...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// evalPlan plans a testdata directory with real Terraform, writes the pack and config,
// and evaluates with the real opa CLI.
func evalPlan(t *testing.T, dir string, cfg Config, user ...string) Result {
	t.Helper()
	return evalPlanTags(t, dir, map[string]string{"Project": "infrapipe", "Environment": "prod"}, cfg, user...)
}

// evalPlanTags is evalPlan with the aws provider's default_tags given.
func evalPlanTags(t *testing.T, dir string, providerTags map[string]string, cfg Config, user ...string) Result {
	t.Helper()
	return evalPlanJSON(t, awsPlan(t, readFiles(t, filepath.Join("testdata", dir)), providerTags), cfg, user...)
}

// evalPlanJSON runs the built-in pack (and user policies) on plan JSON with cfg.
func evalPlanJSON(t *testing.T, data []byte, cfg Config, user ...string) Result {
	t.Helper()
	tmp := t.TempDir()
	plan := filepath.Join(tmp, "plan.json")
	if err := os.WriteFile(plan, data, 0o644); err != nil {
		t.Fatal(err)
	}
	packDir := filepath.Join(tmp, "pack")
	if err := WritePack(packDir); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(tmp, "config.json")
	if err := WriteConfig(cfgFile, cfg); err != nil {
		t.Fatal(err)
	}
	out, err := runOPA(t, Eval{Pack: packDir, User: user, Config: cfgFile, Input: plan})
	if err != nil {
		t.Fatalf("opa eval: %v\n%s", err, out)
	}
	r, err := Parse("opa.json", out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func summary(fs []findings.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.RuleID+" "+f.Severity.String()+" "+f.Resource)
	}
	sort.Strings(out)
	return out
}

// TestPackOnRealPlans runs the built-in pack with the real opa CLI on plans made by real
// Terraform: every rule fires on the failing configuration, none on the passing one.
func TestPackOnRealPlans(t *testing.T) {
	builtin := []string{"admin_ingress", "deletion_protection", "encryption_at_rest", "required_tags", "s3_public_access", "state_bucket_versioning"}
	tests := []struct {
		dir  string
		env  string
		want []string
		// failing counts the findings that fail each environment's default threshold:
		// test fails on CRITICAL, staging on HIGH, prod on MEDIUM.
		failing map[environment.Name]int
	}{
		{"failing", "prod", []string{
			"admin_ingress CRITICAL aws_security_group.admin",
			"deletion_protection HIGH aws_dynamodb_table.locks",
			"deletion_protection HIGH module.db.aws_db_instance.main",
			"encryption_at_rest HIGH aws_dynamodb_table.locks",
			"encryption_at_rest HIGH aws_ebs_volume.data",
			"encryption_at_rest HIGH aws_s3_bucket.logs",
			"encryption_at_rest HIGH module.db.aws_db_instance.main",
			"required_tags MEDIUM aws_security_group.admin",
			"s3_public_access CRITICAL aws_s3_bucket_acl.logs",
			"s3_public_access HIGH aws_s3_bucket.logs",
			"s3_public_access HIGH aws_s3_bucket_public_access_block.state",
			"state_bucket_versioning HIGH aws_s3_bucket.state",
		}, map[environment.Name]int{environment.Test: 2, environment.Staging: 11, environment.Prod: 12}},
		{"failing", "staging", []string{ // deletion protection is for prod only
			"admin_ingress CRITICAL aws_security_group.admin",
			"encryption_at_rest HIGH aws_dynamodb_table.locks",
			"encryption_at_rest HIGH aws_ebs_volume.data",
			"encryption_at_rest HIGH aws_s3_bucket.logs",
			"encryption_at_rest HIGH module.db.aws_db_instance.main",
			"required_tags MEDIUM aws_security_group.admin",
			"s3_public_access CRITICAL aws_s3_bucket_acl.logs",
			"s3_public_access HIGH aws_s3_bucket.logs",
			"s3_public_access HIGH aws_s3_bucket_public_access_block.state",
			"state_bucket_versioning HIGH aws_s3_bucket.state",
		}, map[environment.Name]int{environment.Test: 2, environment.Staging: 9, environment.Prod: 10}},
		{"passing", "prod", nil, map[environment.Name]int{environment.Test: 0, environment.Staging: 0, environment.Prod: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.dir+"/"+tt.env, func(t *testing.T) {
			r := evalPlan(t, tt.dir, Config{Environment: tt.env})
			if got, want := strings.Join(r.Rules, ","), strings.Join(builtin, ","); got != want {
				t.Errorf("rules %s, want %s", got, want)
			}
			if got, want := strings.Join(summary(r.Findings), "\n"), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("findings:\n%s\nwant:\n%s", got, want)
			}
			for _, f := range r.Findings {
				if f.Tool != "opa" || f.Message == "" {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			if len(r.Ignored) != 1 || r.Ignored[0] != "lib" {
				t.Errorf("ignored packages %v, want [lib]", r.Ignored)
			}
			for env, want := range tt.failing {
				p, err := environment.Default(env)
				if err != nil {
					t.Fatal(err)
				}
				if got := len(findings.Evaluate(r.Findings, p.SeverityThreshold).Failing); got != want {
					t.Errorf("%s (threshold %s): %d failing findings, want %d", env, p.SeverityThreshold, got, want)
				}
			}
		})
	}
}

// TestProviderDefaultTags: in the passing plan the security group's tags_all is unknown
// until apply and its Project and Environment tags come from the provider's default_tags.
// Without those default tags the same plan fails required_tags.
func TestProviderDefaultTags(t *testing.T) {
	r := evalPlanTags(t, "passing", nil, Config{Environment: "prod"})
	got := strings.Join(summary(r.Findings), "\n")
	if got != "required_tags MEDIUM aws_security_group.admin" {
		t.Errorf("findings without provider default_tags:\n%s", got)
	}
	if len(r.Findings) == 1 && !strings.Contains(r.Findings[0].Message, "Project, Environment") {
		t.Errorf("message %q should name the missing tags", r.Findings[0].Message)
	}
}

// TestUserPolicies loads a user's Rego directory beside the pack, and alone (replacing it).
func TestUserPolicies(t *testing.T) {
	user := filepath.Join("..", "..", "terraform", "policies")
	r := evalPlan(t, "passing", Config{Environment: "prod"}, user)
	if !slices.Contains(r.Rules, "required_tags") || !slices.Contains(r.Rules, "no_gp2_volumes") {
		t.Errorf("rules %v: want the built-in and the user's", r.Rules)
	}

	// The user's rule fires on the failing plan; without the pack only it runs.
	tmp := t.TempDir()
	plan := filepath.Join(tmp, "plan.json")
	files := readFiles(t, filepath.Join("testdata", "failing"))
	files["gp2.tf"] = `resource "terraform_data" "aws_ebs_volume__old" {
  input = { size = 5, type = "gp2", encrypted = true, tags = local.tags, tags_all = local.tags }
}
`
	if err := os.WriteFile(plan, awsPlan(t, files, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runOPA(t, Eval{User: []string{user}, Input: plan})
	if err != nil {
		t.Fatalf("opa eval: %v\n%s", err, out)
	}
	r, err = Parse("opa.json", out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(summary(r.Findings), "\n"), "no_gp2_volumes LOW aws_ebs_volume.old"; got != want {
		t.Errorf("user pack alone: findings\n%s\nwant\n%s", got, want)
	}
}

// TestBrokenPolicyIsAnError: a user's Rego that does not compile makes opa fail, and the
// result is an error naming the file, never a clean result.
func TestBrokenPolicyIsAnError(t *testing.T) {
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "broken.rego"), []byte("package infrapipe.broken\n\ndeny contains x if {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(tmp, "plan.json")
	if err := os.WriteFile(plan, []byte(`{"format_version":"1.2","resource_changes":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	packDir := filepath.Join(tmp, "pack")
	if err := WritePack(packDir); err != nil {
		t.Fatal(err)
	}
	out, runErr := runOPA(t, Eval{Pack: packDir, User: []string{filepath.Join(tmp, "broken.rego")}, Input: plan})
	if runErr == nil {
		t.Error("opa eval succeeded on a broken policy")
	}
	_, err := Parse("opa.json", out)
	if err == nil || !strings.Contains(err.Error(), "broken.rego") || !strings.Contains(err.Error(), "opa.json") {
		t.Fatalf("Parse error %v, want one naming opa.json and broken.rego", err)
	}
}

// TestPackUnitTests runs the pack's Rego unit tests (*_test.rego) with opa test.
func TestPackUnitTests(t *testing.T) {
	cmd := exec.Command(opaBinary(t), "test", "--format", "pretty", "pack")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("opa test pack: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PASS: ") || strings.Contains(string(out), "FAIL") {
		t.Fatalf("opa test pack:\n%s", out)
	}
	tests, _ := filepath.Glob(filepath.Join("pack", "*_test.rego"))
	if len(tests) < 6 {
		t.Errorf("%d test files, want one per rule", len(tests))
	}
}

func TestWritePack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "pack")
	if err := WritePack(dir); err != nil {
		t.Fatal(err)
	}
	written, _ := filepath.Glob(filepath.Join(dir, "*"))
	var names []string
	for _, p := range written {
		names = append(names, filepath.Base(p))
		src, err := os.ReadFile(filepath.Join("pack", filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		if !bytes.Equal(got, src) {
			t.Errorf("%s differs from pack/%s", p, filepath.Base(p))
		}
	}
	want := "admin_ingress.rego,deletion_protection.rego,encryption_at_rest.rego,lib.rego,required_tags.rego,s3_public_access.rego,state_bucket_versioning.rego"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("wrote %s, want %s (tests left out)", got, want)
	}
	if err := WritePack("/dev/null/pack"); err == nil {
		t.Error("WritePack into a file path succeeded")
	}
}

func TestArgs(t *testing.T) {
	tests := []struct {
		name    string
		eval    Eval
		want    string
		wantErr string
	}{
		{"pack and user", Eval{Pack: "/policy/pack", User: []string{"/src/policies"}, Config: "/policy/config.json", Input: "/work/plan.json"},
			"opa eval --format json --data /policy/pack --data /policy/config.json --data /src/policies --input /work/plan.json " + Query, ""},
		{"pack only", Eval{Pack: "/policy/pack", Input: "plan.json"},
			"opa eval --format json --data /policy/pack --input plan.json " + Query, ""},
		{"user replaces pack", Eval{User: []string{"mine"}, Input: "plan.json"},
			"opa eval --format json --data mine --input plan.json " + Query, ""},
		{"no input", Eval{Pack: "p"}, "", "no input plan JSON"},
		{"no policy", Eval{Input: "plan.json"}, "", "neither the built-in pack nor a user policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, err := tt.eval.Args()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(args, " "); got != tt.want {
				t.Errorf("args\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	value := func(v string) string { return `{"result":[{"expressions":[{"value":` + v + `}]}]}` }
	tests := []struct{ name, out, want string }{
		{"empty", "", "empty output"},
		{"not json", "panic: runtime error", "not opa eval --format json output"},
		{"opa errors", `{"errors":[{"message":"stat /policy: no such file or directory"}]}`, "no such file or directory"},
		{"undefined", `{}`, "no policy package under data.infrapipe"},
		{"no deny rules", value(`{"packages":["lib"],"rules":[],"deny":[]}`), "no package under data.infrapipe defines deny (loaded: lib)"},
		{"string deny", value(`{"packages":["mine"],"rules":["mine"],"deny":[{"package":"mine","deny":"bucket is public"}]}`), `package infrapipe.mine is "bucket is public"`},
		{"bad severity", value(`{"packages":["mine"],"rules":["mine"],"deny":[{"package":"mine","deny":{"rule":"r","severity":"urgent","resource":"x","message":"m"}}]}`), `unknown severity "urgent"`},
		// UNKNOWN sorts below every threshold: such a deny could never block anything.
		{"unknown severity", value(`{"packages":["mine"],"rules":["mine"],"deny":[{"package":"mine","deny":{"rule":"r","severity":"unknown","resource":"x","message":"m"}}]}`), `severity "unknown": a deny rule must say INFO, LOW, MEDIUM, HIGH or CRITICAL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("out/opa.json", []byte(tt.out))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "out/opa.json") {
				t.Fatalf("error %v, want one naming out/opa.json and containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigFor(t *testing.T) {
	p := environment.Profile{Name: environment.Prod, ProjectTagKey: "project", EnvironmentTagKey: "env",
		Backend: environment.Backend{Bucket: "acme-state"}}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := WriteConfig(path, ConfigFor(p)); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := `{
  "infrapipe_config": {
    "environment": "prod",
    "required_tags": [
      "project",
      "env",
      "Owner"
    ],
    "state_buckets": [
      "acme-state"
    ]
  }
}
`
	if string(got) != want {
		t.Errorf("config\n%s\nwant\n%s", got, want)
	}
	if c := ConfigFor(environment.Profile{Name: environment.Test}); c.RequiredTags != nil || c.StateBuckets != nil {
		t.Errorf("empty profile keys should keep the pack's defaults: %+v", c)
	}
}

// Rego that does not parse or compile, run through the real opa: the errors come back as
// Errors, at their files as the repository names them, and mark themselves as the
// repository's to fix; an opa that fails otherwise gives its own output.
func TestEvalReadErrors(t *testing.T) {
	plan := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(plan, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, rego, want string
		input            string
	}{
		{"a file that does not parse", "package infrapipe.broken\n\ndeny contains d if {\n  input.x == 1\n",
			"opa eval: the policies do not compile: terraform/policies/broken.rego:5: unexpected eof token (rego_parse_error)", plan},
		{"a rule that does not compile", "package infrapipe.broken\n\ndeny contains d if {\n  d := undefined_function(input)\n}\n",
			"terraform/policies/broken.rego:4: undefined function undefined_function (rego_type_error)", plan},
		{"no input file", "package infrapipe.fine\n\ndeny contains d if {\n  false\n  d := {}\n}\n",
			"opa eval failed (exit code", filepath.Join(t.TempDir(), "missing.json")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			user := t.TempDir()
			if err := os.WriteFile(filepath.Join(user, "broken.rego"), []byte(tt.rego), 0o644); err != nil {
				t.Fatal(err)
			}
			e := Eval{User: []string{user}, Input: tt.input, Shown: map[string]string{user: "terraform/policies"}}
			code, stdout, stderr := execOPA(t, e)
			_, err := e.Read(code, stdout, stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read = %v, want %q (opa exit %d)", err, tt.want, code)
			}
			var errs Errors
			if isRego := strings.Contains(tt.want, "rego_"); errors.As(err, &errs) != isRego || (isRego && !errs.InputError()) {
				t.Errorf("Read's error %T: Errors %v, want %v", err, errors.As(err, &errs), isRego)
			}
		})
	}
}
