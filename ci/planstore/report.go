package planstore

import (
	"fmt"
	"strings"

	"github.com/infrapipe/infrapipe/ci/internal/markdown"
)

// Section is the part of a plan's summary a reviewer approves: where the plan is kept, its
// SHA-256, and the one line that applies exactly that plan.
func Section(ref Ref, meta Meta, applyLine string) string {
	var b strings.Builder
	b.WriteString("## Stored plan\n\n")
	fmt.Fprintf(&b, "This plan is stored for review and apply as %s, SHA-256 %s", markdown.CodeSpan(ref.Key()), markdown.CodeSpan(meta.SHA256))
	if meta.Commit != "" {
		fmt.Fprintf(&b, ", made from commit %s", markdown.CodeSpan(meta.Commit))
	}
	fmt.Fprintf(&b, " at %s. An apply takes exactly this file: a changed object, another environment's or commit's plan, an older one, or one made before the state last changed is refused.\n\n",
		meta.Created.UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("Apply it with:\n\n")
	b.WriteString(markdown.CodeBlock("sh", applyLine) + "\n")
	return b.String()
}

// Applied is the apply summary's line for a stored plan; note is set when the plan could
// not be deleted afterwards.
func Applied(ref Ref, sha string, note string) string {
	line := fmt.Sprintf("- Applied the stored plan %s (SHA-256 %s), the approved file, bit for bit", markdown.CodeSpan(ref.Key()), markdown.CodeSpan(sha))
	if note != "" {
		return line + "; " + markdown.Text(note) + ".\n"
	}
	return line + "; it is deleted from the bucket, so it cannot be applied twice.\n"
}
