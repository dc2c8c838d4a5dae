package importer_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go/middleware"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/importer"
	"github.com/infrapipe/infrapipe/ci/internal/discoverytest"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
)

const benchTopics = 1000

// seedTopics starts moto with 1,000 tagged SNS topics (created 8 at a time) and returns
// the plan that would create them.
func seedTopics(b *testing.B) (*mototest.Server, []create) {
	moto := mototest.Start(b)
	s := discoverytest.New(moto.URL)
	var wg sync.WaitGroup
	creates := make([]create, benchTopics)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < benchTopics; i += 8 {
				name := fmt.Sprintf("shop-prod-topic-%04d", i)
				s.Create(b, discoverytest.Spec{Type: discovery.SNSTopic, Name: name, Tags: prod})
				creates[i] = create{fmt.Sprintf("aws_sns_topic.t[%d]", i), map[string]any{"name": name}}
			}
		}()
	}
	wg.Wait()
	return moto, creates
}

// BenchmarkDiscoverMapGenerate is the importer's way: paginated tag discovery, mapping
// onto the plan, import blocks for all.
func BenchmarkDiscoverMapGenerate(b *testing.B) {
	moto, creates := seedTopics(b)
	plan := planOf(creates, nil)
	var calls int64
	for b.Loop() {
		found, err := discovery.Discover(context.Background(), config(moto))
		if err != nil {
			b.Fatal(err)
		}
		mapped, err := importer.Map(found.Resources, plan, importer.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if n := len(mapped.Imports()); n != benchTopics {
			b.Fatalf("imports %d, want %d", n, benchTopics)
		}
		_ = mapped.ImportBlocks()
		calls = found.Stats.Calls
	}
	b.ReportMetric(float64(calls), "api-calls/op")
}

// BenchmarkPerResourceLoop is the old script's way: list every topic, then one call per
// topic to read its tags and decide whether it belongs to the project and environment.
func BenchmarkPerResourceLoop(b *testing.B) {
	moto, _ := seedTopics(b)
	var calls atomic.Int64
	cfg := discoverytest.Config(moto.URL)
	cfg.APIOptions = append(cfg.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("count",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				calls.Add(1)
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
	client := sns.NewFromConfig(cfg)
	ctx := context.Background()
	var perOp int64
	for b.Loop() {
		calls.Store(0)
		matched := 0
		pages := sns.NewListTopicsPaginator(client, &sns.ListTopicsInput{})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, topic := range page.Topics {
				tags, err := client.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: topic.TopicArn})
				if err != nil {
					b.Fatal(err)
				}
				project, env := "", ""
				for _, t := range tags.Tags {
					switch aws.ToString(t.Key) {
					case "Project":
						project = aws.ToString(t.Value)
					case "Environment":
						env = aws.ToString(t.Value)
					}
				}
				if project == "shop" && env == "prod" {
					matched++
				}
			}
		}
		if matched != benchTopics {
			b.Fatalf("matched %d, want %d", matched, benchTopics)
		}
		perOp = calls.Load()
	}
	b.ReportMetric(float64(perOp), "api-calls/op")
}
