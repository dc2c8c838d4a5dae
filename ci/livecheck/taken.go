package livecheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	tfjson "github.com/hashicorp/terraform-json"
	"golang.org/x/sync/errgroup"

	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// Planned is what Taken reads of a plan: the resources it creates (plain creates: not
// imports, not replacements) with the attributes the plan knows before the apply, and the
// resources its prior state holds.
type Planned struct {
	Creates, Held []Resource
}

// ReadPlan reads a plan (terraform show -json) for Taken.
func ReadPlan(planJSON []byte) (Planned, error) {
	var p tfjson.Plan
	if err := json.Unmarshal(planJSON, &p); err != nil {
		return Planned{}, fmt.Errorf("read the plan (terraform show -json): %w", err)
	}
	var out Planned
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode || !rc.Change.Actions.Create() {
			continue
		}
		after, _ := rc.Change.After.(map[string]any)
		out.Creates = append(out.Creates, Resource{Address: rc.Address, Type: rc.Type, Values: after})
	}
	for _, r := range plan.ManagedResources(p.PriorState) {
		out.Held = append(out.Held, Resource{Address: r.Address, Type: r.Type, Values: r.AttributeValues})
	}
	return out, nil
}

// failsPartWay is what creating a bucket, a table, an alias or a role does when its name is
// taken: the create API refuses it, part-way through an apply.
const failsPartWay = "the apply would fail on it part-way, the resources before it created"

// adopts is what CreateTopic and CreateQueue do: they hand back the existing object, which
// Terraform then manages, and a later destroy deletes.
func adopts(what string) string {
	return fmt.Sprintf("Create%s would hand back the existing %s (or fail, where its settings differ): "+
		"Terraform would take it over, and a later destroy would delete it", strings.ToUpper(what[:1])+what[1:], what)
}

// lookup is how Taken asks for one type: the attribute that names the object in the
// account, what creating it again does, and the ask, which says where the object is, the
// zero found when there is no such object.
type lookup struct {
	attr, effect string
	ask          func(ctx context.Context, c Clients, t *topicNames, r Resource, name string) (found, error)
}

// found is an object that holds a name: its import ID, and why this state cannot adopt it
// when it is outside the account and region the plan's provider reaches (gate.Taken.Outside).
type found struct{ id, outside string }

// here is an object of the plan's account and region, adopted by its import ID id.
func here(id string) found { return found{id: id} }

// byExistence asks existence (the post-deploy check's ask); the import ID is the name.
func byExistence(ctx context.Context, c Clients, _ *topicNames, r Resource, name string) (found, error) {
	ok, err := existence[r.Type](ctx, c, r)
	if !ok || err != nil {
		return found{}, err
	}
	return here(name), nil
}

// bucketTaken asks S3 for a bucket by name. Bucket names are global: one redirected (301:
// another region's) is taken as much as one of this account's, but not one this state can
// adopt. A 403 is S3's answer both for another account's bucket and for any name these
// credentials may not ask about (a least-privilege role without s3:ListBucket on it), with
// no body to tell which: the name is then asked again without credentials, to which S3
// answers 404 for a name no bucket has.
func bucketTaken(ctx context.Context, c Clients, _ *topicNames, _ Resource, name string) (found, error) {
	_, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
	switch status(err) {
	case http.StatusMovedPermanently:
		return found{id: name, outside: "S3 answered that it is in another region (HeadBucket: 301): bucket names " +
			"are global, and it is another region's, of this account or another"}, nil
	case http.StatusForbidden:
		// A client of its own, made only now: the SDK settles how it signs when a client is
		// made, and one operation's options cannot drop the credentials.
		anonymous := s3.New(c.S3.Options(), func(o *s3.Options) { o.Credentials = aws.AnonymousCredentials{} })
		_, err := anonymous.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
		switch code := status(err); {
		case code == http.StatusNotFound:
			return found{}, nil
		case err == nil || code == http.StatusForbidden || code == http.StatusMovedPermanently:
			return found{id: name, outside: "S3 refused to show it to these credentials (HeadBucket: 403), and it exists: " +
				"bucket names are global, and it is another account's, or one of this account's these credentials are denied " +
				"(then grant them s3:ListBucket on it)"}, nil
		}
		return found{}, fmt.Errorf("these credentials may not ask (HeadBucket: 403), and asked without them: %w", err)
	}
	if ok, err := gone(err); !ok || err != nil {
		return found{}, err
	}
	return here(name), nil
}

