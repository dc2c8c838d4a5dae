package gate

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/providertest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/plan"
)

const bucket = `
resource "aws_s3_bucket" "logs" {
  bucket = "logs"
  tags   = { env = "test" }
}
`

// TestDecideAWSPlans uses the moto-backed stand-in for the AWS provider, which reads what
// moto really holds: so out-of-band changes made with the AWS SDK give real resource_drift,
// and aws_s3_bucket is a real protected type.
func TestDecideAWSPlans(t *testing.T) {
	tests := []struct {
		name       string
		before     string
		outOfBand  func(ctx context.Context, c *s3.Client) error
		after      string
		wantCounts plan.Counts
		want       verdicts // preview, test, staging, prod, prod with --force-recreate
		reason     string   // a substring of the prod reasons
	}{
		{
			name:   "tags changed outside Terraform",
			before: bucket,
			outOfBand: func(ctx context.Context, c *s3.Client) error {
				_, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("logs"),
					Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("env"), Value: aws.String("hand-edited")}}}})
				return err
			},
			after:      bucket,
			wantCounts: plan.Counts{Update: 1, Drift: 1},
			want:       verdicts{Warn, Warn, Warn, Warn, Warn},
			reason:     "aws_s3_bucket.logs changed outside Terraform (update); this apply overwrites that change",
		},
		{
			name:   "deleted outside Terraform",
			before: bucket,
			outOfBand: func(ctx context.Context, c *s3.Client) error {
				_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("logs")})
				return err
			},
			after:      bucket,
			wantCounts: plan.Counts{Create: 1, Drift: 1},
			want:       verdicts{Warn, Warn, Warn, Warn, Warn},
			reason:     "aws_s3_bucket.logs changed outside Terraform (delete)",
		},
		{
			name:       "protected bucket replaced",
			before:     bucket,
			after:      strings.Replace(bucket, `bucket = "logs"`, `bucket = "logs-v2"`, 1),
			wantCounts: plan.Counts{Replace: 1, ReplaceDeleteFirst: 1},
			want:       verdicts{Warn, Warn, Warn, Block, Warn},
			reason:     "prod plan replaces aws_s3_bucket.logs (bucket changed); aws_s3_bucket is a protected type whose data would be lost",
		},
		{
			name:   "existing bucket imported",
			before: "",
			outOfBand: func(ctx context.Context, c *s3.Client) error {
				_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("logs")})
				return err
			},
			after:      "import {\n  to = aws_s3_bucket.logs\n  id = \"logs\"\n}\n" + bucket,
			wantCounts: plan.Counts{Import: 1, Update: 1},
			want:       verdicts{Pass, Pass, Pass, Pass, Pass},
		},
		{
			// The configuration names another bucket than the one imported: adopting it
			// would destroy it, in any environment.
			name:   "existing bucket imported, then replaced",
			before: "",
			outOfBand: func(ctx context.Context, c *s3.Client) error {
				_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("logs")})
				return err
			},
			after:      "import {\n  to = aws_s3_bucket.logs\n  id = \"logs\"\n}\n" + strings.Replace(bucket, `bucket = "logs"`, `bucket = "logs-v2"`, 1),
			wantCounts: plan.Counts{Import: 1, Replace: 1, ReplaceDeleteFirst: 1},
			want:       verdicts{Block, Block, Block, Block, Warn},
			reason:     "prod plan imports aws_s3_bucket.logs and then replaces it (bucket changed): the existing object differs",
		},
	}
	moto := mototest.Start(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			moto.Reset(t)
			w := tftest.New(t, nil)
			providertest.Use(t, w, moto)
			if tt.before != "" {
				w.Write("main.tf", tt.before)
				w.Init()
				w.Apply()
			}
			if tt.outOfBand != nil {
				if err := tt.outOfBand(context.Background(), s3Client(moto)); err != nil {
					t.Fatal(err)
				}
			}
			w.Write("main.tf", tt.after)
			w.Init()
			a, err := plan.Analyze(bytes.NewReader(w.PlanJSON()))
			if err != nil {
				t.Fatal(err)
			}
			if a.Counts != tt.wantCounts {
				t.Errorf("counts = %+v\nwant     %+v", a.Counts, tt.wantCounts)
			}
			runs := []struct {
				env   environment.Name
				force bool
			}{{environment.Preview, false}, {environment.Test, false}, {environment.Staging, false}, {environment.Prod, false}, {environment.Prod, true}}
			for i, r := range runs {
				d := Decide(a, profile(t, r.env, false), Options{ForceRecreate: r.force})
				if d.Verdict != tt.want[i] {
					t.Errorf("%s force=%v: verdict %s, want %s; reasons %q", r.env, r.force, d.Verdict, tt.want[i], d.Reasons)
				}
				if r.env == environment.Prod && !r.force && tt.reason != "" && !strings.Contains(strings.Join(d.Reasons, "\n"), tt.reason) {
					t.Errorf("prod reasons %q do not contain %q", d.Reasons, tt.reason)
				}
			}
		})
	}
}

func s3Client(moto *mototest.Server) *s3.Client {
	return s3.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(moto.URL),
	}, func(o *s3.Options) { o.UsePathStyle = true })
}
