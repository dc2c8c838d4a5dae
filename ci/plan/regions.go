package plan

import (
	"slices"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// Regions are the AWS regions a plan's resources are in, as far as its configuration says:
// each aws provider configuration's region, a constant or a root variable's value. A summary
// that named only the region the pipeline gives the provider was wrong for a provider block
// with a region of its own, and named one of two for a stack with an aliased second region.
type Regions struct {
	// Named are the regions named, sorted and unique; "" stands for a configuration that
	// names none, which takes the region the pipeline gives the provider (AWS_REGION).
	Named []string `json:"named,omitempty"`
	// Unknown counts the configurations whose region is another expression (a local, a
	// module's input, a function call), which the plan does not resolve.
	Unknown int `json:"unknown,omitempty"`
}

// rootVars are the plan's root variables a region may name: their values (the plan's
// "variables") and whether the configuration declares them sensitive, which are never read.
type rootVars struct {
	values   map[string]*tfjson.PlanVariable
	declared map[string]*tfjson.ConfigVariable
}

// awsRegions reads Regions from the plan's provider configurations and root variables.
func awsRegions(providers map[string]*tfjson.ProviderConfig, vars rootVars) Regions {
	var r Regions
	for _, p := range providers {
		if p == nil || !isAWS(p) {
			continue
		}
		region, ok := regionOf(p, vars)
		if !ok {
			r.Unknown++
			continue
		}
		if !slices.Contains(r.Named, region) {
			r.Named = append(r.Named, region)
		}
	}
	slices.Sort(r.Named)
	return r
}

func isAWS(p *tfjson.ProviderConfig) bool {
	if p.FullName != "" {
		return strings.HasSuffix(p.FullName, "/hashicorp/aws")
	}
	return p.Name == "aws"
}

// regionOf is p's region: "" when it sets none, a string constant, or the value of the
// root variable it names (var.x in the root module only: in a module, var.x is the module's
// input; and never a sensitive one). ok is false for anything else, and for a value that is
// not a region's name.
func regionOf(p *tfjson.ProviderConfig, vars rootVars) (region string, ok bool) {
	e := p.Expressions["region"]
	if e == nil || e.ExpressionData == nil {
		return "", true
	}
	if s, isString := e.ConstantValue.(string); isString {
		return s, environment.ValidRegion(s)
	}
	if p.ModuleAddress != "" || len(e.References) != 1 {
		return "", false
	}
	name, isVar := strings.CutPrefix(e.References[0], "var.")
	if !isVar || vars.values[name] == nil || vars.declared[name] == nil || vars.declared[name].Sensitive {
		return "", false
	}
	s, isString := vars.values[name].Value.(string)
	return s, isString && environment.ValidRegion(s)
}
