package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestTwoPhaseProdApply: prod plans and stores the plan (phase one), and a later apply takes
// it by reference and SHA-256 (phase two). A wrong hash, another commit, a staging plan, a
// tampered object, an expired plan and a plan made before the state moved are each refused
// with their own message, and none of them changes the state; the approved plan is applied
// bit for bit, once.
func TestTwoPhaseProdApply(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	ctor := func(st *Stack) []string { return append(st.Ctor(), moto.Ctor()...) }
	const commit = "0123456789abcdef0123456789abcdef01234567"

	export(t, nil, append(ctor(s), "apply", "--env=prod")...)
	// Phase one: a change planned and stored.
	r1 := s.Copy(t)
	r1.SetVars(t, "prod", map[string]string{"release": "two-phase-1"})
	p1 := storePlan(t, append(ctor(r1), "plan", "--env=prod", "--store-plan", "--commit="+commit))
	stored := time.Now()
	if !strings.HasPrefix(p1.ref, "plans/prod/") || len(p1.sha) != 64 {
		t.Fatalf("stored plan %+v", p1)
	}
	if !strings.Contains(p1.summary, "## Stored plan") || !strings.Contains(p1.summary, p1.sha) ||
		!strings.Contains(p1.summary, "apply --env=prod --plan-ref="+p1.ref+" --plan-sha256="+p1.sha+" --commit="+commit) {
		t.Errorf("the summary does not give the stored plan and its apply line:\n%s", p1.summary)
	}
	before := moto.MustState(t, prodKey)

	apply := func(st *Stack, ref, sha, c string) []string {
		return append(ctor(st), "apply", "--env=prod", "--plan-ref="+ref, "--plan-sha256="+sha, "--commit="+c)
	}
	refused := func(name string, args []string, want string) {
		t.Helper()
		res := mustFail(t, nil, args...)
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("%s: the refusal does not say %q:\n%s", name, want, lastLines(res.Stderr, 20))
		}
		if got := moto.MustState(t, prodKey); got.Serial != before.Serial {
			t.Errorf("%s: the state moved from serial %d to %d: something was applied", name, before.Serial, got.Serial)
		}
	}
	other := strings.Repeat("ab", 32)
	refused("a wrong hash", apply(r1, p1.ref, other, commit), "not the approved "+other)
	refused("another commit", apply(r1, p1.ref, p1.sha, strings.Repeat("f", 40)), `was made from "`+commit+`", not commit "ffff`)
	refused("no --commit", append(ctor(r1), "apply", "--env=prod", "--plan-ref="+p1.ref, "--plan-sha256="+p1.sha), "give --commit, the commit being deployed")

	staging := storePlan(t, append(ctor(r1), "plan", "--env=staging", "--store-plan"))
	refused("a staging plan given to prod", apply(r1, staging.ref, staging.sha, commit), "was made for staging, not prod")

	// The object replaced in the bucket after the review, then put back.
	original, ok := moto.Object(t, p1.ref)
	if !ok {
		t.Fatalf("no object at %s", p1.ref)
	}
	putObject(t, moto, p1.ref, append(bytes.Clone(original), 0))
	refused("a tampered object", apply(r1, p1.ref, p1.sha, commit), "it is not the plan that was reviewed")
	putObject(t, moto, p1.ref, original)

	// The same plan, with prod's plan_max_age at one minute, once it is older than that.
	short := r1.Copy(t)
	short.Write(t, "pipeline.yaml", strings.Replace(readStackFile(t, r1, "pipeline.yaml"), "  prod:\n", "  prod:\n    plan_max_age: 1m\n", 1))
	time.Sleep(time.Until(stored.Add(65 * time.Second)))
	refused("an expired plan", apply(short, p1.ref, p1.sha, commit), "older than 1m0s (plan_max_age of prod)")

	// The approved plan is applied, bit for bit, and only once.
	res := mustCall(t, nil, append(apply(r1, p1.ref, p1.sha, commit), "file", "--path=summary.md", "contents")...)
	if !strings.Contains(res.Stdout, "Applied the stored plan `"+p1.ref+"`") || !strings.Contains(res.Stdout, "deleted from the bucket") {
		t.Errorf("the apply summary does not say it applied the stored plan:\n%s", res.Stdout)
	}
	after := moto.MustState(t, prodKey)
	if after.Serial <= before.Serial || after.Attr("terraform_data.release", "input") != "two-phase-1" {
		t.Errorf("after the apply: serial %d (was %d), release %q; want the two-phase-1 plan applied", after.Serial, before.Serial, after.Attr("terraform_data.release", "input"))
	}
	before = after
	refused("the same plan again", apply(r1, p1.ref, p1.sha, commit), "it was applied already, expired, or never stored")

	// A plan made before another apply moved the state is stale.
	r2 := s.Copy(t)
	r2.SetVars(t, "prod", map[string]string{"release": "two-phase-2"})
	p2 := storePlan(t, append(ctor(r2), "plan", "--env=prod", "--store-plan", "--force-recreate", "--commit="+commit))
	// A plan judged with --force-recreate is applied with it: the gate judges it again.
	if !strings.Contains(p2.summary, "apply --env=prod --force-recreate --plan-ref="+p2.ref) {
		t.Errorf("the apply line of a plan stored with --force-recreate lacks it:\n%s", p2.summary)
	}
	r3 := s.Copy(t)
	r3.SetVars(t, "prod", map[string]string{"release": "two-phase-3"})
	export(t, nil, append(ctor(r3), "apply", "--env=prod")...)
	before = moto.MustState(t, prodKey)
	refused("a stale plan", apply(r2, p2.ref, p2.sha, commit), "is stale: it was made on serial")
}

