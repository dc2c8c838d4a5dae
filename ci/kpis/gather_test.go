package kpis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/runs"
	"github.com/infrapipe/infrapipe/ci/state"
)

// gatherEnv is how an environment of a Gather test opens: with a state bucket or not, or
// not at all.
type gatherEnv struct {
	bucket, tag string
	openErr     error
	ceErr       error // the Cost Explorer client's
}

// opener opens the environments of envs on moto at url, counting the S3 and Cost
// Explorer clients made.
func opener(t *testing.T, url string, envs map[environment.Name]gatherEnv, objects, ces *int) Opener {
	return func(ctx context.Context, name environment.Name) (Source, error) {
		e := envs[name]
		if e.openErr != nil {
			return Source{}, e.openErr
		}
		p, err := environment.Default(name)
		if err != nil {
			t.Fatal(err)
		}
		p.Backend.Bucket, p.EnvironmentTagKey = e.bucket, e.tag
		p.KPIs.SuccessRate = 42 // told apart from the defaults
		return Source{
			Profile: p,
			Objects: func(ctx context.Context) (runs.Objects, error) {
				*objects++
				return state.NewS3Client(ctx, "us-east-1", url)
			},
			CostExplorer: func(ctx context.Context) (CostAndUsage, error) {
				*ces++
				if e.ceErr != nil {
					return nil, e.ceErr
				}
				return NewCostExplorer(ctx, url)
			},
		}, nil
	}
}

