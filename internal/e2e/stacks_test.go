package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// stacksRepo is a repository of stacks: testdata/stacks/app copied to stacks/<name> for
// each name, each with a project of its own (so their resources differ), and the root
// pipeline.yaml given, which every stack inherits.
func stacksRepo(t *testing.T, rootConfig string, names ...string) string {
	t.Helper()
	repo := t.TempDir()
	for _, name := range names {
		s := newStack(t, "app")
		if err := os.CopyFS(filepath.Join(repo, "stacks", name), os.DirFS(s.Dir)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(repo, "pipeline.yaml"), []byte(rootConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return repo
}

// stacksResult is the part of a combined result.json the tests read.
type stacksResult struct {
	Verdict string `json:"verdict"`
	Stacks  []struct {
		Stack   string   `json:"stack"`
		Verdict string   `json:"verdict"`
		Held    []string `json:"held"`
		Report  string   `json:"report"`
	} `json:"stacks"`
}

func readStacksResult(t *testing.T, dir string) stacksResult {
	t.Helper()
	var r stacksResult
	if err := json.Unmarshal([]byte(readFile(t, dir, "result.json")), &r); err != nil {
		t.Fatalf("result.json of %s: %v", dir, err)
	}
	return r
}

// TestStacksPlannedInParallel: two stacks of one repository planned in one call (pipeline
// --stacks=all --dry-run) against their own state keys, into one report; the stacks
// function gives the matrix, and a changed-files list selects one. The time of that one
// call is compared with two calls, one per stack, all warm (the ratio is logged: e2e
// timings are not asserted).
func TestStacksPlannedInParallel(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	// "live" matches no directory: a warning in the matrix's log and the combined summary.
	repo := stacksRepo(t, "version: 1\nstacks:\n  include: [\"stacks/*\", live]\n", "a", "b")
	ctor := append([]string{"--source=" + repo}, moto.Ctor()...)
	const unmatched = `"live" matches no directory with .tf files, so it adds no stack`

	res := mustCall(t, nil, append(slices.Clone(ctor), "stacks")...)
	matrix := res.Stdout
	if !strings.Contains(matrix, `{"include":[{"stack":"stacks/a","level":0,"depends_on":[]},{"stack":"stacks/b","level":0,"depends_on":[]}]}`) {
		t.Errorf("stacks printed %q", matrix)
	}
	if !strings.Contains(res.Stderr, unmatched) {
		t.Errorf("stacks did not warn %q:\n%s", unmatched, lastLines(res.Stderr, 20))
	}
	changed := filepath.Join(t.TempDir(), "changed.txt")
	if err := os.WriteFile(changed, []byte("stacks/b/main.tf\ndocs/x.md\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	matrix = mustCall(t, nil, append(slices.Clone(ctor), "stacks", "--changed-files="+changed)...).Stdout
	if !strings.Contains(matrix, `{"include":[{"stack":"stacks/b","level":0,"depends_on":[]}]}`) {
		t.Errorf("stacks --changed-files printed %q", matrix)
	}

	both := append(slices.Clone(ctor), "pipeline", "--env=test", "--dry-run", "--stacks=all")
	export(t, nil, both...) // warms the images and the provider installs of both stacks
	var separate time.Duration
	for _, s := range []string{"stacks/a", "stacks/b"} {
		args := append(append(slices.Clone(ctor), "--terraform-dir="+s), "pipeline", "--env=test", "--dry-run")
		dir := filepath.Join(t.TempDir(), "out")
		separate += mustCall(t, nil, append(args, "export", "--path="+dir)...).Duration
	}
	dir := filepath.Join(t.TempDir(), "out")
	one := mustCall(t, nil, append(both, "export", "--path="+dir)...).Duration
	t.Logf("two stacks: one call %s, two calls %s: ratio %.2f", one.Round(time.Second), separate.Round(time.Second), one.Seconds()/separate.Seconds())

	result := readStacksResult(t, dir)
	summary := readFile(t, dir, "summary.md")
	if result.Verdict == "block" || len(result.Stacks) != 2 {
		t.Fatalf("verdict %s, stacks %+v:\n%s", result.Verdict, result.Stacks, summary)
	}
	if !strings.Contains(summary, "- **warning** pipeline.yaml: stacks.include") || !strings.Contains(summary, unmatched) {
		t.Errorf("the summary does not warn %q:\n%s", unmatched, summary)
	}
	if !strings.HasPrefix(summary, "# test pipeline: "+result.Verdict+" (2 stacks)") || !strings.Contains(summary, "| `stacks/a` |") || !strings.Contains(summary, "# Stack `stacks/b`") {
		t.Errorf("summary:\n%s", summary)
	}
	for _, s := range result.Stacks {
		if r := readResult(t, filepath.Join(dir, s.Report)); r.Verdict != s.Verdict || r.Env != "test" {
			t.Errorf("%s: its own result %s/%s, the combined one says %s", s.Stack, r.Env, r.Verdict, s.Verdict)
		}
		if plan := readFile(t, filepath.Join(dir, s.Report), "plan.txt"); !strings.Contains(plan, "aws_s3_bucket.data will be created") {
			t.Errorf("%s was not planned:\n%s", s.Stack, plan)
		}
		// Each stack planned against a state key of its own (it locked it).
		if moto.Requests(t, "PUT /"+stateBucket+"/"+s.Stack+"/test/terraform.tfstate.tflock") == 0 {
			t.Errorf("%s did not lock %s/test/terraform.tfstate", s.Stack, s.Stack)
		}
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []any  `json:"runs"`
	}
	if err := json.Unmarshal([]byte(readFile(t, dir, "results.sarif")), &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) == 0 {
		t.Errorf("results.sarif: %v, %+v", err, sarif)
	}
	if junit := readFile(t, dir, "junit.xml"); !strings.Contains(junit, `name="stacks/a: pipeline test"`) || !strings.Contains(junit, `name="stacks/b: pipeline test"`) {
		t.Errorf("junit.xml does not hold both stacks' suites:\n%s", junit)
	}
	mustCall(t, nil, "verdict", "--report="+dir)
}

// TestStacksBlockedDependencyHoldsApply: stack a blocks (its plan fails), b depends on a, d
// on b, c on nothing. One call applies c, plans b and d without applying them (d's
// dependency did not block, but was held), and blocks; verdict fails naming a.
func TestStacksBlockedDependencyHoldsApply(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	repo := stacksRepo(t, "version: 1\nstacks:\n  depends_on:\n    stacks/b: [stacks/a]\n    stacks/d: [stacks/b]\n", "a", "b", "c", "d")
	if err := os.WriteFile(filepath.Join(repo, "stacks", "a", "broken.tf"), []byte("resource \"terraform_data\" \"broken\" {\n  input = var.undeclared\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctor := append([]string{"--source=" + repo}, moto.Ctor()...)
	args := append(slices.Clone(ctor), "pipeline", "--env=test", "--stacks=all", "--skip-tests")
	dir := export(t, nil, append(slices.Clone(args), "--report-on-failure")...)
	res := readStacksResult(t, dir)
	verdicts := map[string]string{}
	for _, s := range res.Stacks {
		verdicts[s.Stack] = s.Verdict
		if s.Stack == "stacks/b" && !slices.Equal(s.Held, []string{"stacks/a"}) || s.Stack == "stacks/d" && !slices.Equal(s.Held, []string{"stacks/b"}) {
			t.Errorf("%s held by %v", s.Stack, s.Held)
		}
	}
	summary := readFile(t, dir, "summary.md")
	if res.Verdict != "block" || verdicts["stacks/a"] != "block" || verdicts["stacks/c"] == "block" || verdicts["stacks/b"] == "" ||
		!strings.Contains(summary, "- **held** `stacks/b`: planned and checked, not applied: it depends on `stacks/a`") ||
		!strings.Contains(summary, "- **held** `stacks/d`: planned and checked, not applied: it depends on `stacks/b`") {
		t.Errorf("verdict %s, stacks %v:\n%s", res.Verdict, verdicts, summary)
	}
	if _, ok := moto.State(t, "stacks/c/test/terraform.tfstate"); !ok {
		t.Errorf("the independent stack c was not applied")
	}
	for _, s := range []string{"a", "b", "d"} {
		if _, ok := moto.State(t, "stacks/"+s+"/test/terraform.tfstate"); ok {
			t.Errorf("stack %s was applied although it (or a stack it depends on) blocked", s)
		}
	}
	for _, s := range []string{"b", "d"} {
		if plan := readFile(t, filepath.Join(dir, "stacks", "stacks", s), "plan.txt"); !strings.Contains(plan, "will be created") {
			t.Errorf("the held stack %s was not planned:\n%s", s, plan)
		}
	}
	// The held stacks' apply is skipped in junit.xml, not missing: no reporter shows them deployed.
	if junit := readFile(t, dir, "junit.xml"); strings.Count(junit, `<skipped message="held: planned and checked, not applied: it depends on stacks/`) != 2 {
		t.Errorf("junit.xml does not skip the held stacks' apply:\n%s", junit)
	}
	v := mustFail(t, nil, "verdict", "--report="+dir)
	if !strings.Contains(v.Stderr, "stacks/a: ") {
		t.Errorf("verdict does not name the blocked stack:\n%s", lastLines(v.Stderr, 10))
	}
}

// TestExampleStacksPipeline runs docs/stacks.md's first command on the repository's own
// stacks (terraform/ and stacks/network/, sharing modules/naming), with the harness's
// Terraform image holding the real hashicorp/aws provider: both stacks apply and pass their
// post-deploy tests; only the images that cannot be had here may warn.
func TestExampleStacksPipeline(t *testing.T) {
	requireEngine(t)
	image := os.Getenv("INFRAPIPE_TERRAFORM_AWS_IMAGE")
	if image == "" {
		t.Skip("no Terraform image with the real aws provider (.ci/engine.sh builds one when a provider mirror exists): the example stacks need it")
	}
	t.Parallel()
	out := export(t, nil, "--terraform-image="+image, "--emulate-aws", "pipeline", "--env=test", "--stacks=all")
	res := readStacksResult(t, out)
	summary := readFile(t, out, "summary.md")
	if res.Verdict == "block" || len(res.Stacks) != 2 || res.Stacks[0].Stack != "stacks/network" || res.Stacks[1].Stack != "terraform" {
		t.Fatalf("verdict %s, stacks %+v:\n%s", res.Verdict, res.Stacks, summary)
	}
	for _, s := range res.Stacks {
		own := readFile(t, filepath.Join(out, s.Report), "summary.md")
		for _, want := range []string{"| Plan | pass |", "| Apply | pass |", "| Post-deploy tests | pass |", "terraform.tfstate"} {
			if !strings.Contains(own, want) {
				t.Errorf("%s's summary lacks %q:\n%s", s.Stack, want, own)
			}
		}
		if !strings.Contains(own, "s3://infrapipe-terraform-state/"+s.Stack+"/test/terraform.tfstate") {
			t.Errorf("%s did not use a state key of its own:\n%s", s.Stack, own)
		}
	}
	for _, line := range strings.Split(summary, "\n") {
		if strings.HasPrefix(line, "- **warn**") && !strings.Contains(line, "is not available (use --") {
			t.Errorf("a warning other than an image that cannot be had here: %s", line)
		}
	}
}

// Flags that contradict each other, or that would be read and ignored, are refused before
// anything runs, naming the flags: on the engine, as a caller gives them.
func TestContradictoryFlagsRefused(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	s := newStack(t, "app")
	changed := filepath.Join(t.TempDir(), "changed.txt")
	if err := os.WriteFile(changed, []byte("app/main.tf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"max-parallel without stacks", append(s.Ctor("--emulate-aws"), "pipeline", "--env=test", "--max-parallel=2"),
			"--max-parallel is how many stacks of --stacks run at once: give --stacks too"},
		{"tests skipped and run without changes", append(s.Ctor("--emulate-aws"), "pipeline", "--env=test", "--skip-tests", "--test-unchanged"),
			"--test-unchanged runs the post-deploy tests on a run without changes and --skip-tests skips them"},
		{"tests run without changes in a dry run", append(s.Ctor("--emulate-aws"), "pipeline", "--env=test", "--dry-run", "--test-unchanged"),
			"--test-unchanged runs the post-deploy tests on a run without changes and --dry-run applies and tests nothing"},
		{"a change's files beside all stacks", append(s.Ctor("--emulate-aws"), "pipeline", "--env=test", "--stacks=all", "--changed-files="+changed),
			"--changed-files selects stacks only with --stacks=changed: --stacks=all takes every stack"},
		{"the matrix of named stacks from a change's files", append(s.Ctor(), "stacks", "--stacks=app", "--changed-files="+changed),
			"--changed-files selects stacks only with --stacks=changed"},
		{"a Terraform version beside an image", append(s.Ctor("--terraform-version=1.10.5", "--terraform-image=hashicorp/terraform:1.10.5"), "lint"),
			"--terraform-image replaces hashicorp/terraform:<--terraform-version>: give one of them"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := mustFail(t, nil, tt.args...)
			if !strings.Contains(res.Stderr, tt.want) {
				t.Errorf("does not say %q:\n%s", tt.want, lastLines(res.Stderr, 20))
			}
		})
	}
}

// TestStacksTwoPhase: the reviewed deploy of several stacks. The first phase stores each
// stack's plan and applies nothing; its plans output carries them to the second, which
// applies each stack's stored plan. A --plans that is not the output's form fails before
// anything runs, naming it.
func TestStacksTwoPhase(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	repo := stacksRepo(t, "version: 1\n", "a", "b")
	ctor := append([]string{"--source=" + repo}, moto.Ctor()...)
	first := export(t, nil, append(slices.Clone(ctor), "pipeline", "--env=test", "--stacks=all", "--store-plan", "--skip-tests")...)
	plans := outputValue(readFile(t, first, "outputs.env"), "plans")
	if !regexp.MustCompile(`^stacks/a=plans/test/\S+\.tfplan@[0-9a-f]{64},stacks/b=plans/test/\S+\.tfplan@[0-9a-f]{64}$`).MatchString(plans) {
		t.Fatalf("outputs.env's plans = %q, want both stacks' stored plans", plans)
	}
	if summary := readFile(t, first, "summary.md"); !strings.Contains(summary, "**Stored for the second phase:**") || !strings.Contains(summary, plans) {
		t.Errorf("the first phase's summary does not give the stored plans:\n%s", summary)
	}
	for _, s := range []string{"a", "b"} {
		if _, ok := moto.State(t, "stacks/"+s+"/test/terraform.tfstate"); ok {
			t.Errorf("the first phase applied stack %s", s)
		}
	}

	bad := mustFail(t, nil, append(slices.Clone(ctor), "pipeline", "--env=test", "--plans=stacks/a=nope", "--skip-tests")...)
	if !strings.Contains(bad.Stderr, `--plans entry "stacks/a=nope" has no @ before the plan's SHA-256`) {
		t.Errorf("a bad --plans:\n%s", lastLines(bad.Stderr, 10))
	}

	second := export(t, nil, append(slices.Clone(ctor), "pipeline", "--env=test", "--plans="+plans, "--skip-tests")...)
	if r := readStacksResult(t, second); r.Verdict == "block" || len(r.Stacks) != 2 {
		t.Errorf("the second phase: verdict %s, %d stacks", r.Verdict, len(r.Stacks))
	}
	for _, entry := range strings.Split(plans, ",") {
		stack, rest, _ := strings.Cut(entry, "=")
		ref, _, _ := strings.Cut(rest, "@")
		if summary := readFile(t, filepath.Join(second, "stacks", stack), "summary.md"); !strings.Contains(summary, "Applied the stored plan `"+ref+"`") {
			t.Errorf("%s did not apply its stored plan %s:\n%s", stack, ref, summary)
		}
		if st, ok := moto.State(t, stack+"/test/terraform.tfstate"); !ok || len(st.Addresses()) == 0 {
			t.Errorf("the second phase left no resources in %s's state", stack)
		}
	}
}
