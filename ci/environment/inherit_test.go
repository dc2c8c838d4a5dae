package environment

import (
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/findings"
)

const repoFile = `version: 1
stacks:
  include: [stacks/*]
defaults:
  severity_threshold: LOW
  backend:
    bucket: org-state
    region: eu-west-1
environments:
  prod:
    severity_threshold: HIGH
    lock_timeout: 10m
`

func TestParseInherited(t *testing.T) {
	own := []byte("version: 1\ndefaults:\n  severity_threshold: MEDIUM\nenvironments:\n  prod:\n    lock_timeout: 3m\n")
	for _, tt := range []struct {
		name                 string
		stackData            []byte
		wantTest, wantProd   findings.Severity
		wantLock, wantKey    string
		wantBucket, wantPath string
	}{
		{"the stack's file wins", own, findings.Medium, findings.Medium, "3m0s", "stacks/network/prod/terraform.tfstate", "org-state", "stacks/network/pipeline.yaml"},
		{"no file of its own", nil, findings.Low, findings.High, "10m0s", "stacks/network/prod/terraform.tfstate", "org-state", "pipeline.yaml"},
		{"a stack renamed", []byte("version: 1\nstack: net\n"), findings.Low, findings.High, "10m0s", "net/prod/terraform.tfstate", "org-state", "stacks/network/pipeline.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseInherited("pipeline.yaml", []byte(repoFile), "stacks/network/pipeline.yaml", tt.stackData)
			if err != nil {
				t.Fatal(err)
			}
			test, _ := c.Profile("test")
			prod, _ := c.Profile("prod")
			if test.SeverityThreshold != tt.wantTest || prod.SeverityThreshold != tt.wantProd || prod.LockTimeout.String() != tt.wantLock ||
				prod.Backend.Key != tt.wantKey || prod.Backend.Bucket != tt.wantBucket || prod.Backend.Region != "eu-west-1" || c.Path != tt.wantPath {
				t.Errorf("test %v, prod %v lock %v key %q bucket %q region %q path %q", test.SeverityThreshold, prod.SeverityThreshold, prod.LockTimeout, prod.Backend.Key, prod.Backend.Bucket, prod.Backend.Region, c.Path)
			}
		})
	}
}

func TestParseInheritedErrors(t *testing.T) {
	for _, tt := range []struct{ name, repo, stack, want string }{
		{"shared key", "version: 1\ndefaults:\n  backend:\n    key: x/terraform.tfstate\n", "", "pipeline.yaml: defaults.backend.key: every stack inherits"},
		{"shared backup prefix", "version: 1\nenvironments:\n  prod:\n    backend:\n      backup_prefix: b/\n", "", "pipeline.yaml: environments.prod.backend.backup_prefix: every stack"},
		{"shared name", "version: 1\nstack: all\n", "", "pipeline.yaml: stack: the repository's pipeline.yaml is inherited"},
		{"unknown key in the repository's file", "version: 1\nstackz: {}\n", "", "pipeline.yaml: stackz: unknown key"},
		{"no version", "defaults: {}\n", "", "pipeline.yaml: version: missing"},
		{"bad stack file", "version: 1\n", "version: 1\ndefaults:\n  lock_timeout: forever\n", "stacks/network/pipeline.yaml: defaults.lock_timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stack []byte
			if tt.stack != "" {
				stack = []byte(tt.stack)
			}
			_, err := ParseInherited("pipeline.yaml", []byte(tt.repo), "stacks/network/pipeline.yaml", stack)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// A stack's own file may not hold the repository's stacks section.
	if _, err := Parse("stacks/network/pipeline.yaml", []byte("version: 1\nstacks: {}\n")); err == nil || !strings.Contains(err.Error(), "stacks: unknown key") {
		t.Errorf("stacks in a stack's file: %v", err)
	}
}
