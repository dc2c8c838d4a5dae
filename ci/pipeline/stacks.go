package pipeline

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/ghactions"
	"github.com/infrapipe/infrapipe/ci/internal/markdown"
	"github.com/infrapipe/infrapipe/ci/report"
)

// StacksDir is the folder of a combined report that holds each stack's own report, at
// stacks/<stack directory>/.
const StacksDir = "stacks"

// StackRun is one stack's part of a run of several stacks (pipeline --stacks).
type StackRun struct {
	Stack   string       `json:"stack"`
	Verdict gate.Verdict `json:"verdict"`
	Reasons []string     `json:"reasons"`
	// Steps are its own result.json's steps, each with its verdict and reasons: a stack
	// that one step blocks may have another that only warns. None when no report came back.
	Steps []StepResult `json:"steps,omitempty"`
	// Held names the stacks it depends on that blocked or were held themselves (or, in a
	// --store-plan run, change something): it was planned and checked, and nothing of it
	// was applied or stored. HeldNote is HeldForStorePlan when none of them blocked.
	Held     []string `json:"held,omitempty"`
	HeldNote string   `json:"held_note,omitempty"`
	// Changes says its plan changes something (its outputs' has_changes).
	Changes bool `json:"has_changes"`
	// Stored is the plan a --store-plan run stored for it (its outputs' plan_ref and
	// plan_sha256), for the second phase's --plans.
	Stored *StackPlan `json:"stored_plan,omitempty"`
	// Why lists what selected it (a changed path, a dependency, --stacks=all); empty when
	// named.
	Why []string `json:"why,omitempty"`
	// Report is its own report directory inside the combined one; empty when none came
	// back (StackFailed).
	Report string `json:"report,omitempty"`
	// Summary is its own summary.md.
	Summary string `json:"-"`
}

// StackReport is where a stack's report sits in the combined one.
func StackReport(stack string) string { return path.Join(StacksDir, stack) + "/" }

// StacksResult is result.json of a run of several stacks: the worst verdict (what
// `verdict --report` judges), each stack's, and the directories the change removed.
type StacksResult struct {
	Result
	DryRun  bool       `json:"dry_run"`
	Stacks  []StackRun `json:"stacks"`
	Removed []string   `json:"removed,omitempty"`
	// Warnings are what the repository's stacks section says that finds nothing
	// (stacks.Selection.Warnings); they change no verdict.
	Warnings []string          `json:"warnings,omitempty"`
	Outputs  map[string]string `json:"outputs"`
	// ForceRecreate is the run's --force-recreate: a second phase of its stored plans needs
	// it again, or the gate judges their replacements anew.
	ForceRecreate bool `json:"-"`
}

// NewStacksResult judges a run of several stacks: it blocks when one blocks, and its
// reasons are the stacks' reasons, each prefixed with the stack.
func NewStacksResult(env environment.Name, dryRun bool, runs []StackRun, removed []string) StacksResult {
	r := StacksResult{Result: Result{Check: "pipeline", Env: env, Verdict: gate.Pass, Reasons: []string{}},
		DryRun: dryRun, Stacks: runs, Removed: removed}
	if r.Stacks == nil {
		r.Stacks = []StackRun{}
	}
	var blocking []string
	for _, s := range runs {
		r.Verdict = worse(r.Verdict, s.Verdict)
		for _, reason := range s.Reasons {
			r.Reasons = append(r.Reasons, s.Stack+": "+reason)
		}
		for _, reason := range s.reasonsAt(gate.Block) {
			blocking = append(blocking, s.Stack+": "+reason)
		}
	}
	if r.Verdict == gate.Block && len(blocking) < len(r.Reasons) {
		r.Blocking = blocking
	}
	names := make([]string, len(runs))
	changes := false
	plans := Plans{}
	for i, s := range runs {
		names[i] = s.Stack
		changes = changes || s.Changes
		if s.Stored != nil {
			plans[s.Stack] = *s.Stored
		}
	}
	r.Outputs = map[string]string{"verdict": string(r.Verdict), "environment": string(env), "stacks": strings.Join(names, ","),
		"has_changes": strconv.FormatBool(changes)}
	if len(plans) > 0 {
		r.Outputs["plans"] = plans.String()
	}
	return r
}

