package policy

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// The AWS provider cannot be installed here (the registry is unreachable), so the policy
// tests plan terraform_data resources with real Terraform and rename them into AWS
// resources: terraform_data.aws_s3_bucket__logs with input = {bucket = "x"} becomes
// aws_s3_bucket.logs with bucket = "x". The plan keeps Terraform's own structure, unknown
// values (after_unknown), module addresses and configuration references; what differs from
// a real AWS plan is only that attributes the AWS schema would add are absent.

var dataAddress = regexp.MustCompile(`terraform_data\.([a-z0-9_]+?)__([a-z0-9_]+)(\.output)?`)

// awsPlan plans files with real Terraform and returns the renamed plan JSON. providerTags,
// when set, become the aws provider's constant default_tags in the configuration (a
// terraform_data plan has no provider block to carry them).
func awsPlan(t *testing.T, files map[string]string, providerTags map[string]string) []byte {
	t.Helper()
	w := tftest.New(t, files)
	w.Init()
	var plan map[string]any
	if err := json.Unmarshal(w.PlanJSON(), &plan); err != nil {
		t.Fatalf("plan JSON: %v", err)
	}
	renameResources(plan)
	if providerTags != nil {
		cfg := plan["configuration"].(map[string]any)
		pc, _ := cfg["provider_config"].(map[string]any)
		if pc == nil {
			pc = map[string]any{}
			cfg["provider_config"] = pc
		}
		pc["aws"] = map[string]any{
			"name":      "aws",
			"full_name": "registry.terraform.io/hashicorp/aws",
			"expressions": map[string]any{"default_tags": []any{
				map[string]any{"tags": map[string]any{"constant_value": providerTags}},
			}},
		}
	}
	out, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	out = dataAddress.ReplaceAll(out, []byte("$1.$2"))
	if strings.Contains(string(out), "terraform_data.aws_") {
		t.Fatal("a terraform_data address survived the rename")
	}
	return out
}

// renameResources walks the plan and turns every renamed terraform_data object into its
// AWS form, lifting input's attributes to the top of each value.
func renameResources(v any) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			renameResources(e)
		}
	case map[string]any:
		if typ, name := v["type"], v["name"]; typ == "terraform_data" {
			if n, ok := name.(string); ok && strings.Contains(n, "__") {
				awsType, awsName, _ := strings.Cut(n, "__")
				v["type"], v["name"] = awsType, awsName
				if _, ok := v["provider_name"]; ok {
					v["provider_name"] = "registry.terraform.io/hashicorp/aws"
				}
				if _, ok := v["provider_config_key"]; ok {
					v["provider_config_key"] = "aws"
				}
				for _, key := range []string{"values", "sensitive_values"} {
					if val, ok := v[key]; ok {
						v[key] = liftInput(val)
					}
				}
				if ch, ok := v["change"].(map[string]any); ok {
					for _, key := range []string{"before", "after", "after_unknown", "before_sensitive", "after_sensitive"} {
						ch[key] = liftInput(ch[key])
					}
					if m, ok := ch["after_unknown"].(map[string]any); ok {
						m["id"] = true
					}
				}
				if ex, ok := v["expressions"].(map[string]any); ok {
					v["expressions"] = splitExpressions(ex)
				}
			}
		}
		for _, e := range v {
			renameResources(e)
		}
	}
}

func liftInput(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if in, ok := m["input"].(map[string]any); ok {
		return in
	}
	if _, ok := m["input"]; ok {
		return map[string]any{}
	}
	return v
}

// splitExpressions gives each constant input attribute its own expression, as a provider
// schema would. An input that refers to other resources is one object expression in the
// plan: references to a bucket go under "bucket" (the test configurations build no other
// attribute from a resource), the rest (locals, variables) stay under "input".
func splitExpressions(ex map[string]any) map[string]any {
	in, _ := ex["input"].(map[string]any)
	out := map[string]any{}
	if c, ok := in["constant_value"].(map[string]any); ok {
		for k, val := range c {
			out[k] = map[string]any{"constant_value": val}
		}
	}
	refs, _ := in["references"].([]any)
	var bucket, other []any
	for _, r := range refs {
		if s, _ := r.(string); strings.HasPrefix(s, "terraform_data.aws_s3_bucket__") {
			bucket = append(bucket, r)
		} else {
			other = append(other, r)
		}
	}
	if bucket != nil {
		out["bucket"] = map[string]any{"references": bucket}
	}
	if other != nil {
		out["input"] = map[string]any{"references": other}
	}
	return out
}
