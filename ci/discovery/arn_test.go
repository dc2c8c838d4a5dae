package discovery

import (
	"strings"
	"testing"
)

func TestParseARN(t *testing.T) {
	tests := []struct {
		arn            string
		typ, name, id  string
		wantErrContain string
	}{
		{arn: "arn:aws:s3:::shop-prod-assets", typ: S3Bucket, name: "shop-prod-assets", id: "shop-prod-assets"},
		{arn: "arn:aws:dynamodb:us-east-1:123456789012:table/orders", typ: DynamoDBTable, name: "orders", id: "orders"},
		{arn: "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024", typ: "", name: "table/orders/stream/2024"},
		{arn: "arn:aws:sns:us-east-1:123456789012:events", typ: SNSTopic, name: "events", id: "arn:aws:sns:us-east-1:123456789012:events"},
		{arn: "arn:aws:sqs:us-east-1:123456789012:jobs", typ: SQSQueue, name: "jobs"},
		{arn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:high-errors", typ: MetricAlarm, name: "high-errors", id: "high-errors"},
		{arn: "arn:aws:iam::123456789012:role/service-role/app", typ: IAMRole, name: "app", id: "app"},
		{arn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab", typ: KMSKey, name: "1234abcd-12ab", id: "1234abcd-12ab"},
		{arn: "arn:aws:kms:us-east-1:123456789012:alias/data", typ: "", name: "alias/data"},
		{arn: "arn:aws:lambda:us-east-1:123456789012:function:worker", typ: LambdaFunction, name: "worker", id: "worker"},
		{arn: "arn:aws:lambda:us-east-1:123456789012:function:worker:live", typ: LambdaFunction, name: "worker", id: "worker"},
		{arn: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1", typ: SecurityGroup, name: "sg-1", id: "sg-1"},
		{arn: "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1", typ: VPC, name: "vpc-1", id: "vpc-1"},
		{arn: "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1", typ: Subnet, name: "subnet-1", id: "subnet-1"},
		{arn: "arn:aws:ec2:us-east-1:123456789012:instance/i-1", typ: "", name: "instance/i-1"},
		{arn: "arn:aws-cn:s3:::b", typ: S3Bucket, name: "b", id: "b"},
		{arn: "not-an-arn", wantErrContain: `parse ARN "not-an-arn"`},
		{arn: "arn:aws:s3:::", wantErrContain: "want arn:partition:service:region:account:resource"},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			got, err := ParseARN(tt.arn)
			if tt.wantErrContain != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrContain) {
					t.Fatalf("err = %v, want %q", err, tt.wantErrContain)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != (Identity{Type: tt.typ, Name: tt.name, ID: tt.id}) {
				t.Errorf("got %+v, want type %q name %q id %q", got, tt.typ, tt.name, tt.id)
			}
		})
	}
}

func TestQueueURL(t *testing.T) {
	tests := []struct{ arn, endpoint, want, err string }{
		{arn: "arn:aws:sqs:eu-west-1:123456789012:jobs", want: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"},
		{arn: "arn:aws:sqs:us-east-1:123456789012:jobs", endpoint: "http://127.0.0.1:5000/", want: "http://127.0.0.1:5000/123456789012/jobs"},
		{arn: "arn:aws:sqs:us-east-1:123456789012:jobs", endpoint: "http://AKIAEXAMPLE:topsecret@127.0.0.1:5000", want: "http://127.0.0.1:5000/123456789012/jobs"},
		{arn: "arn:aws:sqs:us-east-1:123456789012:jobs", endpoint: "127.0.0.1:5000", err: "endpoint is not an absolute URL such as http://127.0.0.1:5000"},
		{arn: "arn:aws:sns:us-east-1:123456789012:jobs", err: "not an SQS queue ARN"},
	}
	for _, tt := range tests {
		got, err := QueueURL(tt.arn, tt.endpoint)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("QueueURL(%q) err = %v, want %q", tt.arn, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("QueueURL(%q, %q) = %q, %v; want %q", tt.arn, tt.endpoint, got, err, tt.want)
		}
	}
}

// FuzzParseARN: ARNs come from the account, so any string must give an identity or an
// error, and a supported type always has a name.
func FuzzParseARN(f *testing.F) {
	for _, s := range []string{"arn:aws:s3:::b", "arn:aws:iam::1:role/a/b", "arn:aws:lambda:r:1:function:f:1",
		"arn:aws:sqs:us-east-1:1:q", "arn:aws:ec2:r:1:vpc/vpc-1", "arn::::", "arn:aws:kms:r:1:key/", "arn:aws:iam::1:role/a/", "arn:aws:lambda:r:1:function::x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseARN(s)
		if err == nil && id.Type != "" && id.Name == "" {
			t.Errorf("ParseARN(%q) = %+v: a supported type without a name", s, id)
		}
		_, _ = QueueURL(s, "")
	})
}
