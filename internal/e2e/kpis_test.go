package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/infrapipe/infrapipe/ci/runs"
)

// TestRunRecordsAndKPIs: a passing pipeline, a blocked one and a passing one again each
// leave a record in the state bucket (runs/ beside the backups) with their verdict, steps
// and durations and nothing secret; kpis then reads them back: the recovery from the
// blocked run is measured, the success rate says three deployments are too few, and an
// environment without records says so.
func TestRunRecordsAndKPIs(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	canary, env := secretToken(t)
	ctor := append(append(s.Ctor(), moto.Ctor()...), "--tf-var-file=env:SECRET_TFVARS")
	broken := s.Copy(t)
	broken.Write(t, "broken.tf", "resource \"terraform_data\" \"broken\" {\n  input = var.not_declared\n}\n")
	brokenCtor := append(append(broken.Ctor(), moto.Ctor()...), "--tf-var-file=env:SECRET_TFVARS")

	first := export(t, env, append(slices.Clone(ctor), "pipeline", "--env=test", "--skip-tests")...)
	blocked := export(t, env, append(slices.Clone(brokenCtor), "pipeline", "--env=test", "--skip-tests", "--report-on-failure")...)
	again := export(t, env, append(slices.Clone(ctor), "pipeline", "--env=test", "--skip-tests")...)

	var recs []runs.Record
	for i, dir := range []string{first, blocked, again} {
		var res struct {
			Verdict string        `json:"verdict"`
			Record  *runs.Written `json:"record"`
		}
		if err := json.Unmarshal([]byte(readFile(t, dir, "result.json")), &res); err != nil {
			t.Fatal(err)
		}
		if res.Record == nil || res.Record.Warning != "" || !strings.HasPrefix(res.Record.Key, "runs/test/") {
			t.Fatalf("run %d: result.json record %+v, want a key under runs/test/", i, res.Record)
		}
		data, ok := moto.Object(t, res.Record.Key)
		if !ok {
			t.Fatalf("run %d: no record at %s", i, res.Record.Key)
		}
		assertNoLeak(t, canary, "run record", string(data))
		rec, err := runs.Parse(res.Record.Key, data)
		if err != nil {
			t.Fatal(err)
		}
		if string(rec.Verdict) != res.Verdict || rec.Env != "test" || rec.Kind != runs.KindPipeline || !strings.HasPrefix(rec.Reproduce, "dagger call ") {
			t.Errorf("run %d: record %+v does not match result.json's verdict %s", i, rec, res.Verdict)
		}
		if plan, ok := rec.Step("Plan"); !ok && i != 1 || ok && plan.DurationMS <= 0 || rec.Duration() <= 0 {
			t.Errorf("run %d: steps %+v, duration %s: want a timed plan step", i, rec.Steps, rec.Duration())
		}
		recs = append(recs, rec)
	}
	if recs[0].Verdict == "block" || recs[1].Verdict != "block" || recs[2].Verdict == "block" || !recs[0].Applied || recs[1].Applied {
		t.Fatalf("verdicts %s, %s, %s; applied %v, %v: want pass, block, pass and only the first applying",
			recs[0].Verdict, recs[1].Verdict, recs[2].Verdict, recs[0].Applied, recs[1].Applied)
	}

	dir := export(t, nil, append(append(s.Ctor(), moto.Ctor()...), "kpis", "--since=1d")...)
	md := readFile(t, dir, "kpis.md")
	var report struct {
		Envs []struct {
			Env         string `json:"env"`
			Runs        int    `json:"runs"`
			Deployments int    `json:"deployments"`
			KPIs        []struct {
				Key     string   `json:"key"`
				Value   *float64 `json:"value"`
				Samples int      `json:"samples"`
				Note    string   `json:"note"`
			} `json:"kpis"`
		} `json:"environments"`
	}
	if err := json.Unmarshal([]byte(readFile(t, dir, "kpis.json")), &report); err != nil {
		t.Fatal(err)
	}
	if len(report.Envs) != 4 || report.Envs[1].Env != "test" || report.Envs[1].Runs != 3 || report.Envs[1].Deployments != 3 {
		t.Fatalf("kpis.json environments %+v", report.Envs)
	}
	for _, k := range report.Envs[1].KPIs {
		switch k.Key {
		case "recovery_time":
			// From the end of the blocked run to the end of the next success, by the bucket's
			// clock: positive and shorter than the test.
			if k.Value == nil || *k.Value <= 0 || *k.Value > 60 || k.Samples != 1 {
				t.Errorf("recovery time %v over %d (%s)", k.Value, k.Samples, k.Note)
			}
		case "success_rate":
			if k.Value != nil || k.Note != "too few deployments for a figure (3; it takes 5)" {
				t.Errorf("success rate %v, note %q", k.Value, k.Note)
			}
		}
	}
	for _, want := range []string{"# Deployment KPIs", "## preview\n\nNo run records in the period", "## test\n\n3 runs, 3 of them deployments.", "| Mean time to recovery | **", "## How each KPI is computed", "dagger call"} {
		if !strings.Contains(md, want) {
			t.Errorf("kpis.md lacks %q:\n%s", want, md)
		}
	}

	// The workflow's weekly step, as GitHub runs it (the empty session token included).
	argv := workflowCall(t, "infrastructure.yml", "drift", "KPIs")
	args := append(append(s.Ctor(), moto.Ctor()...), expand(argv, map[string]string{"AWS_REGION": "us-east-1", "ENVIRONMENT": "test"})...)
	weekly := filepath.Join(t.TempDir(), "kpis")
	args[len(args)-1] = "--path=" + weekly
	mustCall(t, []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN="}, args...)
	if md := readFile(t, weekly, "kpis.md"); !strings.Contains(md, "## test\n\n3 runs") || strings.Contains(md, "## prod") {
		t.Errorf("the weekly step's kpis.md:\n%s", md)
	}

	// A record of a newer schema is counted, not read.
	newer := "runs/test/" + time.Now().UTC().Format("2006/01/02") + "/" + runs.NewID(time.Now(), "newer") + "_v9_x.json"
	if _, err := moto.S3().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(stateBucket), Key: aws.String(newer), Body: strings.NewReader("{}")}); err != nil {
		t.Fatal(err)
	}
	dir = export(t, nil, append(append(s.Ctor(), moto.Ctor()...), "kpis", "--env=test", "--since=2d")...)
	if md := readFile(t, dir, "kpis.md"); !strings.Contains(md, "1 record(s) come from a newer infrapipe") || !strings.Contains(md, "3 runs") {
		t.Errorf("kpis.md with a newer record:\n%s", md)
	}
}
