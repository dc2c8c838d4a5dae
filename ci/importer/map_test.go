package importer_test

import (
	"context"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/importer"
	"github.com/infrapipe/infrapipe/ci/internal/discoverytest"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
)

// create is one resource a plan would create: type.name with the given after values.
type create struct {
	addr  string
	after map[string]any
}

// planOf builds the part of `terraform show -json` that Map reads. The test provider
// implements only buckets, tables and topics (TestImportWithRealTerraform covers those
// with real plans); for the other eight types this is the shape Terraform writes:
// resource_changes[].change.{actions,after} and prior_state.values.root_module.resources.
func planOf(creates []create, managed map[string]map[string]any) *tfjson.Plan {
	p := &tfjson.Plan{FormatVersion: "1.2", PriorState: &tfjson.State{FormatVersion: "1.0",
		Values: &tfjson.StateValues{RootModule: &tfjson.StateModule{}}}}
	for _, c := range creates {
		typ, name, _ := strings.Cut(c.addr, ".")
		p.ResourceChanges = append(p.ResourceChanges, &tfjson.ResourceChange{
			Address: c.addr, Mode: tfjson.ManagedResourceMode, Type: typ, Name: name,
			Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionCreate}, After: c.after},
		})
	}
	for addr, values := range managed {
		parts := strings.Split(addr, ".") // [module.NAME.]TYPE.NAME
		typ, name := parts[len(parts)-2], parts[len(parts)-1]
		p.PriorState.Values.RootModule.Resources = append(p.PriorState.Values.RootModule.Resources,
			&tfjson.StateResource{Address: addr, Mode: tfjson.ManagedResourceMode, Type: typ, Name: name, AttributeValues: values})
	}
	return p
}

