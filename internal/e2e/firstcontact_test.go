package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// TestRefusesBadStackFiles: a stack file that Terraform would misread, or only warn about,
// is refused before planning with what to change, and the reproduce line. Each case edits
// one file of the app stack (old → new; old "" prepends new).
func TestRefusesBadStackFiles(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	for _, tt := range []struct {
		name, file, old, new, fn string
		want                     string
		remove                   string // a file the case deletes first
	}{
		// Without a backend block Terraform plans and applies on a local state that dies
		// with the container.
		{"no backend", "versions.tf", `backend "s3" {}`, "", "apply",
			"the configuration declares no backend, so test's state would be lost after the run: declare `terraform { backend \"s3\" {} }`", ""},
		// init's -backend-config replaces the block's settings: a block pointing at an
		// existing state would be planned from an empty one.
		{"a backend key of its own", "versions.tf", `backend "s3" {}`, "backend \"s3\" {\n    key = \"x.tfstate\"\n  }", "plan",
			`versions.tf:12: backend "s3" sets key "x.tfstate" (the pipeline's: "test/terraform.tfstate"); the pipeline's init takes test's backend from pipeline.yaml`, ""},
		// Another backend failed init on settings of a file the user never wrote.
		{"another backend", "versions.tf", `backend "s3" {}`, "backend \"gcs\" {\n    bucket = \"acme\"\n  }", "plan",
			`versions.tf:12 declares backend "gcs", but the pipeline keeps test's state in S3`, ""},
		// Each environment has its own state key in the default workspace: names built
		// from terraform.workspace would be the same in test and prod.
		{"terraform.workspace", "workspace.tf", "", "output \"workspace\" {\n  value = terraform.workspace\n}\n", "plan",
			`workspace.tf:2 reads terraform.workspace, which is "default" in every environment here`, ""},
		// A newer Terraform needed: the provider install fails before any step, and the
		// error gives Terraform's reason, not only the engine's "exit code: 1".
		{"a newer Terraform", "versions.tf", `required_version = ">= 1.10.0"`, `required_version = ">= 9.0"`, "plan",
			"Unsupported Terraform Core version", ""},
		// Terraform only warns of a value for an undeclared variable, and plans with the
		// default.
		{"an undeclared variable", "environments/test.tfvars", "", "replica_count = 3\n", "plan",
			"environments/test.tfvars: replica_count is not a variable of the stack (line 1)", ""},
		// The built-in var file in JSON is read (and checked) when the .tfvars is absent.
		{"an undeclared variable in JSON", "environments/test.tfvars.json", "", `{"replica_count": 3}` + "\n", "plan",
			"environments/test.tfvars.json: replica_count is not a variable of the stack (line 1)", "environments/test.tfvars"},
		// A var_file that pipeline.yaml names and the stack lacks would deploy the
		// variables' defaults.
		{"a missing var_file", "pipeline.yaml", "  test:\n", "  test:\n    var_file: env/test.tfvars\n", "plan",
			"pipeline.yaml's var_file for test is env/test.tfvars, which is not in the Terraform directory", ""},
		// Found only by the steps that apply it, a broken suppressions file made lint and
		// the scans "could not run", which warns in test: the apply went on unscanned.
		{"a suppression without a reason", "suppressions.yaml", "", "suppressions:\n  - rule: CKV_AWS_18\n", "pipeline",
			"suppressions suppressions.yaml: entry 1 (CKV_AWS_18): reason is required", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, "app")
			if tt.remove != "" {
				if err := os.Remove(filepath.Join(s.Dir, tt.remove)); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(filepath.Join(s.Dir, tt.file))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			edited := tt.new + string(data)
			if tt.old != "" {
				if !strings.Contains(string(data), tt.old) {
					t.Fatalf("%s has no %q to replace", tt.file, tt.old)
				}
				edited = strings.Replace(string(data), tt.old, tt.new, 1)
			}
			s.Write(t, tt.file, edited)
			res := mustFail(t, nil, append(s.Ctor("--emulate-aws"), tt.fn, "--env=test")...)
			for _, want := range []string{tt.want, "Reproduce with: dagger call"} {
				if !strings.Contains(res.Stderr, want) {
					t.Errorf("%s does not say %q:\n%s", tt.fn, want, lastLines(res.Stderr, 30))
				}
			}
		})
	}
}

