// Package discoverytest creates tagged AWS resources on a moto_server for the tests and
// benchmarks of discovery and the importer. It is test support: nothing in the pipeline
// imports it.
package discoverytest

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

// Credentials are the dummy credentials moto accepts.
var Credentials = credentials.NewStaticCredentialsProvider("testing", "testing", "testing")

// Config is an SDK configuration pointed at a moto endpoint.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  Credentials,
		BaseEndpoint: aws.String(endpoint),
	}
}

// Spec is one resource to create. Name is the resource name where the type has one and
// the Name tag otherwise (KMS keys, VPCs, subnets).
type Spec struct {
	Type string // a discovery type constant, e.g. "aws_s3_bucket"
	Name string
	Tags map[string]string
	// PendingDeletion schedules a KMS key's deletion once it is made, as `terraform
	// destroy` leaves a key for 7 to 30 days, its tags intact.
	PendingDeletion bool
}

// Created is a resource the seeder made, with the identifiers discovery must find.
type Created struct {
	Spec
	ARN string
	ID  string // the import ID: bucket name, table name, topic ARN, queue URL, key id, ...
}

// Tags builds a tag map from key, value pairs.
func Tags(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Seeder creates resources on one endpoint. VPC-scoped types (subnets, security groups)
// go into the first VPC it created.
type Seeder struct {
	cfg   aws.Config
	mu    sync.Mutex
	vpcID string
}

// New returns a seeder for the moto endpoint.
func New(endpoint string) *Seeder { return &Seeder{cfg: Config(endpoint)} }

// Create makes every spec, in order, and fails the test on the first error.
func (s *Seeder) Create(t testing.TB, specs ...Spec) []Created {
	t.Helper()
	out := make([]Created, 0, len(specs))
	for _, sp := range specs {
		c, err := s.create(context.Background(), sp)
		if err != nil {
			t.Fatalf("create %s %q on moto: %v", sp.Type, sp.Name, err)
		}
		out = append(out, c)
	}
	return out
}

func (s *Seeder) create(ctx context.Context, sp Spec) (Created, error) {
	c := Created{Spec: sp}
	const account, region = "123456789012", "us-east-1"
	switch sp.Type {
	case "aws_s3_bucket":
		client := s3.NewFromConfig(s.cfg, func(o *s3.Options) { o.UsePathStyle = true })
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &sp.Name}); err != nil {
			return c, err
		}
		var set []s3types.Tag
		for k, v := range sp.Tags {
			set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		if _, err := client.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: &sp.Name, Tagging: &s3types.Tagging{TagSet: set}}); err != nil {
			return c, err
		}
		c.ARN, c.ID = "arn:aws:s3:::"+sp.Name, sp.Name
	case "aws_dynamodb_table":
		var tags []ddbtypes.Tag
		for k, v := range sp.Tags {
			tags = append(tags, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out, err := dynamodb.NewFromConfig(s.cfg).CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            &sp.Name,
			BillingMode:          ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
			Tags:                 tags,
		})
		if err != nil {
			return c, err
		}
		c.ARN, c.ID = aws.ToString(out.TableDescription.TableArn), sp.Name
	case "aws_sns_topic":
		var tags []snstypes.Tag
		for k, v := range sp.Tags {
			tags = append(tags, snstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out, err := sns.NewFromConfig(s.cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: &sp.Name, Tags: tags})
		if err != nil {
			return c, err
		}
		c.ARN, c.ID = aws.ToString(out.TopicArn), aws.ToString(out.TopicArn)
	case "aws_sqs_queue":
		out, err := sqs.NewFromConfig(s.cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &sp.Name, Tags: sp.Tags})
		if err != nil {
			return c, err
		}
		c.ARN, c.ID = fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, account, sp.Name), aws.ToString(out.QueueUrl)
	case "aws_cloudwatch_metric_alarm":
		var tags []cwtypes.Tag
		for k, v := range sp.Tags {
			tags = append(tags, cwtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		// CloudWatch clients of this SDK version speak CBOR, which moto does not: use
		// the query protocol moto answers.
		client := cloudwatch.NewFromConfig(s.cfg, func(o *cloudwatch.Options) {
			o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
		})
		_, err := client.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: &sp.Name, MetricName: aws.String("Errors"), Namespace: aws.String("AWS/Lambda"),
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
			Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
			Tags: tags,
		})
		if err != nil {
			return c, err
		}
		c.ARN, c.ID = fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", region, account, sp.Name), sp.Name
	case "aws_iam_role":
		out, err := s.role(ctx, sp.Name, sp.Tags)
		if err != nil {
			return c, err
		}
		c.ARN, c.ID = out, sp.Name
	case "aws_kms_key":
		var tags []kmstypes.Tag
		for k, v := range nameTag(sp) {
			tags = append(tags, kmstypes.Tag{TagKey: aws.String(k), TagValue: aws.String(v)})
		}
		out, err := kms.NewFromConfig(s.cfg).CreateKey(ctx, &kms.CreateKeyInput{Tags: tags})
		if err != nil {
			return c, err
		}
		c.ARN, c.ID = aws.ToString(out.KeyMetadata.Arn), aws.ToString(out.KeyMetadata.KeyId)
		if sp.PendingDeletion {
			if _, err := kms.NewFromConfig(s.cfg).ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{
				KeyId: out.KeyMetadata.KeyId, PendingWindowInDays: aws.Int32(7),
			}); err != nil {
				return c, err
			}
		}
	case "aws_lambda_function":
		// moto stores functions without Docker; only invoking one would need it.
		role, err := s.role(ctx, sp.Name+"-exec", nil)
		if err != nil {
			return c, err
		}
		out, err := lambda.NewFromConfig(s.cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: &sp.Name, Role: &role, Runtime: lambdatypes.RuntimePython312,
			Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: handlerZip()},
			Tags: sp.Tags,
		})
		if err != nil {
			return c, err
		}
		c.ARN, c.ID = aws.ToString(out.FunctionArn), sp.Name
	case "aws_vpc":
		out, err := ec2.NewFromConfig(s.cfg).CreateVpc(ctx, &ec2.CreateVpcInput{
			CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: ec2Tags("vpc", nameTag(sp)),
		})
		if err != nil {
			return c, err
		}
		c.ID = aws.ToString(out.Vpc.VpcId)
		c.ARN = fmt.Sprintf("arn:aws:ec2:%s:%s:vpc/%s", region, account, c.ID)
		s.mu.Lock()
		if s.vpcID == "" {
			s.vpcID = c.ID
		}
		s.mu.Unlock()
	case "aws_subnet":
		vpc, err := s.vpc(ctx)
		if err != nil {
			return c, err
		}
		out, err := ec2.NewFromConfig(s.cfg).CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: &vpc, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", len(sp.Name)%250)),
			TagSpecifications: ec2Tags("subnet", nameTag(sp)),
		})
		if err != nil {
			return c, err
		}
		c.ID = aws.ToString(out.Subnet.SubnetId)
		c.ARN = fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", region, account, c.ID)
	case "aws_security_group":
		vpc, err := s.vpc(ctx)
		if err != nil {
			return c, err
		}
		out, err := ec2.NewFromConfig(s.cfg).CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			VpcId: &vpc, GroupName: &sp.Name, Description: aws.String("test"),
			TagSpecifications: ec2Tags("security-group", sp.Tags),
		})
		if err != nil {
			return c, err
		}
		c.ID = aws.ToString(out.GroupId)
		c.ARN = fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, account, c.ID)
	default:
		return c, fmt.Errorf("unsupported type %q", sp.Type)
	}
	return c, nil
}

func (s *Seeder) role(ctx context.Context, name string, tags map[string]string) (string, error) {
	var t []iamtypes.Tag
	for k, v := range tags {
		t = append(t, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := iam.NewFromConfig(s.cfg).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 &name,
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
		Tags:                     t,
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Role.Arn), nil
}

func (s *Seeder) vpc(ctx context.Context) (string, error) {
	s.mu.Lock()
	id := s.vpcID
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	c, err := s.create(ctx, Spec{Type: "aws_vpc", Name: "seed-default"})
	return c.ID, err
}

// nameTag adds the Name tag that identifies resources without a name attribute.
func nameTag(sp Spec) map[string]string {
	m := map[string]string{"Name": sp.Name}
	for k, v := range sp.Tags {
		m[k] = v
	}
	return m
}

func ec2Tags(kind string, tags map[string]string) []ec2types.TagSpecification {
	var t []ec2types.Tag
	for k, v := range tags {
		t = append(t, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return []ec2types.TagSpecification{{ResourceType: ec2types.ResourceType(kind), Tags: t}}
}

func handlerZip() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.py")
	_, _ = w.Write([]byte("def handler(event, context):\n    return 1\n"))
	_ = zw.Close()
	return buf.Bytes()
}
