package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestInterruptedApplyThenForceUnlock interrupts a slow apply the way Ctrl-C does (SIGINT to
// the dagger CLI) while Terraform holds the state lock. The v0.19.10 engine kills a running
// exec with SIGKILL when its client goes away, so the lock stays behind: the test holds the
// docs/state.md to that. The next apply's message leads to force-unlock and import; force-unlock
// refuses a wrong ID and a fresh lock, releases it with --force, and prod shows a lock and
// releases it only with --confirm, even with a var file that plan refuses. Then apply succeeds and a plan is clean.
func TestInterruptedApplyThenForceUnlock(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	moto := startMoto(t)
	s := newStack(t, "app")
	s.ShortLockTimeouts(t, "1s", "test", "prod")
	ctor := append(s.Ctor(), moto.Ctor()...)
	arg := func(a ...string) []string { return append(append([]string{}, ctor...), a...) }

	// 1. The stack is deployed; then a slow change to it is interrupted while its
	// provisioner sleeps (only terraform_data resources are in flight, so what the killed
	// apply did not record cannot collide with a real resource on the next apply).
	export(t, nil, arg("apply", "--env=test")...)
	slow := s.Copy(t)
	slow.SetVars(t, "test", map[string]string{"release": "r1", "apply_delay": "300"})
	cmd := exec.Command("dagger", append([]string{"call", "--progress=plain"}, append(append(slow.Ctor(), moto.Ctor()...), "apply", "--env=test")...)...)
	cmd.Dir = repoRoot(t)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	lock := waitForApplyLock(t, moto, testKey+".tflock", done, &out)
	time.Sleep(3 * time.Second) // well inside the 300 s provisioner
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	interrupted := time.Now()
	select {
	case <-done:
		t.Logf("dagger ended %s after SIGINT", time.Since(interrupted).Round(100*time.Millisecond))
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("dagger did not end within 2 minutes of SIGINT:\n%s", lastLines(out.String(), 30))
	}
	time.Sleep(5 * time.Second) // let the engine finish killing
	left, held := moto.Object(t, testKey+".tflock")
	if !held {
		t.Fatalf("the interrupted apply released its lock: the engine now stops Terraform gracefully; update docs/state.md \"Cancelled and killed runs\" and this test")
	}
	if !bytes.Equal(left, lock.raw) {
		t.Errorf("the lock left behind is not the apply's:\n%s\nwant\n%s", left, lock.raw)
	}

	// 2. The next apply fails at once and says how to recover, in dagger calls.
	res := mustFail(t, nil, arg("apply", "--env=test")...)
	unlockLine := regexp.MustCompile(`dagger call .*force-unlock --env=test --lock-id=([0-9a-f-]{36})`).FindStringSubmatch(res.Stderr)
	t.Logf("the next apply's lock error:\n%s", lastLines(res.Stderr, 12))
	if unlockLine == nil || unlockLine[1] != lock.ID {
		t.Fatalf("the lock error does not give the force-unlock line for lock %s:\n%s", lock.ID, lastLines(res.Stderr, 30))
	}
	if !strings.Contains(res.Stderr, "created resources it never wrote to the state") || !strings.Contains(res.Stderr, "import --env=test") {
		t.Errorf("the lock error of a killed apply does not lead to import:\n%s", lastLines(res.Stderr, 30))
	}

	// 3. force-unlock: a wrong ID, then the right one on a fresh lock, are refused.
	res = mustFail(t, nil, arg("force-unlock", "--env=test", "--lock-id=00000000-0000-0000-0000-000000000000")...)
	if want := `is not the lock that holds the state of test now: that is "` + lock.ID + `"`; !strings.Contains(res.Stderr, want) {
		t.Errorf("force-unlock with a wrong ID does not say %q:\n%s", want, lastLines(res.Stderr, 20))
	}
	res = mustFail(t, nil, arg("force-unlock", "--env=test", "--lock-id="+lock.ID)...)
	if want := "younger than 15m0s: the run that holds it may still be going"; !strings.Contains(res.Stderr, want) {
		t.Errorf("force-unlock of a fresh lock does not say %q:\n%s", want, lastLines(res.Stderr, 20))
	}
	if _, held := moto.Object(t, testKey+".tflock"); !held {
		t.Fatal("a refused force-unlock released the lock")
	}

	// 4. With --force it is released, and the report leads to import.
	ok := mustCall(t, nil, arg("force-unlock", "--env=test", "--lock-id="+lock.ID, "--force")...)
	t.Logf("force-unlock report:\n%s", ok.Stdout)
	for _, want := range []string{"# test: state lock released", lock.ID, "for an apply", "import --env=test"} {
		if !strings.Contains(ok.Stdout, want) {
			t.Errorf("the force-unlock report lacks %q:\n%s", want, ok.Stdout)
		}
	}
	if _, held := moto.Object(t, testKey+".tflock"); held {
		t.Fatal("force-unlock --force left the lock in place")
	}

	// 5. prod shows a held lock (the real lock object, put on prod's key) and releases it only
	// with --confirm.
	if _, err := moto.S3().PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(stateBucket), Key: aws.String(prodKey + ".tflock"), Body: bytes.NewReader(lock.raw),
	}); err != nil {
		t.Fatal(err)
	}
	// A misspelt variable in prod's var file, which plan refuses, does not stand between
	// the user and the lock.
	typo := s.Copy(t)
	typo.SetVars(t, "prod", map[string]string{"replica_cuont": "3"})
	typoArg := func(a ...string) []string { return append(append(typo.Ctor(), moto.Ctor()...), a...) }
	if res := mustFail(t, nil, typoArg("plan", "--env=prod")...); !strings.Contains(res.Stderr, "replica_cuont is not a variable of the stack") {
		t.Errorf("plan with a misspelt variable was not refused for it:\n%s", lastLines(res.Stderr, 20))
	}
	shown := mustCall(t, nil, typoArg("force-unlock", "--env=prod", "--lock-id="+lock.ID, "--force")...)
	if !strings.Contains(shown.Stdout, "# prod: state lock shown, not released") || !strings.Contains(shown.Stdout, "--confirm") {
		t.Errorf("force-unlock in prod without --confirm did not show the lock and the --confirm line:\n%s", shown.Stdout)
	}
	if _, held := moto.Object(t, prodKey+".tflock"); !held {
		t.Fatal("force-unlock in prod without --confirm released the lock")
	}
	mustCall(t, nil, typoArg("force-unlock", "--env=prod", "--lock-id="+lock.ID, "--force", "--confirm")...)
	if _, held := moto.Object(t, prodKey+".tflock"); held {
		t.Fatal("force-unlock --confirm in prod left the lock in place")
	}

	// 6. The next apply succeeds and a plan afterwards changes nothing.
	export(t, nil, arg("apply", "--env=test")...)
	dir := export(t, nil, arg("plan", "--env=test")...)
	if plan := readResult(t, dir); plan.Verdict != "pass" || len(plan.Changes) != 0 {
		t.Errorf("the plan after recovery: verdict %s, %d changes, want a clean pass: %+v", plan.Verdict, len(plan.Changes), plan.Changes)
	}
}

// heldLock is a lock object as Terraform wrote it, and its ID.
type heldLock struct {
	ID  string
	raw []byte
}

// waitForApplyLock waits until the state lock is held for an apply (a pipeline's apply plans
// first, under a lock of its own) and returns it; it fails when dagger ends first.
func waitForApplyLock(t *testing.T, moto *Moto, key string, done <-chan error, out *bytes.Buffer) heldLock {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("the slow apply ended before it held the lock (%v):\n%s", err, lastLines(out.String(), 40))
		default:
		}
		if raw, ok := moto.Object(t, key); ok {
			var info struct{ ID, Operation string }
			if err := json.Unmarshal(raw, &info); err != nil {
				t.Fatalf("lock object %s: %v\n%s", key, err, raw)
			}
			if info.Operation == "OperationTypeApply" {
				return heldLock{ID: info.ID, raw: raw}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("no apply lock on %s within 5 minutes:\n%s", key, lastLines(out.String(), 40))
	return heldLock{}
}