// worse is the more severe verdict.
func worse(a, b gate.Verdict) gate.Verdict {
	rank := func(v gate.Verdict) int { return slices.Index([]gate.Verdict{gate.Pass, gate.Warn, gate.Block}, v) }
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// StacksHeader is the top of a combined summary: the verdict, a table of the stacks with
// their verdicts (a held stack says so), the held stacks, every reason with the verdict of
// the step that gave it (blocking ones first), and the removed directories.
func StacksHeader(r StacksResult) string {
	var b strings.Builder
	count := fmt.Sprintf("%d stacks", len(r.Stacks))
	if len(r.Stacks) == 1 {
		count = "1 stack"
	}
	fmt.Fprintf(&b, "# %s pipeline: %s (%s)\n\n", r.Env, r.Verdict, count)
	if r.DryRun {
		b.WriteString("Dry run: nothing was imported or applied.\n\n")
	}
	if len(r.Stacks) == 0 {
		b.WriteString("No change touches a stack, a local module a stack uses, the repository's pipeline.yaml or the pipeline: nothing was planned, applied or tested.\n\n")
	} else {
		b.WriteString("| stack | verdict | why it ran |\n|---|---|---|\n")
		for _, s := range r.Stacks {
			verdict := string(s.Verdict)
			if len(s.Held) > 0 {
				verdict += ", not applied"
			}
			why := "named"
			if len(s.Why) > 0 {
				why = cell(s.Why[0])
				if len(s.Why) > 1 {
					why += fmt.Sprintf(" (+%d)", len(s.Why)-1)
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", markdown.CodeSpan(s.Stack), verdict, why)
		}
		b.WriteString("\n")
	}
	for _, s := range r.Stacks {
		if len(s.Held) > 0 {
			fmt.Fprintf(&b, "- **held** %s: planned and checked, not applied: it depends on %s, %s\n", markdown.CodeSpan(s.Stack), strings.Join(codeSpans(s.Held), ", "), markdown.Text(s.heldWhy()))
		}
	}
	// A reason says its own step's verdict, not the stack's: a warning beside a block is
	// still a warning, and the blocks, which are what to fix, come first.
	for _, v := range []gate.Verdict{gate.Block, gate.Warn} {
		for _, s := range r.Stacks {
			for _, reason := range s.reasonsAt(v) {
				fmt.Fprintf(&b, "- **%s** %s: %s\n", v, markdown.CodeSpan(s.Stack), markdown.Text(headline(reason, "the stack's report")))
			}
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "- **warning** %s\n", markdown.Text(w))
	}
	for _, d := range r.Removed {
		fmt.Fprintf(&b, "- **removed** %s: the change deletes its Terraform files. If it was a stack, its state and resources are still there: no pipeline runs for it any more, so destroy them with the code that made them first (`terraform destroy` before the deletion is merged).\n", markdown.CodeSpan(d))
	}
	if plans := r.Outputs["plans"]; plans != "" {
		force := ""
		if r.ForceRecreate {
			force = " --force-recreate"
		}
		fmt.Fprintf(&b, "\n**Stored for the second phase:** once approved, `pipeline --env=%s --plans=<plans>%s` with the same `--commit` applies each stack's plan, proven by its SHA-256 (the `plans` output):\n\n", r.Env, force)
		for _, s := range r.Stacks {
			if s.Stored != nil {
				fmt.Fprintf(&b, "- %s: %s, SHA-256 %s\n", markdown.CodeSpan(s.Stack), markdown.CodeSpan(s.Stored.Ref), markdown.CodeSpan(s.Stored.SHA256))
			}
		}
		b.WriteString("\n" + CodeBlock("", plans))
	}
	return b.String()
}

// reasonsAt are the stack's reasons whose verdict is v, each prefixed with its step as in
// result.json's reasons. A stack without steps (its pipeline could not run, or had nothing
// to do) gives its reasons its own verdict.
func (s StackRun) reasonsAt(v gate.Verdict) []string {
	if len(s.Steps) == 0 {
		if s.Verdict == v {
			return s.Reasons
		}
		return nil
	}
	var out []string
	for _, st := range s.Steps {
		reasons := st.Reasons
		if st.Verdict != v {
			reasons = nil
		}
		if v == gate.Warn {
			reasons = append(slices.Clone(reasons), st.Warnings...)
		}
		for _, reason := range reasons {
			out = append(out, fmt.Sprintf("%s: %s", st.Name, reason))
		}
	}
	return out
}

// cell is text safe in a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(markdown.Text(s), "|", `\|`) }

func codeSpans(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = markdown.CodeSpan(s)
	}
	return out
}

// StacksSummary is the combined summary in at most limit bytes: the header (the table of
// stacks) first and whole, unless it alone takes more than half; then each stack's own
// summary under a heading of its own (its headings one level down, so they nest under it),
// fitted together by report.Summary so that no one stack's long plan pushes the others out;
// then the reproduce line, kept whole: among thousands of stacks, an even share of what is
// left could be shorter than the line.
func StacksSummary(limit int, r StacksResult, reproduce Command) string {
	head := StacksHeader(r)
	if len(head) > limit/2 {
		head = report.Text(head)(limit / 2)
	}
	sections := make([]report.Section, 0, len(r.Stacks))
	for _, s := range r.Stacks {
		own := ""
		if s.Report != "" {
			own = "Its own report: " + markdown.CodeSpan(s.Report) + "\n\n"
		}
		sections = append(sections, report.Text(fmt.Sprintf("# Stack %s: %s\n\n%s%s",
			markdown.CodeSpan(s.Stack), s.Verdict, own, demote(s.Summary))))
	}
	foot := reproduce.Markdown() // at most 4 KiB: GitHub's limit leaves room for it
	if over := len(head) + len(foot) + 2 - limit; over > 0 {
		head = report.Text(head)(max(len(head)-over, 0))
	}
	return head + "\n" + report.Summary(max(limit-len(head)-len(foot)-2, 0), sections...) + "\n" + foot
}

// StacksComment is the combined summary as a pull request comment, within GitHub's limit.
// named is the --stacks list when the run named its stacks ("" for changed or all): one CI
// job per stack then posts and edits a comment of its own instead of overwriting the others'.
func StacksComment(r StacksResult, reproduce Command, named string) string {
	key := string(r.Env)
	if named != "" {
		key += ":" + strings.Map(func(c rune) rune {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_./,", c) {
				return c
			}
			return '_' // the marker is an HTML comment: no "--" or ">" may end it early
		}, named)
	}
	marker := report.CommentMarker(key)
	return marker + "\n" + StacksSummary(report.MaxMarkdown-len(marker)-1, r, reproduce)
}

// demote moves every heading of md one level down, outside code fences.
func demote(md string) string {
	lines := strings.SplitAfter(md, "\n")
	fence := ""
	for i, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case fence != "":
			if strings.HasPrefix(t, fence) && strings.Trim(t, "`") == "" {
				fence = ""
			}
		case strings.HasPrefix(t, "```"):
			fence = t[:len(t)-len(strings.TrimLeft(t, "`"))]
		case strings.HasPrefix(line, "#") && strings.HasPrefix(strings.TrimLeft(line, "#"), " ") && len(line)-len(strings.TrimLeft(line, "#")) < 6:
			lines[i] = "#" + line
		}
	}
	return strings.Join(lines, "")
}

