package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// The stacks' state keys: pipeline.yaml names no stack and the Terraform directory is the
// source's root, so keys are <env>/terraform.tfstate.
const (
	testKey = "test/terraform.tfstate"
	prodKey = "prod/terraform.tfstate"
)

// allResources are the managed resources of the app stack.
var allResources = []string{"aws_dynamodb_table.items", "aws_s3_bucket.data", "aws_sns_topic.events", "terraform_data.release", "terraform_data.token"}

// TestPlanAndApplyAreNeverCached runs identical plan and apply calls and checks that each
// one really ran Terraform against the backend: a cached call would repeat the first
// answer and leave the emulator untouched.
func TestPlanAndApplyAreNeverCached(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	ctor := append(s.Ctor(), moto.Ctor()...)
	apply := append(slices.Clone(ctor), "apply", "--env=test")
	plan := append(slices.Clone(ctor), "plan", "--env=test")
	export(t, nil, apply...)
	first := moto.MustState(t, testKey)
	topic := first.Attr("aws_sns_topic.events", "arn")
	// Delete the topic behind Terraform's back: only an apply that really runs puts it back.
	deleteTopic(t, moto, topic)
	locksBefore := moto.Requests(t, "PUT /"+stateBucket+"/"+testKey+".tflock")
	secondDir := export(t, nil, apply...)
	second := moto.MustState(t, testKey)
	if moto.Requests(t, "PUT /"+stateBucket+"/"+testKey+".tflock") <= locksBefore {
		t.Errorf("the second identical apply took no state lock: it did not run Terraform")
	}
	if r := readResult(t, secondDir); r.Counts["create"] != 1 {
		t.Errorf("the second identical apply planned %d creates, want 1 (the deleted topic); summary:\n%s", r.Counts["create"], readFile(t, secondDir, "summary.md"))
	}
	// (The serial may stay: the recreated topic has the same ARN, so the state Terraform
	// writes equals the last one.) The topic is back in the emulator and in state.
	if !topicExists(t, moto, topic) || second.Attr("aws_sns_topic.events", "arn") != topic {
		t.Errorf("the second identical apply did not recreate the deleted topic %s", topic)
	}

	// Two identical plans: each one takes the state lock (a PUT of the lock file) and
	// reads the real objects; the second sees a change made between them.
	locks := func() int { return moto.Requests(t, "PUT /"+stateBucket+"/"+testKey+".tflock") }
	before := locks()
	p1 := readResult(t, export(t, nil, plan...))
	afterFirst := locks()
	deleteTopic(t, moto, topic)
	p2 := readResult(t, export(t, nil, plan...))
	afterSecond := locks()
	if afterFirst <= before || afterSecond <= afterFirst {
		t.Errorf("state lock writes: %d before, %d after the first plan, %d after the second: a plan did not run Terraform", before, afterFirst, afterSecond)
	}
	if p1.Counts["create"] != 0 || p2.Counts["create"] != 1 {
		t.Errorf("plans after deleting the topic between them: creates %d then %d, want 0 then 1 (a cached plan repeats the first)", p1.Counts["create"], p2.Counts["create"])
	}
}

// deleteTopic deletes an SNS topic out of band and checks that it is gone.
func deleteTopic(t *testing.T, moto *Moto, arn string) {
	t.Helper()
	ctx := context.Background()
	if _, err := moto.SNS().DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if topicExists(t, moto, arn) {
		t.Fatalf("topic %s is still there after DeleteTopic", arn)
	}
}

// topicExists reports whether the emulator holds an SNS topic.
func topicExists(t *testing.T, moto *Moto, arn string) bool {
	t.Helper()
	out, err := moto.SNS().ListTopics(context.Background(), &sns.ListTopicsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range out.Topics {
		if aws.ToString(tp.TopicArn) == arn {
			return true
		}
	}
	return false
}

// TestApplyUsesSavedPlanAndRefusesStalePlan: apply --plan applies exactly the reviewed plan
// (not a fresh plan of the source it is given), and a plan made stale by a later apply is
// refused by name, changing nothing.
func TestApplyUsesSavedPlanAndRefusesStalePlan(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	withRelease := func(r string) *Stack {
		c := s.Copy(t)
		c.SetVars(t, "test", map[string]string{"release": r})
		return c
	}
	ctor := func(st *Stack) []string { return append(st.Ctor(), moto.Ctor()...) }

	applied := export(t, nil, append(ctor(s), "apply", "--env=test")...)
	if got := readFile(t, applied, "summary.md"); !strings.Contains(got, "Applied the saved plan of this run.") {
		t.Errorf("apply summary does not say it applied the run's saved plan:\n%s", got)
	}
	if !strings.Contains(readFile(t, applied, "apply.log"), "Apply complete!") {
		t.Errorf("apply.log has no \"Apply complete!\":\n%s", readFile(t, applied, "apply.log"))
	}

	// The reviewed plan sets r2; apply it from a source that now says r9.
	r2 := withRelease("r2")
	saved := export(t, nil, append(ctor(r2), "plan", "--env=test", "--include-plan")...)
	for _, f := range []string{"tfplan", "plan.json", "plan.txt", "result.json"} {
		if _, err := os.Stat(filepath.Join(saved, f)); err != nil {
			t.Fatalf("plan --include-plan: %v", err)
		}
	}
	export(t, nil, append(ctor(withRelease("r9")), "apply", "--env=test", "--plan="+saved)...)
	if got := moto.MustState(t, testKey).Attr("terraform_data.release", "input"); got != "r2" {
		t.Errorf("after apply --plan of the r2 plan, release is %q, want r2: the saved plan was not what was applied", got)
	}

	// A plan for r3, then another apply (r4) changes the state: the r3 plan is stale.
	r3 := withRelease("r3")
	stale := export(t, nil, append(ctor(r3), "plan", "--env=test", "--include-plan")...)
	export(t, nil, append(ctor(withRelease("r4")), "apply", "--env=test")...)
	before := moto.MustState(t, testKey)
	res := mustFail(t, nil, append(ctor(r3), "apply", "--env=test", "--plan="+stale)...)
	for _, want := range []string{"terraform apply failed in test", "Saved plan is stale", "Reproduce with: dagger call"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stale plan refusal does not say %q:\n%s", want, lastLines(res.Stderr, 40))
		}
	}
	after := moto.MustState(t, testKey)
	if after.Serial != before.Serial || after.Attr("terraform_data.release", "input") != "r4" {
		t.Errorf("the refused stale apply changed the state: serial %d -> %d, release %q", before.Serial, after.Serial, after.Attr("terraform_data.release", "input"))
	}

	// A saved plan of another environment is refused before anything runs.
	res = mustFail(t, nil, append(ctor(r3), "apply", "--env=prod", "--plan="+stale)...)
	if want := `--plan holds a plan for "test", not "prod": plan prod again and apply that`; !strings.Contains(res.Stderr, want) {
		t.Errorf("apply --env=prod of a test plan does not say %q:\n%s", want, lastLines(res.Stderr, 30))
	}
}

