package livecheck

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	tfjson "github.com/hashicorp/terraform-json"
	"golang.org/x/sync/errgroup"

	"github.com/infrapipe/infrapipe/ci/gate"
)

// Creates are the resources a plan creates (plain creates: not imports, not replacements),
// with the attributes the plan knows before the apply, for Taken.
func Creates(planJSON []byte) ([]Resource, error) {
	var p tfjson.Plan
	if err := json.Unmarshal(planJSON, &p); err != nil {
		return nil, fmt.Errorf("read the plan (terraform show -json): %w", err)
	}
	var out []Resource
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode || !rc.Change.Actions.Create() {
			continue
		}
		after, _ := rc.Change.After.(map[string]any)
		out = append(out, Resource{Address: rc.Address, Type: rc.Type, Values: after})
	}
	return out, nil
}

// nameOf is, for each type Taken asks about, the attribute that names the object in the
// account and what creating it does when an object of that name exists: the create APIs
// of buckets, tables and aliases refuse it (part-way through an apply), PutMetricAlarm
// overwrites it, and CreateTopic hands back the existing topic, which Terraform then
// manages, and a later destroy deletes.
var nameOf = map[string]struct{ attr, effect string }{
	"aws_s3_bucket":               {"bucket", "the apply would fail on it part-way, the resources before it created"},
	"aws_dynamodb_table":          {"name", "the apply would fail on it part-way, the resources before it created"},
	"aws_kms_alias":               {"name", "the apply would fail on it part-way, the resources before it created"},
	"aws_cloudwatch_metric_alarm": {"alarm_name", "PutMetricAlarm would overwrite it"},
	"aws_sns_topic":               {"name", "CreateTopic would hand back the existing topic (or fail, where its settings differ): Terraform would take it over, and a later destroy would delete it"},
}

// maxAsked bounds the calls of one Taken: a first apply of a large stack still asks about
// its first few hundred names, in seconds.
const maxAsked = 500

// Taken are the plan's creates (Creates) whose name is already an object's in the account,
// outside the state: an apply would collide with it. Asked before the apply, so that the
// gate stops a run that would otherwise fail part-way or take over another environment's
// object. Types it cannot ask about, and names the plan does not know yet (a bucket_prefix),
// are not asked; neither are creates past maxAsked.
func Taken(ctx context.Context, c Clients, creates []Resource) ([]gate.Taken, error) {
	var asks []Resource
	for _, r := range creates {
		if n, ok := nameOf[r.Type]; ok && r.str(n.attr) != "" {
			asks = append(asks, r)
		}
	}
	if len(asks) > maxAsked {
		asks = asks[:maxAsked]
	}
	found := make([]bool, len(asks))
	ids := make([]string, len(asks)) // the import ID, where it is not the name
	topics := topicNames{c: c}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, r := range asks {
		g.Go(func() error {
			name := r.str(nameOf[r.Type].attr)
			var err error
			if r.Type == "aws_sns_topic" {
				// A topic is asked by its ARN, which the plan does not know yet: listed by name.
				ids[i], err = topics.arn(gctx, r.region(), name)
				found[i] = ids[i] != ""
			} else {
				found[i], err = existence[r.Type](gctx, c.In(r.region()), r)
			}
			if err != nil {
				return fmt.Errorf("ask AWS whether %s %q exists, for %s: %w", r.Type, name, r.Address, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []gate.Taken
	for i, r := range asks {
		if found[i] {
			n := nameOf[r.Type]
			t := gate.Taken{Address: r.Address, Type: r.Type, Name: r.str(n.attr), ID: ids[i], Effect: n.effect}
			if t.ID == "" {
				t.ID = t.Name
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// TakenIn is Taken for a plan (terraform show -json), with clients of the process's AWS
// credentials in region (Connect); endpoint, when set, is an emulator's.
func TakenIn(ctx context.Context, region, endpoint string, planJSON []byte) ([]gate.Taken, error) {
	creates, err := Creates(planJSON)
	if err != nil || len(creates) == 0 {
		return nil, err
	}
	c, err := Connect(ctx, region, endpoint)
	if err != nil {
		return nil, err
	}
	return Taken(ctx, c, creates)
}

// topicNames lists each region's SNS topics once per Taken.
type topicNames struct {
	c      Clients
	mu     sync.Mutex
	listed map[string]map[string]string // region → topic name → ARN
}

// arn is the ARN of the topic named name in region, "" when there is none.
func (t *topicNames) arn(ctx context.Context, region, name string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if names, ok := t.listed[region]; ok {
		return names[name], nil
	}
	names := map[string]string{}
	pages := sns.NewListTopicsPaginator(t.c.In(region).SNS, &sns.ListTopicsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, topic := range page.Topics {
			if a := aws.ToString(topic.TopicArn); a != "" {
				names[a[strings.LastIndex(a, ":")+1:]] = a
			}
		}
	}
	if t.listed == nil {
		t.listed = map[string]map[string]string{}
	}
	t.listed[region] = names
	return names[name], nil
}