// StackFile is one file of a stack's report: its results.sarif or its junit.xml. Held is
// why a held stack was not applied (HeldLine), "" for one that was not held.
type StackFile struct {
	Stack string
	Data  []byte
	Held  string
}

// HeldLine says why a held stack was planned and checked but not applied, as the skipped
// apply of its junit.xml: no test reporter may show it as deployed.
func (s StackRun) HeldLine() string {
	if len(s.Held) == 0 {
		return ""
	}
	return fmt.Sprintf("held: planned and checked, not applied: it depends on %s, %s", strings.Join(s.Held, ", "), s.heldWhy())
}

// heldWhy is what the stacks a held stack depends on did: HeldNote, or they blocked.
func (s StackRun) heldWhy() string { return cmp.Or(s.HeldNote, "which blocked or was held") }

// MergeStacksSARIF is one SARIF log of every stack's findings, one run per tool as GitHub
// code scanning wants (it refuses two runs of one tool in an upload). The stacks' logs
// already hold repository paths.
func MergeStacksSARIF(logs []StackFile) (findings.SARIFLog, error) {
	var all []findings.Finding
	var tools []string
	fallback := ""
	for _, l := range logs {
		fs, err := findings.ParseSARIF(path.Join(l.Stack, "results.sarif"), l.Data)
		if err != nil {
			return findings.SARIFLog{}, err
		}
		all = append(all, fs...)
		// A tool that ran and found nothing keeps its run: the upload shows it ran.
		var log findings.SARIFLog
		if err := json.Unmarshal(l.Data, &log); err != nil {
			return findings.SARIFLog{}, fmt.Errorf("%s: %w", path.Join(l.Stack, "results.sarif"), err)
		}
		for _, run := range log.Runs {
			if t := strings.ToLower(strings.TrimSpace(run.Tool.Driver.Name)); !slices.Contains(tools, t) {
				tools = append(tools, t)
			}
		}
		if fallback == "" {
			fallback = path.Join(l.Stack, "main.tf")
		}
	}
	findings.Sort(all)
	return findings.MergeSARIF(all, findings.SARIFOptions{Tools: tools, Fallback: fallback}), nil
}

