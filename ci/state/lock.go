package state

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// LockInfo is the lock Terraform reports when another run holds the state. The S3 lockfile
// (use_lockfile) and the DynamoDB table print the same "Lock Info:" block.
type LockInfo struct {
	ID        string    `json:"id"`
	Path      string    `json:"path"`      // bucket/key of the locked state
	Operation string    `json:"operation"` // OperationTypeApply, OperationTypePlan, ...
	Who       string    `json:"who"`       // user@host of the holder
	Version   string    `json:"version"`   // holder's Terraform version
	Created   time.Time `json:"created"`   // zero when Terraform printed no parsable time
	Info      string    `json:"info,omitempty"`
	// Reason is the backend's own refusal, e.g. "PreconditionFailed" (lockfile) or
	// "ConditionalCheckFailedException" (DynamoDB).
	Reason string `json:"reason,omitempty"`
}

// ForceUnlockCommand is the exact command that releases this lock. It prompts for
// confirmation on purpose: a human decides that the holder is really gone. Terraform's lock
// IDs are UUIDs; anything else came from whoever could write the lock object, so it is
// single-quoted for the shell: a pasted command must never run more than force-unlock.
func (l LockInfo) ForceUnlockCommand() string { return "terraform force-unlock " + shellWord(l.ID) }

// plainWord is what a shell passes through as one word, unchanged.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// shellWord quotes s for a POSIX shell unless it is a plain word.
func shellWord(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// LockError is a run that stopped because the state is locked. The pipeline never retries
// beyond Terraform's own -lock-timeout: a retry loop would hide a dead holder for ever.
type LockError struct {
	Env         environment.Name
	Lock        LockInfo
	LockTimeout time.Duration // how long this run waited
	Now         time.Time     // when the error was seen, for the lock's age
	// Unlock is the command that releases the lock through the pipeline (the module's
	// force-unlock line); empty, the message gives Terraform's own command.
	Unlock string
	// Import is the command that adopts what a killed run created but did not record.
	Import string
}

func (e *LockError) Error() string {
	var sb strings.Builder
	l := e.Lock
	fmt.Fprintf(&sb, "state of %s is locked", e.Env)
	if l.Path != "" {
		fmt.Fprintf(&sb, " (%s)", l.Path)
	}
	fmt.Fprintf(&sb, ": held by %s%s for %s with Terraform %s, lock ID %s", orUnknown(l.Who), l.since(e.Now), operationName(l.Operation), orUnknown(l.Version), l.ID)
	if e.LockTimeout > 0 {
		fmt.Fprintf(&sb, "; waited %s (-lock-timeout)", e.LockTimeout)
	}
	sb.WriteString(".\nIf that run is still going, wait for it and rerun.")
	if e.Unlock != "" {
		fmt.Fprintf(&sb, "\nIf it is gone (cancelled or killed job), release the lock:\n  %s", e.Unlock)
	} else {
		fmt.Fprintf(&sb, "\nIf it is gone (cancelled or killed job), release the lock from the Terraform directory initialised for %s:\n  %s",
			e.Env, l.ForceUnlockCommand())
	}
	if l.isApply() {
		sb.WriteString("\nA killed apply may have created resources it never wrote to the state: the next plan would create them again.")
		if e.Import != "" {
			fmt.Fprintf(&sb, " After the unlock, adopt them by their tags first:\n  %s", e.Import)
		} else {
			sb.WriteString(" After the unlock, import them before the next apply.")
		}
	}
	return sb.String()
}

var (
	ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	lockField  = regexp.MustCompile(`^\s*(ID|Path|Operation|Who|Version|Created|Info):\s?(.*)$`)
	// lockReason finds the backend's error code: "api error PreconditionFailed:" (S3) or
	// "ConditionalCheckFailedException:" (DynamoDB).
	lockReason = regexp.MustCompile(`api error (\w+):|\b(\w+Exception):`)
)

// ParseLockError finds Terraform's "Error acquiring the state lock" in a command's output
// (stdout and stderr, coloured or not) and reads the lock's details. ok is false when the
// output holds no such error or no lock ID.
func ParseLockError(output string) (info LockInfo, ok bool) {
	lines := cleanLines(output)
	start := -1
	for i, line := range lines {
		if strings.Contains(line, "Error acquiring the state lock") {
			start = i
			break
		}
	}
	if start < 0 {
		return LockInfo{}, false
	}
	var message []string
	inMessage, inInfo := false, false
lines:
	for _, line := range lines[start+1:] {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "Error message:"):
			inMessage = true
			message = append(message, strings.TrimSpace(strings.TrimPrefix(trimmed, "Error message:")))
			continue
		case trimmed == "Lock Info:":
			inMessage, inInfo = false, true
			continue
		}
		if inMessage {
			message = append(message, trimmed)
			continue
		}
		if !inInfo {
			continue
		}
		m := lockField.FindStringSubmatch(line)
		if m == nil {
			if trimmed == "" || strings.HasPrefix(trimmed, "Terraform acquires") {
				break lines
			}
			continue
		}
		value := strings.TrimSpace(m[2])
		switch m[1] {
		case "ID":
			info.ID = value
		case "Path":
			info.Path = value
		case "Operation":
			info.Operation = value
		case "Who":
			info.Who = value
		case "Version":
			info.Version = value
		case "Created":
			info.Created = parseLockTime(value)
		case "Info": // the last field
			info.Info = value
			break lines
		}
	}
	if r := lockReason.FindStringSubmatch(strings.Join(message, " ")); r != nil {
		info.Reason = r[1] + r[2]
	}
	return info, info.ID != ""
}

