package discovery_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/discoverytest"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
)

var (
	prod  = discoverytest.Tags("Project", "shop", "Environment", "prod")
	test  = discoverytest.Tags("Project", "shop", "Environment", "test")
	other = discoverytest.Tags("Project", "blog", "Environment", "prod")
	// custom tag keys, as a repository's profile may configure them
	custom = discoverytest.Tags("app", "shop", "stage", "prod")
)

// seedAll creates one resource of every supported type for shop/prod plus neighbours
// that must not be discovered (other environment, other project, one tag missing).
func seedAll(t *testing.T, endpoint string) []discoverytest.Created {
	s := discoverytest.New(endpoint)
	return s.Create(t,
		discoverytest.Spec{Type: discovery.VPC, Name: "shop-prod", Tags: prod},
		discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-prod-assets", Tags: prod},
		discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-test-assets", Tags: test},
		discoverytest.Spec{Type: discovery.S3Bucket, Name: "blog-prod-assets", Tags: other},
		discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-untagged-env", Tags: discoverytest.Tags("Project", "shop")},
		discoverytest.Spec{Type: discovery.DynamoDBTable, Name: "shop-prod-orders", Tags: prod},
		discoverytest.Spec{Type: discovery.DynamoDBTable, Name: "shop-test-orders", Tags: test},
		discoverytest.Spec{Type: discovery.SNSTopic, Name: "shop-prod-events", Tags: prod},
		discoverytest.Spec{Type: discovery.SNSTopic, Name: "shop-custom-events", Tags: custom},
		discoverytest.Spec{Type: discovery.SQSQueue, Name: "shop-prod-jobs", Tags: prod},
		discoverytest.Spec{Type: discovery.SQSQueue, Name: "blog-prod-jobs", Tags: other},
		discoverytest.Spec{Type: discovery.MetricAlarm, Name: "shop-prod-errors", Tags: prod},
		discoverytest.Spec{Type: discovery.IAMRole, Name: "shop-prod-app", Tags: prod},
		discoverytest.Spec{Type: discovery.IAMRole, Name: "shop-test-app", Tags: test},
		discoverytest.Spec{Type: discovery.IAMRole, Name: "shop-custom-app", Tags: custom},
		discoverytest.Spec{Type: discovery.KMSKey, Name: "shop-prod-data", Tags: prod},
		discoverytest.Spec{Type: discovery.LambdaFunction, Name: "shop-prod-worker", Tags: prod},
		discoverytest.Spec{Type: discovery.Subnet, Name: "shop-prod-a", Tags: prod},
		// A group's name comes from its Name tag (most modules set it): one group has it,
		// one does not and is found without a name.
		discoverytest.Spec{Type: discovery.SecurityGroup, Name: "shop-prod-web", Tags: discoverytest.Tags("Project", "shop", "Environment", "prod", "Name", "shop-prod-web")},
		discoverytest.Spec{Type: discovery.SecurityGroup, Name: "shop-prod-db", Tags: prod},
		discoverytest.Spec{Type: discovery.SecurityGroup, Name: "shop-test-web", Tags: test},
	)
}