// TestConcurrentAppliesLeaveOneConsistentState: four applies of one environment at once,
// each holding the lock for a while: the state stays one state (same lineage, every
// resource once, the release of a winner, no lock left behind) and every loser names the
// lock holder and the force-unlock command.
func TestConcurrentAppliesLeaveOneConsistentState(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	// A short lock timeout: the losers give up while the winner still holds the lock.
	s.ShortLockTimeouts(t, "1s", "test")
	export(t, nil, append(append(s.Ctor(), moto.Ctor()...), "apply", "--env=test")...)
	base := moto.MustState(t, testKey)

	releases := []string{"ra", "rb", "rc", "rd"}
	results := make([]Result, len(releases))
	var wg sync.WaitGroup
	for i, r := range releases {
		c := s.Copy(t)
		c.SetVars(t, "test", map[string]string{"release": r, "apply_delay": "20"})
		args := append(append(c.Ctor(), moto.Ctor()...), "apply", "--env=test")
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = call(t, nil, args...)
		}()
	}
	wg.Wait()

	var winners []string
	lockID := regexp.MustCompile(`dagger call .* force-unlock --env=test --lock-id=([0-9a-f-]{36})`)
	for i, res := range results {
		if res.Err == nil {
			winners = append(winners, releases[i])
			continue
		}
		out := res.Stderr
		switch {
		case strings.Contains(out, "state of test is locked ("+stateBucket+"/"+testKey+"): held by "):
			if !lockID.MatchString(out) || !strings.Contains(out, "If it is gone (cancelled or killed job), release the lock") {
				t.Errorf("apply %s: the lock message lacks the force-unlock line:\n%s", releases[i], lastLines(out, 30))
			}
		case strings.Contains(out, "the lock was released while this run waited for it"):
			// hashicorp/terraform#32690: reported as such, nothing holds the lock.
		default:
			t.Errorf("apply %s failed for another reason than the lock:\n%s", releases[i], lastLines(out, 40))
		}
	}
	if len(winners) == 0 || len(winners) == len(releases) {
		t.Fatalf("%d of %d concurrent applies succeeded; want at least one winner and one loser", len(winners), len(releases))
	}
	final := moto.MustState(t, testKey)
	if final.Lineage != base.Lineage {
		t.Errorf("lineage changed: %s -> %s", base.Lineage, final.Lineage)
	}
	if final.Serial <= base.Serial {
		t.Errorf("serial %d after the winners' applies, was %d", final.Serial, base.Serial)
	}
	addrs := final.Addresses()
	slices.Sort(addrs)
	want := append(slices.Clone(allResources), "terraform_data.slow")
	slices.Sort(want)
	if !slices.Equal(addrs, want) {
		t.Errorf("state resources %v, want each of %v once", addrs, want)
	}
	if got := final.Attr("terraform_data.release", "input"); !slices.Contains(winners, got) {
		t.Errorf("state holds release %q, not one of the winners' %v", got, winners)
	}
	if _, held := moto.Object(t, testKey+".tflock"); held {
		t.Errorf("the lock file %s.tflock is still there after every apply ended", testKey)
	}
}