// CheckLock turns a failed command's output into a *LockError when a held lock was the
// cause, into a *LockReleasedError when the lock was let go while the run waited for it,
// and returns nil otherwise so the caller reports its own error.
func CheckLock(env environment.Name, output string, lockTimeout time.Duration, now time.Time) error {
	info, ok := ParseLockError(output)
	if !ok {
		if lockReleased(output) {
			return &LockReleasedError{Env: env}
		}
		return nil
	}
	return &LockError{Env: env, Lock: info, LockTimeout: lockTimeout, Now: now}
}

// LockReleasedError is a run that failed to take the state lock only because its holder
// released it in between: Terraform's conditional write failed, and the lock it then read
// back to report was already gone. Terraform gives up there even within -lock-timeout
// (hashicorp/terraform#32690), measured with use_lockfile on Terraform 1.11. Nothing holds
// the lock now, so running the command once more is safe: it is not a retry that hides a
// held lock, because a held lock then fails as a *LockError with its ID.
type LockReleasedError struct {
	Env environment.Name
}

func (e *LockReleasedError) Error() string {
	return fmt.Sprintf("state of %s: the lock was released while this run waited for it, and Terraform "+
		"stopped instead of taking it (hashicorp/terraform#32690). Nothing holds the lock now: rerun.", e.Env)
}

// lockReleased recognises that race in Terraform's output: the S3 lock file's conditional
// PutObject failed (412) and its GetObject found no .tflock (404), or the DynamoDB
// conditional put failed and the lock item read back empty.
func lockReleased(output string) bool {
	text := strings.Join(cleanLines(output), " ")
	if !strings.Contains(text, "Error acquiring the state lock") {
		return false
	}
	s3 := strings.Contains(text, "PreconditionFailed") && strings.Contains(text, ".tflock'") &&
		strings.Contains(text, "NoSuchKey")
	dynamo := strings.Contains(text, "ConditionalCheckFailedException") &&
		strings.Contains(text, "unexpected end of JSON input")
	return s3 || dynamo
}

// LockArgs are the locking flags every plan, apply and refresh-only plan gets: locking is
// never turned off, and the wait is the profile's, so a held lock fails in bounded time.
func LockArgs(p environment.Profile) []string {
	return []string{"-lock=true", "-lock-timeout=" + lockTimeout(p.LockTimeout)}
}

// lockTimeout renders a duration the way Terraform's flag parser accepts it ("0s", "5m0s").
func lockTimeout(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.String()
}

// cleanLines drops colours and the diagnostic box ("╷", "│ ", "╵") Terraform draws around
// errors when colour is on.
func cleanLines(output string) []string {
	output = ansiEscape.ReplaceAllString(output, "")
	lines := strings.Split(strings.ReplaceAll(output, "\r\n", "\n"), "\n")
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "│ "):
			line = strings.TrimPrefix(line, "│ ")
		case strings.HasPrefix(line, "│"):
			line = strings.TrimPrefix(line, "│")
		case line == "╷" || line == "╵":
			line = ""
		}
		lines[i] = line
	}
	return lines
}

// parseLockTime reads Go's default time format, which Terraform uses for Created.
func parseLockTime(s string) time.Time {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999 -0700 MST", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

func operationName(op string) string {
	name := strings.ToLower(strings.TrimPrefix(op, "OperationType"))
	switch name {
	case "":
		return "an unknown operation"
	case "apply", "invalid":
		return "an " + name
	default:
		return "a " + name
	}
}

// since is " since <created> (<age> ago)", what is known of it, or "" when Terraform gave
// no creation time.
func (l LockInfo) since(now time.Time) string {
	if l.Created.IsZero() {
		return ""
	}
	s := " since " + l.Created.UTC().Format("2006-01-02 15:04:05 UTC")
	if !now.IsZero() && now.After(l.Created) {
		s += fmt.Sprintf(" (%s ago)", now.Sub(l.Created).Round(time.Second))
	}
	return s
}

// isApply reports whether the lock was taken by an apply, which may have created resources
// it never recorded.
func (l LockInfo) isApply() bool { return operationName(l.Operation) == "an apply" }

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
