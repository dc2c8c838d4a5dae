package pipeline

import (
	"fmt"
	"maps"
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

// ParsePlans reads --plans: entries "<stack>=<plan-ref>@<sha256>", separated by commas or
// lines (a stack directory may hold a space), each stack once, each reference and hash as
// --plan-ref and --plan-sha256 take them.
func ParsePlans(s string) (Plans, error) {
	const form = "<stack>=<plan-ref>@<sha256>, as the first phase's plans output gives them"
	var entries []string
	for _, e := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if e = strings.TrimSpace(e); e != "" {
			entries = append(entries, e)
		}
	}
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
		ref, sha, ok := strings.Cut(e[i+1:], "@")
		if !ok {
			return nil, bad("has no @ before the plan's SHA-256")
		}
		stack, err := stacks.CleanDir(strings.TrimSpace(e[:i]))
		if err != nil {
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

// plansStacksError is --plans beside a --stacks that takes other stacks than its plans'.
func plansStacksError(spec string, p Plans) error {
	return fmt.Errorf("--plans applies the stored plans of the stacks it names (%s), and --stacks %s takes others: leave --stacks out, or name exactly those stacks",
		strings.Join(p.Stacks(), ", "), untrusted.Quote(spec))
}

// StacksError is an error of selecting f's stacks: when --plans named them (Settle), it
// says so, as the caller gave no --stacks.
func (f Flags) StacksError(err error) error {
	if err == nil || f.Plans == "" {
		return err
	}
	return fmt.Errorf("--plans names a stack the repository does not have (its stacks are what the run takes, as --stacks): %w", err)
}

// namedStacks are the directories a --stacks list names, cleaned as ci/stacks reads them
// (a name it refuses stays as given, for Select to refuse), sorted; "all" and "changed"
// name none.
func namedStacks(spec string) []string {
	var dirs []string
	for _, n := range strings.Split(stacks.Named(spec), ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if dir, err := stacks.CleanDir(n); err == nil {
			n = dir
		}
		dirs = append(dirs, n)
	}
	slices.Sort(dirs)
	return dirs
}