func TestDiscover(t *testing.T) {
	moto := mototest.Start(t)
	created := seedAll(t, moto.URL)
	tests := []struct {
		name string
		cfg  discovery.Config
		want func(discoverytest.Created) bool
	}{
		{
			name: "default tag keys",
			cfg:  discovery.Config{Project: "shop", Environment: "prod"},
			want: func(c discoverytest.Created) bool { return sameTags(c.Tags, prod) },
		},
		{
			name: "keys from the profile",
			cfg: discovery.ConfigFor(environment.Profile{Name: environment.Prod, ProjectTagKey: "app",
				EnvironmentTagKey: "stage"}, "shop"),
			want: func(c discoverytest.Created) bool { return sameTags(c.Tags, custom) },
		},
		{
			name: "nothing tagged for staging",
			cfg:  discovery.Config{Project: "shop", Environment: "staging"},
			want: func(discoverytest.Created) bool { return false },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Endpoint, tt.cfg.Credentials = moto.URL, discoverytest.Credentials
			res, err := discovery.Discover(context.Background(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, c := range created {
				if tt.want(c) {
					name := c.Name
					switch c.Type {
					case discovery.KMSKey, discovery.VPC, discovery.Subnet:
						name = c.ID
					case discovery.SecurityGroup:
						name = c.Tags["Name"] // from the Name tag, never from EC2
					}
					want = append(want, c.Type+" "+name+" "+c.ID+" "+c.ARN)
				}
			}
			for _, r := range res.Resources {
				got = append(got, r.Type+" "+r.Name+" "+r.ID+" "+r.ARN)
				if !sameTags(r.Tags, mergeTags(r.Tags, tt.cfg)) {
					t.Errorf("%s: tags %v lack the filter tags", r.ARN, r.Tags)
				}
			}
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("discovered:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// one tagging page, one ListRoles page, ListRoleTags for roles whose listing
			// carried no tags (1 to 4 here) and DescribeKey for each KMS key found: never
			// one call per discovered resource, and none to EC2.
			keys := 0
			for _, r := range res.Resources {
				if r.Type == discovery.KMSKey {
					keys++
				}
			}
			if res.Stats.Calls < 2 || res.Stats.Calls > 6+int64(keys) {
				t.Errorf("calls = %d, want 2..%d", res.Stats.Calls, 6+keys)
			}
			if res.Stats.Retries != 0 {
				t.Errorf("retries = %d on a healthy server", res.Stats.Retries)
			}
		})
	}
}

func mergeTags(tags map[string]string, cfg discovery.Config) map[string]string {
	m := map[string]string{}
	for k, v := range tags {
		m[k] = v
	}
	pk, ek := cfg.ProjectTagKey, cfg.EnvironmentTagKey
	if pk == "" {
		pk, ek = "Project", "Environment"
	}
	m[pk], m[ek] = cfg.Project, cfg.Environment
	return m
}

func sameTags(a, b map[string]string) bool {
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok && k != "Name" {
			return false
		}
	}
	return true
}

func TestDiscoverPaginates(t *testing.T) {
	moto := mototest.Start(t)
	var specs []discoverytest.Spec
	for i := range 120 {
		specs = append(specs, discoverytest.Spec{Type: discovery.SQSQueue, Name: "q" + string(rune('a'+i%26)) + itoa(i), Tags: prod})
	}
	discoverytest.New(moto.URL).Create(t, specs...)
	res, err := discovery.Discover(context.Background(), discovery.Config{Project: "shop", Environment: "prod",
		Endpoint: moto.URL, Credentials: discoverytest.Credentials})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Resources) != 120 {
		t.Fatalf("discovered %d queues, want 120", len(res.Resources))
	}
	// 120 resources at up to 100 a page (moto serves 49): 2 or 3 GetResources calls,
	// plus 1 ListRoles; never one call per resource.
	if res.Stats.Calls < 3 || res.Stats.Calls > 4 {
		t.Errorf("calls = %d, want 3..4 (2-3 pages + ListRoles)", res.Stats.Calls)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// failAfter lets n requests through, then runs fail once (stopping or stalling moto), so
// the failure lands in the middle of a paginated discovery.
type failAfter struct {
	n    int64
	seen atomic.Int64
	fail func()
	next http.Client
}

func (f *failAfter) Do(r *http.Request) (*http.Response, error) {
	if f.seen.Add(1) == f.n+1 {
		f.fail()
	}
	return f.next.Do(r)
}

// denyDescribeKey answers KMS DescribeKey as AWS does a role without kms:DescribeKey.
type denyDescribeKey struct{ next http.Client }

func (d *denyDescribeKey) Do(r *http.Request) (*http.Response, error) {
	if r.Header.Get("X-Amz-Target") == "TrentService.DescribeKey" {
		body := `{"__type":"AccessDeniedException","message":"User is not authorized to perform: kms:DescribeKey"}`
		return &http.Response{StatusCode: http.StatusBadRequest, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
	}
	return d.next.Do(r)
}

// A key scheduled for deletion is told apart; without kms:DescribeKey its state is unknown,
// and discovery still lists every resource.
func TestDiscoverKMSKeyStates(t *testing.T) {
	moto := mototest.Start(t)
	seeded := discoverytest.New(moto.URL).Create(t,
		discoverytest.Spec{Type: discovery.KMSKey, Name: "shop-prod-old", Tags: prod, PendingDeletion: true},
		discoverytest.Spec{Type: discovery.SNSTopic, Name: "shop-prod-events", Tags: prod})
	for _, tt := range []struct {
		name   string
		client aws.HTTPClient
		state  string
	}{
		{"allowed", nil, "PendingDeletion"},
		{"denied", &denyDescribeKey{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := discovery.Discover(context.Background(), discovery.Config{Project: "shop", Environment: "prod",
				Endpoint: moto.URL, Credentials: discoverytest.Credentials, HTTPClient: tt.client})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Resources) != 2 {
				t.Fatalf("discovered %d resources, want 2: %+v", len(res.Resources), res.Resources)
			}
			for _, r := range res.Resources {
				if r.ID == seeded[0].ID && r.State != tt.state {
					t.Errorf("key state %q, want %q", r.State, tt.state)
				}
			}
		})
	}
}

func TestDiscoverFailsMidRun(t *testing.T) {
	tests := []struct {
		name         string
		fail         func(*testing.T, *mototest.Server)
		timeout      time.Duration
		wantAttempts int64 // HTTP requests, the first successful one included
		wantErr      []string
		deadline     bool
	}{
		{
			name:         "server killed: bounded retries",
			fail:         func(_ *testing.T, m *mototest.Server) { m.Stop() },
			timeout:      time.Minute,
			wantAttempts: 1 + 4, // the first page, then 4 attempts (3 retries) at the second
			wantErr:      []string{"discovery at http://127.0.0.1", "3 retries", "GetResources", "connection refused"},
		},
		{
			name: "server stalled: overall timeout",
			fail: func(t *testing.T, m *mototest.Server) {
				m.Stall(t)
			},
			timeout:  3 * time.Second,
			wantErr:  []string{"discovery timed out after 3s talking to http://127.0.0.1", "raise the timeout"},
			deadline: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			moto := mototest.Start(t)
			var specs []discoverytest.Spec
			for i := range 60 { // more than one page (moto serves 49 a page)
				specs = append(specs, discoverytest.Spec{Type: discovery.SNSTopic, Name: "t" + itoa(i), Tags: prod})
			}
			discoverytest.New(moto.URL).Create(t, specs...)
			cfg := discovery.Config{Project: "shop", Environment: "prod", Endpoint: moto.URL,
				Credentials: discoverytest.Credentials, MaxAttempts: 4, MaxBackoff: 50 * time.Millisecond}
			// moto loads every service's backend on its first GetResources (seconds):
			// warm it up so the timeout below measures the stall alone.
			if _, err := discovery.Discover(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			cfg.Timeout, cfg.HTTPClient = tt.timeout, &failAfter{n: 1, fail: func() { tt.fail(t, moto) }}
			res, err := discovery.Discover(context.Background(), cfg)
			if err == nil {
				t.Fatalf("discovery succeeded with %d resources after the server failed", len(res.Resources))
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != tt.deadline {
				t.Errorf("errors.Is(err, DeadlineExceeded) = %v, want %v", got, tt.deadline)
			}
			if res.Resources != nil {
				t.Errorf("a failed discovery returned %d resources; want none (no partial view)", len(res.Resources))
			}
			if tt.wantAttempts != 0 && res.Stats.Attempts != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", res.Stats.Attempts, tt.wantAttempts)
			}
			if tt.deadline && res.Stats.Attempts > 2 {
				t.Errorf("attempts = %d after the stall, want at most 2: the deadline ends the run, not retries", res.Stats.Attempts)
			}
			if !tt.deadline && res.Stats.Calls != 2 {
				t.Errorf("calls = %d, want 2 (page one, then the failing page two); %+v, %v", res.Stats.Calls, res.Stats, err)
			}
		})
	}
}

func TestDiscoverRejectsMissingTags(t *testing.T) {
	for _, tt := range []struct {
		cfg  discovery.Config
		want string
	}{
		{discovery.Config{Environment: "prod"}, `values of the Project and Environment tags (got Project="", Environment="prod")`},
		{discovery.Config{Project: "shop", ProjectTagKey: "app", EnvironmentTagKey: "stage"}, `values of the app and stage tags (got app="shop", stage="")`},
	} {
		tt.cfg.Credentials = discoverytest.Credentials
		_, err := discovery.Discover(context.Background(), tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want one naming the tag keys and values: %q", err, tt.want)
		}
	}
}

// TestDiscoverErrorsHideEndpointCredentials: an endpoint URL may carry credentials; the
// error, which lands in job logs and reports, names the endpoint without them.
func TestDiscoverErrorsHideEndpointCredentials(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: every attempt is refused at once
	_, err = discovery.Discover(context.Background(), discovery.Config{Project: "shop", Environment: "prod",
		Endpoint: "http://AKIAEXAMPLE:topsecret@" + addr, Credentials: discoverytest.Credentials,
		MaxAttempts: 2, MaxBackoff: 10 * time.Millisecond})
	if err == nil {
		t.Fatal("discovery succeeded against a closed port")
	}
	if strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "AKIAEXAMPLE") {
		t.Errorf("error shows the endpoint's credentials: %v", err)
	}
	if !strings.Contains(err.Error(), "discovery at http://REDACTED@"+addr) {
		t.Errorf("error %q does not name the endpoint %s", err, addr)
	}
}
