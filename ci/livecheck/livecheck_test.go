package livecheck

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// stack is deployed with the real hashicorp/aws provider on moto: a bucket encrypted with a
// KMS key behind a public access block, a table with KMS encryption, an encrypted topic with
// a subscription, and an alarm that notifies it.
const stack = `
resource "aws_kms_key" "data" {}
resource "aws_kms_alias" "data" {
  name          = "alias/live-data"
  target_key_id = aws_kms_key.data.key_id
}
resource "aws_s3_bucket" "data" {
  bucket        = "live-data"
  force_destroy = true
}
resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
  }
}
resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
resource "aws_dynamodb_table" "items" {
  name         = "live-items"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
  server_side_encryption {
    enabled = true
  }
}
resource "aws_sns_topic" "alerts" {
  name              = "live-alerts"
  kms_master_key_id = "alias/aws/sns"
}
resource "aws_sns_topic_subscription" "oncall" {
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = "oncall@example.com"
}
resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "live-errors"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  metric_name         = "Errors"
  namespace           = "AWS/Lambda"
  period              = 60
  statistic           = "Sum"
  threshold           = 1
  alarm_actions       = [aws_sns_topic.alerts.arn]
}
`

// queueAndRole are deployed beside stack for the deployment check (TestTaken adds its own):
// a queue, a role and a policy, a parameter, a network.
const queueAndRole = `
resource "aws_iam_policy" "read" {
  name = "live-read"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }]
  })
}
resource "aws_ssm_parameter" "level" {
  name  = "/live/log-level"
  type  = "String"
  value = "info"
}
resource "aws_vpc" "main" {
  cidr_block = "10.20.0.0/16"
}
resource "aws_subnet" "a" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.20.1.0/24"
}
resource "aws_security_group" "web" {
  name   = "live-web"
  vpc_id = aws_vpc.main.id
}
resource "aws_sqs_queue" "work" {
  name = "live-work"
}
resource "aws_iam_role" "runner" {
  name = "live-runner"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" } }]
  })
}
`

// deploy applies the stack, with queueAndRole, on moto and returns its resources as
// `terraform show -json` records them, and clients for the same emulator.
func deploy(t *testing.T) ([]Resource, Clients) {
	t.Helper()
	moto := mototest.Start(t)
	moto.Setenv(t)
	w := tftest.New(t, map[string]string{"main.tf": stack + queueAndRole})
	w.UseRealAWSProviderOn(moto.URL, "cloudwatch", "dynamodb", "ec2", "iam", "kms", "s3", "sns", "sqs", "ssm", "sts")
	w.Init()
	w.Apply()
	rs, err := Resources([]byte(w.Run("show", "-json")))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	return rs, NewClients(cfg, moto.URL)
}

// The checks on a real deployment pass, then each fails, naming the address, once the
// account is changed by hand: a bucket deleted, its encryption removed, its public access
// block loosened, an alarm stripped of its actions, a topic's subscription removed.
func TestChecksOnMoto(t *testing.T) {
	rs, c := deploy(t)
	ctx := context.Background()
	run := func(check func(context.Context, Clients, []Resource) (Result, error)) Result {
		t.Helper()
		r, err := check(ctx, c, rs)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, check := range []func(context.Context, Clients, []Resource) (Result, error){Deployment, Security, Monitoring} {
		if r := run(check); r.Failure != "" || r.Skipped != "" {
			t.Errorf("%s on the untouched deployment: failure %q, skipped %q", r.Name, r.Failure, r.Skipped)
		}
	}
	if dep, want := run(Deployment), "14 of 16 resources asked; no check for aws_s3_bucket_public_access_block, aws_s3_bucket_server_side_encryption_configuration"; dep.Note != want {
		t.Errorf("deployment's note = %q, want %q", dep.Note, want)
	}

	// Encryption removed and public access loosened by hand.
	if _, err := c.S3.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String("live-data")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("live-data"),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(false),
			IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	sec := run(Security)
	for _, want := range []string{"aws_s3_bucket_server_side_encryption_configuration.data: bucket live-data", "aws:kms",
		"aws_s3_bucket_public_access_block.data: bucket live-data has block_public_policy = false"} {
		if !strings.Contains(sec.Failure, want) {
			t.Errorf("security after the hand edits lacks %q:\n%s", want, sec.Failure)
		}
	}

	// An alarm without actions, and the topic's subscription gone.
	if _, err := c.CloudWatch.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("live-errors"),
		ComparisonOperator: "GreaterThanThreshold", EvaluationPeriods: aws.Int32(1), MetricName: aws.String("Errors"),
		Namespace: aws.String("AWS/Lambda"), Period: aws.Int32(60), Statistic: "Sum", Threshold: aws.Float64(1)}); err != nil {
		t.Fatal(err)
	}
	if mon := run(Monitoring); !strings.Contains(mon.Failure, "aws_cloudwatch_metric_alarm.errors: alarm live-errors has no alarm actions") {
		t.Errorf("monitoring of an alarm without actions:\n%s", mon.Failure)
	}
	var topic, keyID string
	for _, r := range rs {
		switch r.Address {
		case "aws_sns_topic.alerts":
			topic = r.str("arn")
		case "aws_kms_key.data":
			keyID = r.str("key_id")
		}
	}
	if _, err := c.CloudWatch.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("live-errors"),
		ComparisonOperator: "GreaterThanThreshold", EvaluationPeriods: aws.Int32(1), MetricName: aws.String("Errors"),
		Namespace: aws.String("AWS/Lambda"), Period: aws.Int32(60), Statistic: "Sum", Threshold: aws.Float64(1), AlarmActions: []string{topic}}); err != nil {
		t.Fatal(err)
	}
	subs, err := c.SNS.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	if err != nil || len(subs.Subscriptions) == 0 {
		t.Fatalf("the topic's subscriptions: %v, %v", subs, err)
	}
	for _, s := range subs.Subscriptions {
		if _, err := c.SNS.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: s.SubscriptionArn}); err != nil {
			t.Fatal(err)
		}
	}
	if mon := run(Monitoring); !strings.Contains(mon.Failure, "which has no subscription: nobody hears it") {
		t.Errorf("monitoring of a topic without subscribers:\n%s", mon.Failure)
	}

	// The bucket deleted and the key scheduled for deletion by hand; the subscription went
	// above.
	if _, err := c.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("live-data")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyID), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	queue, err := c.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("live-work")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: queue.QueueUrl}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("live-runner")}); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		var err error
		switch r.Address {
		case "aws_iam_policy.read":
			_, err = c.IAM.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(r.str("arn"))})
		case "aws_security_group.web":
			_, err = c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(r.str("id"))})
		case "aws_subnet.a":
			_, err = c.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(r.str("id"))})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SSM.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/live/log-level")}); err != nil {
		t.Fatal(err)
	}
	dep := run(Deployment)
	for _, want := range []string{"aws_s3_bucket.data", "aws_kms_key.data", "aws_sns_topic_subscription.oncall", "aws_sqs_queue.work", "aws_iam_role.runner",
		"aws_iam_policy.read", "aws_ssm_parameter.level", "aws_subnet.a", "aws_security_group.web"} {
		if !strings.Contains(dep.Failure, want+" is in the state but not in the account") {
			t.Errorf("deployment after the hand deletions does not name %s:\n%s", want, dep.Failure)
		}
	}
	for _, kept := range []string{"aws_kms_alias.data", "aws_vpc.main"} {
		if strings.Contains(dep.Failure, kept) {
			t.Errorf("deployment names %s, which still exists:\n%s", kept, dep.Failure)
		}
	}
}