// TestSecretCanaryNeverLeaks passes a sensitive variable as a secret tfvars file and looks
// for its value everywhere a pipeline and a plan write: stdout, stderr (the progress
// stream), and every exported file. A second value of the file belongs to a variable the
// stack forgot to declare sensitive, holds a quote (Terraform shows it escaped), is
// interpolated into a failing check's message and into a health endpoint's URL that does
// not answer: it is masked in every form all the same.
func TestSecretCanaryNeverLeaks(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	s := newStack(t, "app")
	canary, env := secretToken(t)
	partner := "canary-" + unique(t) + unique(t)
	env[0] += "partner_token = \"" + partner + "\\\"q\"\n"
	s.Write(t, "partner.tf", `variable "partner_token" {
  type    = string
  default = ""
}
resource "terraform_data" "partner" {
  input = var.partner_token
}
check "partner_token" {
  assert {
    condition     = length(var.partner_token) < 8
    error_message = "partner token ${var.partner_token} is due for rotation"
  }
}
output "partner_url" {
  value = "http://127.0.0.1:9/health?token=${var.partner_token}"
}
`)
	ctor := append(s.Ctor(), "--emulate-aws", "--tf-var-file=env:SECRET_TFVARS")

	dir := filepath.Join(t.TempDir(), "pipeline")
	res := call(t, env, append(slices.Clone(ctor), "pipeline", "--env=test", "--report-on-failure", "export", "--path="+dir)...)
	if res.Err != nil {
		t.Fatalf("pipeline --env=test --report-on-failure failed: %v\n%s", res.Err, lastLines(res.Stderr, 60))
	}
	for _, c := range []string{canary, partner} {
		assertNoLeak(t, c, "pipeline stdout", res.Stdout)
		assertNoLeak(t, c, "pipeline stderr", res.Stderr)
		assertNoLeakInDir(t, c, dir)
	}
	// The partner token did reach Terraform, its check and the health check.
	if summary := readFile(t, dir, "summary.md"); !strings.Contains(summary, "check.partner\\_token failed") || !strings.Contains(summary, "health endpoint partner\\_url answers") {
		t.Errorf("the summary does not report the partner token's check and health endpoint:\n%s", summary)
	}
	for _, f := range []string{"summary.md", "result.json", "plan.txt", "junit.xml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the pipeline report lacks %s", f)
		}
	}
	// The secret did reach Terraform: it planned the token with a sensitive value.
	if plan := readFile(t, dir, "plan.txt"); !strings.Contains(plan, "terraform_data.token") || !strings.Contains(plan, "(sensitive value)") {
		t.Errorf("plan.txt does not show terraform_data.token with a sensitive value:\n%s", plan)
	}
	r := readResult(t, dir)
	if applied := slices.IndexFunc(r.Steps, func(s struct {
		Name    string   `json:"name"`
		Verdict string   `json:"verdict"`
		Reasons []string `json:"reasons"`
	}) bool {
		return strings.EqualFold(s.Name, "apply")
	}); applied < 0 {
		t.Errorf("the pipeline did not apply (steps %+v): the secret never reached apply and tests", r.Steps)
	}

	dir = filepath.Join(t.TempDir(), "plan")
	res = call(t, env, append(slices.Clone(ctor), "plan", "--env=test", "export", "--path="+dir)...)
	if res.Err != nil {
		t.Fatalf("plan failed: %v\n%s", res.Err, lastLines(res.Stderr, 60))
	}
	for _, c := range []string{canary, partner} {
		assertNoLeak(t, c, "plan stdout", res.Stdout)
		assertNoLeak(t, c, "plan stderr", res.Stderr)
		assertNoLeakInDir(t, c, dir)
	}

	// A misspelt name in the secret file is refused, as in the environment's file, and the
	// refusal names the line, not the value: Terraform would plan with the default.
	misspelt := []string{"SECRET_TFVARS=api_tokn = \"" + canary + "\"\n"}
	res = mustFail(t, misspelt, append(slices.Clone(ctor), "plan", "--env=test")...)
	if want := "--tf-var-file: api_tokn is not a variable of the stack (line 1)"; !strings.Contains(res.Stderr, want) {
		t.Errorf("plan with a misspelt secret var file does not say %q:\n%s", want, lastLines(res.Stderr, 20))
	}
	assertNoLeak(t, canary, "refused plan stdout", res.Stdout)
	assertNoLeak(t, canary, "refused plan stderr", res.Stderr)
}

// TestSecretCanaryMaskedOnDestroy: Terraform shows a terraform_data's output in clear when
// it destroys it, though its input was sensitive; the values of --tf-var-file are masked
// in the progress stream and in plan.txt all the same.
func TestSecretCanaryMaskedOnDestroy(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	canary, env := secretToken(t)
	ctor := append(append(s.Ctor(), moto.Ctor()...), "--tf-var-file=env:SECRET_TFVARS")
	mustCall(t, env, append(slices.Clone(ctor), "apply", "--env=test")...)

	// Drop the resource that holds the token (and the output that reads it).
	for file, block := range map[string]string{
		"main.tf":    "resource \"terraform_data\" \"token\" {\n  input = var.api_token\n}\n",
		"outputs.tf": "output \"api_token\" {\n  description = \"The secret, for the post-deploy checks; sensitive, never printed.\"\n  value       = terraform_data.token.output\n  sensitive   = true\n}\n",
	} {
		data := readFile(t, s.Dir, file)
		if !strings.Contains(data, block) {
			t.Fatalf("%s has no block %q", file, block)
		}
		s.Write(t, file, strings.Replace(data, block, "", 1))
	}
	dir := filepath.Join(t.TempDir(), "plan")
	res := mustCall(t, env, append(slices.Clone(ctor), "plan", "--env=test", "export", "--path="+dir)...)
	if plan := readFile(t, dir, "plan.txt"); !strings.Contains(plan, "terraform_data.token will be destroyed") || !strings.Contains(plan, `"(sensitive value)"`) {
		t.Errorf("plan.txt does not destroy terraform_data.token with its output masked:\n%s", plan)
	}
	assertNoLeak(t, canary, "plan stdout", res.Stdout)
	assertNoLeak(t, canary, "plan stderr", res.Stderr)
	assertNoLeakInDir(t, canary, dir)
}

