package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// TestCheckUnlock decides on the lock Terraform really printed (an S3 lockfile held by an
// apply), at several ages.
func TestCheckUnlock(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "lock-s3-lockfile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	held, ok := ParseLockError(string(data))
	if !ok {
		t.Fatal("the fixture holds no lock")
	}
	const id = "96b7179c-f2c0-a2f3-e91f-87abe5738472"
	old := held.Created.Add(time.Hour)
	young := held.Created.Add(2 * time.Minute)
	noAge := held
	noAge.Created = time.Time{}

	tests := []struct {
		name    string
		req     UnlockRequest
		held    *LockInfo
		wantErr []string // substrings; nil: released
		confirm bool     // ErrConfirmFirst
	}{
		{"an old lock with its ID is released", UnlockRequest{Env: "test", LockID: id, Now: old}, &held, nil, false},
		{"nothing holds the state", UnlockRequest{Env: "test", LockID: id, Now: old}, nil,
			[]string{"state of test is not locked", "nothing to release"}, false},
		{"another lock holds it", UnlockRequest{Env: "test", LockID: "0000", Now: old}, &held,
			[]string{`--lock-id "0000" is not the lock`, `that is "` + id + `"`, `held by "root@vm"`, "for an apply"}, false},
		{"a young lock is refused", UnlockRequest{Env: "test", LockID: id, Now: young}, &held,
			[]string{"is 2m0s old, younger than 15m0s", "may still be going", "pass --force"}, false},
		{"a young lock with --force is released", UnlockRequest{Env: "test", LockID: id, Now: young, Force: true}, &held, nil, false},
		{"a lock of unknown age needs --force", UnlockRequest{Env: "test", LockID: id, Now: old}, &noAge,
			[]string{"of unknown age", "pass --force"}, false},
		{"a custom minimum age", UnlockRequest{Env: "test", LockID: id, Now: young, MinAge: time.Minute}, &held, nil, false},
		{"prod shows the lock first", UnlockRequest{Env: "prod", LockID: id, Now: old, ConfirmFirst: true}, &held, nil, true},
		{"prod with --confirm releases", UnlockRequest{Env: "prod", LockID: id, Now: old, ConfirmFirst: true, Confirm: true}, &held, nil, false},
		{"prod checks the ID before it shows anything", UnlockRequest{Env: "prod", LockID: "x", Now: old, ConfirmFirst: true}, &held,
			[]string{"is not the lock"}, false},
		{"an empty ID", UnlockRequest{Env: "test", Now: old}, &held, []string{"--lock-id is empty"}, false},
		{"a hostile ID", UnlockRequest{Env: "test", LockID: "x\n::error::pwned", Now: old}, &held,
			[]string{`--lock-id "x\n::error::pwned" holds spaces or control characters`}, false},
		{"a huge ID", UnlockRequest{Env: "test", LockID: strings.Repeat("a", 200), Now: old}, &held,
			[]string{"--lock-id is 200 characters long"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckUnlock(tt.req, tt.held)
			switch {
			case tt.confirm:
				if !errors.Is(err, ErrConfirmFirst) {
					t.Errorf("got %v, want ErrConfirmFirst", err)
				}
			case tt.wantErr == nil:
				if err != nil {
					t.Errorf("refused: %v", err)
				}
			default:
				if err == nil || errors.Is(err, ErrConfirmFirst) {
					t.Fatalf("got %v, want a refusal", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				for _, line := range strings.Split(err.Error(), "\n") {
					if strings.HasPrefix(line, "::") {
						t.Errorf("a line of the error starts a workflow command: %q", line)
					}
				}
			}
		})
	}
}

// The lock error leads to the module's force-unlock line and, after a killed apply, to import.
func TestLockErrorLeadsToForceUnlockAndImport(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "lock-s3-lockfile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 0, 55, 40, 0, time.UTC)
	var lockErr *LockError
	if !errors.As(CheckLock(environment.Test, string(data), time.Minute, now), &lockErr) {
		t.Fatal("no *LockError")
	}
	lockErr.Unlock = "dagger call force-unlock --env=test --lock-id=96b7179c-f2c0-a2f3-e91f-87abe5738472"
	lockErr.Import = "dagger call import --env=test --project=<your Project tag>"
	msg := lockErr.Error()
	for _, want := range []string{
		"release the lock:\n  dagger call force-unlock --env=test --lock-id=96b7179c-f2c0-a2f3-e91f-87abe5738472",
		"created resources it never wrote to the state",
		"adopt them by their tags first:\n  dagger call import --env=test",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "terraform force-unlock") {
		t.Errorf("the message still sends the reader to Terraform by hand:\n%s", msg)
	}
}