// status is the HTTP status of an AWS API error, 0 for none.
func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// lookups are the types Taken asks about.
var lookups = map[string]lookup{
	"aws_s3_bucket":               {"bucket", failsPartWay, bucketTaken},
	"aws_dynamodb_table":          {"name", failsPartWay, byExistence},
	"aws_kms_alias":               {"name", failsPartWay, byExistence},
	"aws_cloudwatch_metric_alarm": {"alarm_name", "PutMetricAlarm would overwrite it", byExistence},
	// A topic is asked by its ARN, which the plan does not know yet: listed by name.
	"aws_sns_topic": {"name", adopts("topic"), func(ctx context.Context, _ Clients, t *topicNames, r Resource, name string) (found, error) {
		arn, err := t.arn(ctx, r.region(), name)
		return here(arn), err
	}},
	"aws_sqs_queue": {"name", adopts("queue"), func(ctx context.Context, c Clients, _ *topicNames, _ Resource, name string) (found, error) {
		out, err := c.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if ok, err := gone(err); !ok || err != nil {
			return found{}, err
		}
		return here(aws.ToString(out.QueueUrl)), nil
	}},
	"aws_iam_role": {"name", failsPartWay, func(ctx context.Context, c Clients, _ *topicNames, _ Resource, name string) (found, error) {
		_, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if ok, err := gone(err); !ok || err != nil {
			return found{}, err
		}
		return here(name), nil
	}},
}

// maxAsked bounds the calls of one Taken: a first apply of a large stack still asks about
// its first few hundred names, in seconds.
const maxAsked = 500

// Taken are the plan's creates whose name is already an object's in the account,
// outside the state: an apply would collide with it. An error says which names could not
// be asked; the answers of the others come with it. Asked before the apply, so that the
// gate stops a run that would otherwise fail part-way or take over another environment's
// object. Types it cannot ask about, and names the plan does not know yet (a bucket_prefix),
// are not asked; neither are creates past maxAsked.
func Taken(ctx context.Context, c Clients, p Planned) ([]gate.Taken, error) {
	var asks []Resource
	for _, r := range p.Creates {
		if l, ok := lookups[r.Type]; ok && r.str(l.attr) != "" {
			asks = append(asks, r)
		}
	}
	if len(asks) > maxAsked {
		asks = asks[:maxAsked]
	}
	objs := make([]found, len(asks)) // each object, the zero found for none
	errs := make([]error, len(asks))
	topics := &topicNames{c: c}
	var g errgroup.Group
	g.SetLimit(8)
	for i, r := range asks {
		g.Go(func() error {
			l := lookups[r.Type]
			name := r.str(l.attr)
			if objs[i], errs[i] = l.ask(ctx, c.In(r.region()), topics, r, name); errs[i] != nil {
				errs[i] = fmt.Errorf("ask AWS whether %s %q exists, for %s: %w", r.Type, name, r.Address, errs[i])
			}
			return nil
		})
	}
	_ = g.Wait()
	held := map[string]string{} // type and name → the address the state holds it at
	for _, r := range p.Held {
		if l, ok := lookups[r.Type]; ok && r.str(l.attr) != "" {
			held[r.Type+"\x00"+r.str(l.attr)] = r.Address
		}
	}
	var out []gate.Taken
	for i, r := range asks {
		if objs[i].id != "" {
			l := lookups[r.Type]
			name := r.str(l.attr)
			out = append(out, gate.Taken{Address: r.Address, Type: r.Type, Name: name, ID: objs[i].id, Effect: l.effect,
				HeldAt: held[r.Type+"\x00"+name], Outside: objs[i].outside})
		}
	}
	// A name that could not be asked leaves the others' answers standing.
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return out, fmt.Errorf("%d of %d names not asked; the first: %w", len(failed), len(asks), failed[0])
	}
	return out, nil
}

// TakenIn is Taken for a plan (terraform show -json), with clients of the process's AWS
// credentials in region (Connect); endpoint, when set, is an emulator's, and seenAs the
// emulator's address as Terraform's containers reach it: an import ID that holds the
// address (a queue's URL) is given in their terms, as an import block needs it.
func TakenIn(ctx context.Context, region, endpoint, seenAs string, planJSON []byte) ([]gate.Taken, error) {
	p, err := ReadPlan(planJSON)
	if err != nil || len(p.Creates) == 0 {
		return nil, err
	}
	c, err := Connect(ctx, region, endpoint)
	if err != nil {
		return nil, err
	}
	taken, err := Taken(ctx, c, p)
	if from, to := strings.TrimSuffix(endpoint, "/"), strings.TrimSuffix(seenAs, "/"); from != "" && to != "" {
		for i, t := range taken {
			if rest, ok := strings.CutPrefix(t.ID, from+"/"); ok {
				taken[i].ID = to + "/" + rest
			}
		}
	}
	return taken, err
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
