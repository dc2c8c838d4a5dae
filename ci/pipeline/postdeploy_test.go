package pipeline

import (
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// A real state and real `terraform output -json` / `terraform state list` output, from
// terraform_data resources standing in for the deployment.
const deployment = `
resource "terraform_data" "api" {
  input = "https://api.example.test/health"
}

output "api_url" {
  value = terraform_data.api.output
}
output "admin_endpoint" {
  value = "http://10.0.0.1:8080/"
}
output "secret_url" {
  value     = "https://user:pass@example.test/"
  sensitive = true
}
output "bucket_url" {
  value = "s3://assets"
}
output "queue_url_list" {
  value = ["https://sqs.example.test/q"]
}
output "homepage" {
  value = "https://example.test/"
}
output "queue_url" {
  value = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
}
output "emulated_queue_url" {
  value = "http://aws:5000/123456789012/acme-test-network-jobs"
}
output "legacy_queue_url" {
  value = "https://us-east-1.queue.amazonaws.com/123456789012/jobs.fifo"
}
output "sns_endpoint" {
  value = "https://sns.us-east-1.amazonaws.com"
}
output "gateway_url" {
  value = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/health"
}
output "lb_endpoint" {
  value = "http://web-123.us-east-1.elb.amazonaws.com/health"
}
`

func TestHealthEndpointsFromRealOutputs(t *testing.T) {
	w := tftest.New(t, map[string]string{"main.tf": deployment})
	w.Init()
	w.Apply()
	got, err := HealthEndpoints([]byte(w.Run("output", "-json")))
	if err != nil {
		t.Fatal(err)
	}
	// The queues' URLs and the SNS endpoint are AWS API addresses; the gateway and the load
	// balancer serve users.
	want := []Endpoint{{"admin_endpoint", "http://10.0.0.1:8080/"}, {"api_url", "https://api.example.test/health"},
		{"gateway_url", "https://abc123.execute-api.us-east-1.amazonaws.com/prod/health"}, {"lb_endpoint", "http://web-123.us-east-1.elb.amazonaws.com/health"}}
	if !slices.Equal(got, want) {
		t.Errorf("endpoints = %v, want %v", got, want)
	}
	// No outputs at all is "{}": no endpoints, no error.
	if got, err := HealthEndpoints([]byte("{}\n")); err != nil || len(got) != 0 {
		t.Errorf("no outputs: %v, %v", got, err)
	}
	if _, err := HealthEndpoints([]byte("Error: no state")); err == nil || !strings.Contains(err.Error(), "terraform output -json: not JSON") {
		t.Errorf("err = %v, want one naming terraform output", err)
	}
}

func FuzzHealthEndpoints(f *testing.F) {
	f.Add([]byte(`{"api_url":{"sensitive":false,"type":"string","value":"https://x/"}}`))
	f.Add([]byte(`{"a_endpoint":{"sensitive":true,"value":"http://x"},"b":{"value":[1]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		eps, err := HealthEndpoints(data)
		if err != nil {
			return
		}
		for _, e := range eps {
			if !strings.HasPrefix(e.URL, "http://") && !strings.HasPrefix(e.URL, "https://") {
				t.Fatalf("endpoint %v is not an http(s) URL", e)
			}
		}
	})
}

// AWS API addresses are told from the services a stack serves, on AWS and on emulators.
func TestAPIAddress(t *testing.T) {
	for _, tt := range []struct {
		name, url string
		api       bool
	}{
		{"queue_url", "https://sqs.us-east-1.amazonaws.com/123456789012/jobs", true},
		{"queue_url", "https://queue.amazonaws.com/123456789012/jobs", true},
		{"queue_url", "https://us-east-1.queue.amazonaws.com/123456789012/jobs.fifo", true},
		{"jobs_url", "http://aws:5000/123456789012/jobs", true},
		{"jobs_url", "http://localhost:4566/queue/us-east-1/000000000000/jobs", true},
		{"work_queue_url", "http://10.0.0.5:9324/000000000000/jobs", true},
		{"sns_endpoint", "https://sns.us-east-1.amazonaws.com", true},
		{"sns_endpoint", "https://sns-fips.us-east-1.amazonaws.com.", true},
		{"sns_endpoint", "https://sns.us-east-1.api.aws", true},
		{"s3_endpoint", "https://s3.amazonaws.com", true},
		{"site_url", "http://events.s3-website-us-east-1.amazonaws.com/", false},
		{"api_url", "https://abc123.execute-api.us-east-1.amazonaws.com/prod/health", false},
		{"lb_endpoint", "http://web-123.us-east-1.elb.amazonaws.com/health", false},
		{"api_url", "https://shop.example.com/123456789012/health", false},
		{"fn_url", "https://abcdef.lambda-url.us-east-1.on.aws/", false},
		{"cdn_url", "https://d111111abcdef8.cloudfront.net/", false},
	} {
		if got := apiAddress(tt.name, tt.url); got != tt.api {
			t.Errorf("apiAddress(%q, %q) = %v, want %v", tt.name, tt.url, got, tt.api)
		}
	}
}
