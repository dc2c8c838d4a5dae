package state

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
)

func TestParseLockError(t *testing.T) {
	tests := []struct {
		file string
		want LockInfo
	}{
		{"lock-s3-lockfile.txt", LockInfo{
			ID: "96b7179c-f2c0-a2f3-e91f-87abe5738472", Path: "state-bucket/proj/test/terraform.tfstate",
			Operation: "OperationTypeApply", Who: "root@vm", Version: "1.11.4",
			Created: time.Date(2026, 11, 27, 0, 50, 39, 747348452, time.UTC), Reason: "PreconditionFailed",
		}},
		{"lock-s3-lockfile-color.txt", LockInfo{
			ID: "a3a84898-b889-797d-8be6-514ef256d464", Path: "state-bucket/proj/test/terraform.tfstate",
			Operation: "OperationTypeApply", Who: "root@vm", Version: "1.11.4",
			Created: time.Date(2026, 11, 27, 0, 51, 8, 890952874, time.UTC), Reason: "PreconditionFailed",
		}},
		{"lock-dynamodb.txt", LockInfo{
			ID: "a9dff60c-4fbd-f62c-4274-c01be24dedfa", Path: "state-bucket/proj/test/terraform.tfstate",
			Operation: "OperationTypeApply", Who: "root@vm", Version: "1.11.4",
			Created: time.Date(2026, 11, 27, 0, 50, 58, 77473267, time.UTC), Reason: "ConditionalCheckFailedException",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := ParseLockError(string(data))
			if !ok {
				t.Fatal("lock error not recognised")
			}
			if !got.Created.Equal(tt.want.Created) {
				t.Errorf("Created = %v, want %v", got.Created, tt.want.Created)
			}
			got.Created, tt.want.Created = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseLockErrorNoLock(t *testing.T) {
	for name, out := range map[string]string{
		"empty":                    "",
		"other error":              "Error: Failed to get existing workspaces: S3 bucket \"st\" does not exist.\n",
		"apply success":            "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.\n",
		"lock header without info": "Error: Error acquiring the state lock\n\nError message: network down\n",
	} {
		if info, ok := ParseLockError(out); ok {
			t.Errorf("%s: want no lock, got %+v", name, info)
		}
	}
}

func TestLockErrorMessage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "lock-s3-lockfile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 0, 55, 40, 0, time.UTC)
	err = CheckLock(environment.Prod, string(data), 5*time.Minute, now)
	lockErr, ok := err.(*LockError)
	if !ok {
		t.Fatalf("CheckLock = %v, want *LockError", err)
	}
	msg := lockErr.Error()
	for _, want := range []string{
		"state of prod is locked (state-bucket/proj/test/terraform.tfstate)",
		"held by root@vm since 2026-11-27 00:50:39 UTC (5m0s ago)",
		"for an apply with Terraform 1.11.4",
		"waited 5m0s (-lock-timeout)",
		"\n  terraform force-unlock 96b7179c-f2c0-a2f3-e91f-87abe5738472",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if err := CheckLock(environment.Prod, "Error: Invalid provider configuration", 0, now); err != nil {
		t.Errorf("non-lock failure: want nil, got %v", err)
	}
}

// TestCheckLock: which failures are a held lock, which the lock's release mid-wait, and
// which are not about the lock at all.
func TestCheckLock(t *testing.T) {
	tests := []struct {
		file string // in testdata, or "" for text
		text string
		want string // "held", "released" or "none"
	}{
		{file: "lock-s3-lockfile.txt", want: "held"},
		{file: "lock-dynamodb.txt", want: "held"},
		{file: "lock-s3-released.txt", want: "released"},
		{file: "lock-dynamodb-released.txt", want: "released"},
		{text: "Error: Error acquiring the state lock\n\nError message: network down\n", want: "none"},
		{text: "Error: creating S3 Bucket: NoSuchKey on app.tflock' PreconditionFailed", want: "none"},
		{text: "", want: "none"},
	}
	for _, tt := range tests {
		name := tt.file
		if name == "" {
			name = tt.text
		}
		t.Run(name, func(t *testing.T) {
			out := tt.text
			if tt.file != "" {
				out = string(readTestdata(t, tt.file))
			}
			err := CheckLock(environment.Staging, out, time.Minute, time.Now())
			var held *LockError
			var released *LockReleasedError
			got := "none"
			switch {
			case errors.As(err, &held):
				got = "held"
			case errors.As(err, &released):
				got = "released"
				if msg := err.Error(); !strings.Contains(msg, "state of staging") || !strings.Contains(msg, "rerun") {
					t.Errorf("message %q does not name the environment and what to do", msg)
				}
			case err != nil:
				t.Fatalf("CheckLock = %T %v", err, err)
			}
			if got != tt.want {
				t.Errorf("CheckLock says %s (%v), want %s", got, err, tt.want)
			}
		})
	}
}

func TestLockArgs(t *testing.T) {
	for _, tt := range []struct {
		timeout time.Duration
		want    string
	}{
		{5 * time.Minute, "-lock-timeout=5m0s"},
		{0, "-lock-timeout=0s"},
		{90 * time.Second, "-lock-timeout=1m30s"},
		{-time.Second, "-lock-timeout=0s"},
	} {
		got := LockArgs(environment.Profile{LockTimeout: tt.timeout})
		if len(got) != 2 || got[0] != "-lock=true" || got[1] != tt.want {
			t.Errorf("LockArgs(%s) = %q, want [-lock=true %s]", tt.timeout, got, tt.want)
		}
	}
}

func FuzzParseLockError(f *testing.F) {
	for _, name := range []string{"lock-s3-lockfile.txt", "lock-s3-lockfile-color.txt", "lock-dynamodb.txt",
		"lock-s3-released.txt", "lock-dynamodb-released.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, out string) {
		info, ok := ParseLockError(out)
		if ok && info.ID == "" {
			t.Fatal("ok without an ID")
		}
		if ok {
			_ = (&LockError{Env: environment.Prod, Lock: info}).Error()
		}
		var released *LockReleasedError
		if err := CheckLock(environment.Prod, out, 0, time.Time{}); ok != (err != nil && !errors.As(err, &released)) {
			t.Fatalf("ParseLockError ok=%v but CheckLock = %v", ok, err)
		}
	})
}

// TestForceUnlockCommandIsOneWord: the lock object is writable by anyone with access to the
// state bucket, so its ID is untrusted. The printed command, pasted into a real shell, must
// pass the ID as one argument and run nothing else.
func TestForceUnlockCommandIsOneWord(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("need a POSIX sh on PATH: %v", err)
	}
	real, err := os.ReadFile(filepath.Join("testdata", "lock-s3-lockfile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const realID = "96b7179c-f2c0-a2f3-e91f-87abe5738472"
	for _, tt := range []struct{ id, want string }{
		{realID, "terraform force-unlock " + realID},
		{"x; touch pwned", `terraform force-unlock 'x; touch pwned'`},
		{"$(touch pwned)`touch pwned`", "terraform force-unlock '$(touch pwned)`touch pwned`'"},
		{"it's | tee pwned", `terraform force-unlock 'it'\''s | tee pwned'`},
	} {
		t.Run(tt.id, func(t *testing.T) {
			out := strings.Replace(string(real), realID, tt.id, 1)
			var lockErr *LockError
			if !errors.As(CheckLock(environment.Prod, out, 0, time.Time{}), &lockErr) {
				t.Fatalf("lock not recognised with ID %q", tt.id)
			}
			if lockErr.Lock.ID != tt.id {
				t.Fatalf("parsed ID %q, want %q", lockErr.Lock.ID, tt.id)
			}
			cmd := lockErr.Lock.ForceUnlockCommand()
			if cmd != tt.want || !strings.Contains(lockErr.Error(), "\n  "+tt.want) {
				t.Errorf("command %s, want %s", cmd, tt.want)
			}
			// What a shell makes of the pasted command: print its words, one a line.
			dir := t.TempDir()
			c := exec.Command(sh, "-c", `printf '%s\n' `+strings.TrimPrefix(cmd, "terraform "))
			c.Dir = dir
			got, err := c.Output()
			if err != nil {
				t.Fatalf("sh: %v", err)
			}
			if string(got) != "force-unlock\n"+tt.id+"\n" {
				t.Errorf("the shell reads %q, want the words force-unlock and %q", got, tt.id)
			}
			if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
				t.Error("the pasted command ran a command of its own")
			}
		})
	}
}
