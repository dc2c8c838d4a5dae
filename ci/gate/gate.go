// Package gate decides whether an analysed plan may be applied to an environment: pass,
// warn (apply, but tell the reviewer) or block (do not apply), each with reasons that say
// which resource, why, and what to do about it.
package gate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// Verdict is the gate's answer; the order Pass < Warn < Block matters.
type Verdict string

const (
	Pass  Verdict = "pass"
	Warn  Verdict = "warn"
	Block Verdict = "block"
)

func (v Verdict) rank() int {
	switch v {
	case Block:
		return 2
	case Warn:
		return 1
	}
	return 0
}

// Options are the run's explicit choices.
type Options struct {
	// ForceRecreate lets a prod plan delete or replace resources; a protected type's still
	// warns that its data will be lost.
	ForceRecreate bool
	// Warnings are what the run knows of the plan besides the plan, such as an environment
	// planned without its variables file (pipeline.VarFiles.Warnings): warnings among the
	// plan's own.
	Warnings []string
	// Taken are the plan's creates whose name an object in the account already has,
	// outside the state (livecheck.Taken): each blocks.
	Taken []Taken
	// HeldImports are the plan's imports of objects the state already holds
	// (plan.HeldImports): each blocks.
	HeldImports []plan.HeldImport
}

// Taken is a create whose name is already an object's in the account.
type Taken struct {
	Address, Type, Name string
	// ID is the object's import ID: its name, or its ARN (a topic).
	ID string
	// Effect is what the create would do to it, e.g. "PutMetricAlarm would overwrite it".
	Effect string
	// HeldAt is the address the state holds the object at, "" when the state does not:
	// the plan deletes it there and creates it here, a rename without a moved block.
	HeldAt string
	// Outside says why the object is beyond the account and region the plan's provider
	// reaches (a global bucket name held elsewhere), "" when it is within them: such an
	// object is not adopted, only avoided.
	Outside string
}

// Decision is the gate's verdict with its reasons and the plan's counts as GitHub outputs.
type Decision struct {
	Env     environment.Name `json:"env"`
	Verdict Verdict          `json:"verdict"`
	// Reasons explain a warn or block, one per resource, most serious first: the first
	// Blocking of them block, the rest warn.
	Reasons  []string `json:"reasons"`
	Blocking int      `json:"blocking_reasons"`
	// Outputs are step outputs: resources_to_add, resources_to_change, resources_to_destroy,
	// resources_to_replace, resources_to_import, resources_to_forget, has_changes, verdict.
	Outputs map[string]string `json:"outputs"`
}

