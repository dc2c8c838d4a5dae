package stacks

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// GitDiff lists the paths that changed in the git repository dir between the merge base
// of base and head, and head (what a pull request shows: git diff base...head), as
// ci/changes.ReadList reads them. Renames are listed as a deletion and an addition (--no-renames),
// so a stack moved elsewhere shows both where it was and where it is. The workflow writes
// the same list for --changed-files: the module's copy of the repository has no .git.
// An empty base (a push that created a branch: ghactions.Context.Base) means the change is
// not known: the list is changes.Everything.
func GitDiff(ctx context.Context, dir, base, head string) ([]string, error) {
	if base == "" {
		return []string{changes.Everything}, nil
	}
	for _, ref := range []struct{ name, value string }{{"base", base}, {"head", head}} {
		if ref.value == "" || strings.HasPrefix(ref.value, "-") || strings.ContainsAny(ref.value, " \t\n\x00") || strings.Contains(ref.value, "..") {
			return nil, fmt.Errorf("%s ref %s is not a commit, branch or tag name", ref.name, untrusted.Quote(ref.value))
		}
	}
	cmd := exec.CommandContext(ctx, "git", "diff", "--name-only", "--no-renames", "-z", base+"..."+head, "--")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git diff %s...%s in %s: %w: %s", base, head, dir, err, strings.TrimSpace(stderr.String()))
	}
	// -z keeps every name as it is, newlines and quotes too: nothing needs reading back.
	if len(out) == 0 {
		return []string{}, nil
	}
	return changes.Paths(strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00"))
}
