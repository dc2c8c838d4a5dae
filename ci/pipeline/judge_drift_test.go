package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// Judge counts the drift a plan acts on or depends on, not every difference a refresh
// turns up. On real plans of the real hashicorp/aws provider against moto: an untagged
// bucket is read back with tags {} where the state has null, and every later plan said "No
// changes" and warned that the apply would overwrite a change made outside Terraform.
func TestJudgeDrift(t *testing.T) {
	const untagged = "resource \"aws_s3_bucket\" \"data\" {\n  bucket = \"data\"\n}\n"
	const tagged = "resource \"aws_s3_bucket\" \"data\" {\n  bucket = \"data\"\n  tags   = { env = \"test\" }\n}\n"
	tests := []struct {
		name      string
		tf        string
		after     string // the configuration planned after the apply, when it changes
		outOfBand func(ctx context.Context, c *s3.Client) error
		drift     int // in the plan as Terraform wrote it
		kept      int // after Judge
		verdict   gate.Verdict
	}{
		{name: "an untagged bucket planned again", tf: untagged, drift: 1, kept: 0, verdict: gate.Pass},
		// The plan changes the bucket, so its drift entry (tags null → {}) is about an object
		// the apply changes; but it changes nothing anybody made.
		{name: "an untagged bucket the plan updates", tf: untagged, drift: 1, kept: 0, verdict: gate.Pass,
			after: strings.Replace(untagged, "  bucket = \"data\"\n", "  bucket = \"data\"\n  force_destroy = true\n", 1)},
		{name: "tags changed by hand, put back by the plan", tf: tagged, drift: 1, kept: 1, verdict: gate.Warn,
			outOfBand: func(ctx context.Context, c *s3.Client) error {
				_, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("data"),
					Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("env"), Value: aws.String("hand-edited")}}}})
				return err
			}},
	}
	moto := mototest.Start(t)
	moto.Setenv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			moto.Reset(t)
			w := tftest.New(t, map[string]string{"main.tf": tt.tf})
			w.UseRealAWSProviderOn(moto.URL, "s3", "sts")
			w.Init()
			w.Apply()
			if tt.outOfBand != nil {
				if err := tt.outOfBand(context.Background(), s3Client(t, moto)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.after != "" {
				w.Write("main.tf", tt.after)
			}
			js := w.PlanJSON()
			raw, err := plan.Analyze(strings.NewReader(string(js)))
			if err != nil {
				t.Fatal(err)
			}
			if len(raw.Drift) != tt.drift {
				t.Fatalf("the plan holds %d drifted resources, want %d (the provider's shape changed?): %+v", len(raw.Drift), tt.drift, raw.Drift)
			}
			rep, err := Judge(environment.Prod, profile(t, "prod"), string(js), "", nil, gate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Analysis.Drift) != tt.kept || rep.Analysis.Counts.Drift != tt.kept || rep.Decision.Verdict != tt.verdict {
				t.Errorf("Judge kept %d drifted (count %d), verdict %s %q; want %d, %s",
					len(rep.Analysis.Drift), rep.Analysis.Counts.Drift, rep.Decision.Verdict, rep.Decision.Reasons, tt.kept, tt.verdict)
			}
		})
	}
}

func s3Client(t *testing.T, moto *mototest.Server) *s3.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(moto.URL), true })
}
