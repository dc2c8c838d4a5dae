// Package providertest serves a small stand-in for the hashicorp/aws Terraform provider,
// backed by moto, so tests can run real `terraform plan` and `apply` with `import {}`
// blocks and `-refresh-only` drift against real emulated AWS objects. The registry is
// unreachable here, so the real provider cannot be used.
//
// The provider lives in internal/testprovider (its own Go module, so its dependencies stay
// out of the root module). It manages:
//
//   - aws_s3_bucket: bucket (forces replacement), force_destroy, tags; id = bucket name; arn.
//   - aws_dynamodb_table: name, hash_key, billing_mode (PAY_PER_REQUEST only), one or more
//     attribute { name, type } blocks; id = table name; arn.
//   - aws_sns_topic: name; id = topic ARN; arn.
//
// Every resource supports import (`import { to = ..., id = ... }` with the ids above) and
// `tags` (map of string). Read returns what moto really holds: a tag changed with the SDK
// shows up as drift in tags, an object deleted out of band leaves the state. The
// provider's default_tags are written to every object as the real provider does, but
// there is no tags_all attribute: tags holds the resource's own tags, plus any default tag
// whose remote value differs from the configured one (so that shows as drift too).
//
// The provider block may be omitted: region and credentials come from the AWS_* variables
// and the endpoint from AWS_ENDPOINT_URL, which Use sets. It also accepts `region`,
// `endpoint` (one URL for every service) and, for HCL written for the real provider,
// access_key, secret_key, token, the skip_* switches, s3_use_path_style, default_tags { tags }
// and an endpoints block (s3, dynamodb and sns are used; sts, cloudwatch, ec2, iam, kms,
// lambda, sqs and resourcegroupstaggingapi are accepted). Constraints such as
// `version = "~> 5.0"` resolve: it is served as [Version].
//
// Usage (Use takes t because building the provider can fail, and that must fail the test):
//
//	func TestImportBucket(t *testing.T) {
//		moto := mototest.Start(t)
//		// ... create the bucket "logs" with the AWS SDK against moto.URL ...
//		w := tftest.New(t, map[string]string{"main.tf": `
//	import {
//	  to = aws_s3_bucket.logs
//	  id = "logs"
//	}
//	resource "aws_s3_bucket" "logs" {
//	  bucket = "logs"
//	  tags   = { env = "test" }
//	}`})
//		providertest.Use(t, w, moto)
//		w.Init()
//		plan := w.PlanJSON() // resource_changes[0].change.importing.id == "logs"
//		_ = plan
//	}
//
// Drift: apply, change the object with the SDK (e.g. PutBucketTagging), then
// w.PlanJSON("-refresh-only") holds it in resource_drift (an update for changed tags, a
// delete for a deleted object); `plan -refresh-only -detailed-exitcode` exits 2.
// `plan -generate-config-out=FILE` with a bare import block works too. Ids for import
// blocks: the bucket name, the table name, and for topics the ARN, which on moto is
// arn:aws:sns:<region>:123456789012:<name>. Other resource types (versioning, policies,
// KMS, alarms ...) are not implemented: a stack using them cannot be planned with it.
//
// Build time: the first Build in a test process compiles the provider and caches the
// binary under the user cache directory (infrapipe-testprovider/<hash>), keyed by a hash
// of the provider's sources, the Go version and the platform. Concurrent test processes
// wait on a file lock instead of building twice; entries unused for a week are removed.
// Measured on 2 shared cores: about 5 minutes when none of its dependencies (plugin
// framework, gRPC, AWS SDK) are in the Go build cache, about 5 to 30 seconds when they
// are, and well under a second from the cache afterwards.
package providertest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// Version is the provider version in the mirror, chosen so that constraints written for
// the real hashicorp/aws 5.x provider resolve.
const Version = "5.99.0"

// source is the provider's address; the CLI config routes only this address to the mirror.
const source = "registry.terraform.io/hashicorp/aws"

var (
	buildOnce sync.Once
	cliConfig string
	buildErr  error
)

// Build compiles the provider once per test process (or reuses the cached binary) and
// returns the path of a Terraform CLI configuration that installs hashicorp/aws from a
// filesystem mirror holding it, and every other provider directly.
func Build(t testing.TB) (cliConfigPath string) {
	t.Helper()
	buildOnce.Do(func() { cliConfig, buildErr = build() })
	if buildErr != nil {
		t.Fatalf("build the aws test provider: %v", buildErr)
	}
	return cliConfig
}