// TestProdReplaceBackupAndRestore: prod refuses a replace without --force-recreate and
// applies it with it, after a state backup that `backups` lists; restore-state shows the
// comparison without changing anything, then with --confirm puts the pre-apply state back
// on the same lineage.
func TestProdReplaceBackupAndRestore(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	ctor := func(st *Stack) []string { return append(st.Ctor(), moto.Ctor()...) }

	export(t, nil, append(ctor(s), "apply", "--env=prod")...)
	v1 := moto.MustState(t, prodKey)
	id1 := v1.Attr("terraform_data.release", "id")

	gen2 := s.Copy(t)
	gen2.SetVars(t, "prod", map[string]string{"generation": "2"})
	res := mustFail(t, nil, append(ctor(gen2), "apply", "--env=prod")...)
	for _, want := range []string{
		"the safety gate blocked the prod apply; nothing was changed",
		"prod plan replaces terraform_data.release",
		"rerun with --force-recreate to allow it",
	} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("the refused prod replace does not say %q:\n%s", want, lastLines(res.Stderr, 30))
		}
	}
	if got := moto.MustState(t, prodKey); got.Serial != v1.Serial {
		t.Fatalf("the refused apply changed the state: serial %d -> %d", v1.Serial, got.Serial)
	}
	// plan shows the blocked plan and succeeds; with --fail-on-block it fails with the reasons.
	mustCall(t, nil, append(ctor(gen2), "plan", "--env=prod")...)
	blocked := mustFail(t, nil, append(ctor(gen2), "plan", "--env=prod", "--fail-on-block")...)
	if !strings.Contains(blocked.Stderr, "the safety gate blocked the prod plan") || !strings.Contains(blocked.Stderr, "prod plan replaces terraform_data.release") {
		t.Errorf("plan --fail-on-block does not fail with the gate's reasons:\n%s", lastLines(blocked.Stderr, 30))
	}

	// backup-state on demand, then the apply's own backup: both listed, newest first.
	backupFile := filepath.Join(t.TempDir(), "prod.tfstate")
	mustCall(t, nil, append(ctor(s), "backup-state", "--env=prod", "export", "--path="+backupFile)...)
	if data, err := os.ReadFile(backupFile); err != nil || !strings.Contains(string(data), v1.Lineage) {
		t.Errorf("backup-state returned no state of lineage %s: %v", v1.Lineage, err)
	}
	applied := export(t, nil, append(ctor(gen2), "apply", "--env=prod", "--force-recreate")...)
	backups, _ := filepath.Glob(filepath.Join(applied, "backups", "*.tfstate"))
	if len(backups) != 1 {
		t.Fatalf("the prod apply returned %d state backups, want 1", len(backups))
	}
	name := filepath.Base(backups[0])
	if !strings.Contains(name, fmt.Sprintf("-serial-%d-", v1.Serial)) {
		t.Errorf("backup %s is not of the pre-apply serial %d", name, v1.Serial)
	}
	v2 := moto.MustState(t, prodKey)
	if v2.Attr("terraform_data.release", "id") == id1 || v2.Lineage != v1.Lineage {
		t.Fatalf("--force-recreate did not replace terraform_data.release on the same lineage")
	}
	list := strings.Fields(mustCall(t, nil, append(ctor(s), "backups", "--env=prod")...).Stdout)
	if len(list) < 2 || !strings.HasSuffix(list[0], name) {
		t.Fatalf("backups lists %v; want the apply's backup %s first, then the backup-state one", list, name)
	}
	key := list[0]
	if !strings.HasPrefix(key, "backups/prod/") {
		t.Errorf("backup key %s is not under backups/prod/", key)
	}

	// Show only: nothing changes. latest is named by its key, and the --confirm line pushes
	// that backup, not whichever is newest when it runs.
	shown := mustCall(t, nil, append(ctor(s), "restore-state", "--env=prod", "--from=latest")...)
	if !strings.Contains(shown.Stdout, "To push this backup, run:") || !strings.Contains(shown.Stdout, "Restore prod state from `"+key+"`") {
		t.Errorf("restore-state without --confirm does not name the backup and the --confirm line:\n%s", shown.Stdout)
	}
	// The replace since the backup shows: the backup names the old object.
	if !strings.Contains(shown.Stdout, "~ terraform_data.release: the backup names another object (id `"+id1+"`") {
		t.Errorf("restore-state does not say terraform_data.release was replaced since the backup:\n%s", shown.Stdout)
	}
	// Its reproduce line reruns what ran (no --confirm): copying it must never push.
	if lines := daggerLines(shown.Stdout); len(lines) < 2 || strings.Contains(lines[len(lines)-1], "--confirm") || !strings.Contains(lines[len(lines)-2], "--from="+key+" --confirm") {
		t.Errorf("restore-state show-only: the --confirm line must come first, naming %s, and the reproduce line must not confirm: %q", key, lines)
	}
	// A refusal ends with its reproduce line too.
	refused := mustFail(t, nil, append(ctor(s), "restore-state", "--env=prod", "--from=backups/prod/missing.tfstate")...)
	if !strings.Contains(refused.Stderr, "Reproduce with: dagger call") {
		t.Errorf("a refused restore has no reproduce line:\n%s", lastLines(refused.Stderr, 20))
	}
	if got := moto.MustState(t, prodKey); got.Serial != v2.Serial || got.Attr("terraform_data.release", "id") != v2.Attr("terraform_data.release", "id") {
		t.Fatalf("restore-state without --confirm changed the state (serial %d -> %d)", v2.Serial, got.Serial)
	}
	restored := mustCall(t, nil, append(ctor(s), "restore-state", "--env=prod", "--from="+key, "--confirm")...)
	// The state the push replaced is kept as a backup first, which `backups` lists.
	replaced := regexp.MustCompile("The state it replaced is kept as `(backups/prod/[^`]+)`").FindStringSubmatch(restored.Stdout)
	if replaced == nil || !strings.Contains(mustCall(t, nil, append(ctor(s), "backups", "--env=prod")...).Stdout, replaced[1]) {
		t.Errorf("the confirmed restore did not keep the state it replaced as a listed backup:\n%s", restored.Stdout)
	}
	// Its reproduce line reruns the comparison: pasted later, a confirming one would push the
	// old backup over the state as it is then.
	if !strings.Contains(restored.Stdout, "restore-state --env=prod --from="+key) || strings.Contains(restored.Stdout, "--from="+key+" --confirm\n```") {
		t.Errorf("the confirmed restore's reproduce line must rerun the comparison, not the push:\n%s", restored.Stdout)
	}
	v3 := moto.MustState(t, prodKey)
	if v3.Lineage != v1.Lineage || v3.Serial <= v2.Serial {
		t.Errorf("restored state: lineage %s serial %d; want lineage %s and a serial above %d", v3.Lineage, v3.Serial, v1.Lineage, v2.Serial)
	}
	if got := v3.Attr("terraform_data.release", "id"); got != id1 {
		t.Errorf("restored terraform_data.release id %q, want the backup's %q", got, id1)
	}
}

