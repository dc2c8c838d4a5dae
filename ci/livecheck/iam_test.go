package livecheck

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// With least-privilege credentials (real IAM denials: moto enforcing a user's policy that
// allows sns:ListTopics only), the names that cannot be asked come back
// as one error naming them, and the answers of the others stand: the topic another state
// made is still named, so the gate still blocks its takeover while the plan warns that the
// rest was not checked.
func TestTakenWithDeniedLookups(t *testing.T) {
	// The four requests before enforcement: the user, its policy, its key, the topic.
	moto := mototest.StartEnforcingIAM(t, 4)
	moto.Setenv(t)
	ctx := context.Background()
	admin, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	setup := NewClients(admin, moto.URL)
	if _, err := setup.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("deployer")}); err != nil {
		t.Fatal(err)
	}
	policy, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
		{"Effect": "Allow", "Action": []string{"sns:ListTopics"}, "Resource": "*"},
	}})
	if _, err := setup.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("deployer"),
		PolicyName: aws.String("least"), PolicyDocument: aws.String(string(policy))}); err != nil {
		t.Fatal(err)
	}
	key, err := setup.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("deployer")})
	if err != nil {
		t.Fatal(err)
	}
	topic, err := setup.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("live-alerts")})
	if err != nil {
		t.Fatal(err)
	}

	w := tftest.New(t, map[string]string{"main.tf": `
resource "aws_sns_topic" "alerts" {
  name = "live-alerts"
}
resource "aws_iam_role" "app" {
  name               = "live-app"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" } }] })
}
resource "aws_dynamodb_table" "orders" {
  name         = "live-orders"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
}
`})
	w.UseRealAWSProviderOn(moto.URL, "dynamodb", "iam", "sns", "sts")
	w.Init()
	p, err := ReadPlan(w.PlanJSON())
	if err != nil {
		t.Fatal(err)
	}
	deployer, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithCredentialsProvider(
		credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Taken(ctx, NewClients(deployer, moto.URL), p)
	t.Logf("Taken = %+v, err = %v", got, err)
	if err == nil || !strings.Contains(err.Error(), "2 of 3 names not asked") {
		t.Errorf("error %v, want the two denied lookups (the role, the table) named", err)
	}
	if len(got) != 1 || got[0].Address != "aws_sns_topic.alerts" || got[0].ID != aws.ToString(topic.TopicArn) || got[0].Outside != "" {
		t.Errorf("Taken = %+v, want the topic, found with the lookups it may make", got)
	}
}
