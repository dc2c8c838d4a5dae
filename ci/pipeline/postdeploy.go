package pipeline

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Endpoint is a health endpoint among a deployment's outputs.
type Endpoint struct {
	Output string // the output's name, e.g. api_url
	URL    string
}

// HealthEndpoints picks, from `terraform output -json`, the outputs the post-deploy tests
// call: named *_url or *_endpoint, not sensitive, with an http(s) URL as value that is not
// an AWS API's address (apiAddress: an SQS queue URL answers a plain GET with 4xx, however
// healthy the queue). The convention keeps the configuration free of test-only settings.
// Sorted by output name, so reports do not reorder between runs.
func HealthEndpoints(outputJSON []byte) ([]Endpoint, error) {
	var outputs map[string]struct {
		Value     any  `json:"value"`
		Sensitive bool `json:"sensitive"`
	}
	if err := json.Unmarshal(outputJSON, &outputs); err != nil {
		return nil, fmt.Errorf("terraform output -json: not JSON: %w", err)
	}
	var out []Endpoint
	for name, o := range outputs {
		url, ok := o.Value.(string)
		if o.Sensitive || !ok || !(strings.HasSuffix(name, "_url") || strings.HasSuffix(name, "_endpoint")) ||
			!(strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://")) || apiAddress(url) {
			continue
		}
		out = append(out, Endpoint{Output: name, URL: url})
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return strings.Compare(a.Output, b.Output) })
	return out, nil
}

// queuePath is the path of an SQS queue URL, on AWS and on emulators alike: the account,
// then the queue's name.
var queuePath = regexp.MustCompile(`^/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?/?$`)

// apiServices are the first labels of AWS API hosts (sqs.us-east-1.amazonaws.com) that
// stacks output as *_url or *_endpoint: service addresses, which no health check asks.
// What serves users (execute-api, elb, s3-website, lambda-url on on.aws, cloudfront.net)
// is not among them.
var apiServices = []string{"sqs", "queue", "sns", "sts", "s3", "dynamodb", "ssm", "kms", "iam", "lambda", "logs",
	"events", "states", "secretsmanager", "monitoring", "kinesis", "firehose", "ecr", "rds", "ec2"}

// apiAddress reports whether raw is an AWS API's address rather than a service's: an SQS
// queue URL, or a service endpoint of amazonaws.com.
func apiAddress(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if queuePath.MatchString(u.Path) {
		return true
	}
	host := strings.ToLower(u.Hostname())
	if !strings.HasSuffix(host, ".amazonaws.com") && !strings.HasSuffix(host, ".amazonaws.com.cn") {
		return false
	}
	labels := strings.Split(host, ".")
	// sqs.us-east-1.amazonaws.com, queue.amazonaws.com, us-east-1.queue.amazonaws.com
	return slices.Contains(apiServices, labels[0]) || (len(labels) > 1 && labels[1] == "queue")
}