// TestImportAdoptsTaggedResourcesAndDriftSeesTags: resources made outside Terraform with
// the stack's tags are found, a dry run changes nothing, the import adopts them and the
// next plan creates none of them; a tag changed outside Terraform is reported as drift.
func TestImportAdoptsTaggedResourcesAndDriftSeesTags(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	ctx := context.Background()
	tags := map[string]string{"Project": s.Project, "Environment": "test", "Owner": "e2e"}
	bucket, table, topic := s.Project+"-test-data", s.Project+"-test-items", s.Project+"-test-events"
	if _, err := moto.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	var s3tags []s3types.Tag
	var dbtags []dbtypes.Tag
	var snstags []snstypes.Tag
	for k, v := range tags {
		s3tags = append(s3tags, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
		dbtags = append(dbtags, dbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		snstags = append(snstags, snstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := moto.S3().PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &s3types.Tagging{TagSet: s3tags}}); err != nil {
		t.Fatal(err)
	}
	if _, err := moto.DynamoDB().CreateTable(ctx, itemsTable(table, dbtags)); err != nil {
		t.Fatal(err)
	}
	if _, err := moto.SNS().CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(topic), Tags: snstags}); err != nil {
		t.Fatal(err)
	}
	ctor := append(s.Ctor(), moto.Ctor()...)
	imported := []string{"aws_dynamodb_table.items", "aws_s3_bucket.data", "aws_sns_topic.events"}

	dry := export(t, nil, append(slices.Clone(ctor), "import", "--env=test", "--project="+s.Project, "--dry-run")...)
	report := readFile(t, dry, "import-report.md")
	for _, a := range imported {
		if !strings.Contains(report, a) {
			t.Errorf("the dry run's report does not name %s:\n%s", a, report)
		}
	}
	if st, ok := moto.State(t, testKey); ok && len(st.Addresses()) > 0 {
		t.Fatalf("import --dry-run wrote state: %v", st.Addresses())
	}

	done := export(t, nil, append(slices.Clone(ctor), "import", "--env=test", "--project="+s.Project)...)
	if got := moto.MustState(t, testKey).Addresses(); !slices.Equal(sortedCopy(got), imported) {
		t.Errorf("after import the state holds %v, want exactly %v", got, imported)
	}
	if _, err := os.Stat(filepath.Join(done, "imports.tf")); err != nil {
		t.Errorf("import returned no imports.tf: %v", err)
	}

	plan := readResult(t, export(t, nil, append(slices.Clone(ctor), "plan", "--env=test")...))
	for _, c := range plan.Changes {
		if strings.HasPrefix(c.Address, "aws_") && c.Kind != "no-op" {
			t.Errorf("the plan after the import still changes %s (%s)", c.Address, c.Kind)
		}
	}
	if plan.Counts["import"] != 0 || plan.Counts["delete"] != 0 || plan.Counts["replace"] != 0 {
		t.Errorf("the plan after the import: counts %v, want no import, delete or replace", plan.Counts)
	}
	export(t, nil, append(slices.Clone(ctor), "apply", "--env=test")...)

	// Post-deploy tests on the adopted stack: converged and outputs pass; the stack has no
	// CloudWatch alarm (the test provider has none), which the module refuses by name.
	tests := mustFail(t, nil, append(slices.Clone(ctor), "test", "--env=test", "--project="+s.Project)...)
	if want := "post-deploy tests failed in test: monitoring: alarms exist and notify a subscribed topic: the state holds no aws_cloudwatch_metric_alarm"; !strings.Contains(tests.Stderr, want) {
		t.Errorf("post-deploy tests do not fail with %q:\n%s", want, lastLines(tests.Stderr, 30))
	}
	for _, other := range []string{"deployment converged", "outputs readable", "deployment: every", "security: encryption"} {
		if regexp.MustCompile(`(failed in test: |- )` + regexp.QuoteMeta(other)).MatchString(tests.Stderr) {
			t.Errorf("post-deploy check %q failed on the converged stack:\n%s", other, lastLines(tests.Stderr, 30))
		}
	}

	// No drift yet, then a tag changed outside Terraform.
	clean := export(t, nil, append(slices.Clone(ctor), "drift", "--env=test")...)
	if r := readResult(t, clean); r.Verdict != "pass" {
		t.Errorf("drift right after apply: verdict %s (%v), want pass", r.Verdict, r.Reasons)
	}
	s3tags = append(s3tags[:0], s3types.Tag{Key: aws.String("Project"), Value: aws.String(s.Project)},
		s3types.Tag{Key: aws.String("Environment"), Value: aws.String("test")}, s3types.Tag{Key: aws.String("Owner"), Value: aws.String("someone-else")})
	if _, err := moto.S3().PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &s3types.Tagging{TagSet: s3tags}}); err != nil {
		t.Fatal(err)
	}
	drift := export(t, nil, append(slices.Clone(ctor), "drift", "--env=test")...)
	md := readFile(t, drift, "drift.md")
	if !regexp.MustCompile("update \\| `aws_s3_bucket.data` \\| tags").MatchString(md) {
		t.Errorf("drift.md does not report the bucket's tags:\n%s", md)
	}
	if strings.Contains(md, "someone-else") {
		t.Errorf("drift.md shows a tag value; it lists attribute names only:\n%s", md)
	}
	if r := readResult(t, drift); r.Verdict != "warn" {
		t.Errorf("drift verdict %s, want warn", r.Verdict)
	}
	// --fail-on-drift --report-on-failure keeps the report; verdict then fails the job.
	blocked := export(t, nil, append(slices.Clone(ctor), "drift", "--env=test", "--fail-on-drift", "--report-on-failure")...)
	if r := readResult(t, blocked); r.Verdict != "block" {
		t.Errorf("drift --fail-on-drift verdict %s, want block", r.Verdict)
	}
	v := mustFail(t, nil, "verdict", "--report="+blocked)
	if !strings.Contains(v.Stderr, "aws_s3_bucket.data") && !strings.Contains(v.Stderr, "drift") {
		t.Errorf("verdict of the blocked drift report does not say why:\n%s", lastLines(v.Stderr, 20))
	}

	// A tagged bucket the configuration does not have: --generate-config plans it into a
	// generated address and returns the configuration Terraform wrote for it.
	orphan := s.Project + "-test-orphan"
	if _, err := moto.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(orphan)}); err != nil {
		t.Fatal(err)
	}
	if _, err := moto.S3().PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(orphan), Tagging: &s3types.Tagging{TagSet: s3tags}}); err != nil {
		t.Fatal(err)
	}
	generated := export(t, nil, append(slices.Clone(ctor), "import", "--env=test", "--project="+s.Project, "--dry-run", "--generate-config")...)
	if g := readFile(t, generated, "generated.tf"); !strings.Contains(g, `"`+orphan+`"`) {
		t.Errorf("import --generate-config: generated.tf does not configure the bucket %s:\n%s", orphan, g)
	}
}

