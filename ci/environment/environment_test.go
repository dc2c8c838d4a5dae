package environment

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/findings"
)

func TestDefault(t *testing.T) {
	tests := []struct {
		name       Name
		validation Validation
		imp        ImportStrategy
		approval   Approval
		destroy    DestroyPolicy
		backup     bool
		block      bool
		threshold  findings.Severity
		checks     []Check
	}{
		{Preview, Basic, ImportSkip, ApprovalNone, DestroyAllow, false, false, findings.Critical,
			[]Check{CheckFmt, CheckValidate}},
		{Test, Standard, ImportFull, ApprovalNone, DestroyAllow, false, false, findings.Critical,
			[]Check{CheckFmt, CheckValidate, CheckLint, CheckSecurity}},
		{Staging, Enhanced, ImportFull, ApprovalNone, DestroyWarn, true, false, findings.High, AllChecks},
		{Prod, Strict, ImportFullBackup, ApprovalManual, DestroyBlock, true, true, findings.Medium, AllChecks},
	}
	for _, tt := range tests {
		t.Run(string(tt.name), func(t *testing.T) {
			p, err := Default(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.name || p.Validation != tt.validation || p.Import != tt.imp || p.Approval != tt.approval ||
				p.Destroy != tt.destroy || p.BackupState != tt.backup || p.FailuresBlock != tt.block ||
				p.SeverityThreshold != tt.threshold {
				t.Errorf("Default(%s) = %+v", tt.name, p)
			}
			if !slices.Equal(p.Checks, tt.checks) {
				t.Errorf("checks = %v, want %v", p.Checks, tt.checks)
			}
			if p.VarFile != "environments/"+string(tt.name)+".tfvars" || p.ProjectTagKey != "Project" ||
				p.EnvironmentTagKey != "Environment" || p.LockTimeout != DefaultLockTimeout || p.PlanMaxAge != DefaultPlanMaxAge {
				t.Errorf("defaults not set: %+v", p)
			}
			// Only production refuses to run without a cost estimate.
			if p.Budget.RequireEstimate != (tt.name == Prod) {
				t.Errorf("Budget.RequireEstimate = %v", p.Budget.RequireEstimate)
			}
			if p.Backend.Key != string(tt.name)+"/terraform.tfstate" {
				t.Errorf("backend key = %q", p.Backend.Key)
			}
			for _, typ := range []string{"aws_db_instance", "aws_s3_bucket", "aws_dynamodb_table", "aws_elasticache_replication_group", "aws_kms_key"} {
				if !p.IsProtected(typ) {
					t.Errorf("%s not protected", typ)
				}
			}
			if p.IsProtected("aws_instance") || p.IsProtected("terraform_data") {
				t.Error("aws_instance or terraform_data protected by default")
			}
		})
	}
	if _, err := Default("qa"); err == nil {
		t.Error("Default(qa) succeeded")
	}
}

func TestParseName(t *testing.T) {
	for _, n := range Names {
		got, err := ParseName(string(n))
		if err != nil || got != n {
			t.Errorf("ParseName(%s) = %q, %v", n, got, err)
		}
	}
	for _, bad := range []string{"", "Prod", " prod", "prod\n", "production", "prod; rm -rf /", "$(id)", strings.Repeat("x", 5000)} {
		_, err := ParseName(bad)
		if err == nil {
			t.Errorf("ParseName(%q) succeeded", bad)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "valid environments are preview, test, staging, prod") || strings.Contains(msg, "\n") || len(msg) > 300 {
			t.Errorf("ParseName(%.20q) error = %q", bad, msg)
		}
	}
}

func TestSelect(t *testing.T) {
	for _, tt := range []struct {
		env     string
		want    []Name
		wantErr string
	}{
		{"", Names, ""},
		{"staging", []Name{Staging}, ""},
		{"production", nil, `--env: unknown environment "production": valid environments are preview, test, staging, prod`},
	} {
		got, err := Select(tt.env)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Select(%q) error %v, want %q", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Select(%q) = %v, %v; want %v", tt.env, got, err, tt.want)
		}
	}
}

