// Package discovery finds the AWS resources that belong to one project and environment,
// by their tags, so that the importer can adopt them instead of letting Terraform create
// duplicates. It asks the Resource Groups Tagging API (one paginated call for every
// service) and lists IAM roles directly, because the tagging API does not return them;
// KMS keys are described one by one, as only that tells a key scheduled for deletion.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	tagtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// Defaults for the fields of Config left zero.
const (
	DefaultProjectTagKey     = "Project"
	DefaultEnvironmentTagKey = "Environment"
	DefaultTimeout           = 2 * time.Minute
	DefaultMaxAttempts       = 5
	DefaultMaxBackoff        = 5 * time.Second
	defaultRegion            = "us-east-1"
)

// Config says what to discover and how hard to try.
type Config struct {
	Project     string // value of the project tag; required
	Environment string // value of the environment tag; required
	// Tag keys; default Project and Environment.
	ProjectTagKey, EnvironmentTagKey string

	Region   string // default: AWS_REGION, else us-east-1
	Endpoint string // one endpoint for every service (moto, LocalStack); empty for AWS
	// Credentials overrides the SDK's default chain (environment, profile, instance role).
	Credentials aws.CredentialsProvider
	// HTTPClient replaces the SDK's HTTP client (a proxy, or a test that fails mid-run).
	HTTPClient aws.HTTPClient

	// Timeout bounds the whole discovery, retries included, so a hung API cannot hold
	// the pipeline. MaxAttempts and MaxBackoff bound the SDK's exponential backoff for
	// each call (throttling, 5xx, connection errors).
	Timeout     time.Duration
	MaxAttempts int
	MaxBackoff  time.Duration
}

// ConfigFor takes the tag keys from the environment's profile.
func ConfigFor(p environment.Profile, project string) Config {
	return Config{
		Project:           project,
		Environment:       string(p.Name),
		ProjectTagKey:     p.ProjectTagKey,
		EnvironmentTagKey: p.EnvironmentTagKey,
	}
}