// TestPipelineImportsTaggedResources: the pipeline's plan imports a tagged bucket beside
// the stack's other changes and its apply adopts it; the import step's report, made with
// the plan, then says imported, not "to import".
func TestPipelineImportsTaggedResources(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	ctx := context.Background()
	bucket := s.Project + "-test-data"
	if _, err := moto.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	tags := []s3types.Tag{{Key: aws.String("Project"), Value: aws.String(s.Project)}, {Key: aws.String("Environment"), Value: aws.String("test")}}
	if _, err := moto.S3().PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &s3types.Tagging{TagSet: tags}}); err != nil {
		t.Fatal(err)
	}
	dir := export(t, nil, append(append(s.Ctor(), moto.Ctor()...), "pipeline", "--env=test", "--project="+s.Project, "--skip-tests")...)
	if got := moto.MustState(t, testKey).Addresses(); !slices.Contains(got, "aws_s3_bucket.data") {
		t.Errorf("after the pipeline the state holds %v, without the tagged bucket", got)
	}
	// The plan's own section still counts what its plan imports ("1 to import"), as plans do.
	const section = "## Import: test\n\n1 imported."
	if md := readFile(t, dir, "summary.md"); !strings.Contains(md, section) || !strings.Contains(md, "| imported | `aws_s3_bucket.data` |") {
		t.Errorf("summary.md's import section does not say the bucket was imported:\n%s", md)
	}
	if md := readFile(t, dir, "import-report.md"); !strings.HasPrefix(md, section) || strings.Contains(md, "to import") {
		t.Errorf("import-report.md does not say the bucket was imported:\n%s", md)
	}
}

// TestResourcesInAnotherRegionThanTheState: the state bucket is in us-east-1 (the
// backend in pipeline.yaml) and the resources in eu-west-1 (--region). Import finds the
// table in eu-west-1, the provider reads it there, and the state lands in the us-east-1
// bucket.
func TestResourcesInAnotherRegionThanTheState(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	euWest := dynamodb.NewFromConfig(moto.config(), func(o *dynamodb.Options) { o.Region = "eu-west-1" })
	tags := []dbtypes.Tag{{Key: aws.String("Project"), Value: aws.String(s.Project)}, {Key: aws.String("Environment"), Value: aws.String("test")}}
	if _, err := euWest.CreateTable(context.Background(), itemsTable(s.Project+"-test-items", tags)); err != nil {
		t.Fatal(err)
	}
	ctor := append(append(s.Ctor(), moto.Ctor()...), "--region=eu-west-1")
	export(t, nil, append(ctor, "import", "--env=test", "--project="+s.Project)...)
	if got := moto.MustState(t, testKey).Addresses(); !slices.Contains(got, "aws_dynamodb_table.items") {
		t.Errorf("after import the state in the us-east-1 bucket holds %v, want aws_dynamodb_table.items", got)
	}
	// The plan's summary names both: where the state is, and where the resources are; and
	// the variables file the plan read.
	summary := readFile(t, export(t, nil, append(ctor, "plan", "--env=test")...), "summary.md")
	if !strings.Contains(summary, "State: `s3://e2e-terraform-state/"+testKey+"` · resources in `eu-west-1` · variables from `environments/test.tfvars`") {
		t.Errorf("the plan's summary does not name the state object, the resources' region and the variables file:\n%s", summary)
	}
}

