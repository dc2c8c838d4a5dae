package livecheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// Taken on real plans of the real aws provider against moto: a second state of the same
// stack (another environment named like the first, or a state lost) plans to create every
// object again, and each one whose name the account already has is named, with what its
// create would do; a plan of the stack on an empty account, and a name not known until the
// apply, name nothing.
func TestTaken(t *testing.T) {
	moto := mototest.Start(t)
	moto.Setenv(t)
	services := []string{"cloudwatch", "dynamodb", "iam", "kms", "s3", "sns", "sqs", "sts"}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	clients := NewClients(cfg, moto.URL)
	const prefixed = `
resource "aws_s3_bucket" "logs" {
  bucket_prefix = "live-logs-"
}
resource "aws_sqs_queue" "jobs" {
  name = "live-jobs"
}
resource "aws_iam_role" "app" {
  name               = "live-app"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" } }] })
}
`
	var planJSON []byte // the last plan taken read
	taken := func(t *testing.T) []gate.Taken {
		t.Helper()
		w := tftest.New(t, map[string]string{"main.tf": stack + prefixed})
		w.UseRealAWSProviderOn(moto.URL, services...)
		w.Init()
		planJSON = w.PlanJSON()
		p, err := ReadPlan(planJSON)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Creates) != 12 {
			t.Fatalf("the plan creates %d resources, want the stack's 9, logs, jobs and app", len(p.Creates))
		}
		got, err := Taken(ctx, clients, p)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	if got := taken(t); len(got) != 0 {
		t.Fatalf("on an empty account Taken = %+v, want none", got)
	}

	first := tftest.New(t, map[string]string{"main.tf": stack + prefixed})
	first.UseRealAWSProviderOn(moto.URL, services...)
	first.Init()
	first.Apply()

	got := taken(t)
	var addrs []string
	for _, tk := range got {
		addrs = append(addrs, tk.Address)
		if tk.Name == "" || tk.Effect == "" {
			t.Errorf("%s: no name or effect: %+v", tk.Address, tk)
		}
	}
	slices.Sort(addrs)
	// The key has no name, the subscription, the encryption and the access block belong to
	// objects named elsewhere, and logs' name is only known at apply.
	want := []string{"aws_cloudwatch_metric_alarm.errors", "aws_dynamodb_table.items", "aws_iam_role.app", "aws_kms_alias.data", "aws_s3_bucket.data",
		"aws_sns_topic.alerts", "aws_sqs_queue.jobs"}
	if !slices.Equal(addrs, want) {
		t.Errorf("Taken names %v, want %v", addrs, want)
	}
	for _, tk := range got {
		if tk.HeldAt != "" {
			t.Errorf("%s: held at %s, in another state", tk.Address, tk.HeldAt)
		}
		if tk.Type == "aws_sqs_queue" && !strings.HasPrefix(tk.ID, "http") {
			t.Errorf("the queue's import ID %q is not its URL", tk.ID)
		}
		if tk.Type != "aws_sns_topic" && tk.Type != "aws_sqs_queue" && tk.ID != tk.Name {
			t.Errorf("%s: import ID %q, want its name %q", tk.Address, tk.ID, tk.Name)
		}
		if tk.Type == "aws_sns_topic" && (tk.Name != "live-alerts" || !strings.HasSuffix(tk.ID, ":live-alerts") || !strings.Contains(tk.Effect, "take it over")) {
			t.Errorf("the topic: %+v", tk)
		}
	}

	// TakenIn gives a queue's URL as Terraform's containers reach the emulator.
	in, err := TakenIn(ctx, "us-east-1", moto.URL, "http://aws:5000", planJSON)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(in, func(tk gate.Taken) bool { return tk.Type == "aws_sqs_queue" }); len(in) != len(want) || i < 0 ||
		!strings.HasPrefix(in[i].ID, "http://aws:5000/") || !strings.HasSuffix(in[i].ID, "/live-jobs") {
		t.Errorf("TakenIn = %+v, want %d names, the queue's URL on http://aws:5000", in, len(want))
	}

	// The first state renames its queue's resource without a moved block: the name it creates
	// is the one that state holds, at the old address.
	first.Write("main.tf", strings.Replace(stack+prefixed, `"aws_sqs_queue" "jobs"`, `"aws_sqs_queue" "work"`, 1))
	p, err := ReadPlan(first.PlanJSON())
	if err != nil {
		t.Fatal(err)
	}
	renamed, err := Taken(ctx, clients, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(renamed) != 1 || renamed[0].Address != "aws_sqs_queue.work" || renamed[0].HeldAt != "aws_sqs_queue.jobs" {
		t.Errorf("after the rename Taken = %+v, want aws_sqs_queue.work held at aws_sqs_queue.jobs", renamed)
	}
}

// A bucket name is global: one in another region (HeadBucket answers 301 there) is taken as
// much as one in the plan's own (real plan of the real aws provider, on moto).
func TestTakenBucketInAnotherRegion(t *testing.T) {
	moto := mototest.Start(t)
	moto.Setenv(t)
	ctx := context.Background()
	west, err := config.LoadDefaultConfig(ctx, config.WithRegion("eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewClients(west, moto.URL).S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("live-elsewhere"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}}); err != nil {
		t.Fatal(err)
	}
	w := tftest.New(t, map[string]string{"main.tf": "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"live-elsewhere\"\n}\n"})
	w.UseRealAWSProviderOn(moto.URL, "s3", "sts")
	w.Init()
	p, err := ReadPlan(w.PlanJSON())
	if err != nil {
		t.Fatal(err)
	}
	east, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewClients(east, moto.URL)
	_, headErr := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("live-elsewhere")})
	t.Logf("HeadBucket from us-east-1: %v", headErr)
	got, err := Taken(ctx, c, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Address != "aws_s3_bucket.b" || got[0].ID != "live-elsewhere" {
		t.Errorf("Taken = %+v, want aws_s3_bucket.b", got)
	}
}

// How S3 answers HeadBucket decides: 301 (another region's, as AWS answers) is taken where
// this state cannot adopt it, 404 is free, and a 500 is a name not asked. A 403 is asked
// again without credentials, as S3 answers anyone: 404 there is a name free but for these
// credentials (a least-privilege role), 403 a bucket that exists, another account's. The
// real SDK against a server answering with those codes: moto answers 200 across regions,
// and 500 to requests without credentials.
func TestTakenBucketByS3Answer(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	p := Planned{Creates: []Resource{{Address: "aws_s3_bucket.b", Type: "aws_s3_bucket", Values: map[string]any{"bucket": "shop-data"}}}}
	const notAsked = "1 of 1 names not asked; the first: ask AWS whether aws_s3_bucket \"shop-data\" exists, for aws_s3_bucket.b"
	for _, tt := range []struct {
		name              string
		signed, anonymous int // the answers with and without credentials; 0 when not asked
		taken             bool
		outside, err      string
	}{
		{"another account's", http.StatusForbidden, http.StatusForbidden, true, "(HeadBucket: 403), and it exists", ""},
		{"denied to these credentials, and free", http.StatusForbidden, http.StatusNotFound, false, "", ""},
		{"denied, and not asked without credentials", http.StatusForbidden, http.StatusInternalServerError, false, "", notAsked + ": these credentials may not ask"},
		{"another region's", http.StatusMovedPermanently, 0, true, "(HeadBucket: 301)", ""},
		{"free", http.StatusNotFound, 0, false, "", ""},
		{"not asked", http.StatusInternalServerError, 0, false, "", notAsked},
	} {
		t.Run(tt.name, func(t *testing.T) {
			asked := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodHead || !strings.Contains(r.URL.Path, "shop-data") {
					t.Errorf("asked %s %s", r.Method, r.URL.Path)
				}
				if r.Header.Get("Authorization") != "" {
					w.WriteHeader(tt.signed)
					return
				}
				asked++
				w.WriteHeader(tt.anonymous)
			}))
			defer srv.Close()
			got, err := Taken(ctx, NewClients(cfg, srv.URL), p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if wantAsked := tt.anonymous != 0; (asked > 0) != wantAsked {
				t.Errorf("asked without credentials %d times, want asked %v", asked, wantAsked)
			}
			if (len(got) == 1) != tt.taken {
				t.Fatalf("Taken = %+v, want taken %v", got, tt.taken)
			}
			if tt.taken && !strings.Contains(got[0].Outside, tt.outside) {
				t.Errorf("Outside = %q, want it to say %q", got[0].Outside, tt.outside)
			}
		})
	}
}