// Gather reads generated records from a real bucket on moto: each environment's own, in
// the order asked; an environment without a bucket, one that does not open and one whose
// bucket is missing are inputs that say why; the bill is read once for the two environments
// sharing a tag key.
func TestGatherOnMoto(t *testing.T) {
	billDay := from.AddDate(0, 0, 3)
	moto := motoCE(t, map[string]any{
		"ResultsByTime":    []any{day(billDay, group("Environment$prod", "26.4"))},
		"GroupDefinitions": []any{}, "DimensionValueAttributes": []any{},
	})
	ctx := context.Background()
	const bucket = "infrapipe-terraform-state"
	client := moto.Bucket(t, bucket)
	prefix := runs.Prefix("shop")
	written := map[environment.Name]int{environment.Staging: 3, environment.Prod: 5}
	for env, n := range written {
		for i := range n {
			r := run(env, runs.KindPipeline, i, from.Add(time.Duration(i+1)*24*time.Hour), 10*time.Minute, gate.Pass)
			if w := runs.Write(ctx, client, bucket, prefix, r, runs.WriteTimeout); w.Warning != "" {
				t.Fatal(w.Warning)
			}
		}
	}
	// A record before the period is not read.
	old := run(environment.Prod, runs.KindPipeline, 99, from.Add(-48*time.Hour), time.Minute, gate.Pass)
	if w := runs.Write(ctx, client, bucket, prefix, old, runs.WriteTimeout); w.Warning != "" {
		t.Fatal(w.Warning)
	}

	for _, tc := range []struct {
		name    string
		envs    map[environment.Name]gatherEnv
		billing bool
		unread  map[environment.Name]string
		records map[environment.Name]int
		err     []string // what the error says; nil when some environment was read
		objects int      // S3 clients made: one per environment with a bucket
		ces     int
	}{
		{
			name: "two read and billed once, one without a bucket, one that does not open",
			envs: map[environment.Name]gatherEnv{
				environment.Preview: {openErr: errors.New("pipeline.yaml: preview is disabled\n")},
				environment.Test:    {tag: "Environment"},
				environment.Staging: {bucket: bucket, tag: "Environment"},
				environment.Prod:    {bucket: bucket, tag: "Environment"},
			},
			billing: true,
			unread: map[environment.Name]string{
				environment.Preview: "pipeline.yaml: preview is disabled",
				environment.Test:    "no state bucket (pipeline.yaml backend.bucket) holds its records",
			},
			records: written,
			objects: 2,
			ces:     1,
		},
		{
			name: "a missing bucket, without billing",
			envs: map[environment.Name]gatherEnv{
				environment.Preview: {bucket: "no-such-bucket"},
				environment.Test:    {bucket: bucket},
				environment.Staging: {bucket: bucket},
				environment.Prod:    {bucket: bucket},
			},
			unread:  map[environment.Name]string{environment.Preview: "no-such-bucket"},
			records: written,
			objects: 4,
		},
		{
			name: "a bill that cannot be read is asked once",
			envs: map[environment.Name]gatherEnv{
				environment.Preview: {},
				environment.Test:    {bucket: bucket, tag: "Environment", ceErr: errors.New("no Cost Explorer")},
				environment.Staging: {bucket: bucket, tag: "Environment", ceErr: errors.New("no Cost Explorer")},
				environment.Prod:    {bucket: bucket, tag: "env", ceErr: errors.New("no Cost Explorer")},
			},
			billing: true,
			unread: map[environment.Name]string{
				environment.Preview: "no state bucket", environment.Test: "no Cost Explorer", environment.Staging: "no Cost Explorer", environment.Prod: "no Cost Explorer",
			},
			records: written,
			err:     []string{"preview: no state bucket", "test: no Cost Explorer", "staging: no Cost Explorer", "prod: no Cost Explorer"},
			objects: 3,
			ces:     2,
		},
		{
			name: "none read",
			envs: map[environment.Name]gatherEnv{
				environment.Preview: {openErr: errors.New("no profile")},
				environment.Test:    {},
				environment.Staging: {bucket: "no-such-bucket"},
				environment.Prod:    {openErr: errors.New("no profile")},
			},
			billing: true,
			unread: map[environment.Name]string{
				environment.Preview: "no profile", environment.Test: "no state bucket", environment.Staging: "no-such-bucket", environment.Prod: "no profile",
			},
			err:     []string{"preview: no profile", "test: no state bucket", "staging: ", "prod: no profile"},
			objects: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var objects, ces int
			inputs, err := Gather(ctx, environment.Names, opener(t, moto.URL, tc.envs, &objects, &ces), prefix, from, to, tc.billing)
			switch {
			case tc.err == nil && err != nil:
				t.Fatalf("Gather: %v", err)
			case tc.err != nil && err == nil:
				t.Fatalf("Gather succeeded, want an error naming every environment")
			}
			for _, want := range tc.err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if len(inputs) != len(environment.Names) {
				t.Fatalf("%d inputs for %d environments", len(inputs), len(environment.Names))
			}
			for i, in := range inputs {
				name := environment.Names[i]
				if in.History.Env != name {
					t.Errorf("input %d is %q, want %s", i, in.History.Env, name)
				}
				if want := tc.unread[name]; want == "" && in.Unread != "" || want != "" && !strings.Contains(in.Unread, want) {
					t.Errorf("%s unread %q, want %q", name, in.Unread, want)
				}
				if strings.TrimSpace(in.Unread) != in.Unread {
					t.Errorf("%s unread %q is not trimmed", name, in.Unread)
				}
				if got := len(in.History.Records); got != tc.records[name] {
					t.Errorf("%s: %d records, want %d", name, got, tc.records[name])
				}
				if opened := tc.envs[name].openErr == nil; opened != (in.Targets.SuccessRate == 42) {
					t.Errorf("%s: targets %+v (opened %v)", name, in.Targets, opened)
				}
				billed := tc.billing && in.Unread == ""
				if billed != (in.Billed != nil) {
					t.Errorf("%s: billed %+v, want a bill %v", name, in.Billed, billed)
				}
			}
			if objects != tc.objects {
				t.Errorf("%d S3 clients, want %d", objects, tc.objects)
			}
			if ces != tc.ces {
				t.Errorf("%d Cost Explorer clients, want %d", ces, tc.ces)
			}
			if tc.billing && tc.err == nil {
				if got := inputs[3].Billed.Days[billDay]; got != 26.4 {
					t.Errorf("prod billed %v on %s, want 26.4", got, billDay.Format(time.DateOnly))
				}
				if got := len(inputs[2].Billed.Days); got != 0 {
					t.Errorf("staging billed on %d days, want none", got)
				}
			}
		})
	}
}