// itemsTable is the app stack's aws_dynamodb_table.items as made outside Terraform, tagged.
func itemsTable(name string, tags []dbtypes.Tag) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name), BillingMode: dbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: dbtypes.KeyTypeHash}},
		Tags:                 tags,
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// TestSummaryEndsWithReproducingLine runs the dagger call line a pipeline summary ends
// with and gets the same verdict.
func TestSummaryEndsWithReproducingLine(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	env := []string{"SECRET_TFVARS=api_token = \"not-a-secret\"\n"}
	ctor := append(append(s.Ctor(), moto.Ctor()...), "--tf-var-file=env:SECRET_TFVARS")
	first := export(t, env, append(ctor, "pipeline", "--env=test", "--dry-run", "--report-on-failure")...)
	line := lastSummaryLine(readFile(t, first, "summary.md"))
	if !strings.HasPrefix(line, "dagger call ") {
		t.Fatalf("the summary's last line is not a dagger call line: %q", line)
	}
	for _, want := range []string{"--terraform-dir=.", fmt.Sprintf("--aws-emulator=tcp://localhost:%d", moto.Port), "--tf-var-file=env:SECRET_TFVARS", "pipeline", "--env=test", "--dry-run"} {
		if !strings.Contains(line, want) {
			t.Errorf("reproduce line %q lacks %s", line, want)
		}
	}
	const saved = " export --path=./reports"
	if !strings.HasSuffix(line, saved) {
		t.Fatalf("the reproduce line does not save the report as the workflow does (%s): %q", saved, line)
	}
	// The stack is no module's repository, so the line names the module and the source:
	// run exactly that line through a shell, with this checkout as the module and the
	// stack's directory as --source, keeping the report elsewhere than ./reports.
	const named = "dagger call -m github.com/infrapipe/infrapipe --source=. "
	if !strings.HasPrefix(line, named) {
		t.Fatalf("the reproduce line does not start %q: %q", named, line)
	}
	second := filepath.Join(t.TempDir(), "again")
	script := strings.Replace(strings.TrimSuffix(line, saved), named, "dagger call --progress=plain --source="+s.Dir+" ", 1) +
		" --report-on-failure export --path=" + second
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the reproduce line failed: %v\n%s", err, lastLines(string(out), 40))
	}
	a, b := readResult(t, first), readResult(t, second)
	if a.Verdict != b.Verdict || !slices.Equal(a.Reasons, b.Reasons) {
		t.Errorf("the reproduce line gave verdict %s %v, the original %s %v", b.Verdict, b.Reasons, a.Verdict, a.Reasons)
	}
	// verdict reads both reports the same way.
	va := call(t, nil, "verdict", "--report="+first)
	vb := call(t, nil, "verdict", "--report="+second)
	if (va.Err == nil) != (vb.Err == nil) || strings.TrimSpace(va.Stdout) != strings.TrimSpace(vb.Stdout) {
		t.Errorf("verdict differs: %q (%v) and %q (%v)", va.Stdout, va.Err, vb.Stdout, vb.Err)
	}
	if a.Verdict != "block" && strings.TrimSpace(va.Stdout) != "test pipeline: "+a.Verdict {
		t.Errorf("verdict printed %q, want \"test pipeline: %s\"", strings.TrimSpace(va.Stdout), a.Verdict)
	}
}

// missing reports whether .ci/engine.sh found an image missing from the engine's registry.
func missing(image string) bool {
	return slices.Contains(strings.Fields(os.Getenv("INFRAPIPE_MISSING_IMAGES")), image)
}

// TestMissingToolImageDegradesClearly: with Checkov, terraform-compliance and Infracost
// images absent, security-scan, compliance, cost and pipeline each say which image could
// not run, which flag overrides it and what the environment's profile makes of it.
func TestMissingToolImageDegradesClearly(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	const (
		checkov    = "bridgecrew/checkov:3.2.524"
		compliance = "eerkunt/terraform-compliance:1.3.32"
		infracost  = "infracost/infracost:ci-0.10"
	)
	for _, img := range []string{checkov, compliance, infracost} {
		if !missing(img) {
			t.Skipf("%s is available on this engine; the test needs it missing (INFRAPIPE_MISSING_IMAGES)", img)
		}
	}
	s := newStack(t, "app")
	ctor := append(s.Ctor(), "--emulate-aws")
	env := []string{"INFRACOST_API_KEY=e2e-not-a-key"}
	checkovMsg := "checkov could not run: image " + checkov + " is not available (use --checkov-image to pick another)"
	complianceMsg := "terraform-compliance could not run: image " + compliance + " is not available (use --terraform-compliance-image to pick another)"
	infracostMsg := "infracost could not run: image " + infracost + " is not available (use --infracost-image to pick another)"

	var wg sync.WaitGroup
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	run(func() {
		scan := export(t, nil, append(slices.Clone(ctor), "security-scan", "--env=test")...)
		sum := readFile(t, scan, "summary.md")
		for _, want := range []string{checkovMsg, "in test a check that could not run warns"} {
			if !strings.Contains(sum, want) {
				t.Errorf("security-scan summary does not say %q:\n%s", want, sum)
			}
		}
		res := mustFail(t, nil, append(slices.Clone(ctor), "security-scan", "--env=prod")...)
		if !strings.Contains(res.Stderr, checkovMsg) || !strings.Contains(res.Stderr, "in prod a check that could not run blocks") {
			t.Errorf("security-scan --env=prod does not block naming the image:\n%s", lastLines(res.Stderr, 30))
		}
	})
	run(func() {
		dir := export(t, nil, append(slices.Clone(ctor), "compliance", "--env=test")...)
		sum := readFile(t, dir, "summary.md")
		for _, want := range []string{complianceMsg, "in test a check that could not run warns"} {
			if !strings.Contains(sum, want) {
				t.Errorf("compliance summary does not say %q:\n%s", want, sum)
			}
		}
	})
	run(func() {
		res := mustCall(t, env, append(slices.Clone(ctor), "cost", "--env=test", "--infracost-api-key=env:INFRACOST_API_KEY")...)
		for _, want := range []string{infracostMsg, "in test a check that could not run warns"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("cost does not say %q:\n%s", want, res.Stdout)
			}
		}
	})
	run(func() {
		dir := filepath.Join(t.TempDir(), "staging")
		res := call(t, env, append(slices.Clone(ctor), "pipeline", "--env=staging", "--dry-run", "--report-on-failure",
			"--infracost-api-key=env:INFRACOST_API_KEY", "export", "--path="+dir)...)
		if res.Err != nil {
			t.Errorf("pipeline --env=staging --dry-run --report-on-failure failed: %v\n%s", res.Err, lastLines(res.Stderr, 40))
			return
		}
		sum := readFile(t, dir, "summary.md")
		for _, want := range []string{checkovMsg, complianceMsg, infracostMsg, "in staging a check that could not run warns"} {
			if !strings.Contains(sum, want) {
				t.Errorf("staging pipeline summary does not say %q:\n%s", want, sum)
			}
		}
	})
	wg.Wait()
}

