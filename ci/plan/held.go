package plan

import tfjson "github.com/hashicorp/terraform-json"

// HeldImport is an import of an object the state already holds at another address.
type HeldImport struct {
	Address, ID string
	// HeldAt is the address the prior state holds the object at.
	HeldAt string
}

// HeldImports are the plan's imports whose ID is the id or ARN of a resource of the same
// type that the prior state holds: two addresses would manage one object, and where the
// plan deletes the old address (a rename written as an import instead of a moved block),
// the apply imports the object and then destroys it.
func HeldImports(p *tfjson.Plan) []HeldImport {
	// The prior state holds each imported object at its new address too, as read for the
	// import: an object is held when another address has it.
	held := map[string][]string{} // type and id (or arn) → addresses
	for _, r := range ManagedResources(p.PriorState) {
		for _, attr := range []string{"id", "arn"} {
			if v, ok := r.AttributeValues[attr].(string); ok && v != "" {
				held[r.Type+"\x00"+v] = append(held[r.Type+"\x00"+v], r.Address)
			}
		}
	}
	var out []HeldImport
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Change.Importing == nil || rc.Change.Importing.ID == "" {
			continue
		}
		for _, at := range held[rc.Type+"\x00"+rc.Change.Importing.ID] {
			if at != rc.Address {
				out = append(out, HeldImport{Address: rc.Address, ID: rc.Change.Importing.ID, HeldAt: at})
				break
			}
		}
	}
	return out
}
