package pipeline

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
	"github.com/infrapipe/infrapipe/ci/planstore"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

// StackPlan is one stack's stored plan in a run of several stacks: what --plan-ref and
// --plan-sha256 are to a run of one.
type StackPlan struct {
	Ref    string `json:"plan_ref"`
	SHA256 string `json:"plan_sha256"`
}

// Plans are the stored plans of a run of several stacks, by stack directory: the first
// phase's plans output, which --plans gives the second.
type Plans map[string]StackPlan

// String is plans as the plans output and --plans write them: "<stack>=<plan-ref>@<sha256>"
// entries, by stack, separated by commas, one line for a reproduce line.
func (p Plans) String() string {
	entries := make([]string, 0, len(p))
	for _, stack := range slices.Sorted(maps.Keys(p)) {
		entries = append(entries, stack+"="+p[stack].Ref+"@"+p[stack].SHA256)
	}
	return strings.Join(entries, ",")
}

// Stacks are the stacks the plans are for, sorted.
func (p Plans) Stacks() []string { return slices.Sorted(maps.Keys(p)) }

// ParsePlans reads --plans: entries "<stack>=<plan-ref>@<sha256>", separated by commas,
// spaces or lines, each stack once, each reference and hash as --plan-ref and --plan-sha256
// take them.
func ParsePlans(s string) (Plans, error) {
	const form = "<stack>=<plan-ref>@<sha256>, as the first phase's plans output gives them"
	entries := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	if len(entries) == 0 {
		return nil, fmt.Errorf("--plans is empty: give the first phase's plans output (%s)", form)
	}
	plans := Plans{}
	for _, e := range entries {
		bad := func(why string) error {
			return fmt.Errorf("--plans entry %s %s: give %s", untrusted.Quote(e), why, form)
		}
		i := strings.LastIndex(e, "=")
		if i < 0 {
			return nil, bad("has no =")
		}
		stack, rest := e[:i], e[i+1:]
		ref, sha, ok := strings.Cut(rest, "@")
		switch {
		case !ok:
			return nil, bad("has no @ before the plan's SHA-256")
		case stack == "" || path.IsAbs(stack) || path.Clean(stack) != stack || strings.HasPrefix(stack, ".."):
			return nil, bad("does not start with a stack directory of the repository")
		}
		if _, err := planstore.ParseRef(ref); err != nil {
			return nil, fmt.Errorf("--plans entry of %s: %w", untrusted.Quote(stack), err)
		}
		if err := planstore.CheckSHA256(sha); err != nil {
			return nil, fmt.Errorf("--plans entry of %s: %w", untrusted.Quote(stack), err)
		}
		if _, dup := plans[stack]; dup {
			return nil, bad("names a stack a second time: give each stack's plan once")
		}
		plans[stack] = StackPlan{Ref: ref, SHA256: sha}
	}
	return plans, nil
}

// errPlansStacks is --plans beside a --stacks that takes other stacks than its plans'.
var errPlansStacks = errors.New("--plans applies the stored plans of the stacks it names: leave --stacks out, or name exactly those stacks")

// namedStacks are the directories a --stacks list names, cleaned as ci/stacks reads them,
// sorted; "all" and "changed" name none.
func namedStacks(spec string) []string {
	var dirs []string
	for _, n := range strings.Split(stacks.Named(spec), ",") {
		if n = strings.TrimSpace(n); n != "" {
			dirs = append(dirs, path.Clean(strings.TrimSuffix(n, "/")))
		}
	}
	slices.Sort(dirs)
	return dirs
}