func tags(kv ...string) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestMapAllTypes discovers one resource of every supported type on moto and maps them
// onto a plan that creates each, by name or by Name tag.
func TestMapAllTypes(t *testing.T) {
	moto := mototest.Start(t)
	seeded := discoverytest.New(moto.URL).Create(t,
		discoverytest.Spec{Type: discovery.VPC, Name: "shop-prod", Tags: prod},
		discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-prod-assets", Tags: prod},
		discoverytest.Spec{Type: discovery.DynamoDBTable, Name: "shop-prod-orders", Tags: prod},
		discoverytest.Spec{Type: discovery.SNSTopic, Name: "shop-prod-events", Tags: prod},
		discoverytest.Spec{Type: discovery.SQSQueue, Name: "shop-prod-jobs", Tags: prod},
		discoverytest.Spec{Type: discovery.MetricAlarm, Name: "shop-prod-errors", Tags: prod},
		discoverytest.Spec{Type: discovery.IAMRole, Name: "shop-prod-app", Tags: prod},
		discoverytest.Spec{Type: discovery.KMSKey, Name: "shop-prod-data", Tags: prod},
		discoverytest.Spec{Type: discovery.LambdaFunction, Name: "shop-prod-worker", Tags: prod},
		discoverytest.Spec{Type: discovery.Subnet, Name: "shop-prod-a", Tags: prod},
		discoverytest.Spec{Type: discovery.SecurityGroup, Name: "shop-prod-web", Tags: discoverytest.Tags("Project", "shop", "Environment", "prod", "Name", "shop-prod-web")},
	)
	found, err := discovery.Discover(context.Background(), config(moto))
	if err != nil {
		t.Fatal(err)
	}
	plan := planOf([]create{
		{"aws_vpc.main", map[string]any{"cidr_block": "10.0.0.0/16", "tags": tags("Name", "shop-prod", "Project", "shop")}},
		{"aws_s3_bucket.assets", map[string]any{"bucket": "shop-prod-assets"}},
		{"aws_dynamodb_table.orders", map[string]any{"name": "shop-prod-orders"}},
		{"aws_sns_topic.events", map[string]any{"name": "shop-prod-events"}},
		{"aws_sqs_queue.jobs", map[string]any{"name": "shop-prod-jobs"}},
		{"aws_cloudwatch_metric_alarm.errors", map[string]any{"alarm_name": "shop-prod-errors"}},
		{"aws_iam_role.app", map[string]any{"name": "shop-prod-app"}},
		{"aws_kms_key.data", map[string]any{"tags": tags("Name", "shop-prod-data")}},
		{"aws_lambda_function.worker", map[string]any{"function_name": "shop-prod-worker"}},
		{"aws_subnet.a", map[string]any{"tags_all": tags("Name", "shop-prod-a", "Environment", "prod")}},
		{"aws_security_group.web", map[string]any{"name": "shop-prod-web"}},
	}, nil)
	mapped, err := importer.Map(found.Resources, plan, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // address → import ID
	for _, c := range seeded {
		for _, rc := range plan.ResourceChanges {
			if rc.Type == c.Type {
				want[rc.Address] = c.ID
			}
		}
	}
	got := map[string]string{}
	for _, e := range mapped.Entries {
		if e.Status != importer.Import {
			t.Errorf("%s %s: %s (%s), want import", e.Type, e.ARN, e.Status, e.Reason)
			continue
		}
		got[e.Address] = e.ID
	}
	if len(got) != len(want) {
		t.Errorf("imports %d, want %d", len(got), len(want))
	}
	for addr, id := range want {
		if got[addr] != id {
			t.Errorf("%s imports %q, want %q", addr, got[addr], id)
		}
	}
	// The queue's import ID is the URL moto itself reports.
	if !strings.HasPrefix(got["aws_sqs_queue.jobs"], moto.URL+"/") {
		t.Errorf("queue import ID %q is not a URL on %s", got["aws_sqs_queue.jobs"], moto.URL)
	}
}

// TestMapSkipsKeysPendingDeletion: `terraform destroy` leaves a KMS key scheduled for
// deletion, tags and all, for 7 to 30 days. The live key that replaced it is imported; the
// old one is skipped, saying why, instead of making both ambiguous (nothing imported) or
// being imported (Terraform cannot import a key pending deletion).
func TestMapSkipsKeysPendingDeletion(t *testing.T) {
	moto := mototest.Start(t)
	seeded := discoverytest.New(moto.URL).Create(t,
		discoverytest.Spec{Type: discovery.KMSKey, Name: "shop-prod-data", Tags: prod, PendingDeletion: true},
		discoverytest.Spec{Type: discovery.KMSKey, Name: "shop-prod-data", Tags: prod},
	)
	old, live := seeded[0], seeded[1]
	found, err := discovery.Discover(context.Background(), config(moto))
	if err != nil {
		t.Fatal(err)
	}
	plan := planOf([]create{{"aws_kms_key.data", map[string]any{"tags": tags("Name", "shop-prod-data")}}}, nil)
	mapped, err := importer.Map(found.Resources, plan, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]importer.Entry{}
	for _, e := range mapped.Entries {
		got[e.ID] = e
	}
	if e := got[live.ID]; e.Status != importer.Import || e.Address != "aws_kms_key.data" {
		t.Errorf("live key: %s %s (%s), want import into aws_kms_key.data", e.Status, e.Address, e.Reason)
	}
	e := got[old.ID]
	if e.Status != importer.Skipped || !strings.Contains(e.Reason, "scheduled for deletion (PendingDeletion)") ||
		!strings.Contains(e.Reason, "cancel-key-deletion --key-id "+old.ID) {
		t.Errorf("key pending deletion: %s (%s), want skipped, saying so", e.Status, e.Reason)
	}
}

func res(typ, name, id string, kv ...string) discovery.Resource {
	t := map[string]string{"Project": "shop", "Environment": "prod"}
	for i := 0; i+1 < len(kv); i += 2 {
		t[kv[i]] = kv[i+1]
	}
	return discovery.Resource{ARN: "arn:aws:test:::" + typ + "/" + id,
		Identity: discovery.Identity{Type: typ, Name: name, ID: id}, Tags: t}
}

// TestMapDecisions covers the rules one by one: never guess, skip what is managed.
func TestMapDecisions(t *testing.T) {
	tests := []struct {
		name      string
		resources []discovery.Resource
		creates   []create
		managed   map[string]map[string]any
		opts      importer.Options
		want      []string // "status address reason-fragment"
		removals  []string
		genOut    bool
		gone      []string // addresses the plan's refresh found gone (resource_drift deletes)
	}{
		{
			name:      "name match",
			resources: []discovery.Resource{res(discovery.SQSQueue, "jobs", "http://q/1/jobs")},
			creates:   []create{{"aws_sqs_queue.jobs", map[string]any{"name": "jobs"}}, {"aws_sqs_queue.other", map[string]any{"name": "other"}}},
			want:      []string{"import aws_sqs_queue.jobs "},
		},
		{
			name:      "no configuration resource",
			resources: []discovery.Resource{res(discovery.SQSQueue, "jobs", "http://q/1/jobs")},
			creates:   []create{{"aws_sns_topic.jobs", map[string]any{"name": "jobs"}}},
			want:      []string{`unmapped  no aws_sqs_queue in the plan's creates matches name "jobs"`},
		},
		{
			name:      "two configuration resources for one",
			resources: []discovery.Resource{res(discovery.S3Bucket, "logs", "logs")},
			creates:   []create{{"aws_s3_bucket.a", map[string]any{"bucket": "logs"}}, {"aws_s3_bucket.b", map[string]any{"bucket": "logs"}}},
			want:      []string{"ambiguous  2 configuration resources match: aws_s3_bucket.a, aws_s3_bucket.b"},
		},
		{
			name:      "two discovered for one configuration resource",
			resources: []discovery.Resource{res(discovery.KMSKey, "k1", "k1", "Name", "data"), res(discovery.KMSKey, "k2", "k2", "Name", "data")},
			creates:   []create{{"aws_kms_key.data", map[string]any{"tags": tags("Name", "data")}}},
			want:      []string{"ambiguous  2 discovered resources match aws_kms_key.data", "ambiguous  2 discovered resources match aws_kms_key.data"},
		},
		{
			name:      "project and environment tags alone identify nothing",
			resources: []discovery.Resource{res(discovery.KMSKey, "k1", "k1")},
			creates:   []create{{"aws_kms_key.data", map[string]any{"tags": tags("Project", "shop", "Environment", "prod")}}},
			want:      []string{"unmapped  no identifying tag: add a Name tag"},
		},
		{
			name:      "custom tag keys are not identifying either",
			resources: []discovery.Resource{res(discovery.VPC, "vpc-1", "vpc-1", "app", "shop")},
			creates:   []create{{"aws_vpc.main", map[string]any{"tags": tags("app", "shop")}}},
			opts:      importer.Options{ProjectTagKey: "app", EnvironmentTagKey: "stage"},
			want:      []string{"unmapped  no aws_vpc in the plan's creates matches tags {Environment=prod, Project=shop}"},
		},
		{
			name:      "every identifying tag must match",
			resources: []discovery.Resource{res(discovery.Subnet, "s-1", "s-1", "Name", "a", "Tier", "public")},
			creates: []create{{"aws_subnet.a", map[string]any{"tags": tags("Name", "a", "Tier", "private")}},
				{"aws_subnet.b", map[string]any{"tags": tags("Name", "a", "Tier", "public")}}},
			want: []string{"import aws_subnet.b "},
		},
		{
			name:      "name unknown at plan time falls back to tags",
			resources: []discovery.Resource{res(discovery.SNSTopic, "events", "arn:t", "Name", "events")},
			creates:   []create{{"aws_sns_topic.events", map[string]any{"tags": tags("Name", "events")}}},
			want:      []string{"import aws_sns_topic.events "},
		},
		{
			name:      "already managed is skipped",
			resources: []discovery.Resource{res(discovery.SNSTopic, "events", "arn:aws:sns:us-east-1:1:events")},
			managed:   map[string]map[string]any{"module.app.aws_sns_topic.events": {"id": "arn:aws:sns:us-east-1:1:events"}},
			want:      []string{"skipped module.app.aws_sns_topic.events already managed"},
		},
		{
			name:      "force re-imports what is managed",
			resources: []discovery.Resource{res(discovery.S3Bucket, "b", "b")},
			managed:   map[string]map[string]any{"aws_s3_bucket.b": {"id": "b", "arn": "arn:aws:s3:::b"}},
			opts:      importer.Options{Force: true},
			want:      []string{"import aws_s3_bucket.b forced re-import"},
			removals:  []string{"aws_s3_bucket.b"},
		},
		{
			name:      "managed under the same type only",
			resources: []discovery.Resource{res(discovery.DynamoDBTable, "orders", "orders")},
			managed:   map[string]map[string]any{"aws_s3_bucket.orders": {"id": "orders"}},
			want:      []string{"unmapped  no aws_dynamodb_table"},
		},
		{
			name:      "generate configuration for the unmapped",
			resources: []discovery.Resource{res(discovery.SQSQueue, "2nd-queue.fifo", "u1"), res(discovery.VPC, "vpc-1", "vpc-1", "Name", "Main VPC")},
			creates:   []create{{"aws_sqs_queue.r_2nd_queue_fifo", map[string]any{"name": "elsewhere"}}},
			opts:      importer.Options{GenerateConfig: true},
			want: []string{"import aws_sqs_queue.r_2nd_queue_fifo_2 -generate-config-out",
				"import aws_vpc.main_vpc -generate-config-out"},
			genOut: true,
		},
		{
			// --project chose what discovery looked for; the configuration's own tags say
			// whose the stack is.
			name:      "another project's key is not adopted",
			resources: []discovery.Resource{res(discovery.KMSKey, "k1", "k1", "Owner", "platform")},
			creates:   []create{{"aws_kms_key.main", map[string]any{"tags_all": tags("Owner", "platform", "Project", "otherproj", "Environment", "prod")}}},
			want: []string{"unmapped  aws_kms_key.main would match, but the configuration tags it Project=otherproj and the object has Project=shop: " +
				"not adopted, it belongs to another project; if the stack's is otherproj, give --project=otherproj"},
		},
		{
			name:      "another environment's queue is not adopted by its name",
			resources: []discovery.Resource{res(discovery.SQSQueue, "jobs", "http://q/1/jobs")},
			creates:   []create{{"aws_sqs_queue.jobs", map[string]any{"name": "jobs", "tags": tags("Environment", "staging")}}},
			want:      []string{"unmapped  aws_sqs_queue.jobs would match, but the configuration tags it Environment=staging and the object has Environment=prod: not adopted, it belongs to another environment"},
		},
		{
			name:      "the stack's own project and environment tags match",
			resources: []discovery.Resource{res(discovery.KMSKey, "k1", "k1", "Owner", "platform")},
			creates:   []create{{"aws_kms_key.main", map[string]any{"tags_all": tags("Owner", "platform", "Project", "shop", "Environment", "prod")}}},
			want:      []string{"import aws_kms_key.main "},
		},
		{
			name:      "an address the state holds for a gone object",
			resources: []discovery.Resource{res(discovery.S3Bucket, "logs-2", "logs-2")},
			creates:   []create{{"aws_s3_bucket.logs", map[string]any{"bucket": "logs-2"}}},
			gone:      []string{"aws_s3_bucket.logs"},
			want:      []string{"failed aws_s3_bucket.logs the state still holds aws_s3_bucket.logs for an object that is gone"},
		},
		{
			name:      "an address the state holds for a gone object, forced",
			resources: []discovery.Resource{res(discovery.S3Bucket, "logs-2", "logs-2")},
			creates:   []create{{"aws_s3_bucket.logs", map[string]any{"bucket": "logs-2"}}},
			gone:      []string{"aws_s3_bucket.logs"},
			opts:      importer.Options{Force: true},
			want:      []string{"import aws_s3_bucket.logs the state's object at this address is gone"},
			removals:  []string{"aws_s3_bucket.logs"},
		},
		{
			name:      "unsupported type that the state manages",
			resources: []discovery.Resource{{ARN: "arn:aws:ssm:us-east-1:1:parameter/app/topic", Identity: discovery.Identity{Name: "parameter/app/topic"}}},
			managed:   map[string]map[string]any{"aws_ssm_parameter.topic": {"id": "/app/topic", "arn": "arn:aws:ssm:us-east-1:1:parameter/app/topic"}},
			want:      []string{"skipped aws_ssm_parameter.topic already managed"},
		},
		{
			name:      "unsupported type",
			resources: []discovery.Resource{{ARN: "arn:aws:ec2:r:1:instance/i-1", Identity: discovery.Identity{Name: "instance/i-1"}}},
			opts:      importer.Options{GenerateConfig: true},
			want:      []string{"unmapped  type not supported by the importer (supported: aws_s3_bucket"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := planOf(tt.creates, tt.managed)
			for _, a := range tt.gone {
				plan.ResourceDrift = append(plan.ResourceDrift, &tfjson.ResourceChange{Address: a, Mode: tfjson.ManagedResourceMode,
					Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionDelete}}})
			}
			p, err := importer.Map(tt.resources, plan, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Entries) != len(tt.want) {
				t.Fatalf("entries %+v, want %d", p.Entries, len(tt.want))
			}
			for i, e := range p.Entries {
				got := string(e.Status) + " " + e.Address + " " + e.Reason
				if !strings.HasPrefix(got, strings.SplitN(tt.want[i], " ", 3)[0]+" "+strings.SplitN(tt.want[i], " ", 3)[1]+" ") ||
					!strings.Contains(got, strings.SplitN(tt.want[i], " ", 3)[2]) {
					t.Errorf("entry %d = %q, want %q", i, got, tt.want[i])
				}
			}
			if strings.Join(p.StateRemovals, ",") != strings.Join(tt.removals, ",") {
				t.Errorf("state removals %v, want %v", p.StateRemovals, tt.removals)
			}
			if p.GenerateConfigOut != tt.genOut {
				t.Errorf("GenerateConfigOut = %v, want %v", p.GenerateConfigOut, tt.genOut)
			}
		})
	}
}

