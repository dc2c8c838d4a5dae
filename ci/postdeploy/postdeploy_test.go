package postdeploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/livecheck"
	"github.com/infrapipe/infrapipe/ci/pipeline"
)

// host runs terraform in a test's workspace, as the module runs it in the environment's
// container: a non-zero exit is a code, not an error.
func host(w *tftest.Workspace) Runner {
	return func(_ context.Context, args []string) (int, string, string, error) {
		stdout, stderr, err := w.Exec(args...)
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), stdout, stderr, nil
		}
		return 0, stdout, stderr, err
	}
}

// profile is the test environment's built-in profile with post_deploy set to checks.
func profile(t *testing.T, checks ...environment.PostDeployCheck) environment.Profile {
	t.Helper()
	p, err := environment.Default("test")
	if err != nil {
		t.Fatal(err)
	}
	p.PostDeploy = checks
	return p
}

// results are the suite's cases as the summary shows them: name → "pass", "FAIL: …" or
// "skipped: …".
func results(s *Suite) map[string]string {
	out := map[string]string{}
	for _, c := range s.Cases {
		switch {
		case c.Failure != "":
			out[c.Name] = "FAIL: " + c.Failure
		case c.Skipped != "":
			out[c.Name] = "skipped: " + c.Skipped
		case c.Note != "":
			out[c.Name] = "pass (" + c.Note + ")"
		default:
			out[c.Name] = "pass"
		}
	}
	return out
}

// stack stands in for a deployment: a resource set by a variable, and an output that may
// be a health endpoint.
func stack(url string) string {
	return fmt.Sprintf(`
variable "release" {
  type = string
}
resource "terraform_data" "app" {
  input = var.release
}
output "release" {
  value = terraform_data.app.output
}
output "api_url" {
  value = %q
}
`, url)
}

const notInPostDeploy = "skipped: not in post_deploy for test in pipeline.yaml"

