package discovery

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// Terraform resource types discovery knows how to identify. The import ID of each is
// what the AWS provider's import documentation asks for.
const (
	S3Bucket        = "aws_s3_bucket"
	DynamoDBTable   = "aws_dynamodb_table"
	SNSTopic        = "aws_sns_topic"
	SQSQueue        = "aws_sqs_queue"
	MetricAlarm     = "aws_cloudwatch_metric_alarm"
	IAMRole         = "aws_iam_role"
	KMSKey          = "aws_kms_key"
	LambdaFunction  = "aws_lambda_function"
	SecurityGroup   = "aws_security_group"
	VPC             = "aws_vpc"
	Subnet          = "aws_subnet"
	unsupportedType = ""
)

// Types lists the supported Terraform types, for messages and documentation.
var Types = []string{S3Bucket, DynamoDBTable, SNSTopic, SQSQueue, MetricAlarm, IAMRole, KMSKey,
	LambdaFunction, SecurityGroup, VPC, Subnet}

// Identity is what an ARN says about a resource: its Terraform type, its name and the ID
// `terraform import` expects. Type is empty for services discovery does not support.
type Identity struct {
	Type string `json:"type"`
	// Name is the bucket, table, topic, queue, alarm, role or function name, the group
	// name of a security group (filled in by Discover), else the ID.
	Name string `json:"name"`
	ID   string `json:"import_id"` // for SQS queues, see QueueURL
}

// splitARN reads an ARN with the SDK's arn.Parse, refusing the empty partition, service or
// resource it lets through, which name nothing to import.
func splitARN(s string) (arn.ARN, error) {
	a, err := arn.Parse(s)
	if err != nil || a.Partition == "" || a.Service == "" || a.Resource == "" {
		return arn.ARN{}, fmt.Errorf("parse ARN %q: want arn:partition:service:region:account:resource", s)
	}
	return a, nil
}

// ParseARN identifies a resource from its ARN alone, so that discovery needs no describe
// call per resource. SQS queues get their queue URL from QueueURL, which needs the endpoint.
func ParseARN(s string) (Identity, error) {
	a, err := splitARN(s)
	if err != nil {
		return Identity{}, err
	}
	kind, rest := cutAny(a.Resource, "/:")
	switch {
	case a.Service == "s3" && !strings.ContainsAny(a.Resource, "/:"):
		return named(S3Bucket, a.Resource, a.Resource), nil
	case a.Service == "dynamodb" && kind == "table" && rest != "" && !strings.Contains(rest, "/"):
		return named(DynamoDBTable, rest, rest), nil
	case a.Service == "sns" && !strings.ContainsAny(a.Resource, "/:"):
		return named(SNSTopic, a.Resource, s), nil
	case a.Service == "sqs" && !strings.ContainsAny(a.Resource, "/:"):
		return named(SQSQueue, a.Resource, ""), nil
	case a.Service == "cloudwatch" && kind == "alarm" && rest != "":
		return named(MetricAlarm, rest, rest), nil
	case a.Service == "iam" && kind == "role" && rest != "" && !strings.HasSuffix(rest, "/"):
		// Roles may have a path (role/service-role/name); the provider imports by name.
		name := rest[strings.LastIndex(rest, "/")+1:]
		return named(IAMRole, name, name), nil
	case a.Service == "kms" && kind == "key" && rest != "":
		return named(KMSKey, rest, rest), nil
	case a.Service == "lambda" && kind == "function" && rest != "" && rest[0] != ':':
		// A qualified ARN (function:name:alias) names a version, not the function.
		name, _, _ := strings.Cut(rest, ":")
		return named(LambdaFunction, name, name), nil
	case a.Service == "ec2" && kind == "security-group" && rest != "":
		return named(SecurityGroup, rest, rest), nil
	case a.Service == "ec2" && kind == "vpc" && rest != "":
		return named(VPC, rest, rest), nil
	case a.Service == "ec2" && kind == "subnet" && rest != "":
		return named(Subnet, rest, rest), nil
	}
	return Identity{Type: unsupportedType, Name: a.Resource}, nil
}

func named(typ, name, id string) Identity { return Identity{Type: typ, Name: name, ID: id} }

// cutAny splits s at the first of the separators.
func cutAny(s, seps string) (before, after string) {
	if i := strings.IndexAny(s, seps); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// QueueURL rebuilds an SQS queue URL from its ARN, the form the provider imports by.
// endpoint is the SQS endpoint override ("" for AWS itself); user information in it
// (http://key:secret@host) is left out, since the URL goes into imports.tf and reports.
func QueueURL(queueARN, endpoint string) (string, error) {
	a, err := splitARN(queueARN)
	if err != nil {
		return "", err
	}
	if a.Service != "sqs" || strings.ContainsAny(a.Resource, "/:") {
		return "", fmt.Errorf("queue URL for %q: not an SQS queue ARN", queueARN)
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return "", fmt.Errorf("queue URL for %q: endpoint is not an absolute URL such as http://127.0.0.1:5000", queueARN)
		}
		u.User = nil
		return strings.TrimSuffix(u.String(), "/") + "/" + a.AccountID + "/" + a.Resource, nil
	}
	host := "amazonaws.com"
	if a.Partition == "aws-cn" {
		host = "amazonaws.com.cn"
	}
	return fmt.Sprintf("https://sqs.%s.%s/%s/%s", a.Region, host, a.AccountID, a.Resource), nil
}