// MergeStacksJUnit is one junit.xml of every stack's, each suite named after its stack
// ("stacks/network: pipeline test"), for the test reporters that read one file. A held
// stack's first suite (its pipeline's steps) gets a skipped apply case with why: its own
// report, a dry run's, has no apply case, and every case of it may pass.
func MergeStacksJUnit(files []StackFile) ([]byte, error) {
	var all []report.Suite
	for _, f := range files {
		suites, err := report.ReadJUnit(path.Join(f.Stack, "junit.xml"), f.Data)
		if err != nil {
			return nil, err
		}
		if f.Held != "" && len(suites) > 0 {
			c := report.Case{Name: string(StepApply), Skipped: f.Held}
			if len(suites[0].Cases) > 0 {
				c.Classname = suites[0].Cases[0].Classname // the environment, as its steps' (JUnitCase)
			}
			suites[0].Cases = append(suites[0].Cases, c)
		}
		for _, s := range suites {
			for i := range s.Cases {
				if s.Cases[i].Classname == "" {
					s.Cases[i].Classname = s.Name // the suite's name, before the stack is added
				}
			}
			s.Name = f.Stack + ": " + s.Name
			all = append(all, s)
		}
	}
	return report.JUnit(all)
}

// StackOwn is what the combined report takes from a stack's own report besides its
// summary: its results.sarif and junit.xml (nil when it wrote none) and its annotations.
type StackOwn struct {
	SARIF, JUnit []byte
	Annotations  string
}

// StacksFiles is the combined report of a run of several stacks, as name, content pairs
// for the report directory: summary.md and comment.md, result.json (with the reproduce
// line among its outputs), outputs.env, annotations.txt (the stacks', each made with its own
// threshold, merged under GitHub's caps), one results.sarif and one junit.xml. own is in r.Stacks' order; named is
// the --stacks list when the run named its stacks.
func StacksFiles(r StacksResult, reproduce Command, named string, own []StackOwn) ([]string, error) {
	if len(own) != len(r.Stacks) {
		return nil, fmt.Errorf("the report of %d stacks was given the files of %d", len(r.Stacks), len(own))
	}
	r.Outputs = maps.Clone(r.Outputs)
	if r.Outputs == nil {
		r.Outputs = map[string]string{}
	}
	r.Outputs["reproduce"] = reproduce.String()
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write result.json: %w", err)
	}
	var sarifs, junits []StackFile
	var annotations []string
	for i, o := range own {
		if o.SARIF != nil {
			sarifs = append(sarifs, StackFile{Stack: r.Stacks[i].Stack, Data: o.SARIF})
		}
		if o.JUnit != nil {
			junits = append(junits, StackFile{Stack: r.Stacks[i].Stack, Data: o.JUnit, Held: r.Stacks[i].HeldLine()})
		}
		annotations = append(annotations, o.Annotations)
	}
	merged, err := MergeStacksSARIF(sarifs)
	if err != nil {
		return nil, err
	}
	var sarif strings.Builder
	if err := findings.WriteSARIF(&sarif, merged); err != nil {
		return nil, fmt.Errorf("write results.sarif: %w", err)
	}
	junit, err := MergeStacksJUnit(junits)
	if err != nil {
		return nil, err
	}
	env, err := outputsEnv(r.Outputs)
	if err != nil {
		return nil, err
	}
	return []string{
		"summary.md", StacksSummary(report.MaxMarkdown, r, reproduce),
		"comment.md", StacksComment(r, reproduce, named),
		ResultFile, string(js) + "\n",
		"outputs.env", env,
		"annotations.txt", ghactions.MergeAnnotations(annotations, 0),
		"results.sarif", sarif.String(),
		"junit.xml", string(junit),
	}, nil
}