// Decide applies a profile's destroy policy and protected types to a plan.
//
// The rules, in the words of docs/safety-gate.md:
//   - A delete or replace of a managed resource: allowed in preview and test, a warning in
//     staging, a block in prod unless ForceRecreate (then a warning).
//   - A protected type (databases, buckets, tables, ...) deleted or replaced: a warning in
//     every environment that says its data will be lost; in prod a block whose reason asks
//     for a data backup before --force-recreate, and with it still a warning.
//   - A forget (removed with destroy = false) is not a destroy, but the object leaves
//     Terraform's care: a warning everywhere.
//   - Drift is a warning everywhere: the apply will overwrite a change someone made by hand.
//   - An import whose object the same plan then replaces blocks everywhere unless
//     ForceRecreate: adopting it would destroy it.
//   - A plan Terraform marked as errored blocks everywhere.
//   - A failing check block is a warning everywhere, as Terraform makes it: its message
//     reaches the summary instead of only the log.
//   - Providers that all name another region than the pipeline's are a warning everywhere:
//     discovery and the post-deploy checks would look in the wrong one.
//   - A create whose name an object in the account already has (Options.Taken) blocks
//     everywhere: the apply would fail on it part-way, or take the object over.
//   - An import of an object the state already holds at another address
//     (Options.HeldImports) blocks everywhere: a rename written as an import destroys it.
func Decide(a *plan.Analysis, p environment.Profile, opts Options) Decision {
	d := Decision{Env: p.Name, Verdict: Pass, Reasons: []string{}}
	var blocks, warns []string
	block := func(s string) { blocks = append(blocks, s) }
	warn := func(s string) { warns = append(warns, s) }
	env := string(p.Name)
	if env == "" {
		env = "this"
	}
	if a.Errored {
		block(fmt.Sprintf("%s plan is marked errored by Terraform; fix the errors in the plan output and plan again", env))
	}
	created := map[string][]string{} // type → addresses the plan creates, for renameHint
	for _, c := range a.Changes {
		if c.Kind == plan.Create && c.Managed() && !c.Importing {
			created[c.Type] = append(created[c.Type], c.Address)
		}
	}
	for _, c := range a.Changes {
		protected := c.Managed() && p.IsProtected(c.Type)
		what := fmt.Sprintf("%s plan %s %s%s%s", env, c.Verb(), c.Address, because(c), renameHint(c, created))
		switch {
		case c.Importing && c.Destructive() && !opts.ForceRecreate:
			// Importing is adopting the object instead of recreating it: one that the same
			// apply then replaces is lost anyway, in every environment, data and all.
			block(fmt.Sprintf("%s plan imports %s and then replaces it%s: the existing object differs from the configuration "+
				"where it cannot be changed in place, so adopting it would destroy it; make the configuration match the object "+
				"(plan.txt shows the attribute), or plan and apply with --force-recreate to replace it", env, c.Address, because(c)))
		case c.Destructive() && protected && p.Destroy == environment.DestroyBlock && !opts.ForceRecreate:
			block(fmt.Sprintf("%s; %s is a protected type whose data would be lost: "+
				"make sure a backup of its data exists, then rerun with --force-recreate to allow it", what, c.Type))
		case c.Destructive() && protected && p.Destroy == environment.DestroyBlock:
			warn(fmt.Sprintf("%s; allowed by --force-recreate although %s is a protected type: its data will be lost", what, c.Type))
		case c.Destructive() && p.Destroy == environment.DestroyBlock && !opts.ForceRecreate:
			block(what + "; rerun with --force-recreate to allow it")
		case c.Destructive() && p.Destroy == environment.DestroyBlock:
			warn(what + "; allowed by --force-recreate")
		case c.Destructive() && protected:
			warn(fmt.Sprintf("%s; %s is a protected type: its data will be lost, check a backup exists", what, c.Type))
		case c.Destructive() && p.Destroy == environment.DestroyWarn:
			warn(what + "; check it is intended before it reaches prod, where it will block")
		case (c.Kind == plan.Forget || c.Kind == plan.CreateThenForget) && protected:
			warn(fmt.Sprintf("%s plan forgets %s: it stays in the cloud but Terraform no longer manages it, and %s is a "+
				"protected type: nothing will back up or guard its data; import it elsewhere or delete it by hand", env, c.Address, c.Type))
		case c.Kind == plan.Forget || c.Kind == plan.CreateThenForget:
			warn(fmt.Sprintf("%s plan forgets %s: it stays in the cloud but Terraform no longer manages it; "+
				"import it elsewhere or delete it by hand", env, c.Address))
		}
	}
	deleted, forgotten := map[string]bool{}, map[string]bool{}
	for _, c := range a.Changes {
		deleted[c.Address] = deleted[c.Address] || c.Kind == plan.Delete
		forgotten[c.Address] = forgotten[c.Address] || c.Kind == plan.Forget
	}
	for _, h := range opts.HeldImports {
		if forgotten[h.HeldAt] {
			continue // a removed block lets the old address go: the import is the object's only one
		}
		then := "two addresses would manage one object"
		if deleted[h.HeldAt] {
			then = "the plan deletes " + h.HeldAt + ", so the apply would import the object and then destroy it"
		}
		block(fmt.Sprintf("%s plan imports %s with id %s, an object the state already holds at %s: %s; if it was renamed, "+
			"replace the import block with a moved block with from = %s and to = %s", env, h.Address, untrusted.Quote(h.ID), h.HeldAt, then, h.HeldAt, h.Address))
	}
	for _, t := range opts.Taken {
		switch {
		case t.HeldAt != "": // a rename, wherever S3 says the bucket is
			block(fmt.Sprintf("%s plan creates %s with the name %s, which the state holds at %s: if it was renamed, "+
				"a moved block with from = %s and to = %s keeps it; as it stands the apply creates and deletes the same "+
				"object, and %s", env, t.Address, untrusted.Quote(t.Name), t.HeldAt, t.HeldAt, t.Address, t.Effect))
		case t.Outside != "":
			block(fmt.Sprintf("%s plan creates %s, but the name %s is taken where this state cannot adopt it: %s; %s; give it another name",
				env, t.Address, untrusted.Quote(t.Name), t.Outside, t.Effect))
		default:
			block(fmt.Sprintf("%s plan creates %s, but %s %s already exists in the account, outside this state: %s; "+
				"adopt it into %s's state (its import id is %s: an import block applies in every environment, so build the id "+
				"from variables; this module's import finds it when it carries the stack's tags), or give it another name",
				env, t.Address, t.Type, untrusted.Quote(t.Name), t.Effect, env, untrusted.Quote(t.ID)))
		}
	}
	for _, c := range a.Drift {
		warn(fmt.Sprintf("%s changed outside Terraform (%s); this apply overwrites that change: "+
			"bring the change into the configuration if it should stay", c.Address, c.Kind))
	}
	for _, c := range a.FailedChecks {
		warn(checkReason(c))
	}
	if w := regionMismatch(a.Regions, p.Region, env); w != "" {
		warn(w)
	}
	// Last and never cut: the cap's count names the plan's own kinds of reason.
	warns = append(atMost(warns, "warning"), opts.Warnings...)
	switch {
	case len(blocks) > 0:
		d.Verdict = Block
	case len(warns) > 0:
		d.Verdict = Warn
	}
	blocks = atMost(blocks, "blocking")
	d.Reasons, d.Blocking = append(append(d.Reasons, blocks...), warns...), len(blocks)
	d.Outputs = outputs(a.Counts)
	d.Outputs["verdict"] = string(d.Verdict)
	return d
}

