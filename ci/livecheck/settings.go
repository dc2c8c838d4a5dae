package livecheck

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// SecurityName and MonitoringName are the checks' names in reports.
const (
	SecurityName   = "security: encryption and public access as configured"
	MonitoringName = "monitoring: alarms exist and notify a subscribed topic"
)

// first is the first element of a nested block list, as the state records blocks.
func first(v any) map[string]any {
	l, _ := v.([]any)
	if len(l) == 0 {
		return nil
	}
	m, _ := l[0].(map[string]any)
	return m
}

// Security compares the settings the API reports with what the configuration asked for:
// bucket encryption and public access blocks, table encryption, topic encryption. Only what
// the configuration sets is compared.
func Security(ctx context.Context, c Clients, rs []Resource) (Result, error) {
	var problems []string
	compared := 0
	for _, r := range rs {
		var (
			p   []string
			err error
		)
		c := c.In(r.region())
		switch r.Type {
		case "aws_s3_bucket_server_side_encryption_configuration":
			p, err = bucketEncryption(ctx, c, r)
		case "aws_s3_bucket_public_access_block":
			p, err = publicAccessBlock(ctx, c, r)
		case "aws_dynamodb_table":
			if sse := first(r.Values["server_side_encryption"]); sse != nil && sse["enabled"] == true {
				p, err = tableEncryption(ctx, c, r)
			} else {
				continue
			}
		case "aws_sns_topic":
			if r.str("kms_master_key_id") == "" {
				continue
			}
			p, err = topicEncryption(ctx, c, r)
		default:
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("ask AWS about %s: %w", r.Address, err)
		}
		compared++
		problems = append(problems, p...)
	}
	skipped := ""
	if compared == 0 {
		skipped = "the configuration sets no bucket encryption, public access block, table or topic encryption to compare"
	}
	return result(SecurityName, problems, skipped), nil
}

func bucketEncryption(ctx context.Context, c Clients, r Resource) ([]string, error) {
	want := first(first(r.Values["rule"])["apply_server_side_encryption_by_default"])
	bucket := r.str("bucket")
	out, err := c.S3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	if ok, err := gone(err); !ok {
		if err != nil && !strings.Contains(err.Error(), "ServerSideEncryptionConfigurationNotFound") {
			return nil, err
		}
		return []string{fmt.Sprintf("%s: bucket %s has no default encryption; the configuration asks for %v", r.Address, bucket, want["sse_algorithm"])}, nil
	}
	var got string
	var gotKey string
	if out.ServerSideEncryptionConfiguration != nil && len(out.ServerSideEncryptionConfiguration.Rules) > 0 {
		if d := out.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault; d != nil {
			got, gotKey = string(d.SSEAlgorithm), aws.ToString(d.KMSMasterKeyID)
		}
	}
	wantAlg, _ := want["sse_algorithm"].(string)
	if got != wantAlg {
		return []string{fmt.Sprintf("%s: bucket %s is encrypted with %q, the configuration asks for %q", r.Address, bucket, got, wantAlg)}, nil
	}
	if wantKey, _ := want["kms_master_key_id"].(string); wantKey != "" && !sameKey(wantKey, gotKey) {
		return []string{fmt.Sprintf("%s: bucket %s uses KMS key %q, the configuration asks for %q", r.Address, bucket, gotKey, wantKey)}, nil
	}
	return nil, nil
}

// sameKey compares a KMS key given as an ID or an ARN.
func sameKey(a, b string) bool {
	return a == b || (a != "" && b != "" && (strings.HasSuffix(a, "/"+b) || strings.HasSuffix(b, "/"+a)))
}

func publicAccessBlock(ctx context.Context, c Clients, r Resource) ([]string, error) {
	bucket := r.str("bucket")
	out, err := c.S3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket)})
	if ok, err := gone(err); !ok {
		if err != nil && !strings.Contains(err.Error(), "NoSuchPublicAccessBlockConfiguration") {
			return nil, err
		}
		return []string{fmt.Sprintf("%s: bucket %s has no public access block", r.Address, bucket)}, nil
	}
	cfg := out.PublicAccessBlockConfiguration
	var p []string
	for _, f := range []struct {
		attr string
		got  *bool
	}{
		{"block_public_acls", cfg.BlockPublicAcls}, {"block_public_policy", cfg.BlockPublicPolicy},
		{"ignore_public_acls", cfg.IgnorePublicAcls}, {"restrict_public_buckets", cfg.RestrictPublicBuckets},
	} {
		want, _ := r.Values[f.attr].(bool)
		if aws.ToBool(f.got) != want {
			p = append(p, fmt.Sprintf("%s: bucket %s has %s = %v, the configuration asks for %v", r.Address, bucket, f.attr, aws.ToBool(f.got), want))
		}
	}
	return p, nil
}