func (c Config) withDefaults() Config {
	if c.ProjectTagKey == "" {
		c.ProjectTagKey = DefaultProjectTagKey
	}
	if c.EnvironmentTagKey == "" {
		c.EnvironmentTagKey = DefaultEnvironmentTagKey
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	return c
}

// Resource is one discovered AWS resource.
type Resource struct {
	ARN string `json:"arn"`
	Identity
	Tags map[string]string `json:"tags"`
	// State is set for a KMS key scheduled for deletion (PendingDeletion,
	// PendingReplicaDeletion): it keeps its tags until it is gone, but Terraform can no
	// longer import it, and it must not crowd out the live key that replaced it.
	State string `json:"state,omitempty"`
}

// Pending reports whether the resource is on its way out (see State).
func (r Resource) Pending() bool { return r.State != "" }

// Stats counts the work discovery did, for the report and the benchmark.
type Stats struct {
	Calls    int64         `json:"calls"`    // API operations started
	Attempts int64         `json:"attempts"` // HTTP requests sent, retries included
	Retries  int64         `json:"retries"`  // Attempts beyond the first of each call
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// Result is what Discover found; Stats is filled even when Discover fails.
type Result struct {
	Resources []Resource `json:"resources"`
	Stats     Stats      `json:"stats"`
}

// Discover lists the resources tagged with both the project and the environment tag,
// sorted by ARN. It fails as a whole (no partial list) so the importer never acts on an
// incomplete view of the account.
func Discover(ctx context.Context, cfg Config) (Result, error) {
	cfg = cfg.withDefaults()
	if cfg.Project == "" || cfg.Environment == "" {
		return Result{}, fmt.Errorf("discovery needs the values of the %s and %s tags (got %s=%q, %s=%q): pass the project, e.g. --project=myproject",
			cfg.ProjectTagKey, cfg.EnvironmentTagKey, cfg.ProjectTagKey, cfg.Project, cfg.EnvironmentTagKey, cfg.Environment)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	c := newCounter()
	awsCfg, err := cfg.load(ctx, c)
	var res Result
	if err == nil {
		res.Resources, err = discover(ctx, cfg, awsCfg)
	}
	res.Stats = c.stats(time.Since(start))
	if err != nil {
		res.Resources = nil
		where := "AWS"
		if cfg.Endpoint != "" {
			where = redact(cfg.Endpoint)
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return res, fmt.Errorf("discovery timed out after %s talking to %s (%d calls, %d retries); raise the timeout or check the endpoint: %w",
				cfg.Timeout, where, res.Stats.Calls, res.Stats.Retries, err)
		}
		return res, fmt.Errorf("discovery at %s failed (%d calls, %d retries): %w", where, res.Stats.Calls, res.Stats.Retries, err)
	}
	return res, nil
}

// redact drops the user information from an endpoint URL before it goes into an error: an
// emulator or proxy URL may carry credentials (http://key:secret@host), and errors end up
// in job logs and reports.
func redact(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "the configured endpoint (not a valid URL)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}

func discover(ctx context.Context, cfg Config, awsCfg aws.Config) ([]Resource, error) {
	byARN := map[string]Resource{}
	tagged, err := fromTaggingAPI(ctx, cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	roles, err := iamRoles(ctx, cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	securityGroupNames(tagged)
	if err := kmsKeyStates(ctx, awsCfg, tagged); err != nil {
		return nil, err
	}
	for _, r := range append(tagged, roles...) {
		byARN[r.ARN] = r
	}
	out := make([]Resource, 0, len(byARN))
	for _, r := range byARN {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out, nil
}

func fromTaggingAPI(ctx context.Context, cfg Config, awsCfg aws.Config) ([]Resource, error) {
	client := tagging.NewFromConfig(awsCfg)
	pages := tagging.NewGetResourcesPaginator(client, &tagging.GetResourcesInput{
		ResourcesPerPage: aws.Int32(100),
		TagFilters: []tagtypes.TagFilter{
			{Key: aws.String(cfg.ProjectTagKey), Values: []string{cfg.Project}},
			{Key: aws.String(cfg.EnvironmentTagKey), Values: []string{cfg.Environment}},
		},
	})
	var out []Resource
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("tagging API GetResources: %w", err)
		}
		for _, m := range page.ResourceTagMappingList {
			tags := map[string]string{}
			for _, t := range m.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			r, err := resource(aws.ToString(m.ResourceARN), tags, cfg.Endpoint)
			if err != nil {
				return nil, fmt.Errorf("tagging API: %w", err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// iamRoles lists roles directly: the tagging API does not cover IAM roles. ListRoles does
// not return tags on AWS, so each role without them costs one ListRoleTags call.
func iamRoles(ctx context.Context, cfg Config, awsCfg aws.Config) ([]Resource, error) {
	client := iam.NewFromConfig(awsCfg)
	pages := iam.NewListRolesPaginator(client, &iam.ListRolesInput{})
	var out []Resource
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("IAM ListRoles: %w", err)
		}
		for _, role := range page.Roles {
			tags := map[string]string{}
			for _, t := range role.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			if len(tags) == 0 {
				got, err := client.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: role.RoleName})
				if err != nil {
					return nil, fmt.Errorf("IAM ListRoleTags %s: %w", aws.ToString(role.RoleName), err)
				}
				for _, t := range got.Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
			if tags[cfg.ProjectTagKey] != cfg.Project || tags[cfg.EnvironmentTagKey] != cfg.Environment {
				continue
			}
			r, err := resource(aws.ToString(role.Arn), tags, cfg.Endpoint)
			if err != nil {
				return nil, fmt.Errorf("IAM: %w", err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// securityGroupNames fills in group names from the groups' Name tag, which the tagging API
// already returned: a configuration names a group by its group name, which an ARN does not
// carry, and asking EC2 for it would link the EC2 client into every build of the module
// (about 70 s more on a cold build on two cores, for one call). Most modules tag a group
// with its name; a group without a Name tag is reported as unmapped, saying so.
func securityGroupNames(rs []Resource) {
	for i := range rs {
		if rs[i].Type == SecurityGroup {
			rs[i].Name = rs[i].Tags["Name"]
		}
	}
}

// kmsKeyStates marks the keys scheduled for deletion, with one DescribeKey a key: neither
// the tagging API nor ListKeys tells a key's state, and keys are few. A role without
// kms:DescribeKey leaves the states unknown rather than failing discovery: the list of
// resources is whole all the same.
func kmsKeyStates(ctx context.Context, awsCfg aws.Config, rs []Resource) error {
	var client *kms.Client
	for i := range rs {
		if rs[i].Type != KMSKey {
			continue
		}
		if client == nil {
			client = kms.NewFromConfig(awsCfg)
		}
		out, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(rs[i].ARN)})
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException" {
			return nil
		}
		if err != nil {
			return fmt.Errorf("KMS DescribeKey %s: %w", rs[i].ID, err)
		}
		switch st := out.KeyMetadata.KeyState; st {
		case kmstypes.KeyStatePendingDeletion, kmstypes.KeyStatePendingReplicaDeletion:
			rs[i].State = string(st)
		}
	}
	return nil
}

func resource(arnStr string, tags map[string]string, endpoint string) (Resource, error) {
	id, err := ParseARN(arnStr)
	if err != nil {
		return Resource{}, err
	}
	if id.Type == SQSQueue {
		if id.ID, err = QueueURL(arnStr, endpoint); err != nil {
			return Resource{}, err
		}
	}
	return Resource{ARN: arnStr, Identity: id, Tags: tags}, nil
}

// load builds the SDK configuration: bounded retries with exponential backoff and no
// client-side retry quota (a quota would stop retrying exactly when the API is flaky),
// the endpoint override, and counting of calls and attempts.
func (cfg Config) load(ctx context.Context, c *counter) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = cfg.MaxAttempts
				o.MaxBackoff = cfg.MaxBackoff
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = defaultRegion
	}
	if cfg.Endpoint != "" {
		awsCfg.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	// Wrapped after loading, so the SDK can still apply AWS_CA_BUNDLE to its own client.
	if cfg.HTTPClient != nil {
		awsCfg.HTTPClient = cfg.HTTPClient
	}
	if awsCfg.HTTPClient == nil {
		awsCfg.HTTPClient = awshttp.NewBuildableClient()
	}
	awsCfg.HTTPClient = c.client(awsCfg.HTTPClient)
	awsCfg.APIOptions = append(awsCfg.APIOptions, c.middleware)
	return awsCfg, nil
}

// counter counts operations (a middleware at the start of each call) and HTTP attempts
// (a wrapper around the HTTP client, below the retry loop).
type counter struct{ calls, attempts atomic.Int64 }

func newCounter() *counter { return &counter{} }

func (c *counter) middleware(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc("infrapipeCountCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.calls.Add(1)
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

type countingClient struct {
	next aws.HTTPClient
	n    *atomic.Int64
}

func (cc countingClient) Do(r *http.Request) (*http.Response, error) {
	cc.n.Add(1)
	return cc.next.Do(r)
}

func (c *counter) client(next aws.HTTPClient) aws.HTTPClient {
	return countingClient{next: next, n: &c.attempts}
}

func (c *counter) stats(elapsed time.Duration) Stats {
	s := Stats{Calls: c.calls.Load(), Attempts: c.attempts.Load(), Elapsed: elapsed}
	if s.Attempts > s.Calls {
		s.Retries = s.Attempts - s.Calls
	}
	return s
}