// Each category runs only when post_deploy names it, and each judges what real Terraform
// and a real HTTP server say: a stack whose plan still has changes, or whose plan cannot
// run, fails converged; a state that cannot be read fails the outputs and every live check;
// a health endpoint answering 500 fails; one on the emulator's alias is asked through the
// emulator's endpoint.
func TestRun(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(ok.Close)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	t.Cleanup(broken.Close)
	corrupt := func(w *tftest.Workspace) { w.Write("terraform.tfstate", "{") }
	applied := []string{"-var=release=1"}
	all := environment.AllPostDeployChecks
	const (
		deployment = livecheck.DeploymentName
		security   = livecheck.SecurityName
		monitoring = livecheck.MonitoringName
		apiURL     = "health endpoint api_url answers"
	)
	for _, tt := range []struct {
		name     string
		checks   []environment.PostDeployCheck
		url      string                    // the api_url output
		after    func(w *tftest.Workspace) // what happens to the deployment after its apply
		planArgs []string
		masked   []string // the secret variables file's values
		// want: every case, by name: the first string starts its result, the others are in it.
		want map[string][]string
	}{{
		name: "converged stack passes", checks: all[:5], url: ok.URL + "/health", planArgs: applied,
		want: map[string][]string{
			ConvergedName: {"pass"},
			deployment:    {"skipped: no resource of a type this check can ask about"},
			security:      {"skipped: ", "sets no bucket encryption"},
			OutputsName:   {"pass"},
			apiURL:        {"pass"},
			monitoring:    {notInPostDeploy},
		},
	}, {
		name: "pending changes fail converged", checks: all[:1], url: ok.URL, planArgs: []string{"-var=release=2"},
		want: map[string][]string{
			ConvergedName: {"FAIL: terraform plan still has changes after the apply:\n# terraform_data.app will be updated in-place\nPlan: 0 to add, 1 to change, 0 to destroy."},
			deployment:    {notInPostDeploy}, security: {notInPostDeploy}, OutputsName: {notInPostDeploy},
			HealthName: {notInPostDeploy}, monitoring: {notInPostDeploy},
		},
	}, {
		// terraform destroy leaves the state read and empty, as a never-applied environment's.
		name: "an environment with nothing deployed says so", checks: all[:1], url: ok.URL, planArgs: applied,
		after: func(w *tftest.Workspace) { w.Run(append([]string{"destroy", "-auto-approve"}, applied...)...) },
		want: map[string][]string{
			ConvergedName: {"FAIL: nothing is deployed: the state of test holds no resources (never applied?), so the plan creates everything:\n", "Plan: 1 to add"},
			deployment:    {notInPostDeploy}, security: {notInPostDeploy}, OutputsName: {notInPostDeploy},
			HealthName: {notInPostDeploy}, monitoring: {notInPostDeploy},
		},
	}, {
		name: "a plan that cannot run fails converged", checks: all[:1], url: ok.URL,
		want: map[string][]string{
			ConvergedName: {"FAIL: terraform plan failed (exit code 1):\n", "No value for required variable"},
			deployment:    {notInPostDeploy}, security: {notInPostDeploy}, OutputsName: {notInPostDeploy},
			HealthName: {notInPostDeploy}, monitoring: {notInPostDeploy},
		},
	}, {
		name: "an unreadable state fails the outputs and the live checks", url: ok.URL, after: corrupt,
		checks: []environment.PostDeployCheck{environment.PostDeployDeployment, environment.PostDeployOutputs, environment.PostDeployHealth, environment.PostDeployMonitoring},
		want: map[string][]string{
			ConvergedName: {notInPostDeploy},
			deployment:    {"FAIL: terraform show -json failed (exit code 1):\n"},
			security:      {notInPostDeploy},
			OutputsName:   {"FAIL: terraform output failed (exit code 1):\n"},
			HealthName:    {"skipped: no *_url or *_endpoint output with an http(s) URL"},
			monitoring:    {"FAIL: terraform show -json failed (exit code 1):\n"},
		},
	}, {
		name: "health alone counts the outputs' failure", checks: []environment.PostDeployCheck{environment.PostDeployHealth}, url: ok.URL, after: corrupt,
		want: map[string][]string{
			ConvergedName: {notInPostDeploy}, deployment: {notInPostDeploy}, security: {notInPostDeploy},
			OutputsName: {"FAIL: terraform output failed (exit code 1):\n"},
			HealthName:  {"skipped: no *_url or *_endpoint output with an http(s) URL"},
			monitoring:  {notInPostDeploy},
		},
	}, {
		name: "health alone skips readable outputs", checks: []environment.PostDeployCheck{environment.PostDeployHealth}, url: ok.URL,
		want: map[string][]string{
			ConvergedName: {notInPostDeploy}, deployment: {notInPostDeploy}, security: {notInPostDeploy},
			OutputsName: {notInPostDeploy}, apiURL: {"pass"}, monitoring: {notInPostDeploy},
		},
	}, {
		name: "an endpoint answering 500 fails", checks: all[3:5], url: broken.URL + "/health",
		want: map[string][]string{
			ConvergedName: {notInPostDeploy}, deployment: {notInPostDeploy}, security: {notInPostDeploy},
			OutputsName: {"pass"}, apiURL: {"FAIL: GET " + broken.URL + "/health: HTTP 500"}, monitoring: {notInPostDeploy},
		},
	}, {
		// An output built from a value of the secret variables file (its variable not
		// declared sensitive): the URL in the failure hides it.
		name: "a secret in an endpoint's URL is masked", checks: all[3:5], url: broken.URL + "/health?token=PlainSecret-qqq-456",
		masked: pipeline.SecretValues([]byte(`token = "PlainSecret-qqq-456"`)),
		want: map[string][]string{
			ConvergedName: {notInPostDeploy}, deployment: {notInPostDeploy}, security: {notInPostDeploy},
			OutputsName: {"pass"}, apiURL: {"FAIL: GET " + broken.URL + "/health?token=" + pipeline.Masked + ": HTTP 500"}, monitoring: {notInPostDeploy},
		},
	}, {
		name: "an endpoint on the emulator's alias is asked through its endpoint", checks: all[4:5], url: "http://aws:5000/health",
		want: map[string][]string{
			ConvergedName: {notInPostDeploy}, deployment: {notInPostDeploy}, security: {notInPostDeploy},
			OutputsName: {notInPostDeploy}, apiURL: {"pass"}, monitoring: {notInPostDeploy},
		},
	}, {
		name: "no http(s) output skips health", checks: all[4:5], url: "s3://assets",
		want: map[string][]string{
			ConvergedName: {notInPostDeploy}, deployment: {notInPostDeploy}, security: {notInPostDeploy},
			OutputsName: {notInPostDeploy}, HealthName: {"skipped: no *_url or *_endpoint output with an http(s) URL"}, monitoring: {notInPostDeploy},
		},
	}, {
		name: "a state without alarms fails monitoring", checks: all[5:], url: ok.URL,
		want: map[string][]string{
			ConvergedName: {notInPostDeploy}, deployment: {notInPostDeploy}, security: {notInPostDeploy},
			OutputsName: {notInPostDeploy}, HealthName: {notInPostDeploy},
			monitoring: {"FAIL: ", "the state holds no aws_cloudwatch_metric_alarm"},
		},
	}, {
		name: "an empty post_deploy skips everything", url: ok.URL,
		want: map[string][]string{
			ConvergedName: {notInPostDeploy}, deployment: {notInPostDeploy}, security: {notInPostDeploy},
			OutputsName: {notInPostDeploy}, HealthName: {notInPostDeploy}, monitoring: {notInPostDeploy},
		},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := tftest.New(t, map[string]string{"main.tf": stack(tt.url)})
			w.Init()
			w.Apply(applied...)
			if tt.after != nil {
				tt.after(w)
			}
			s, err := Run(context.Background(), Checks{
				Env: "test", Profile: profile(t, tt.checks...), Terraform: host(w), PlanArgs: tt.planArgs,
				Endpoint: ok.URL, Alias: "aws", Masked: tt.masked,
				Health: livecheck.HealthOptions{Attempt: time.Second, Total: 2 * time.Second, FirstGap: 100 * time.Millisecond},
			})
			if err != nil {
				t.Fatal(err)
			}
			got := results(s)
			var failed []string
			for name, want := range tt.want {
				r, ok := got[name]
				if !ok {
					t.Errorf("no case %q; got %v", name, got)
					continue
				}
				if !strings.HasPrefix(r, want[0]) {
					t.Errorf("%s = %q, want it to start with %q", name, r, want[0])
				}
				for _, part := range want[1:] {
					if !strings.Contains(r, part) {
						t.Errorf("%s = %q, want it to hold %q", name, r, part)
					}
				}
				if strings.HasPrefix(want[0], "FAIL: ") {
					failed = append(failed, name+": "+strings.TrimPrefix(r, "FAIL: "))
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("cases %v, want exactly %d", got, len(tt.want))
			}
			if gotFailed := s.Failed(); !sameSet(gotFailed, failed) {
				t.Errorf("Failed() = %q, want %q", gotFailed, failed)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A terraform that cannot run at all is an error of the run, not a failed check.
func TestRunnerError(t *testing.T) {
	cannot := func(context.Context, []string) (int, string, string, error) {
		return 0, "", "", errors.New("container exited")
	}
	for _, checks := range [][]environment.PostDeployCheck{{environment.PostDeployConverged}, nil} {
		s, err := Run(context.Background(), Checks{Env: "test", Profile: profile(t, checks...), Terraform: cannot})
		if err == nil || err.Error() != "terraform: container exited" || s != nil {
			t.Errorf("post_deploy %v: Run = %v, %v; want the runner's error", checks, s, err)
		}
	}
}

// The suite reads the same in the summary, the step's reasons and junit.xml: a failure's
// first line is its JUnit message, the whole failure its output.
func TestSuiteReports(t *testing.T) {
	s := &Suite{Env: "prod", Cases: []Case{
		{Name: ConvergedName, Failure: "terraform plan still has changes after the apply:\n~ terraform_data.app", Elapsed: time.Second},
		{Name: OutputsName},
		{Name: HealthName, Skipped: "not in post_deploy for prod in pipeline.yaml"},
	}}
	step := s.Step()
	if step.Verdict != gate.Block || !slices.Equal(step.Reasons, []string{ConvergedName + ": terraform plan still has changes after the apply:\n~ terraform_data.app"}) {
		t.Errorf("step outcome = %+v", step.Outcome)
	}
	for _, row := range []string{"## Post-deploy tests", "| outputs readable | pass |", `| health endpoints answer | skipped: not in post\_deploy for prod in pipeline.yaml |`, "FAIL: terraform plan still has changes"} {
		if !strings.Contains(step.Markdown, row) {
			t.Errorf("summary lacks %q:\n%s", row, step.Markdown)
		}
	}
	if (&Suite{Env: "prod", Cases: s.Cases[1:]}).Step().Verdict != gate.Pass {
		t.Error("a suite without failures does not pass")
	}
	for _, tt := range []struct{ project, name string }{{"", "post-deploy prod"}, {"shop", "post-deploy prod (shop)"}} {
		s.Project = tt.project
		j := s.JUnit()
		if j.Name != tt.name || len(j.Cases) != 3 {
			t.Fatalf("JUnit() = %+v, want suite %q with 3 cases", j, tt.name)
		}
		c := j.Cases[0]
		if c.Failure != "terraform plan still has changes after the apply:" || c.Output != s.Cases[0].Failure || c.Classname != "prod" || c.Time != time.Second {
			t.Errorf("failed case = %+v", c)
		}
		if j.Cases[1].Failure != "" || j.Cases[2].Skipped != s.Cases[2].Skipped {
			t.Errorf("passed and skipped cases = %+v", j.Cases[1:])
		}
	}
}

// The test function's report: junit.xml and result.json say the same as the summary, the
// summary ends with the reproduce line, and only a failed check fails the call.
func TestSuiteFiles(t *testing.T) {
	failing := &Suite{Env: "prod", Cases: []Case{
		{Name: ConvergedName, Failure: "terraform plan still has changes after the apply:\n~ terraform_data.app"},
		{Name: OutputsName},
	}}
	passing := &Suite{Env: "prod", Cases: failing.Cases[1:]}
	reproduce := pipeline.Call(nil, "test").Flag("env", "prod")
	for _, tt := range []struct {
		name        string
		s           *Suite
		wantVerdict gate.Verdict
		wantErr     string
	}{
		{"a failed check", failing, gate.Block, "post-deploy tests failed in prod: " + ConvergedName + ": terraform plan still has changes"},
		{"every check passed", passing, gate.Pass, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files, err := tt.s.Files(environment.Prod, reproduce)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for i := 0; i+1 < len(files); i += 2 {
				got[files[i]] = files[i+1]
			}
			res, err := pipeline.ReadResult(pipeline.ResultFile, []byte(got[pipeline.ResultFile]))
			if err != nil || res.Check != "test" || res.Verdict != tt.wantVerdict {
				t.Errorf("result.json = %+v, %v; want check test, verdict %s", res, err, tt.wantVerdict)
			}
			if !strings.Contains(got["junit.xml"], `<testsuite name="post-deploy prod"`) {
				t.Errorf("junit.xml:\n%s", got["junit.xml"])
			}
			if !strings.HasSuffix(strings.TrimSpace(got["summary.md"]), "dagger call test --env=prod export --path=./test-results\n```") {
				t.Errorf("summary.md does not end with the reproduce line:\n%s", got["summary.md"])
			}
			err = tt.s.Err()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.HasPrefix(err.Error(), tt.wantErr)) {
				t.Errorf("Err() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// liveStack is deployed with the real hashicorp/aws provider on moto: a bucket behind a
// public access block, and an alarm that notifies a topic somebody is subscribed to.
const liveStack = `
resource "aws_s3_bucket" "data" {
  bucket        = "postdeploy-data"
  force_destroy = true
}
resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
resource "aws_sns_topic" "alerts" {
  name = "postdeploy-alerts"
}
resource "aws_sns_topic_subscription" "oncall" {
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = "oncall@example.com"
}
resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "postdeploy-errors"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  metric_name         = "Errors"
  namespace           = "AWS/Lambda"
  period              = 60
  statistic           = "Sum"
  threshold           = 1
  alarm_actions       = [aws_sns_topic.alerts.arn]
}
output "bucket" {
  value = aws_s3_bucket.data.id
}
resource "aws_sqs_queue" "jobs" {
  name = "postdeploy-jobs"
}
output "queue_url" {
  value = aws_sqs_queue.jobs.url
}
`

// On a real deployment (moto) every category passes (the queue's URL is the SQS API's
// address, no health endpoint); once the alarm is deleted by hand,
// converged, deployment and monitoring fail, each saying so, and the others still pass.
func TestLiveChecksOnMoto(t *testing.T) {
	moto := mototest.Start(t)
	moto.Setenv(t)
	w := tftest.New(t, map[string]string{"main.tf": liveStack})
	w.UseRealAWSProviderOn(moto.URL, "cloudwatch", "s3", "sns", "sqs", "sts")
	w.Init()
	w.Apply()
	ctx := context.Background()
	clients, err := livecheck.Connect(ctx, "us-east-1", moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	run := func() map[string]string {
		t.Helper()
		s, err := Run(ctx, Checks{Env: "test", Profile: profile(t, environment.AllPostDeployChecks...), Terraform: host(w),
			Clients: clients, Endpoint: moto.URL, Alias: "aws"})
		if err != nil {
			t.Fatal(err)
		}
		return results(s)
	}
	got := run()
	for _, name := range []string{ConvergedName, livecheck.SecurityName, OutputsName, livecheck.MonitoringName} {
		if r := got[name]; r != "pass" {
			t.Errorf("%s on the untouched deployment = %q", name, r)
		}
	}
	// The deployment check passes and says which resources it could not ask about.
	want := "pass (5 of 6 resources asked; no check for aws_s3_bucket_public_access_block)"
	if r := got[livecheck.DeploymentName]; r != want {
		t.Errorf("%s on the untouched deployment = %q, want %q", livecheck.DeploymentName, r, want)
	}
	if r := got[HealthName]; r != "skipped: no *_url or *_endpoint output with an http(s) URL" {
		t.Errorf("health without endpoints = %q", r)
	}

	if _, err := clients.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"postdeploy-errors"}}); err != nil {
		t.Fatal(err)
	}
	got = run()
	for name, want := range map[string]string{
		ConvergedName:            "Plan: 1 to add, 0 to change, 0 to destroy.",
		livecheck.DeploymentName: "aws_cloudwatch_metric_alarm.errors is in the state but not in the account",
		livecheck.MonitoringName: "FAIL: ",
	} {
		if r := got[name]; !strings.HasPrefix(r, "FAIL: ") || !strings.Contains(r, want) {
			t.Errorf("%s after the alarm was deleted = %q, want a failure with %q", name, r, want)
		}
	}
	for _, name := range []string{livecheck.SecurityName, OutputsName} {
		if r := got[name]; r != "pass" {
			t.Errorf("%s after the alarm was deleted = %q", name, r)
		}
	}
}

// A converged failure names every resource the plan would still change, up to
// maxHeadlines, not the attributes of the last one: real Terraform's plan of 25 changes.
func TestPlanHeadlines(t *testing.T) {
	w := tftest.New(t, map[string]string{"main.tf": `
variable "release" {
  type = string
}
resource "terraform_data" "app" {
  count = 25
  input = var.release
}
`})
	w.Init()
	w.Apply("-var=release=1")
	out, _, err := w.Exec("plan", "-input=false", "-no-color", "-detailed-exitcode", "-var=release=2")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("plan: %v, want exit code 2", err)
	}
	got := planHeadlines(out, maxHeadlines)
	var want []string
	for i := range maxHeadlines {
		want = append(want, fmt.Sprintf("# terraform_data.app[%d] will be updated in-place", i))
	}
	want = append(want, "… and 5 more", "Plan: 0 to add, 25 to change, 0 to destroy.")
	if got != strings.Join(want, "\n") {
		t.Errorf("planHeadlines =\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	// Output it does not know is shown by its end, as before.
	if got := planHeadlines("Error: something\nelse", maxHeadlines); got != "Error: something\nelse" {
		t.Errorf("planHeadlines of unknown output = %q", got)
	}
}