func TestLoadExample(t *testing.T) {
	c, err := Load("testdata/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	prod, err := c.Profile("prod")
	if err != nil {
		t.Fatal(err)
	}
	if prod.SeverityThreshold != findings.Low || prod.Budget.MonthlyTotal != 500 || prod.Budget.MonthlyDelta != 50 ||
		!prod.Budget.RequireEstimate || prod.LockTimeout != 10*time.Minute || prod.VarFile != "env/prod.tfvars" || !prod.VarFileSet ||
		prod.RegionOr("us-east-1") != "eu-central-1" ||
		prod.PlanMaxAge != 4*time.Hour {
		t.Errorf("prod overrides not applied: %+v", prod)
	}
	if prod.Backend != (Backend{Bucket: "octo-infra-state", Key: "infra/prod.tfstate", Region: "eu-west-1",
		UseLockfile: true, DynamoDBTable: "infra-locks", BackupPrefix: "backups/prod/"}) {
		t.Errorf("prod backend = %+v", prod.Backend)
	}
	if !prod.IsProtected("aws_instance") || !prod.IsProtected("aws_db_instance") {
		t.Errorf("prod protected types = %v; want defaults plus aws_instance", prod.ProtectedTypes)
	}
	if prod.ProjectTagKey != "app" || prod.EnvironmentTagKey != "Environment" {
		t.Errorf("prod tags = %q %q", prod.ProjectTagKey, prod.EnvironmentTagKey)
	}
	test, _ := c.Profile("test")
	if !slices.Equal(test.ProtectedTypes, []string{"aws_db_instance"}) || !test.Runs(CheckCost) || !test.Runs(CheckLint) {
		t.Errorf("test profile = %+v", test)
	}
	if test.RegionOr("us-east-1") != "us-east-1" {
		t.Errorf("test sets no region, yet its region is %s, not the module's", test.RegionOr("us-east-1"))
	}
	if test.Backend.Bucket != "octo-infra-state" || test.Backend.Key != "shop/app/test/terraform.tfstate" || test.Backend.BackupPrefix != "backups/shop/app/test/" {
		t.Errorf("defaults section not applied to test backend: %+v", test.Backend)
	}
	staging, _ := c.Profile("staging")
	if staging.Destroy != DestroyBlock {
		t.Errorf("staging destroy = %s, want block", staging.Destroy)
	}
	if c.DispatchInput != "target" || len(c.Rules) != 3 || c.Rules[1].Ref != "refs/heads/release/*" {
		t.Errorf("resolve = %q %+v", c.DispatchInput, c.Rules)
	}
	// A returned profile is a copy: changing it must not change the config.
	prod.ProtectedTypes[0] = "changed"
	again, _ := c.Profile("prod")
	if again.ProtectedTypes[0] == "changed" {
		t.Error("Profile shares its slices with the config")
	}
}

// TestLoadRepositoryConfig loads the example stack's own pipeline.yaml, so a broken edit
// there fails here rather than in a pipeline run.
func TestLoadRepositoryConfig(t *testing.T) {
	c, err := LoadDir("../../terraform")
	if err != nil {
		t.Fatal(err)
	}
	if c.Path == "" {
		t.Fatal("terraform/pipeline.yaml not found")
	}
	// The example stack keeps the thresholds and gives every checked environment
	// a budget.
	want := map[Name]struct {
		threshold findings.Severity
		budget    Budget
	}{
		Preview: {findings.Critical, Budget{}},
		Test:    {findings.Critical, Budget{MonthlyTotal: 50}},
		Staging: {findings.High, Budget{MonthlyTotal: 200, MonthlyDelta: 50}},
		Prod:    {findings.Medium, Budget{MonthlyTotal: 1000, MonthlyDelta: 100, RequireEstimate: true}},
	}
	for _, n := range Names {
		p, err := c.Profile(string(n))
		if err != nil {
			t.Fatal(err)
		}
		if w := want[n]; p.SeverityThreshold != w.threshold || p.Budget != w.budget {
			t.Errorf("%s: threshold %s budget %+v, want %s %+v", n, p.SeverityThreshold, p.Budget, w.threshold, w.budget)
		}
	}
}

func TestLoadDirWithoutConfig(t *testing.T) {
	c, err := LoadDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Profile("prod")
	want, _ := Default(Prod)
	if err != nil || p.Destroy != want.Destroy || p.SeverityThreshold != want.SeverityThreshold {
		t.Errorf("defaults = %+v, %v", p, err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"empty", "", []string{"empty", "version: 1"}},
		{"comments only", "# nothing\n", []string{"empty"}},
		{"not yaml", "version: [1\n", []string{"not valid YAML"}},
		{"no version", "environments: {}\n", []string{"version: missing"}},
		{"future version", "version: 2\n", []string{"version: 2 is not supported", "valid values are 1"}},
		{"version as text", "version: one\n", []string{`version: "one" is not a whole number: write one such as 3`}},
		{"unknown top key", "version: 1\nenviroments: {}\n", []string{"enviroments: unknown key", "valid keys are version, stack, defaults, environments, resolve"}},
		{"unknown env", "version: 1\nenvironments:\n  production: {}\n", []string{"environments.production", "valid environments are preview, test, staging, prod"}},
		{"unknown env key", "version: 1\nenvironments:\n  prod:\n    severity: HIGH\n", []string{"environments.prod.severity: unknown key", "severity_threshold"}},
		{"an empty list value", "version: 1\nenvironments:\n  prod:\n    protected_types:\n", []string{"environments.prod.protected_types: empty value: give one, or remove the key to keep the default (an empty list is [])"}},
		{"an empty environment", "version: 1\nenvironments:\n  test:\n", []string{"environments.test: empty value"}},
		{"bad severity", "version: 1\nenvironments:\n  prod:\n    severity_threshold: SEVERE\n", []string{"environments.prod.severity_threshold", `"SEVERE"`, "INFO, LOW, MEDIUM, HIGH, CRITICAL"}},
		{"unknown severity", "version: 1\nenvironments:\n  prod:\n    severity_threshold: unknown\n", []string{"environments.prod.severity_threshold"}},
		{"bad budget type", "version: 1\nenvironments:\n  staging:\n    budget:\n      monthly_total: lots\n", []string{`environments.staging.budget.monthly_total: "lots" is not a number`}},
		{"negative budget", "version: 1\ndefaults:\n  budget:\n    monthly_delta: -5\n", []string{"defaults.budget.monthly_delta", "from 0"}},
		{"nan budget", "version: 1\ndefaults:\n  budget:\n    monthly_total: .nan\n", []string{"defaults.budget.monthly_total"}},
		{"bad protected type", "version: 1\nenvironments:\n  test:\n    protected_types: [aws_db_instance, \"aws db\"]\n", []string{"environments.test.protected_types[1]", `"aws db"`}},
		{"protected not a list", "version: 1\nenvironments:\n  test:\n    protected_types: aws_db_instance\n", []string{"environments.test.protected_types: want a list"}},
		{"bad extra check", "version: 1\nenvironments:\n  test:\n    extra_checks: [cost, fuzz]\n", []string{"environments.test.extra_checks[1]", `"fuzz"`, "fmt, validate, lint, security, compliance, cost"}},
		{"bad lock timeout", "version: 1\ndefaults:\n  lock_timeout: forever\n", []string{"defaults.lock_timeout", "1s to 2h"}},
		{"lock timeout too long", "version: 1\ndefaults:\n  lock_timeout: 3h\n", []string{"defaults.lock_timeout"}},
		{"bad plan max age", "version: 1\nenvironments:\n  prod:\n    plan_max_age: soon\n", []string{"environments.prod.plan_max_age", "1m to 168h"}},
		{"plan max age too long", "version: 1\ndefaults:\n  plan_max_age: 200h\n", []string{"defaults.plan_max_age"}},
		{"var file escapes", "version: 1\nenvironments:\n  prod:\n    var_file: ../secrets.tfvars\n", []string{"environments.prod.var_file", "without .."}},
		{"var file absolute", "version: 1\nenvironments:\n  prod:\n    var_file: /etc/passwd\n", []string{"environments.prod.var_file"}},
		{"var file option", "version: 1\nenvironments:\n  prod:\n    var_file: -destroy\n", []string{"environments.prod.var_file"}},
		{"bad destroy", "version: 1\nenvironments:\n  staging:\n    destroy: never\n", []string{"environments.staging.destroy", "allow, warn, block"}},
		{"prod loosened", "version: 1\nenvironments:\n  prod:\n    destroy: warn\n", []string{"environments.prod.destroy", "must stay \"block\"", "--force-recreate"}},
		{"prod loosened by defaults", "version: 1\ndefaults:\n  destroy: allow\n", []string{"defaults.destroy", "prod must stay"}},
		{"bad bucket", "version: 1\ndefaults:\n  backend:\n    bucket: My_Bucket\n", []string{"defaults.backend.bucket", "S3 bucket name"}},
		{"bad region", "version: 1\ndefaults:\n  backend:\n    region: europe\n", []string{"defaults.backend.region", "eu-west-1"}},
		{"bad resource region", "version: 1\nenvironments:\n  prod:\n    region: eu-west-1; rm -rf /\n", []string{"environments.prod.region", "eu-west-1"}},
		{"bad lockfile", "version: 1\ndefaults:\n  backend:\n    use_lockfile: sometimes\n", []string{`defaults.backend.use_lockfile: "sometimes" is not a boolean: write true or false`}},
		// yaml.v3 alone reads the YAML 1.1 words (quoted or not) as true and truncates 2.5.
		{"quoted yes for a bool", "version: 1\nenvironments:\n  prod:\n    budget:\n      require_estimate: \"yes\"\n", []string{`: environments.prod.budget.require_estimate: "yes" is not a boolean: write true or false`}},
		{"plain on for a bool", "version: 1\ndefaults:\n  backend:\n    use_lockfile: on\n", []string{`defaults.backend.use_lockfile: "on" is not a boolean: write true or false`}},
		{"quoted true for a bool", "version: 1\ndefaults:\n  budget:\n    require_estimate: 'true'\n", []string{`defaults.budget.require_estimate: "true" is not a boolean: write true or false, without quotes`}},
		{"a fraction for a count", "version: 1\ndefaults:\n  kpis:\n    critical_findings: 2.5\n", []string{`defaults.kpis.critical_findings: "2.5" is not a whole number`}},
		{"a quoted count", "version: 1\ndefaults:\n  kpis:\n    critical_findings: \"2\"\n", []string{`defaults.kpis.critical_findings: "2" is not a whole number: write one such as 3, without quotes`}},
		{"a fractional version", "version: 1.9\n", []string{`version: "1.9" is not a whole number`}},
		{"a quoted amount", "version: 1\ndefaults:\n  budget:\n    monthly_total: \"500\"\n", []string{`defaults.budget.monthly_total: "500" is not a number: write one such as 100 or 2.5, without quotes`}},
		{"bad backend key", "version: 1\nenvironments:\n  prod:\n    backend:\n      key: ../test/terraform.tfstate\n", []string{"environments.prod.backend.key"}},
		{"unknown backend key", "version: 1\ndefaults:\n  backend:\n    endpoint: http://x\n", []string{"defaults.backend.endpoint: unknown key", "bucket, key, region, use_lockfile, dynamodb_table, backup_prefix"}},
		{"bad table", "version: 1\ndefaults:\n  backend:\n    dynamodb_table: 'a b'\n", []string{"defaults.backend.dynamodb_table"}},
		{"bad tag key", "version: 1\ndefaults:\n  tags:\n    project: \"\"\n", []string{"defaults.tags.project"}},
		{"bad rule env", "version: 1\nresolve:\n  rules:\n    - event: push\n      environment: qa\n", []string{"resolve.rules[0].environment", "valid environments"}},
		{"bad rule event", "version: 1\nresolve:\n  rules:\n    - event: 'push; id'\n      environment: test\n", []string{"resolve.rules[0].event"}},
		{"misspelt rule event", "version: 1\nresolve:\n  rules:\n    - event: pushh\n      environment: test\n", []string{`resolve.rules[0].event: "pushh" is not a GitHub Actions event such as push, pull_request, workflow_dispatch or schedule`}},
		{"bad rule ref", "version: 1\nresolve:\n  rules:\n    - event: push\n      ref: main\n      environment: test\n", []string{"resolve.rules[0].ref", "refs/heads/main"}},
		{"bad rule pattern", "version: 1\nresolve:\n  rules:\n    - event: push\n      ref: 'refs/heads/[x'\n      environment: test\n", []string{"resolve.rules[0].ref"}},
		{"an unclosed alternative", "version: 1\nresolve:\n  rules:\n    - event: push\n      ref: 'refs/heads/{a,b'\n      environment: test\n", []string{`resolve.rules[0].ref: "refs/heads/{a,b" is not valid`, "** (across /"}},
		{"a ref after ** covering it", "version: 1\nresolve:\n  rules:\n    - {event: push, ref: 'refs/heads/**', environment: test}\n    - {event: push, ref: refs/heads/feature/x, environment: preview}\n", []string{"resolve.rules[1]: never used: resolve.rules[0] (event push on refs/heads/**)"}},
		{"a rule after one for any ref", "version: 1\nresolve:\n  rules:\n    - {event: push, environment: test}\n    - {event: push, ref: refs/heads/main, environment: prod}\n", []string{"resolve.rules[1]: never used: resolve.rules[0] (event push, any ref) matches every run it would"}},
		{"a rule twice", "version: 1\nresolve:\n  rules:\n    - {event: push, ref: refs/heads/main, environment: test}\n    - {event: push, ref: refs/heads/main, environment: prod}\n", []string{"resolve.rules[1]: never used: resolve.rules[0] (event push on refs/heads/main)"}},
		{"a ref after a pattern covering it", "version: 1\nresolve:\n  rules:\n    - {event: push, ref: 'refs/tags/*', environment: staging}\n    - {event: pull_request, environment: preview}\n    - {event: push, ref: refs/tags/v1, environment: prod}\n", []string{"resolve.rules[2]: never used: resolve.rules[0] (event push on refs/tags/*)"}},
		{"unknown rule key", "version: 1\nresolve:\n  rules:\n    - event: push\n      branch: main\n", []string{"resolve.rules[0].branch: unknown key", "event, ref, environment"}},
		{"bad dispatch input", "version: 1\nresolve:\n  dispatch_input: 'env; id'\n", []string{"resolve.dispatch_input"}},
		{"env not a mapping", "version: 1\nenvironments:\n  prod: strict\n", []string{"environments.prod: want a mapping of keys", "severity_threshold"}},
		{"duplicate key", "version: 1\nversion: 1\n", []string{"version: key appears twice"}},
		{"an environment twice", "version: 1\nenvironments:\n  prod:\n    lock_timeout: 5m\n  prod:\n    lock_timeout: 6m\n", []string{"environments.prod: key appears twice"}},
		{"alias", "version: 1\ndefaults: &d {}\nenvironments:\n  prod: *d\n", []string{"aliases are not supported"}},
		{"list at top", "- version: 1\n", []string{"top level: want a mapping"}},
		{"kpi rate over 100", "version: 1\ndefaults:\n  kpis:\n    success_rate: 101\n", []string{"defaults.kpis.success_rate", "percentage from 0 to 100"}},
		{"kpi rate negative", "version: 1\nenvironments:\n  prod:\n    kpis:\n      cost_variance: -1\n", []string{"environments.prod.kpis.cost_variance", "percentage"}},
		{"kpi rate nan", "version: 1\ndefaults:\n  kpis:\n    scan_pass_rate: .nan\n", []string{"defaults.kpis.scan_pass_rate"}},
		{"kpi rate as text", "version: 1\ndefaults:\n  kpis:\n    compliance_pass_rate: all\n", []string{`defaults.kpis.compliance_pass_rate: "all" is not a number`}},
		{"kpi bad duration", "version: 1\ndefaults:\n  kpis:\n    deploy_time: 15\n", []string{"defaults.kpis.deploy_time", "1s to 168h", `"15"`}},
		{"kpi duration too long", "version: 1\ndefaults:\n  kpis:\n    recovery_time: 200h\n", []string{"defaults.kpis.recovery_time"}},
		{"kpi negative count", "version: 1\ndefaults:\n  kpis:\n    critical_findings: -1\n", []string{"defaults.kpis.critical_findings", "from 0"}},
		{"kpi unknown key", "version: 1\ndefaults:\n  kpis:\n    mttr: 30m\n", []string{"defaults.kpis.mttr: unknown key", "success_rate, deploy_time, recovery_time, scan_pass_rate, compliance_pass_rate, critical_findings, cost_variance"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ConfigFile)
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded on:\n%s", tt.yaml)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+": ") {
				t.Errorf("error does not start with the file name: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file error = %v", err)
	}
}

// Targets default to the review numbers and are set per environment, defaults first.
func TestKPITargets(t *testing.T) {
	c, err := Parse(ConfigFile, []byte("version: 1\ndefaults:\n  kpis:\n    success_rate: 95\nenvironments:\n  prod:\n    kpis:\n      success_rate: 99.5\n      deploy_time: 20m\n      recovery_time: 1h\n      critical_findings: 2\n      cost_variance: 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := c.Profile("prod")
	test, _ := c.Profile("test")
	wantProd := DefaultTargets
	wantProd.SuccessRate, wantProd.DeployTime, wantProd.RecoveryTime, wantProd.CriticalFindings, wantProd.CostVariance = 99.5, 20*time.Minute, time.Hour, 2, 5
	wantTest := DefaultTargets
	wantTest.SuccessRate = 95
	if prod.KPIs != wantProd || test.KPIs != wantTest {
		t.Errorf("prod %+v\ntest %+v", prod.KPIs, test.KPIs)
	}
	if d, _ := Default(Staging); d.KPIs != (Targets{SuccessRate: 99, DeployTime: 15 * time.Minute, RecoveryTime: 30 * time.Minute, ScanPassRate: 100, CompliancePassRate: 100, CostVariance: 10}) {
		t.Errorf("default targets %+v", d.KPIs)
	}
}

// TestParseErrorIsStable: with several bad values, the error names the first in the
// schema's order on every run, so a user fixing them one by one is not sent back and forth.
func TestParseErrorIsStable(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"version: 1\ndefaults:\n  budget:\n    monthly_delta: -1\n    monthly_total: -1\n", "defaults.budget.monthly_total:"},
		{"version: 1\ndefaults:\n  tags:\n    environment: \"\"\n    project: \"\"\n", "defaults.tags.project:"},
	}
	for _, tt := range tests {
		for range 20 {
			_, err := Parse(ConfigFile, []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %v, want an error naming %s", tt.yaml, err, tt.want)
			}
		}
	}
}

// TestLoadTooLarge: the bound holds for Parse too, which the Dagger module calls with the
// file's content.
func TestLoadTooLarge(t *testing.T) {
	huge := []byte("version: 1\n# " + strings.Repeat("x", maxConfigSize) + "\n")
	path := filepath.Join(t.TempDir(), ConfigFile)
	if err := os.WriteFile(path, huge, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load of a huge file = %v", err)
	}
	if _, err := Parse(path, huge); err == nil || !strings.Contains(err.Error(), path+": larger than") {
		t.Errorf("Parse of a huge file = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/pipeline.yaml", "../../terraform/pipeline.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("version: 1\nenvironments:\n  prod:\n    destroy: warn\n"))
	f.Add([]byte("version: 1\ndefaults: &d {}\nenvironments: {prod: *d}\n"))
	f.Add([]byte("version: 1\ndefaults: {kpis: {success_rate: 95}}\nenvironments: {prod: {kpis: {deploy_time: 20m, critical_findings: 2, cost_variance: 5.5}}}\n"))
	f.Add([]byte("version: 1\ndefaults: {budget: {require_estimate: \"yes\", monthly_total: 5}, backend: {use_lockfile: on}, kpis: {critical_findings: 2.5}}\n"))
	f.Add([]byte("version: 1\nresolve: {rules: [{event: push, ref: 'refs/heads/*', environment: test}]}\n"))
	f.Add([]byte("version: 1\nresolve: {rules: [{event: push, ref: 'refs/heads/release/*', environment: staging}, {event: push, ref: 'refs/heads/**', environment: test}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("pipeline.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "pipeline.yaml: ") {
				t.Errorf("error without file name: %v", err)
			}
			return
		}
		// Whatever a config says, prod keeps blocking destroys and every profile is valid.
		for _, n := range Names {
			p, err := c.Profile(string(n))
			if err != nil {
				t.Fatal(err)
			}
			if n == Prod && p.Destroy != DestroyBlock {
				t.Errorf("config loosened prod to %s", p.Destroy)
			}
			k := p.KPIs
			for _, rate := range []float64{k.SuccessRate, k.ScanPassRate, k.CompliancePassRate, k.CostVariance} {
				if !(rate >= 0 && rate <= 100) {
					t.Errorf("KPI percentage %v accepted: %+v", rate, k)
				}
			}
			if k.DeployTime < time.Second || k.RecoveryTime < time.Second || k.CriticalFindings < 0 {
				t.Errorf("invalid KPI targets accepted: %+v", k)
			}
			if p.LockTimeout < time.Second || strings.Contains(p.VarFile, "..") {
				t.Errorf("invalid profile accepted: %+v", p)
			}
		}
		for _, r := range c.Rules {
			if _, err := ParseName(string(r.Environment)); err != nil {
				t.Errorf("rule with invalid environment accepted: %+v", r)
			}
		}
	})
}

// Two stacks sharing a bucket must never share a state object: the default key and backup
// prefix carry the stack (pipeline.yaml's stack, else the configuration's directory).
func TestDefaultKeyIsPerStack(t *testing.T) {
	for _, tt := range []struct {
		name, path, yaml string
		wantKey          string
		wantBackups      string
	}{
		{"directory names the stack", "stacks/network/pipeline.yaml", "version: 1\n", "stacks/network/prod/terraform.tfstate", "backups/stacks/network/prod/"},
		{"stack key wins", "terraform/pipeline.yaml", "version: 1\nstack: shop\n", "shop/prod/terraform.tfstate", "backups/shop/prod/"},
		{"configuration at the root", "pipeline.yaml", "version: 1\n", "prod/terraform.tfstate", "backups/prod/"},
		{"explicit key kept", "terraform/pipeline.yaml", "version: 1\nenvironments:\n  prod:\n    backend:\n      key: prod/terraform.tfstate\n", "prod/terraform.tfstate", "backups/terraform/prod/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.path, []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			p, _ := c.Profile("prod")
			if p.Backend.Key != tt.wantKey || p.Backend.BackupPrefix != tt.wantBackups {
				t.Errorf("key %q, backups %q; want %q, %q", p.Backend.Key, p.Backend.BackupPrefix, tt.wantKey, tt.wantBackups)
			}
		})
	}
	if p, _ := StackConfig(DirStack("stacks/app")).Profile("test"); p.Backend.Key != "stacks/app/test/terraform.tfstate" {
		t.Errorf("without pipeline.yaml: key %q", p.Backend.Key)
	}
	if _, err := Parse("pipeline.yaml", []byte("version: 1\nstack: ../other\n")); err == nil || !strings.Contains(err.Error(), "stack:") {
		t.Errorf("stack ../other: error %v, want one naming the stack key", err)
	}
}

// A second YAML document would be ignored by the decoder: refuse it instead.
func TestMultiDocumentRefused(t *testing.T) {
	_, err := Parse("pipeline.yaml", []byte("version: 1\n---\nenvironments:\n  prod:\n    destroy: allow\n"))
	if err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Errorf("error %v, want one saying the file holds more than one document", err)
	}
}