// TestLint: lint passes on the stack and, on a misformatted file, fails naming it; the
// stack's own tests (terraform test, the provider mocked) run with it, and one that fails
// fails lint with Terraform's message.
func TestLint(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	s := newStack(t, "app")
	ok := mustCall(t, nil, append(s.Ctor(), "lint")...)
	if strings.TrimSpace(ok.Stdout) == "" || strings.Contains(ok.Stdout, "terraform test") {
		t.Errorf("lint of a stack without tests printed no report, or a terraform test line:\n%s", ok.Stdout)
	}
	unitTest := func(name string) string {
		return "mock_provider \"aws\" {}\n\nvariables {\n  project     = \"p\"\n  environment = \"test\"\n}\n\nrun \"topic_name\" {\n" +
			"  command = plan\n\n  assert {\n    condition     = aws_sns_topic.events.name == \"" + name + "\"\n" +
			"    error_message = \"the topic is not named " + name + "\"\n  }\n}\n"
	}
	s.Write(t, "app.tftest.hcl", unitTest("p-test-events"))
	if ok := mustCall(t, nil, append(s.Ctor(), "lint")...); !strings.Contains(ok.Stdout, "- terraform test: 1 passed, 0 failed") {
		t.Errorf("lint does not report the stack's passing test:\n%s", ok.Stdout)
	}
	s.Write(t, "app.tftest.hcl", unitTest("p-test-alerts"))
	failed := mustFail(t, nil, append(s.Ctor(), "lint")...)
	for _, want := range []string{"terraform test: 1 of 1 run block(s) did not pass", "`app.tftest.hcl` run `topic_name`: fail",
		"Test assertion failed: the topic is not named p-test-alerts (app.tftest.hcl:12)"} {
		if !strings.Contains(failed.Stderr, want) {
			t.Errorf("lint with a failing test does not say %q:\n%s", want, lastLines(failed.Stderr, 30))
		}
	}
	// Terraform that cannot be set up (its providers' install refuses the configuration):
	// the tests say they did not run, and the rest of the report still stands.
	s.Write(t, "future.tf", "terraform {\n  required_version = \">= 99.0\"\n}\n")
	notSetUp := mustFail(t, nil, append(s.Ctor(), "lint")...)
	for _, want := range []string{"not run: terraform could not be set up in the stack", "terraform could not be set up to validate",
		"Unsupported Terraform Core version", "- terraform fmt: ok", "- tflint:"} {
		if !strings.Contains(notSetUp.Stderr, want) {
			t.Errorf("lint of a stack Terraform cannot set up, with tests, does not say %q:\n%s", want, lastLines(notSetUp.Stderr, 40))
		}
	}
	for _, f := range []string{"app.tftest.hcl", "future.tf"} {
		if err := os.Remove(filepath.Join(s.Dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	s.Write(t, "bad.tf", "resource \"terraform_data\" \"bad\" {\ninput=   \"x\"\n}\n")
	res := mustFail(t, nil, append(s.Ctor(), "lint")...)
	if !strings.Contains(res.Stderr, "bad.tf") {
		t.Errorf("lint of a misformatted bad.tf does not name it:\n%s", lastLines(res.Stderr, 30))
	}
	if !strings.Contains(res.Stderr, `-input=   "x"`) || !strings.Contains(res.Stderr, `+  input = "x"`) {
		t.Errorf("lint does not show the diff that fixes bad.tf:\n%s", lastLines(res.Stderr, 40))
	}

	// A tflint plugin that cannot be installed: lint fails with tflint's reason, and fmt's
	// findings still stand (they were cancelled with it).
	s.Write(t, ".tflint.hcl", "plugin \"nope\" {\n  enabled = true\n  version = \"0.1.0\"\n  source  = \"github.com/infrapipe-e2e/tflint-ruleset-does-not-exist\"\n}\n")
	res = mustFail(t, nil, append(s.Ctor(), "lint")...)
	for _, want := range []string{"tflint could not run", "tflint-ruleset-does-not-exist", `+  input = "x"`} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("lint with a plugin it cannot install does not say %q:\n%s", want, lastLines(res.Stderr, 40))
		}
	}
}

// daggerLines are the `dagger call` lines of a function's output, in order.
func daggerLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "dagger call ") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines
}

// TestResolveEnv: the GitHub values resolve to an environment by pipeline.yaml's rules, and
// a crafted environment name is refused.
func TestResolveEnv(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	s := newStack(t, "app")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--github-event-name=push", "--github-ref=refs/heads/main"}, "test\t"},
		{[]string{"--github-event-name=pull_request", "--github-ref=refs/pull/7/merge"}, "preview\t"},
		{[]string{"--github-event-name=workflow_dispatch", "--requested-env=prod"}, "prod\t"},
	} {
		res := mustCall(t, nil, append(append(s.Ctor(), "resolve-env"), tc.args...)...)
		if !strings.HasPrefix(res.Stdout, tc.want) {
			t.Errorf("resolve-env %v: %q, want it to start with %q", tc.args, res.Stdout, tc.want)
		}
	}
	res := mustFail(t, nil, append(s.Ctor(), "resolve-env", "--github-event-name=workflow_dispatch", "--requested-env=prod; rm -rf /")...)
	if !strings.Contains(res.Stderr, "preview, test, staging") {
		t.Errorf("a crafted environment name is not refused with the valid names:\n%s", lastLines(res.Stderr, 20))
	}
}
