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
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
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

// TestReadLockProbe reads what force-unlock's probe (a plan without refresh that does not
// wait for the lock) printed: real Terraform output, on a free state and on a held one.
func TestReadLockProbe(t *testing.T) {
	probe := []string{"plan", "-input=false", "-no-color", "-refresh=false", "-lock=true", "-lock-timeout=0s"}
	run := func(t *testing.T, mainTF string) (int, string) {
		w := tftest.New(t, map[string]string{"main.tf": mainTF})
		w.Init()
		stdout, stderr, err := w.Exec(probe...)
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0, stdout + stderr
		case errors.As(err, &exit):
			return exit.ExitCode(), stdout + stderr
		}
		t.Fatal(err)
		return 0, ""
	}
	tests := []struct {
		name    string
		output  func(t *testing.T) (int, string)
		wantID  string // "" for nothing held
		wantErr []string
	}{
		{name: "a free state", output: func(t *testing.T) (int, string) {
			return run(t, `resource "terraform_data" "a" {}`)
		}},
		{name: "held by an S3 lock file", wantID: "96b7179c-f2c0-a2f3-e91f-87abe5738472", output: func(t *testing.T) (int, string) {
			return 1, string(readTestdata(t, "lock-s3-lockfile.txt"))
		}},
		{name: "held through DynamoDB", wantID: "a9dff60c-4fbd-f62c-4274-c01be24dedfa", output: func(t *testing.T) (int, string) {
			return 1, string(readTestdata(t, "lock-dynamodb.txt"))
		}},
		{name: "the plan fails for another reason", output: func(t *testing.T) (int, string) {
			return run(t, `resource "terraform_data" "a" { input = var.missing }`)
		}, wantErr: []string{"find the lock of prod (terraform plan -refresh=false) failed (exit 1):\nError: Reference to undeclared input variable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, output := tt.output(t)
			held, err := ReadLockProbe(environment.Prod, code, output)
			switch {
			case tt.wantErr != nil:
				if err == nil {
					t.Fatalf("ReadLockProbe = %+v, want an error", held)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
			case err != nil:
				t.Fatalf("ReadLockProbe: %v\n%s", err, output)
			case tt.wantID == "" && held != nil:
				t.Errorf("ReadLockProbe = %+v, want nothing held", held)
			case tt.wantID != "" && (held == nil || held.ID != tt.wantID):
				t.Errorf("ReadLockProbe = %+v, want lock %s", held, tt.wantID)
			}
		})
	}
}

// TestUnlock runs force-unlock's sequence on the lock Terraform printed: release is called
// exactly when the lock may go, and the report says what happened and what to run next.
func TestUnlock(t *testing.T) {
	held, ok := ParseLockError(string(readTestdata(t, "lock-s3-lockfile.txt")))
	if !ok {
		t.Fatal("the fixture holds no lock")
	}
	const (
		confirmLine = "dagger call force-unlock --env=prod --lock-id=96b7179c-f2c0-a2f3-e91f-87abe5738472 --confirm"
		importLine  = "dagger call import --env=test --project=shop"
	)
	old, young := held.Created.Add(time.Hour), held.Created.Add(time.Minute)
	tests := []struct {
		name        string
		req         UnlockRequest
		held        *LockInfo
		releaseErr  error
		wantRelease bool
		want        []string // in the report
		wantErr     string
	}{
		{name: "an old lock is released", req: UnlockRequest{Env: "test", LockID: held.ID, Now: old}, held: &held, wantRelease: true,
			want: []string{"# test: state lock released", "The run that held it was applying", "```sh\n" + importLine + "\n```"}},
		{name: "prod shows it first", req: UnlockRequest{Env: "prod", LockID: held.ID, Now: old, ConfirmFirst: true}, held: &held,
			want: []string{"# prod: state lock shown, not released", "Nothing was released", "```sh\n" + confirmLine + "\n```"}},
		{name: "prod with --confirm releases", req: UnlockRequest{Env: "prod", LockID: held.ID, Now: old, ConfirmFirst: true, Confirm: true}, held: &held,
			wantRelease: true, want: []string{"# prod: state lock released"}},
		{name: "a young lock is refused", req: UnlockRequest{Env: "test", LockID: held.ID, Now: young}, held: &held, wantErr: "pass --force"},
		{name: "nothing holds the state", req: UnlockRequest{Env: "test", LockID: held.ID, Now: old}, wantErr: "is not locked"},
		{name: "terraform force-unlock fails", req: UnlockRequest{Env: "test", LockID: held.ID, Now: old}, held: &held,
			releaseErr: errors.New("terraform force-unlock: exit 1"), wantRelease: true, wantErr: "terraform force-unlock: exit 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			released := 0
			got, err := Unlock(tt.req, tt.held, confirmLine, importLine, func() error { released++; return tt.releaseErr })
			if want := map[bool]int{true: 1, false: 0}[tt.wantRelease]; released != want {
				t.Errorf("release ran %d times, want %d", released, want)
			}
			if tt.wantErr != "" {
				if err == nil || got != "" || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Unlock = %q, %v; want no report and %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("report lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestConfirmsFirst(t *testing.T) {
	for _, tt := range []struct {
		env  environment.Name
		want bool
	}{{environment.Preview, false}, {environment.Test, false}, {environment.Staging, false}, {environment.Prod, true}} {
		p, err := environment.Default(tt.env)
		if err != nil {
			t.Fatal(err)
		}
		if got := ConfirmsFirst(p); got != tt.want {
			t.Errorf("ConfirmsFirst(%s) = %v, want %v", tt.env, got, tt.want)
		}
	}
}
