// Package livecheck asks the cloud, not the state, whether a deployment is what Terraform
// recorded: every managed resource exists in the account, the security settings the API
// reports are the ones the configuration asked for, and every alarm sends to a topic that
// exists and that somebody is subscribed to. The state says what Terraform believes; these
// checks catch what was changed or deleted by hand since.
package livecheck

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/plan"
)

// Clients are the AWS APIs the checks ask.
type Clients struct {
	S3         *s3.Client
	DynamoDB   *dynamodb.Client
	SNS        *sns.Client
	CloudWatch *cloudwatch.Client
	KMS        *kms.Client
	IAM        *iam.Client
	SQS        *sqs.Client
	SSM        *ssm.Client
	EC2        *ec2.Client

	// cfg and endpoint make the clients of another region (In).
	cfg      aws.Config
	endpoint string
}

// NewClients builds the clients from one AWS configuration; endpoint, when set, points
// every service at an emulator.
func NewClients(cfg aws.Config, endpoint string) Clients {
	var ep *string
	if endpoint != "" {
		ep = aws.String(endpoint)
	}
	return Clients{
		cfg: cfg, endpoint: endpoint,
		S3:       s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = ep, ep != nil }),
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = ep }),
		SNS:      sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = ep }),
		KMS:      kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = ep }),
		IAM:      iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = ep }),
		SQS:      sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = ep }),
		SSM:      ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = ep }),
		EC2:      ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = ep }),
		CloudWatch: cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
			o.BaseEndpoint = ep
			if ep != nil {
				// This SDK's CloudWatch speaks CBOR, which emulators (moto) do not; AWS
				// answers the query protocol too.
				o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
			}
		}),
	}
}

// In is c in region: a stack with a provider for another region keeps resources there, and
// asked in the default region they would look deleted. "" is c's own region.
func (c Clients) In(region string) Clients {
	if region == "" || region == c.cfg.Region {
		return c
	}
	cfg := c.cfg.Copy()
	cfg.Region = region
	return NewClients(cfg, c.endpoint)
}

// Resource is one managed resource of the state, with the attributes Terraform recorded.
type Resource struct {
	Address string
	Type    string
	Values  map[string]any
}

func (r Resource) str(attr string) string {
	s, _ := r.Values[attr].(string)
	return s
}

// region is where the resource lives as the state records it: its region attribute (every
// resource has one from AWS provider 6, buckets before), else its ARN's; "" when neither
// says, for the clients' own region.
func (r Resource) region() string {
	if s := r.str("region"); s != "" {
		return s
	}
	return arnRegion(r.str("arn"))
}

// arnRegion is the region field of an ARN (the SDK's arn.Parse), "" when s is none.
func arnRegion(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return ""
	}
	return a.Region
}

// Resources reads the managed resources of a state, as `terraform show -json` prints it,
// from the root module and every child module.
func Resources(stateJSON []byte) ([]Resource, error) {
	if len(strings.TrimSpace(string(stateJSON))) == 0 {
		return nil, nil
	}
	var st tfjson.State
	if err := json.Unmarshal(stateJSON, &st); err != nil {
		return nil, fmt.Errorf("read the state (terraform show -json): %w", err)
	}
	var out []Resource
	for _, r := range plan.ManagedResources(&st) {
		out = append(out, Resource{Address: r.Address, Type: r.Type, Values: r.AttributeValues})
	}
	return out, nil
}

// Result is one check: a failure lists every problem found, one per line.
type Result struct {
	Name     string
	Failure  string
	Skipped  string
	Problems []string
	// Note says what a check that passed did not cover, e.g. resource types it cannot
	// ask about: a pass is never read as more than it is.
	Note string
}

func result(name string, problems []string, skipped string) Result {
	r := Result{Name: name, Problems: problems, Skipped: skipped}
	if len(problems) > 0 {
		r.Failure = strings.Join(problems, "\n")
	}
	return r
}

// exists asks the API for one resource; ok is false when the API says it is gone, and err is
// set when the API could not be asked at all.
type exists func(ctx context.Context, c Clients, r Resource) (ok bool, err error)

