package state

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/markdown"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// DefaultUnlockMinAge is how old a lock must be before force-unlock releases it without
// --force. A younger lock may belong to a run that is still going (a plan or an apply of a
// few minutes); releasing it would let two runs write the same state.
const DefaultUnlockMinAge = 15 * time.Minute

// ErrConfirmFirst is the answer for an environment that shows the lock before releasing it
// (prod): nothing was released, and the caller asks again with --confirm.
var ErrConfirmFirst = errors.New("shown, not released: confirm to release it")

// UnlockRequest is a person's request to release an environment's state lock.
type UnlockRequest struct {
	Env environment.Name
	// LockID is the ID the person read from the lock error; it must be the current lock's.
	LockID string
	// Force releases a lock younger than MinAge, or one whose age Terraform did not say.
	Force bool
	// Confirm releases in an environment that shows the lock first.
	Confirm bool
	// ConfirmFirst is set for environments guarded like restore-state (prod).
	ConfirmFirst bool
	MinAge       time.Duration
	Now          time.Time
}

// ConfirmsFirst reports whether force-unlock in an environment of profile p only shows the
// lock until --confirm: where applies wait for a person's approval (prod), releasing a
// lock is that person's decision too.
func ConfirmsFirst(p environment.Profile) bool { return p.Approval == environment.ApprovalManual }

// maxLockID bounds the --lock-id value; Terraform's IDs are 36-character UUIDs.
const maxLockID = 128

// CheckLockID rejects a --lock-id that cannot be a lock ID before anything runs.
func CheckLockID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("--lock-id is empty: give the lock ID from the lock error (a UUID such as 1b9e4d2c-0f3a-4c5e-9a7b-2d8f6e1c3b4a)")
	case len(id) > maxLockID:
		return fmt.Errorf("--lock-id is %d characters long: a lock ID is at most %d (Terraform's are 36-character UUIDs)", len(id), maxLockID)
	case strings.IndexFunc(id, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return fmt.Errorf("--lock-id %s holds spaces or control characters: give the lock ID from the lock error", untrusted.Quote(id))
	}
	return nil
}

// CheckUnlock decides whether the lock that holds the state now (nil when nothing does) may
// be released. It returns nil to release it, ErrConfirmFirst when the environment shows the
// lock first, and otherwise an error that says why not and what to do.
func CheckUnlock(req UnlockRequest, held *LockInfo) error {
	if err := CheckLockID(req.LockID); err != nil {
		return err
	}
	if held == nil {
		return fmt.Errorf("the state of %s is not locked: there is nothing to release (lock ID %s was released already, or never held this state)",
			req.Env, untrusted.Quote(req.LockID))
	}
	if held.ID != req.LockID {
		return fmt.Errorf("--lock-id %s is not the lock that holds the state of %s now: that is %s\n%s\nCheck that this is the run you mean to release before you pass its ID",
			untrusted.Quote(req.LockID), req.Env, untrusted.Quote(held.ID), held.Describe(req.Now))
	}
	minAge := req.MinAge
	if minAge <= 0 {
		minAge = DefaultUnlockMinAge
	}
	young := held.Created.IsZero() || req.Now.Sub(held.Created) < minAge
	if young && !req.Force {
		age := "of unknown age"
		if !held.Created.IsZero() {
			age = req.Now.Sub(held.Created).Round(time.Second).String() + " old"
		}
		return fmt.Errorf("the lock of %s is %s, younger than %s: the run that holds it may still be going, and releasing it would let two runs write the state\n%s\n"+
			"Check that no run of %s is going (the CI job list, your colleagues), then pass --force",
			req.Env, age, minAge, held.Describe(req.Now), req.Env)
	}
	if req.ConfirmFirst && !req.Confirm {
		return ErrConfirmFirst
	}
	return nil
}

// Describe is the lock in one line for a person deciding whether its holder is gone.
func (l LockInfo) Describe(now time.Time) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "lock %s: held by %s%s for %s with Terraform %s", untrusted.Quote(l.ID), untrusted.Quote(orUnknown(l.Who)), l.since(now),
		operationName(l.Operation), untrusted.Quote(orUnknown(l.Version)))
	return sb.String()
}

// UnlockSummary is force-unlock's report (Markdown): the lock, whether it was released, and
// next, the command to run now (the --confirm line when only shown; after a released apply
// lock, the import line that adopts what the killed apply created).
func UnlockSummary(env environment.Name, held LockInfo, now time.Time, released bool, next string) string {
	var sb strings.Builder
	if !released {
		fmt.Fprintf(&sb, "# %s: state lock shown, not released\n\n%s.\n\n", env, markdown.Text(held.Describe(now)))
		sb.WriteString("Nothing was released. If the run that holds it is gone, release it with:\n\n")
		sb.WriteString(markdown.CodeBlock("sh", next) + "\n")
		return sb.String()
	}
	fmt.Fprintf(&sb, "# %s: state lock released\n\nReleased %s.\n\n", env, markdown.Text(held.Describe(now)))
	if held.isApply() && next != "" {
		sb.WriteString("The run that held it was applying: whatever it created but did not write to the state, the next plan would create again. Adopt such resources by their tags first:\n\n")
		sb.WriteString(markdown.CodeBlock("sh", next) + "\n\n")
	}
	sb.WriteString("The next plan shows what is left to do.\n")
	return sb.String()
}

// ReadLockProbe reads the plan force-unlock runs to find the lock (no refresh, no wait): exit
// 0 means it took the lock and let it go, so nothing holds it (nil); a lock error names the
// lock that holds it; anything else is a failure to find out, which says why.
func ReadLockProbe(env environment.Name, exitCode int, output string) (*LockInfo, error) {
	if exitCode == 0 {
		return nil, nil
	}
	if info, ok := ParseLockError(output); ok {
		return &info, nil
	}
	return nil, fmt.Errorf("find the lock of %s (terraform plan -refresh=false) failed (exit %d):\n%s", env, exitCode, firstError(output))
}

// Unlock is force-unlock from the lock found to the report: it decides (CheckUnlock), shows
// the lock with the --confirm line where the environment wants that first, and otherwise
// calls release, which runs terraform force-unlock, and reports what it released with the
// import line that adopts what a killed apply created.
func Unlock(req UnlockRequest, held *LockInfo, confirmLine, importLine string, release func() error) (string, error) {
	err := CheckUnlock(req, held)
	if errors.Is(err, ErrConfirmFirst) {
		return UnlockSummary(req.Env, *held, req.Now, false, confirmLine), nil
	}
	if err != nil {
		return "", err
	}
	if err := release(); err != nil {
		return "", err
	}
	return UnlockSummary(req.Env, *held, req.Now, true, importLine), nil
}