// TestFreshEmulatorHasAnEmptyStateBucket: the first functions a newcomer tries on a fresh
// emulator read the state bucket before anything was planned; they find it empty, not
// missing (S3's 404).
func TestFreshEmulatorHasAnEmptyStateBucket(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	s := newStack(t, "app")
	if got := mustCall(t, nil, append(s.Ctor("--emulate-aws"), "backups", "--env=prod")...).Stdout; got != "no backups of prod yet\n" {
		t.Errorf("backups on a fresh emulator = %q", got)
	}
	dir := export(t, nil, append(s.Ctor("--emulate-aws"), "kpis", "--env=test")...)
	if md := readFile(t, dir, "kpis.md"); !strings.Contains(md, "# Deployment KPIs") || strings.Contains(md, "does not exist") {
		t.Errorf("kpis on a fresh emulator:\n%s", md)
	}
	// Nothing applied: drift compares nothing, and says so rather than "no drift".
	dir = export(t, nil, append(s.Ctor("--emulate-aws"), "drift", "--env=test")...)
	if r := readResult(t, dir); r.Verdict != "warn" || !strings.Contains(readFile(t, dir, "drift.md"), "nothing to compare: the state of test holds no resources") {
		t.Errorf("drift on a fresh emulator: verdict %s\n%s", r.Verdict, readFile(t, dir, "drift.md"))
	}
}

// TestRefusesTerraformDirWithoutTerraform: a mistyped --terraform-dir used to lint clean
// (fmt, validate and tflint pass an empty directory); now lint and plan refuse it and name
// the repository's stacks.
func TestRefusesTerraformDirWithoutTerraform(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	s := newStack(t, "app")
	want := `--terraform-dir "infra": no Terraform files (*.tf) there; the repository's stacks are .: pass --terraform-dir=<one of them>`
	for _, fn := range [][]string{{"lint"}, {"plan", "--env=test"}} {
		res := mustFail(t, nil, append([]string{"--source=" + s.Dir, "--terraform-dir=infra"}, fn...)...)
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("%s with --terraform-dir=infra does not say %q:\n%s", fn[0], want, lastLines(res.Stderr, 20))
		}
	}
}

// TestVerdictOnADirectoryThatIsNotAReport: verdict given the wrong directory says so, not
// "stat /result.json: no such file or directory".
func TestVerdictOnADirectoryThatIsNotAReport(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "summary.md"), []byte("# not a report\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := mustFail(t, nil, "verdict", "--report="+dir)
	if want := "--report has no result.json, so it is not a report"; !strings.Contains(res.Stderr, want) {
		t.Errorf("verdict on a directory without result.json does not say %q:\n%s", want, lastLines(res.Stderr, 20))
	}
}

// TestEnvBesideGitHubValuesKeepsTheEventsDryRun: --env given with a workflow_dispatch payload
// that asks for a dry run used to skip the payload and apply; the event's switches now
// apply whichever names the environment.
func TestEnvBesideGitHubValuesKeepsTheEventsDryRun(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	s := newStack(t, "app")
	event := eventFile(t, `{"ref": "refs/heads/main", "inputs": {"environment": "test", "dry_run": "true"}}`)
	dir := export(t, nil, append(s.Ctor("--emulate-aws"), "pipeline", "--env=test", "--skip-tests",
		"--github-event-name=workflow_dispatch", "--github-ref=refs/heads/main", "--github-event="+event)...)
	summary := readFile(t, dir, "summary.md")
	for _, want := range []string{"Dry run: nothing was imported or applied.", `Environment chosen by workflow\_dispatch`} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	if strings.Contains(summary, "| Apply | pass |") {
		t.Errorf("the dry run applied:\n%s", summary)
	}
	res := mustFail(t, nil, append(s.Ctor("--emulate-aws"), "pipeline", "--env=test", "--requested-env=prod", "--github-event-name=push")...)
	if want := `--env "test" and --requested-env "prod" disagree`; !strings.Contains(res.Stderr, want) {
		t.Errorf("--env and --requested-env that disagree do not say %q:\n%s", want, lastLines(res.Stderr, 20))
	}
}

// TestNothingToDeployOnDeletedBranch: GitHub's payload of a push that deleted a branch
// resolves to nothing to deploy: resolve-env says "none", the pipeline succeeds without a
// plan.
func TestNothingToDeployOnDeletedBranch(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	s := newStack(t, "app")
	event := eventFile(t, `{"ref": "refs/heads/feature", "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
 "after": "0000000000000000000000000000000000000000", "created": false, "deleted": true, "commits": [], "head_commit": null}`)
	gh := []string{"--github-event-name=push", "--github-ref=refs/heads/feature", "--github-event=" + event}
	res := mustCall(t, nil, append(append(s.Ctor(), "resolve-env"), gh...)...)
	if !strings.HasPrefix(res.Stdout, "none\t") || !strings.Contains(res.Stdout, "nothing to deploy") {
		t.Errorf("resolve-env of a deleted branch printed %q, want none and why", res.Stdout)
	}
	out := export(t, nil, append(append(s.Ctor("--emulate-aws"), "pipeline"), gh...)...)
	summary := readFile(t, out, "summary.md")
	if !strings.Contains(summary, "# Nothing to deploy") || !strings.Contains(summary, "refs/heads/feature") {
		t.Errorf("pipeline summary of a deleted branch:\n%s", summary)
	}
	if _, err := os.Stat(filepath.Join(out, "plan.txt")); err == nil {
		t.Errorf("a deleted branch was planned")
	}
}