// existence is how each resource type is found in the account.
var existence = map[string]exists{
	"aws_s3_bucket": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(r.str("bucket"))})
		return gone(err)
	},
	"aws_dynamodb_table": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.str("name"))})
		return gone(err)
	},
	"aws_sns_topic": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(r.str("arn"))})
		return gone(err)
	},
	"aws_sns_topic_subscription": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.SNS.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(r.str("arn"))})
		return gone(err)
	},
	// A key scheduled for deletion counts as gone, as the AWS provider counts it: nothing
	// can encrypt with it, and it disappears on its own.
	"aws_kms_key": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		out, err := c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(r.str("key_id"))})
		if ok, err := gone(err); !ok || err != nil {
			return ok, err
		}
		return out.KeyMetadata.KeyState != kmstypes.KeyStatePendingDeletion, nil
	},
	"aws_kms_alias": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(r.str("name"))})
		return gone(err)
	},
	// By name: the queue's URL in the state names the endpoint as Terraform reached it.
	"aws_sqs_queue": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(r.str("name"))})
		return gone(err)
	},
	"aws_iam_role": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r.str("name"))})
		return gone(err)
	},
	"aws_iam_policy": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(r.str("arn"))})
		return gone(err)
	},
	"aws_ssm_parameter": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(r.str("name"))})
		return gone(err)
	},
	// EC2 answers an unknown ID with an error (InvalidVpcID.NotFound), not an empty list.
	"aws_vpc": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{r.str("id")}})
		return gone(err)
	},
	"aws_subnet": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{r.str("id")}})
		return gone(err)
	},
	"aws_security_group": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		_, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{r.str("id")}})
		return gone(err)
	},
	"aws_cloudwatch_metric_alarm": func(ctx context.Context, c Clients, r Resource) (bool, error) {
		out, err := c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{r.str("alarm_name")}})
		if err != nil {
			return false, err
		}
		return len(out.MetricAlarms) > 0, nil
	},
}

// notFound are the API error codes that mean "no such resource".
var notFound = []string{"NotFound", "NoSuchBucket", "ResourceNotFoundException", "StatusCode: 404", "NoSuchEntity", "QueueDoesNotExist", "NonExistentQueue", "ParameterNotFound"}

// gone turns an API error into "does not exist" or a real error.
func gone(err error) (bool, error) {
	if err == nil {
		return true, nil
	}
	for _, code := range notFound {
		if strings.Contains(err.Error(), code) {
			return false, nil
		}
	}
	return false, err
}

// DeploymentName is the deployment check's name in reports.
const DeploymentName = "deployment: every managed resource exists in the account"

// Deployment checks that every managed resource of a type it knows exists in the account;
// a resource deleted by hand fails with its address. Types it cannot ask about are named
// in the result, not silently passed.
func Deployment(ctx context.Context, c Clients, rs []Resource) (Result, error) {
	var problems []string
	unchecked := map[string]int{}
	checked := 0
	for _, r := range rs {
		ask, ok := existence[r.Type]
		if !ok {
			unchecked[r.Type]++
			continue
		}
		found, err := ask(ctx, c.In(r.region()), r)
		if err != nil {
			return Result{}, fmt.Errorf("ask AWS for %s: %w", r.Address, err)
		}
		checked++
		if !found {
			problems = append(problems, r.Address+" is in the state but not in the account (deleted outside Terraform?)")
		}
	}
	skipped := ""
	if checked == 0 {
		skipped = "no resource of a type this check can ask about (" + strings.Join(existenceTypes(), ", ") + ")"
	}
	res := result(DeploymentName, problems, skipped)
	if len(unchecked) > 0 && res.Failure == "" && res.Skipped == "" {
		res.Note = fmt.Sprintf("%d of %d resources asked; no check for %s", checked, len(rs), describeUnchecked(unchecked))
	}
	return res, nil
}

func existenceTypes() []string {
	var ts []string
	for t := range existence {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// describeUnchecked names the types a check could not ask about, by type, e.g.
// "aws_kms_alias, aws_s3_bucket_policy (2)".
func describeUnchecked(m map[string]int) string {
	types := make([]string, 0, len(m))
	for t := range m {
		types = append(types, t)
	}
	sort.Strings(types)
	for i, t := range types {
		if n := m[t]; n > 1 {
			types[i] = fmt.Sprintf("%s (%d)", t, n)
		}
	}
	return strings.Join(types, ", ")
}

// Connect builds the clients from the default AWS configuration (the process's credentials)
// in region; endpoint, when set, is an emulator's.
func Connect(ctx context.Context, region, endpoint string) (Clients, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return Clients{}, fmt.Errorf("load the AWS configuration: %w", err)
	}
	return NewClients(cfg, endpoint), nil
}