func TestMapWithoutPlan(t *testing.T) {
	if _, err := importer.Map(nil, nil, importer.Options{}); err == nil || !strings.Contains(err.Error(), "terraform show -json") {
		t.Fatalf("err = %v, want one asking for the plan JSON", err)
	}
}

// TestProfilesDecideImport: preview is ephemeral and never imports; test, staging and prod
// (the built-in profiles and the example stack's pipeline.yaml) import fully, with the
// profile's tag keys.
func TestProfilesDecideImport(t *testing.T) {
	example, err := environment.LoadDir("../../terraform")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []struct {
		name string
		cfg  environment.Config
	}{{"built-in", environment.DefaultConfig()}, {"terraform/pipeline.yaml", example}} {
		for _, tt := range []struct {
			env  string
			want bool
		}{{"preview", false}, {"test", true}, {"staging", true}, {"prod", true}} {
			t.Run(src.name+"/"+tt.env, func(t *testing.T) {
				p, err := src.cfg.Profile(tt.env)
				if err != nil {
					t.Fatal(err)
				}
				if got := importer.Enabled(p); got != tt.want {
					t.Errorf("Enabled = %v (import strategy %q), want %v", got, p.Import, tt.want)
				}
				if err := importer.CheckEnabled(environment.Name(tt.env), p); (err == nil) != tt.want ||
					(err != nil && !strings.HasPrefix(err.Error(), tt.env+" does not import")) {
					t.Errorf("CheckEnabled = %v, want an error only where import is off", err)
				}
				if o := importer.OptionsFor(p); o.ProjectTagKey != p.ProjectTagKey || o.EnvironmentTagKey != p.EnvironmentTagKey || o.ProjectTagKey == "" {
					t.Errorf("OptionsFor = %+v, want the profile's tag keys %q and %q", o, p.ProjectTagKey, p.EnvironmentTagKey)
				}
			})
		}
	}
	if importer.Enabled(environment.Profile{Import: "sometimes"}) {
		t.Error("an unknown import strategy enables import; it must not")
	}
}

// A security group is matched by its Name tag (discovery does not call EC2 for group
// names): one without the tag is unmapped, and the reason says what to do.
func TestSecurityGroupWithoutNameTag(t *testing.T) {
	plan := planOf([]create{{"aws_security_group.web", map[string]any{"name": "shop-prod-web"}}}, nil)
	for _, tt := range []struct {
		name   string
		group  discovery.Resource
		status importer.Status
	}{
		{"Name tag", res(discovery.SecurityGroup, "shop-prod-web", "sg-1", "Name", "shop-prod-web"), importer.Import},
		{"no Name tag", res(discovery.SecurityGroup, "", "sg-2"), importer.Unmapped},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mapped, err := importer.Map([]discovery.Resource{tt.group}, plan, importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			e := mapped.Entries[0]
			if e.Status != tt.status {
				t.Fatalf("status %s (%s), want %s", e.Status, e.Reason, tt.status)
			}
			if tt.status == importer.Unmapped && !strings.Contains(e.Reason, "has no Name tag") {
				t.Errorf("reason %q does not say the group lacks a Name tag", e.Reason)
			}
		})
	}
}