// TestTwoPhasePipeline runs the workflow's two phases through `pipeline` on test (prod and
// staging block here on the example's findings and the images this machine cannot have): --store-plan plans, checks and stores
// without applying, and its outputs carry the reference and hash to the second phase, which
// applies that plan.
func TestTwoPhasePipeline(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	ctor := append(s.Ctor(), moto.Ctor()...)
	first := export(t, nil, append(ctor, "pipeline", "--env=test", "--store-plan", "--skip-tests")...)
	outputs := readFile(t, first, "outputs.env")
	ref, sha := outputValue(outputs, "plan_ref"), outputValue(outputs, "plan_sha256")
	if !strings.HasPrefix(ref, "plans/test/") || len(sha) != 64 {
		t.Fatalf("outputs.env has no stored plan (plan_ref %q, plan_sha256 %q):\n%s", ref, sha, outputs)
	}
	if _, held := moto.State(t, testKey); held {
		t.Error("the first phase applied something")
	}
	second := export(t, nil, append(ctor, "pipeline", "--env=test", "--plan-ref="+ref, "--plan-sha256="+sha, "--skip-tests")...)
	if summary := readFile(t, second, "summary.md"); !strings.Contains(summary, "Applied the stored plan `"+ref+"`") {
		t.Errorf("the second phase did not apply the stored plan:\n%s", summary)
	}
	state := moto.MustState(t, testKey)
	if len(state.Addresses()) == 0 {
		t.Error("the second phase left no resources in the state")
	}
}

// stored is a plan kept by --store-plan, as its report gives it.
type stored struct{ ref, sha, summary string }

// storePlan runs plan --store-plan and reads the reference and hash from its result.json,
// which its outputs.env must repeat for a workflow.
func storePlan(t *testing.T, args []string) stored {
	t.Helper()
	dir := export(t, nil, args...)
	var res struct {
		Outputs map[string]string `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(readFile(t, dir, "result.json")), &res); err != nil {
		t.Fatal(err)
	}
	s := stored{ref: res.Outputs["plan_ref"], sha: res.Outputs["plan_sha256"], summary: readFile(t, dir, "summary.md")}
	if env := readFile(t, dir, "outputs.env"); s.ref != "" && (outputValue(env, "plan_ref") != s.ref || outputValue(env, "plan_sha256") != s.sha) {
		t.Errorf("outputs.env does not give result.json's plan_ref %s and plan_sha256 %s:\n%s", s.ref, s.sha, env)
	}
	return s
}

// outputValue reads one value of an outputs.env file (name<<DELIMITER, value, DELIMITER).
func outputValue(env, name string) string {
	lines := strings.Split(env, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, name+"<<") && i+1 < len(lines) {
			return lines[i+1]
		}
	}
	return ""
}

// putObject replaces an object's bytes and keeps its metadata, as someone with write access
// to the bucket would to slip in another plan.
func putObject(t *testing.T, moto *Moto, key string, data []byte) {
	t.Helper()
	ctx := context.Background()
	head, err := moto.S3().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(stateBucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := moto.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(stateBucket), Key: aws.String(key),
		Body: bytes.NewReader(data), Metadata: head.Metadata}); err != nil {
		t.Fatal(err)
	}
}

func readStackFile(t *testing.T, s *Stack, name string) string {
	t.Helper()
	return readFile(t, s.Dir, name)
}
