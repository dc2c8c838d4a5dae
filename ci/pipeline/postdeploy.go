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
		value, ok := o.Value.(string)
		if o.Sensitive || !ok || !(strings.HasSuffix(name, "_url") || strings.HasSuffix(name, "_endpoint")) ||
			!(strings.HasPrefix(value, "http://") || strings.HasPrefix(value, "https://")) || apiAddress(name, value) {
			continue
		}
		out = append(out, Endpoint{Output: name, URL: value})
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return strings.Compare(a.Output, b.Output) })
	return out, nil
}

// queuePath is the path of an SQS queue URL, on AWS and on emulators alike: the account,
// then the queue's name (LocalStack's path style puts /queue/<region> first).
var queuePath = regexp.MustCompile(`^(/queue/[a-z0-9-]+)?/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?/?$`)

// regionLabel is a host label that names a region: us-east-1, eu-central-2.
var regionLabel = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)

// apiServices are the AWS APIs whose endpoints (sqs.us-east-1.amazonaws.com) stacks output
// as *_url or *_endpoint: service addresses, which no health check asks. What serves users
// (execute-api, elb, s3-website, cloudfront.net, lambda-url on on.aws) has another host.
var apiServices = []string{"sqs", "sns", "sts", "s3", "dynamodb", "ssm", "kms", "iam", "lambda", "logs",
	"events", "states", "secretsmanager", "monitoring", "kinesis", "firehose", "ecr", "rds", "ec2"}

// apiAddress reports whether raw, the value of output name, is an AWS API's address rather
// than a service's: an SQS queue URL (on an AWS or emulator host, or in an output named for
// a queue: a path of twelve digits elsewhere may be anything), or an API endpoint.
func apiAddress(name, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	aws := false
	for _, suffix := range []string{".amazonaws.com", ".amazonaws.com.cn", ".api.aws"} {
		if strings.HasSuffix(host, suffix) {
			aws = true
			host = strings.TrimSuffix(host, suffix)
		}
	}
	if queuePath.MatchString(u.Path) && (aws || strings.Contains(name, "queue") || emulatorHost(host)) {
		return true
	}
	if !aws {
		return false
	}
	// What is left of the host: sqs, sqs.us-east-1, sns-fips.us-east-1, queue,
	// us-east-1.queue; a bucket's website (events.s3-website-us-east-1) is no API.
	labels := strings.Split(host, ".")
	switch {
	case len(labels) == 2 && labels[1] == "queue" && regionLabel.MatchString(labels[0]):
		return true
	case len(labels) == 1 && labels[0] == "queue":
		return true
	case len(labels) > 2 || (len(labels) == 2 && !regionLabel.MatchString(labels[1])):
		return false
	}
	return slices.Contains(apiServices, strings.TrimSuffix(labels[0], "-fips"))
}

// emulatorHost reports whether host is where a local AWS emulator answers: this module's
// alias for it, or the machine itself.
func emulatorHost(host string) bool {
	return host == "aws" || host == "localhost" || host == "127.0.0.1" || host == "localhost.localstack.cloud"
}
