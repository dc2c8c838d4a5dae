package environment

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
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
		// The stacks section is ci/stacks' to read, but a run of one stack reads the file too.
		{"unknown key under stacks", "version: 1\nstacks:\n  inclde: [stacks/*]\n", "", "pipeline.yaml: stacks.inclde: unknown key: valid keys are include, exclude, marker, depends_on"},
		{"stacks not a mapping", "version: 1\nstacks: [stacks/*]\n", "", "pipeline.yaml: stacks: want a mapping of keys (include, exclude, marker, depends_on), got a list"},
		{"stacks include not a list", "version: 1\nstacks:\n  include: stacks/*\n", "", `pipeline.yaml: stacks.include: want a list, got "stacks/*"`},
		{"stacks key twice", "version: 1\nstacks:\n  marker: a.yaml\n  marker: b.yaml\n", "", "pipeline.yaml: stacks.marker: key appears twice"},

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

func TestLoadStack(t *testing.T) {
	own := "version: 1\ndefaults:\n  severity_threshold: MEDIUM\n"
	for _, tt := range []struct {
		name      string
		files     map[string]string
		dir       string
		wantPath  string
		wantKey   string // prod's state key
		wantLevel findings.Severity
	}{
		{"nothing: the built-in profiles", nil, "terraform", "", "terraform/prod/terraform.tfstate", findings.Medium},
		{"the stack's own file", map[string]string{"terraform/pipeline.yaml": own}, "terraform", "terraform/pipeline.yaml", "terraform/prod/terraform.tfstate", findings.Medium},
		{"the repository's file, inherited", map[string]string{"pipeline.yaml": repoFile}, "stacks/network", "pipeline.yaml", "stacks/network/prod/terraform.tfstate", findings.High},
		{"both: the stack's wins", map[string]string{"pipeline.yaml": repoFile, "stacks/network/pipeline.yaml": "version: 1\nenvironments:\n  prod:\n    severity_threshold: CRITICAL\n"},
			"stacks/network", "stacks/network/pipeline.yaml", "stacks/network/prod/terraform.tfstate", findings.Critical},
		{"the root stack reads only its own", map[string]string{"pipeline.yaml": "version: 1\nenvironments:\n  prod:\n    severity_threshold: LOW\n"}, ".", "pipeline.yaml", "prod/terraform.tfstate", findings.Low},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tftest.WriteFiles(t, root, tt.files)
			c, err := LoadStack(tftest.Reader(root), tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			prod, _ := c.Profile("prod")
			if c.Path != tt.wantPath || prod.Backend.Key != tt.wantKey || prod.SeverityThreshold != tt.wantLevel {
				t.Errorf("path %q, prod key %q, prod threshold %v; want %q, %q, %v", c.Path, prod.Backend.Key, prod.SeverityThreshold, tt.wantPath, tt.wantKey, tt.wantLevel)
			}
		})
	}
}

func TestLoadStackErrors(t *testing.T) {
	broken := errors.New("engine unreachable")
	failing := func(string) ([]byte, bool, error) { return nil, false, broken }
	if _, err := LoadStack(failing, "terraform"); !errors.Is(err, broken) || !strings.Contains(err.Error(), "read terraform/pipeline.yaml") {
		t.Errorf("error %v, want the read error naming terraform/pipeline.yaml", err)
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "pipeline.yaml"), []byte("defaults: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadStack(tftest.Reader(root), "terraform"); err == nil || !strings.Contains(err.Error(), "pipeline.yaml: version: missing") {
		t.Errorf("error %v, want the root file's own error", err)
	}
	// pipeline --terraform-dir=infra reads the root file's stacks section as ci/stacks does.
	if err := os.WriteFile(filepath.Join(root, "pipeline.yaml"), []byte("version: 1\nstacks: {inclde: [infra]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadStack(tftest.Reader(root), "infra"); err == nil || err.Error() != "pipeline.yaml: stacks.inclde: unknown key: valid keys are include, exclude, marker, depends_on" {
		t.Errorf("error %v, want the misspelt stacks key refused", err)
	}
}

// A repository's file may have a stacks section of any valid shape, or an empty one.
func TestParseInheritedStacksSection(t *testing.T) {
	for _, stacks := range []string{
		"stacks:\n",
		"stacks: {}\n",
		"stacks:\n  include: [stacks/*, live/**]\n  exclude: [examples/*]\n  marker: stack.yaml\n  depends_on:\n    stacks/app: [stacks/network]\n",
	} {
		if _, err := ParseInherited("pipeline.yaml", []byte("version: 1\n"+stacks), "stacks/network/pipeline.yaml", nil); err != nil {
			t.Errorf("%q: %v", stacks, err)
		}
	}
}