// A state without alarms fails monitoring, and one without settings to compare skips
// security, each saying why.
func TestNothingToCheck(t *testing.T) {
	rs := []Resource{{Address: "terraform_data.x", Type: "terraform_data"}}
	if r, err := Monitoring(context.Background(), Clients{}, rs); err != nil || !strings.Contains(r.Failure, "the state holds no aws_cloudwatch_metric_alarm") {
		t.Errorf("Monitoring without alarms = %+v, %v", r, err)
	}
	if r, err := Security(context.Background(), Clients{}, rs); err != nil || r.Failure != "" || !strings.Contains(r.Skipped, "sets no bucket encryption") {
		t.Errorf("Security with nothing to compare = %+v, %v", r, err)
	}
	if r, err := Deployment(context.Background(), Clients{}, rs); err != nil || r.Failure != "" || !strings.Contains(r.Skipped, "no resource of a type") {
		t.Errorf("Deployment with nothing to ask = %+v, %v", r, err)
	}
	if rs, err := Resources([]byte("{")); err == nil || rs != nil {
		t.Errorf("Resources of broken JSON = %v, %v", rs, err)
	}
}

// westStack keeps its resources in us-west-2 through a provider alias, beside the default
// provider's us-east-1 (tftest's provider.tf).
const westStack = `
resource "aws_dynamodb_table" "west" {
  provider     = aws.west
  name         = "west-items"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
}
resource "aws_sns_topic" "west" {
  provider = aws.west
  name     = "west-alerts"
}
resource "aws_sns_topic_subscription" "west" {
  provider  = aws.west
  topic_arn = aws_sns_topic.west.arn
  protocol  = "sqs"
  endpoint  = "arn:aws:sqs:us-west-2:123456789012:west-queue"
}
resource "aws_cloudwatch_metric_alarm" "west" {
  provider            = aws.west
  alarm_name          = "west-errors"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  metric_name         = "Errors"
  namespace           = "AWS/Lambda"
  period              = 60
  statistic           = "Sum"
  threshold           = 1
  alarm_actions       = [aws_sns_topic.west.arn]
}
`

// Resources of another region (a provider alias) are asked in their region, read from the
// state: asked in the clients' us-east-1 they looked deleted after every apply.
func TestChecksAskEachResourceInItsRegion(t *testing.T) {
	moto := mototest.Start(t)
	moto.Setenv(t)
	w := tftest.New(t, map[string]string{"main.tf": westStack +
		tftest.AWSProvider("west", "us-west-2", moto.URL, "cloudwatch", "dynamodb", "sns", "sts")})
	w.UseRealAWSProviderOn(moto.URL, "cloudwatch", "dynamodb", "sns", "sts")
	w.Init()
	w.Apply()
	rs, err := Resources([]byte(w.Run("show", "-json")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	east, err := Connect(ctx, "us-east-1", moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, check := range []func(context.Context, Clients, []Resource) (Result, error){Deployment, Monitoring} {
		if r, err := check(ctx, east, rs); err != nil || r.Failure != "" {
			t.Errorf("%s on resources in us-west-2: %+v, %v", r.Name, r, err)
		}
	}
	// Deleted by hand in its region, the table is named.
	if _, err := east.In("us-west-2").DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("west-items")}); err != nil {
		t.Fatal(err)
	}
	if r, err := Deployment(ctx, east, rs); err != nil || !strings.Contains(r.Failure, "aws_dynamodb_table.west is in the state but not in the account") {
		t.Errorf("Deployment after the west table was deleted: %+v, %v", r, err)
	}
}