func tableEncryption(ctx context.Context, c Clients, r Resource) ([]string, error) {
	out, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.str("name"))})
	if ok, err := gone(err); !ok {
		if err != nil {
			return nil, err
		}
		return []string{r.Address + ": the table is not in the account"}, nil
	}
	if sse := out.Table.SSEDescription; sse == nil || (sse.Status != "ENABLED" && sse.Status != "ENABLING") {
		return []string{fmt.Sprintf("%s: table %s is not encrypted with a KMS key; the configuration enables server_side_encryption", r.Address, r.str("name"))}, nil
	}
	return nil, nil
}

func topicEncryption(ctx context.Context, c Clients, r Resource) ([]string, error) {
	out, err := c.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(r.str("arn"))})
	if ok, err := gone(err); !ok {
		if err != nil {
			return nil, err
		}
		return []string{r.Address + ": the topic is not in the account"}, nil
	}
	want, got := r.str("kms_master_key_id"), out.Attributes["KmsMasterKeyId"]
	if !sameKey(want, got) {
		return []string{fmt.Sprintf("%s: topic is encrypted with %q, the configuration asks for %q", r.Address, got, want)}, nil
	}
	return nil, nil
}

// Monitoring checks every alarm of the state in the account: it exists, it has actions, and
// each SNS topic it notifies exists and has at least one subscription. A state without
// alarms fails: nothing watches the deployment (a stack without alarms leaves monitoring
// out of post_deploy in pipeline.yaml).
func Monitoring(ctx context.Context, c Clients, rs []Resource) (Result, error) {
	var problems []string
	alarms := 0
	for _, r := range rs {
		if r.Type != "aws_cloudwatch_metric_alarm" {
			continue
		}
		alarms++
		name := r.str("alarm_name")
		out, err := c.In(r.region()).CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
		if err != nil {
			return Result{}, fmt.Errorf("ask AWS about %s: %w", r.Address, err)
		}
		if len(out.MetricAlarms) == 0 {
			problems = append(problems, fmt.Sprintf("%s: alarm %s is not in the account", r.Address, name))
			continue
		}
		actions := out.MetricAlarms[0].AlarmActions
		if len(actions) == 0 {
			problems = append(problems, fmt.Sprintf("%s: alarm %s has no alarm actions: it fires without telling anyone", r.Address, name))
			continue
		}
		for _, arn := range actions {
			if !strings.HasPrefix(arn, "arn:aws:sns:") {
				continue
			}
			p, err := heard(ctx, c, r.Address, arn)
			if err != nil {
				return Result{}, err
			}
			problems = append(problems, p...)
		}
	}
	if alarms == 0 {
		problems = append(problems, "the state holds no aws_cloudwatch_metric_alarm: nothing watches this deployment (a stack without alarms leaves monitoring out of post_deploy in pipeline.yaml)")
	}
	return result(MonitoringName, problems, ""), nil
}

// heard checks that an alarm's topic exists and somebody is subscribed to it.
func heard(ctx context.Context, c Clients, address, topic string) ([]string, error) {
	c = c.In(arnRegion(topic))
	_, err := c.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topic)})
	if ok, err := gone(err); !ok {
		if err != nil {
			return nil, fmt.Errorf("ask AWS about topic %s of %s: %w", topic, address, err)
		}
		return []string{fmt.Sprintf("%s: notifies topic %s, which is not in the account", address, topic)}, nil
	}
	subs, err := c.SNS.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	if err != nil {
		return nil, fmt.Errorf("list the subscriptions of %s: %w", topic, err)
	}
	confirmed := 0
	for _, s := range subs.Subscriptions {
		if aws.ToString(s.SubscriptionArn) != "PendingConfirmation" {
			confirmed++
		}
	}
	switch {
	case len(subs.Subscriptions) == 0:
		return []string{fmt.Sprintf("%s: notifies topic %s, which has no subscription: nobody hears it", address, topic)}, nil
	case confirmed == 0:
		return []string{fmt.Sprintf("%s: notifies topic %s, whose subscriptions all wait for confirmation: nobody hears it yet", address, topic)}, nil
	}
	return nil, nil
}
