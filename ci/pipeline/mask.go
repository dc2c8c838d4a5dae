package pipeline

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/infrapipe/infrapipe/ci/report"
)

// MinMasked is the shortest value of --tf-var-file that is masked: masking a short word
// ("prod", "gold") wherever it appears would garble a whole plan, and secrets are longer.
const MinMasked = 8

// Masked stands for a masked value in what the pipeline writes, as Terraform writes it.
const Masked = "(sensitive value)"

// SecretValues are the string values --tf-var-file sets (its strings, and the strings in
// its lists, maps and objects) and the other secrets given (more: the git tokens of
// --git-credentials), of MinMasked characters or more, each in every form it takes in what
// the tools and the reports write (forms), longest first. The file is a secret, so all of
// it is kept out of what the pipeline writes and logs: Terraform shows a sensitive value in
// clear where it loses the mark (a terraform_data's output, on destroy), and a value whose
// variable the stack forgot to declare sensitive everywhere. A file that does not parse
// gives what it can; CheckSecretVarFile refuses it.
func SecretValues(src []byte, more ...string) []string {
	secrets := slices.Clone(more)
	if f, _ := hclsyntax.ParseConfig(src, SecretVarFile, hcl.InitialPos); f != nil {
		if body, ok := f.Body.(*hclsyntax.Body); ok {
			for _, a := range body.Attributes {
				v, _ := a.Expr.Value(nil)
				_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
					if v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
						secrets = append(secrets, v.AsString())
					}
					return v.IsKnown() && !v.IsNull(), nil
				})
			}
		}
	}
	var values []string
	for _, s := range secrets {
		if len(s) < MinMasked {
			continue
		}
		for _, f := range forms(s) {
			if len(f) >= MinMasked && !slices.Contains(values, f) {
				values = append(values, f)
			}
		}
	}
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	return values
}

// Redact replaces every value (SecretValues: longest first, so a value holding another is
// replaced whole) in text with Masked.
func Redact(text string, values []string) string {
	for _, v := range values {
		text = strings.ReplaceAll(text, v, Masked)
	}
	return text
}

// forms are the ways a value shows: as it is; escaped inside a quoted string, as Terraform's
// plan renders it (Go quoting, or HCL's with $${ and %%{) and as JSON, XML (JUnit) and
// Markdown (the summaries) write it; escaped in a URL (a health endpoint's); and each line of a multi-line value on its own, as a
// heredoc in a plan shows it.
func forms(v string) []string {
	quoted := strconv.Quote(v)
	out := []string{v, quoted[1 : len(quoted)-1], hclEscaper.Replace(v), report.Escape(v), url.QueryEscape(v), url.PathEscape(v)}
	for _, html := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if enc.Encode(v) == nil {
			j := strings.TrimSpace(b.String())
			out = append(out, j[1:len(j)-1])
		}
	}
	var x strings.Builder
	if xml.EscapeText(&x, []byte(v)) == nil {
		out = append(out, x.String())
	}
	for _, line := range strings.Split(v, "\n") {
		out = append(out, strings.TrimSpace(line))
	}
	return out
}

// hclEscaper escapes a string as HCL's quoted template syntax needs.
var hclEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "${", "$${", "%{", "%%{")

// RedactFiles is Redact on the contents of report files (name, contents, ...): the last
// guard of what a run hands back, over the masking each step does where it writes.
func RedactFiles(nameContents []string, values []string) []string {
	out := slices.Clone(nameContents)
	for i := 1; i < len(out); i += 2 {
		out[i] = Redact(out[i], values)
	}
	return out
}

// redactAll is Redact on each of texts, nil staying nil.
func redactAll(texts []string, values []string) []string {
	if texts == nil || len(values) == 0 {
		return texts
	}
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = Redact(t, values)
	}
	return out
}