// Split is Reasons as those that block and those that only warn.
func (d Decision) Split() (blocking, warning []string) {
	n := min(max(d.Blocking, 0), len(d.Reasons))
	return d.Reasons[:n:n], d.Reasons[n:]
}

// MaxReasons bounds each of a decision's lists of reasons, blocking and warning: a plan that
// deletes a thousand resources says so in twenty lines, not a thousand, which would crowd
// the plan out of a summary (result.json lists every change).
const MaxReasons = 20

// atMost is reasons cut to MaxReasons, the last saying how many more there are.
func atMost(reasons []string, what string) []string {
	if len(reasons) <= MaxReasons {
		return reasons
	}
	more := len(reasons) - (MaxReasons - 1)
	return append(reasons[:MaxReasons-1:MaxReasons-1], fmt.Sprintf("… and %d more %s reasons of the same kinds: the plan's destructive changes and result.json list every change", more, what))
}

// renameHint is what a delete says when the same plan creates one object of its type: most
// likely a rename, which a moved block makes a move instead of a destroy and a create.
func renameHint(c plan.Change, created map[string][]string) string {
	if c.Kind != plan.Delete || !c.Managed() || len(created[c.Type]) != 1 {
		return ""
	}
	return fmt.Sprintf(" (if it was renamed to %s, a moved block with from = %s and to = %s keeps it)", created[c.Type][0], c.Address, created[c.Type][0])
}

// regionMismatch is the warning for a plan whose aws providers all name regions other
// than the pipeline's (--region, or pipeline.yaml's region): import discovery and the
// post-deploy checks look in the pipeline's region, and would find nothing there. "" when
// the pipeline's region is among them, a provider names none (it takes the pipeline's),
// or a region is an expression the plan does not resolve.
func regionMismatch(r plan.Regions, region, env string) string {
	if region == "" || len(r.Named) == 0 || r.Unknown > 0 {
		return ""
	}
	for _, n := range r.Named {
		if n == "" || n == region {
			return ""
		}
	}
	return fmt.Sprintf("%s plan puts resources in %s, but the pipeline's region for %s is %s (--region, or pipeline.yaml's region): "+
		"import discovery and the post-deploy checks look in %s; give the pipeline the region the providers use",
		env, strings.Join(r.Named, ", "), env, region, region)
}

// outputs are the plan counts under the names the workflow reads. "add" and "destroy"
// include replacements, as in Terraform's own "Plan: N to add, M to change, K to destroy".
func outputs(n plan.Counts) map[string]string {
	itoa := strconv.Itoa
	return map[string]string{
		"resources_to_add":     itoa(n.Create + n.Replace),
		"resources_to_change":  itoa(n.Update),
		"resources_to_destroy": itoa(n.Delete + n.Replace),
		"resources_to_replace": itoa(n.Replace),
		"resources_to_import":  itoa(n.Import),
		"resources_to_forget":  itoa(n.Forget),
		"resources_to_move":    itoa(n.Move),
		"outputs_to_change":    itoa(n.Outputs),
		"resources_drifted":    itoa(n.Drift),
		"has_changes":          strconv.FormatBool(n.HasChanges()),
	}
}

// Worse returns the more serious of two verdicts, for combining the gate with other checks.
func Worse(a, b Verdict) Verdict {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

func because(c plan.Change) string {
	if why := c.Why(); why != "" {
		return " (" + why + ")"
	}
	return ""
}

// maxCheckMessage bounds each quoted message of a failing check: a message says what is
// wrong and what to do, and Terraform's own often run past a hundred bytes.
const maxCheckMessage = 300

// checkReason words a failing check: its address and its author's messages, quoted (they
// may hold anything an expression interpolated).
func checkReason(c plan.FailedCheck) string {
	what := "failed"
	if c.Errored {
		what = "could not be evaluated"
	}
	msgs := make([]string, len(c.Problems))
	for i, m := range c.Problems {
		msgs[i] = untrusted.QuoteN(m, maxCheckMessage)
	}
	if len(msgs) == 0 {
		return fmt.Sprintf("%s %s (Terraform lets the plan go on; see its output)", c.Address, what)
	}
	return fmt.Sprintf("%s %s: %s (Terraform lets the plan go on)", c.Address, what, strings.Join(msgs, "; "))
}