// TestPostDeployReportSurvivesFailure: test --report-on-failure returns junit.xml of a
// failed run and a result.json that verdict fails on; post_deploy in pipeline.yaml drops a
// category the stack has no use for.
func TestPostDeployReportSurvivesFailure(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	ctor := append(s.Ctor(), moto.Ctor()...)
	export(t, nil, append(ctor, "apply", "--env=test")...)

	// The stack has no CloudWatch alarm: monitoring fails, the report is kept.
	out := export(t, nil, append(ctor, "test", "--env=test", "--report-on-failure")...)
	junit := readFile(t, out, "junit.xml")
	if !strings.Contains(junit, "<failure") || !strings.Contains(junit, "monitoring: alarms exist") {
		t.Errorf("junit.xml of the failed run:\n%s", junit)
	}
	res := mustFail(t, nil, "verdict", "--report="+out)
	if !strings.Contains(res.Stderr, "monitoring: alarms exist") {
		t.Errorf("verdict on the kept report does not fail with the check:\n%s", lastLines(res.Stderr, 20))
	}

	// Without monitoring in post_deploy, the same deployment passes and says what it skipped.
	cfg, err := os.ReadFile(filepath.Join(s.Dir, "pipeline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.Write(t, "pipeline.yaml", strings.Replace(string(cfg), "  test:\n", "  test:\n    post_deploy: [converged, deployment, security, outputs, health]\n", 1))
	out = export(t, nil, append(ctor, "test", "--env=test")...)
	summary := readFile(t, out, "summary.md")
	if !strings.Contains(summary, "not in post\\_deploy for test") {
		t.Errorf("summary does not say monitoring was left out:\n%s", summary)
	}
	if !strings.Contains(summary, "| deployment: every managed resource exists in the account") {
		t.Errorf("summary has no passing deployment check:\n%s", summary)
	}
	mustCall(t, nil, "verdict", "--report="+out)

	// The bucket deleted by hand: the deployment check asks S3, not the state, and names it.
	bucket := moto.MustState(t, testKey).Attr("aws_s3_bucket.data", "bucket")
	if _, err := moto.S3().DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	res = mustFail(t, nil, append(ctor, "test", "--env=test")...)
	if want := "aws_s3_bucket.data is in the state but not in the account"; !strings.Contains(res.Stderr, want) {
		t.Errorf("test after the bucket was deleted by hand does not say %q:\n%s", want, lastLines(res.Stderr, 20))
	}
}

// TestReadmeMainCommand runs the README's first set-up command on the example stack
// (terraform/), as a user with Docker runs it, with one difference: the Terraform image is the
// harness's one holding the real hashicorp/aws provider (the registry is unreachable here).
// Every step that can run here must pass; only the images that cannot be had may warn.
func TestReadmeMainCommand(t *testing.T) {
	requireEngine(t)
	image := os.Getenv("INFRAPIPE_TERRAFORM_AWS_IMAGE")
	if image == "" {
		t.Skip("no Terraform image with the real aws provider (.ci/engine.sh builds one when a provider mirror exists): the example stack needs it")
	}
	t.Parallel()
	out := export(t, nil, "--terraform-image="+image, "--emulate-aws", "pipeline", "--env=test")
	summary := readFile(t, out, "summary.md")
	for _, want := range []string{"| Lint | pass |", "- terraform test: 3 passed, 0 failed", "| Plan | pass |", "| Apply | pass |", "| Post-deploy tests | pass |"} {
		if !strings.Contains(summary, want) {
			t.Errorf("the main command's summary lacks %q:\n%s", want, summary)
		}
	}
	if junit := readFile(t, out, "junit.xml"); !strings.Contains(junit, `<testsuite name="terraform test" tests="3" failures="0"`) {
		t.Errorf("junit.xml has no suite of the example stack's three terraform test run blocks:\n%s", junit)
	}
	if strings.Contains(summary, "pipeline: block") {
		t.Errorf("the main command blocked:\n%s", summary)
	}
	for _, line := range strings.Split(summary, "\n") {
		if strings.HasPrefix(line, "- **warn**") && !strings.Contains(line, "is not available (use --") {
			t.Errorf("a warning other than an image that cannot be had here: %s", line)
		}
	}
}

// TestNestedStackIsItsOwn: a stack below the one a run takes (the app stack at "." with a
// stack of its own in inner/) is linted and scanned by its own run. fmt, tflint and the
// scanners walk into inner/, but the outer run leaves its files out; inner's run reports
// them.
func TestNestedStackIsItsOwn(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	s := newStack(t, "app")
	if err := os.MkdirAll(filepath.Join(s.Dir, "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.Write(t, "inner/versions.tf", "terraform {\n  backend \"s3\" {}\n}\n")
	s.Write(t, "inner/main.tf", "resource \"aws_s3_bucket\" \"open\" {\nbucket =   \"inner-open\"\n}\n")

	outer := mustCall(t, nil, append(s.Ctor(), "lint")...)
	if strings.Contains(outer.Stdout, "inner/") {
		t.Errorf("the outer stack's lint reports the nested stack's files:\n%s", outer.Stdout)
	}
	scan := export(t, nil, append(s.Ctor(), "security-scan", "--env=test", "--threshold=CRITICAL")...)
	if f := readFile(t, scan, "findings.json"); strings.Contains(f, "inner/") {
		t.Errorf("the outer stack's scan reports the nested stack's findings:\n%s", f)
	}

	inner := []string{"--source=" + s.Dir, "--terraform-dir=inner"}
	res := mustFail(t, nil, append(inner, "lint")...)
	if !strings.Contains(res.Stderr, "inner/main.tf") {
		t.Errorf("the nested stack's lint does not name its misformatted main.tf:\n%s", lastLines(res.Stderr, 30))
	}
	scan = export(t, nil, append(inner, "security-scan", "--env=test", "--threshold=CRITICAL")...)
	if f := readFile(t, scan, "findings.json"); !strings.Contains(f, "main.tf") {
		t.Errorf("the nested stack's scan has no finding in its main.tf:\n%s", f)
	}
}

// TestPolicyThatDoesNotCompileBlocks: a Rego file of the repository that does not parse
// blocks staging with its file and line, and nothing is applied. It used to be "Compliance
// could not run: opa eval: exit code: 2", which warns in staging, and the apply went on
// with neither the built-in pack nor the repository's policies evaluated.
func TestPolicyThatDoesNotCompileBlocks(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	s.Write(t, "policies/broken.rego", "package infrapipe.broken\n\ndeny contains d if {\n  input.x == 1\n")
	out := export(t, nil, append(append(s.Ctor(), moto.Ctor()...), "pipeline", "--env=staging", "--report-on-failure")...)
	summary := readFile(t, out, "summary.md")
	for _, want := range []string{"policies/broken.rego:5: unexpected eof token", "**block**"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary does not say %q:\n%s", want, summary)
		}
	}
	if !strings.Contains(readFile(t, out, "result.json"), `"verdict": "block"`) {
		t.Errorf("result.json does not block:\n%s", readFile(t, out, "result.json"))
	}
	if _, ok := moto.State(t, "staging/terraform.tfstate"); ok {
		t.Errorf("staging has a state: the blocked run applied")
	}
}

// TestTakenNameBlocksBeforeApply: a topic named like the stack's, made outside Terraform and
// untagged (so import does not find it), would be taken over by the apply: CreateTopic
// hands it back. The pipeline blocks before the apply, naming it, and nothing is created;
// apply refuses it too.
func TestTakenNameBlocksBeforeApply(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	topic := s.Project + "-test-events"
	if _, err := moto.SNS().CreateTopic(context.Background(), &sns.CreateTopicInput{Name: aws.String(topic)}); err != nil {
		t.Fatal(err)
	}
	ctor := append(s.Ctor(), moto.Ctor()...)
	dir := export(t, nil, append(slices.Clone(ctor), "pipeline", "--env=test", "--report-on-failure")...)
	r := readResult(t, dir)
	want := `test plan creates aws_sns_topic.events, but aws_sns_topic "` + topic + `" already exists in the account, outside this state: CreateTopic would hand back the existing topic`
	if r.Verdict != "block" || !strings.Contains(readFile(t, dir, "summary.md"), strings.ReplaceAll(want, "_", `\_`)) {
		t.Errorf("the pipeline's verdict is %s, and its summary does not say %q:\n%s", r.Verdict, want, readFile(t, dir, "summary.md"))
	}
	if st, ok := moto.State(t, testKey); ok && len(st.Addresses()) > 0 {
		t.Errorf("the blocked pipeline applied: the state holds %v", st.Addresses())
	}
	res := mustFail(t, nil, append(slices.Clone(ctor), "apply", "--env=test")...)
	if !strings.Contains(res.Stderr, want) {
		t.Errorf("apply does not refuse with %q:\n%s", want, lastLines(res.Stderr, 30))
	}
}
