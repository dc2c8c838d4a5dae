package plan

import tfjson "github.com/hashicorp/terraform-json"

// ManagedResources are the managed resources of a state (a plan's prior state, or
// `terraform show -json` of a state), from the root module and then every module below
// it, depth first; none for a state that is absent or holds none. Data sources are left
// out: they are read, not deployed.
func ManagedResources(s *tfjson.State) []*tfjson.StateResource {
	if s == nil || s.Values == nil {
		return nil
	}
	var out []*tfjson.StateResource
	var walk func(m *tfjson.StateModule)
	walk = func(m *tfjson.StateModule) {
		if m == nil {
			return
		}
		for _, r := range m.Resources {
			if r != nil && r.Mode == tfjson.ManagedResourceMode {
				out = append(out, r)
			}
		}
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(s.Values.RootModule)
	return out
}