// Post-deploy checks are chosen per environment: a stack without alarms drops monitoring
// instead of failing every run; a typo names the valid categories.
func TestPostDeployChecks(t *testing.T) {
	c, err := Parse("pipeline.yaml", []byte("version: 1\nenvironments:\n  test:\n    post_deploy: [converged, health]\n"))
	if err != nil {
		t.Fatal(err)
	}
	test, _ := c.Profile("test")
	prod, _ := c.Profile("prod")
	if !slices.Equal(test.PostDeploy, []PostDeployCheck{PostDeployConverged, PostDeployHealth}) || test.RunsPostDeploy(PostDeployMonitoring) {
		t.Errorf("test post_deploy = %v", test.PostDeploy)
	}
	if !slices.Equal(prod.PostDeploy, AllPostDeployChecks) {
		t.Errorf("prod keeps every category by default: %v", prod.PostDeploy)
	}
	_, err = Parse("pipeline.yaml", []byte("version: 1\ndefaults:\n  post_deploy: [alarms]\n"))
	if err == nil || !strings.Contains(err.Error(), `defaults.post_deploy[0]: unknown check "alarms": valid values are converged, deployment, security, outputs, health, monitoring`) {
		t.Errorf("error %v", err)
	}
}

func TestNotifyConfig(t *testing.T) {
	c, err := Parse("pipeline.yaml", []byte(`version: 1
defaults:
  notify:
    channels: [slack]
environments:
  prod:
    notify:
      channels: [slack, teams, webhook]
      pipeline: always
  test:
    notify:
      drift: never
`))
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := c.Profile("prod")
	test, _ := c.Profile("test")
	staging, _ := c.Profile("staging")
	if !slices.Equal(prod.Notify.Channels, []Channel{ChannelSlack, ChannelTeams, ChannelWebhook}) || prod.Notify.Pipeline != NotifyAlways || prod.Notify.Drift != NotifyDrifted {
		t.Errorf("prod notify = %+v", prod.Notify)
	}
	if !slices.Equal(staging.Notify.Channels, []Channel{ChannelSlack}) || staging.Notify.Pipeline != NotifyFailure {
		t.Errorf("staging keeps the defaults: %+v", staging.Notify)
	}
	for _, tt := range []struct {
		n       Notify
		check   string
		verdict string
		want    bool
	}{
		{prod.Notify, "pipeline", "pass", true},
		{staging.Notify, "pipeline", "pass", false},
		{staging.Notify, "pipeline", "warn", false},
		{staging.Notify, "pipeline", "block", true},
		{staging.Notify, "drift", "warn", true},
		{staging.Notify, "drift", "pass", false},
		{test.Notify, "drift", "block", false},
	} {
		if got := tt.n.Notifies(tt.check, tt.verdict); got != tt.want {
			t.Errorf("%+v.Notifies(%s, %s) = %v", tt.n, tt.check, tt.verdict, got)
		}
	}
	for _, bad := range []struct{ yaml, want string }{
		{"version: 1\ndefaults:\n  notify:\n    channels: [email]\n", `defaults.notify.channels[0]: unknown channel "email": valid channels are slack, teams, webhook`},
		{"version: 1\nenvironments:\n  prod:\n    notify:\n      pipeline: drifted\n", `environments.prod.notify.pipeline: "drifted" is not valid: use always, failure, never`},
		{"version: 1\nenvironments:\n  prod:\n    notify:\n      drift: failure\n", `environments.prod.notify.drift: "failure" is not valid: use always, drifted, never`},
	} {
		if _, err := Parse("pipeline.yaml", []byte(bad.yaml)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Parse(%q) = %v, want %q", bad.yaml, err, bad.want)
		}
	}
}

// TestRulesNarrowFirst: a narrower rule before a broader one is how rules are meant to be
// written, and a pattern after a literal ref, or on another event, shadows nothing.
func TestRulesNarrowFirst(t *testing.T) {
	yml := "version: 1\nresolve:\n  rules:\n" +
		"    - {event: push, ref: refs/tags/v1, environment: prod}\n" +
		"    - {event: push, ref: 'refs/tags/*', environment: staging}\n" +
		"    - {event: push, ref: 'refs/heads/*', environment: test}\n" +
		"    - {event: push, environment: preview}\n" +
		"    - {event: pull_request, environment: preview}\n"
	c, err := Parse("pipeline.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rules) != 5 {
		t.Errorf("rules = %v, want all 5", c.Rules)
	}
}
