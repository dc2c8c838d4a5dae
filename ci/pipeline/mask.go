package pipeline

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// MinMasked is the shortest value of --tf-var-file that is masked: masking a short word
// ("prod", "gold") wherever it appears would garble a whole plan, and secrets are longer.
const MinMasked = 8

// Masked stands for a masked value in what the pipeline writes, as Terraform writes it.
const Masked = "(sensitive value)"

// SecretValues are the string values --tf-var-file sets (its strings, and the strings in
// its lists, maps and objects) of MinMasked characters or more, longest first. The file is
// a secret, so all of it is kept out of what the pipeline writes and logs: Terraform shows a
// sensitive value in clear where it loses the mark (a terraform_data's output, on destroy),
// and a value whose variable the stack forgot to declare sensitive everywhere. A file that
// does not parse gives what it can; CheckSecretVarFile refuses it.
func SecretValues(src []byte) []string {
	f, _ := hclsyntax.ParseConfig(src, SecretVarFile, hcl.InitialPos)
	if f == nil {
		return nil
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var values []string
	for _, a := range body.Attributes {
		v, _ := a.Expr.Value(nil)
		_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
			if v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
				if s := v.AsString(); len(s) >= MinMasked && !slices.Contains(values, s) {
					values = append(values, s)
				}
			}
			return v.IsKnown() && !v.IsNull(), nil
		})
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