// Use points the workspace at the test provider (Build) and at moto: TF_CLI_CONFIG_FILE,
// the AWS credentials and region, and AWS_ENDPOINT_URL, replacing earlier values.
func Use(t testing.TB, w *tftest.Workspace, moto *mototest.Server) {
	t.Helper()
	set := append([]string{"TF_CLI_CONFIG_FILE=" + Build(t), "AWS_ENDPOINT_URL=" + moto.URL}, moto.Env()...)
	w.Env = slices.DeleteFunc(w.Env, func(kv string) bool {
		return slices.ContainsFunc(set, func(s string) bool { return sameKey(kv, s) })
	})
	w.Env = append(w.Env, set...)
}

func sameKey(a, b string) bool {
	ka, _, _ := strings.Cut(a, "=")
	kb, _, _ := strings.Cut(b, "=")
	return ka == kb
}

// build lays out, under the cache directory:
//
//	<hash>/mirror/registry.terraform.io/hashicorp/aws/<Version>/<os>_<arch>/terraform-provider-aws_v<Version>
//	<hash>/terraform.rc
//
// Several test processes (go test ./...) may build at once: a file lock makes one build
// and the others wait and reuse its result.
func build() (string, error) {
	src, err := sourceDir()
	if err != nil {
		return "", err
	}
	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	sum, err := hashSources(src, strings.TrimSpace(string(goVersion)))
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the user cache directory: %w", err)
	}
	root := filepath.Join(cache, "infrapipe-testprovider")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	unlock, err := lock(filepath.Join(root, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()

	dir := filepath.Join(root, sum)
	rc := filepath.Join(dir, "terraform.rc")
	if _, err := os.Stat(rc); err == nil {
		now := time.Now()
		_ = os.Chtimes(rc, now, now) // marks the entry as in use for prune
		return rc, nil
	}
	prune(root, sum)
	platform := runtime.GOOS + "_" + runtime.GOARCH
	mirror := filepath.Join(dir, "mirror")
	binDir := filepath.Join(mirror, filepath.FromSlash(source), Version, platform)
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags=-s -w -X main.version="+Version,
		"-o", filepath.Join(binDir, "terraform-provider-aws_v"+Version), ".")
	cmd.Dir = src
	// GOWORK=off: a go.work at the repository root does not list this module.
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in %s: %w\n%s", src, err, out)
	}
	config := fmt.Sprintf(`disable_checkpoint = true
provider_installation {
  filesystem_mirror {
    path    = %q
    include = [%q]
  }
  direct {
    exclude = [%q]
  }
}
`, mirror, source, source)
	// Written last: its presence marks a complete entry.
	if err := os.WriteFile(rc, []byte(config), 0o644); err != nil {
		return "", err
	}
	return rc, nil
}

// unusedFor is how long a cache entry may go unused before a new build removes it: every
// edit of the provider leaves a 30 MB binary behind.
const unusedFor = 7 * 24 * time.Hour

// prune removes the cache entries other than keep that no Build used for unusedFor, and
// unfinished ones (no terraform.rc). The caller holds the lock, so none is being built.
func prune(root, keep string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == keep {
			continue
		}
		info, err := os.Stat(filepath.Join(root, e.Name(), "terraform.rc"))
		if err == nil && time.Since(info.ModTime()) < unusedFor {
			continue
		}
		_ = os.RemoveAll(filepath.Join(root, e.Name()))
	}
}

// sourceDir finds internal/testprovider above the working directory, which go test sets
// to the package under test, wherever in the repository that is.
func sourceDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "internal", "testprovider")
		if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("internal/testprovider/go.mod not found above the working directory")
		}
		dir = parent
	}
}

// hashSources hashes the Go files (tests aside), go.mod and go.sum of the provider with the
// Go version and platform: any change there needs a new binary.
func hashSources(dir, goVersion string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s %s\n", goVersion, runtime.GOOS, runtime.GOARCH, Version)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		source := strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
		if !source && name != "go.mod" && name != "go.sum" {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%s\n", filepath.ToSlash(rel))
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("hash provider sources in %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// lock takes an exclusive lock on path, waiting for other processes that hold it.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
