package findings

import "strings"

// Redacted replaces a sensitive value in a finding's text.
const Redacted = "(sensitive value)"

// Redact returns the findings with every given value (plan.SensitiveValues: longest first)
// replaced by Redacted in their message, resource, rule ID and file. Tools that read the
// whole plan (OPA policies, terraform-compliance) may quote an attribute, and a finding
// ends up in the summary, the SARIF upload and the job log.
func Redact(fs []Finding, values []string) []Finding {
	out := make([]Finding, len(fs))
	if len(values) == 0 {
		copy(out, fs)
		return out
	}
	pairs := make([]string, 0, 2*len(values))
	for _, v := range values {
		if v != "" {
			pairs = append(pairs, v, Redacted)
		}
	}
	r := strings.NewReplacer(pairs...)
	for i, f := range fs {
		f.Message, f.Resource, f.RuleID, f.File = r.Replace(f.Message), r.Replace(f.Resource), r.Replace(f.RuleID), r.Replace(f.File)
		out[i] = f
	}
	return out
}
