// Package importer adopts existing AWS resources into Terraform state instead of letting a
// plan create duplicates. It maps each discovered resource to the configuration address
// the plan would create, by type plus name (or identifying tags), and writes Terraform
// `import {}` blocks so that one plan imports everything. A match that is missing or not
// unique is reported, never guessed: importing the wrong object into an address is worse
// than importing nothing.
package importer

import (
	"fmt"
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// Status is what happened, or will happen, to one discovered resource.
type Status string

const (
	Import    Status = "import"    // an import block is written, and the plan (once run) imports it
	Imported  Status = "imported"  // the apply of that plan imported it
	Skipped   Status = "skipped"   // already managed (in state at Address), or on its way out
	Failed    Status = "failed"    // Terraform did not import it, or cannot (an address the state holds for a gone object)
	Unmapped  Status = "unmapped"  // no configuration resource would create it
	Ambiguous Status = "ambiguous" // more than one configuration resource matches, or several resources match one
)

// Entry is one discovered resource and its fate.
type Entry struct {
	ARN        string   `json:"arn"`
	Type       string   `json:"type"`
	ID         string   `json:"import_id,omitempty"`
	Address    string   `json:"address,omitempty"`
	Status     Status   `json:"status"`
	Reason     string   `json:"reason,omitempty"`
	Candidates []string `json:"candidates,omitempty"`
	// Force marks a managed resource that is re-imported: the caller removes Address from
	// state (`terraform state rm`) before the plan.
	Force bool `json:"force,omitempty"`
	// GenerateConfig marks an import into an address with no configuration, written by
	// `terraform plan -generate-config-out`.
	GenerateConfig bool `json:"generate_config,omitempty"`
}

// Options change how resources are mapped.
type Options struct {
	// Force re-imports resources already in state: they get import blocks and are listed
	// in Plan.StateRemovals, so state matches the real object again (e.g. after a manual
	// `state rm` went wrong or the state was restored from an old backup).
	Force bool
	// GenerateConfig imports unmapped resources of supported types into generated
	// addresses (type.name), for `terraform plan -generate-config-out=FILE`.
	GenerateConfig bool
	// The tag keys discovery filtered on; every resource carries them, so they never
	// identify one. Defaults: Project and Environment.
	ProjectTagKey, EnvironmentTagKey string
}

// OptionsFor takes the tag keys from the environment's profile.
func OptionsFor(p environment.Profile) Options {
	return Options{ProjectTagKey: p.ProjectTagKey, EnvironmentTagKey: p.EnvironmentTagKey}
}

// Enabled says whether an environment imports at all: preview environments are ephemeral
// and own nothing that exists before them.
func Enabled(p environment.Profile) bool {
	return p.Import == environment.ImportFull || p.Import == environment.ImportFullBackup
}

// Plan is the outcome of mapping: one entry per discovered resource, sorted by status
// then address then ARN.
type Plan struct {
	Entries []Entry `json:"entries"`
	// StateRemovals are the addresses to `terraform state rm` before planning (Force).
	// Each removal is written to the backend at once, before the plan that re-imports the
	// address: take a state backup (ci/state) first, so a failed plan can be undone.
	StateRemovals []string `json:"state_removals,omitempty"`
	// GenerateConfigOut is true when some import targets have no configuration: the plan
	// must run with -generate-config-out.
	GenerateConfigOut bool `json:"generate_config_out,omitempty"`
}

// Imports returns the entries that get an import block.
func (p *Plan) Imports() []Entry {
	var out []Entry
	for _, e := range p.Entries {
		if e.Status == Import {
			out = append(out, e)
		}
	}
	return out
}

// nameAttribute is the configuration attribute that holds the name discovery found.
// Types without one (KMS keys, VPCs, subnets) match on identifying tags instead.
var nameAttribute = map[string]string{
	discovery.S3Bucket:       "bucket",
	discovery.DynamoDBTable:  "name",
	discovery.SNSTopic:       "name",
	discovery.SQSQueue:       "name",
	discovery.MetricAlarm:    "alarm_name",
	discovery.IAMRole:        "name",
	discovery.LambdaFunction: "function_name",
	discovery.SecurityGroup:  "name",
}

// candidate is a resource the plan would create.
type candidate struct {
	address, typ, name string
	tags               map[string]string
}

// Map decides, for each discovered resource, which configuration address it becomes.
// plan is `terraform show -json` of a plan made without import blocks: its creates are
// the candidates and its prior state says what is already managed.
func Map(resources []discovery.Resource, plan *tfjson.Plan, opts Options) (*Plan, error) {
	if plan == nil {
		return nil, fmt.Errorf("map discovered resources: no plan (need `terraform show -json` of a plan)")
	}
	if opts.ProjectTagKey == "" {
		opts.ProjectTagKey = discovery.DefaultProjectTagKey
	}
	if opts.EnvironmentTagKey == "" {
		opts.EnvironmentTagKey = discovery.DefaultEnvironmentTagKey
	}
	cands := candidates(plan)
	managed := managedIndex(plan)
	ownImports := importing(plan)
	stale := goneObjects(plan)
	managedARNs := managedByARN(plan)
	taken := map[string]bool{} // every address the configuration or state uses
	for _, c := range cands {
		taken[c.address] = true
	}
	for _, addr := range managed {
		taken[addr] = true
	}

	out := &Plan{}
	matches := map[int][]string{} // resource index → candidate addresses
	claimed := map[string][]int{} // candidate address → resource indexes
	for i, r := range resources {
		if _, ok := managedAddress(managed, r); ok || r.Type == "" || r.Pending() {
			continue
		}
		for _, c := range cands {
			if c.typ == r.Type && matchOne(c, r, opts) {
				matches[i] = append(matches[i], c.address)
				claimed[c.address] = append(claimed[c.address], i)
			}
		}
	}
	for i, r := range resources {
		e := Entry{ARN: r.ARN, Type: r.Type, ID: r.ID}
		switch addr, managedOK := managedAddress(managed, r); {
		case r.Type == "" && managedARNs[r.ARN] != "":
			e.Status, e.Address, e.Reason = Skipped, managedARNs[r.ARN], "already managed"
		case r.Type == "":
			e.Status, e.Reason = Unmapped, fmt.Sprintf("type not supported by the importer (supported: %s)", strings.Join(discovery.Types, ", "))
		case managedOK && ownImports[addr]:
			// The plan's prior state holds what the configuration's own import blocks import:
			// not managed yet, and imported by this plan without a block of ours.
			e.Status, e.Address, e.Reason = Skipped, addr, "imported by an import block of the configuration"
		case managedOK && opts.Force:
			e.Status, e.Address, e.Force = Import, addr, true
			e.Reason = "already managed; forced re-import (state rm first)"
			out.StateRemovals = append(out.StateRemovals, addr)
		case managedOK:
			e.Status, e.Address, e.Reason = Skipped, addr, "already managed"
		case r.Pending():
			e.Status = Skipped
			e.Reason = fmt.Sprintf("scheduled for deletion (%s): Terraform cannot import it; if it is the one to keep, cancel the deletion first (aws kms cancel-key-deletion --key-id %s)", r.State, r.ID)
		case len(matches[i]) == 0 && opts.GenerateConfig:
			e.Status, e.GenerateConfig = Import, true
			e.Address = generatedAddress(r, taken)
			e.Reason = "no configuration; generated with -generate-config-out"
			out.GenerateConfigOut = true
		case len(matches[i]) == 0:
			e.Status = Unmapped
			e.Reason = fmt.Sprintf("no %s in the plan's creates matches %s", r.Type, matchDescription(r, opts))
			if why := otherOwner(cands, r, opts); why != "" {
				e.Reason = why
			}
		case len(matches[i]) > 1:
			e.Status, e.Candidates = Ambiguous, matches[i]
			e.Reason = fmt.Sprintf("%d configuration resources match: %s", len(matches[i]), strings.Join(matches[i], ", "))
		case len(claimed[matches[i][0]]) > 1:
			e.Status, e.Candidates = Ambiguous, matches[i]
			e.Reason = fmt.Sprintf("%d discovered resources match %s", len(claimed[matches[i][0]]), matches[i][0])
		case stale[matches[i][0]] && opts.Force:
			e.Status, e.Address, e.Force = Import, matches[i][0], true
			e.Reason = "the state's object at this address is gone; forced: state rm first"
			out.StateRemovals = append(out.StateRemovals, e.Address)
		case stale[matches[i][0]]:
			e.Status, e.Address = Failed, matches[i][0]
			e.Reason = fmt.Sprintf("the state still holds %s for an object that is gone (deleted outside Terraform, or a state restored from an older backup), and Terraform does not import into an address the state holds: import with --force, which backs up the state and removes that entry first", e.Address)
		default:
			e.Status, e.Address = Import, matches[i][0]
		}
		out.Entries = append(out.Entries, e)
	}
	sort.SliceStable(out.Entries, func(i, j int) bool {
		a, b := out.Entries[i], out.Entries[j]
		if a.Status != b.Status {
			return statusOrder[a.Status] < statusOrder[b.Status]
		}
		if a.Address != b.Address {
			return a.Address < b.Address
		}
		return a.ARN < b.ARN
	})
	sort.Strings(out.StateRemovals)
	return out, nil
}

var statusOrder = map[Status]int{Failed: 0, Ambiguous: 1, Unmapped: 2, Import: 3, Imported: 4, Skipped: 5}

func matchDescription(r discovery.Resource, opts Options) string {
	if r.Type == discovery.SecurityGroup && r.Name == "" {
		return "its name: the group has no Name tag (groups are matched by that tag; tag it with its group name, or import it by hand)"
	}
	if _, ok := nameAttribute[r.Type]; ok {
		return fmt.Sprintf("name %q", r.Name)
	}
	return fmt.Sprintf("tags %s", formatTags(identifyingTags(r.Tags, opts)))
}

// matchOne: by name where the type has a name attribute and the plan knows it; otherwise
// by identifying tags (all tags but the project and environment ones), every one of which
// must be equal. A candidate with no identifying tag never matches by tags: it would
// match every resource of its type.
func matchOne(c candidate, r discovery.Resource, opts Options) bool {
	return ownedAlike(c, r, opts) && matchIgnoringOwner(c, r, opts)
}

// ownedAlike: where the plan knows the configuration's own project and environment tags,
// the object carries the same. --project only chose what discovery looked for: a stack
// whose tags name another project (or environment) must not adopt this one's objects.
func ownedAlike(c candidate, r discovery.Resource, opts Options) bool {
	for _, k := range []string{opts.ProjectTagKey, opts.EnvironmentTagKey} {
		if want, ok := c.tags[k]; ok && r.Tags[k] != want {
			return false
		}
	}
	return true
}

// otherOwner is the reason a discovered resource is left unmapped when a candidate matches
// it but for its project or environment tag, "" when none does.
func otherOwner(cands []candidate, r discovery.Resource, opts Options) string {
	for _, c := range cands {
		if c.typ != r.Type || ownedAlike(c, r, opts) || !matchIgnoringOwner(c, r, opts) {
			continue
		}
		for _, k := range []string{opts.ProjectTagKey, opts.EnvironmentTagKey} {
			if want := c.tags[k]; want != "" && r.Tags[k] != want {
				fix := "it belongs to another environment"
				if k == opts.ProjectTagKey {
					fix = fmt.Sprintf("it belongs to another project; if the stack's is %s, give --project=%s", want, want)
				}
				return fmt.Sprintf("%s would match, but the configuration tags it %s=%s and the object has %s=%s: not adopted, %s",
					c.address, k, want, k, r.Tags[k], fix)
			}
		}
	}
	return ""
}

// matchIgnoringOwner is matchOne without the project and environment tags.
func matchIgnoringOwner(c candidate, r discovery.Resource, opts Options) bool {
	if _, ok := nameAttribute[c.typ]; ok && c.name != "" {
		return c.name == r.Name
	}
	want := identifyingTags(c.tags, opts)
	if len(want) == 0 {
		return false
	}
	for k, v := range want {
		if got, ok := r.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func identifyingTags(tags map[string]string, opts Options) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		if k != opts.ProjectTagKey && k != opts.EnvironmentTagKey {
			out[k] = v
		}
	}
	return out
}

func formatTags(tags map[string]string) string {
	if len(tags) == 0 {
		return "{} (no identifying tag: add a Name tag)"
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tags[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// candidates are the managed resources the plan creates, with their known name and tags.
func candidates(plan *tfjson.Plan) []candidate {
	var out []candidate
	for _, rc := range plan.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode || !rc.Change.Actions.Create() {
			continue
		}
		after, _ := rc.Change.After.(map[string]any)
		c := candidate{address: rc.Address, typ: rc.Type, tags: map[string]string{}}
		if attr, ok := nameAttribute[rc.Type]; ok {
			c.name, _ = after[attr].(string)
		}
		// tags_all holds provider default_tags too, when known at plan time.
		for _, key := range []string{"tags_all", "tags"} {
			if m, ok := after[key].(map[string]any); ok {
				for k, v := range m {
					if s, ok := v.(string); ok {
						c.tags[k] = s
					}
				}
			}
		}
		out = append(out, c)
	}
	return out
}

func managedKey(typ, id string) string { return typ + "\x00" + id }

// managedIndex maps type+id and type+arn of every resource in the plan's prior state to
// its address, so a re-run skips what an earlier run imported.
// importing are the addresses the plan imports through the configuration's own import
// blocks.
func importing(p *tfjson.Plan) map[string]bool {
	out := map[string]bool{}
	for _, rc := range p.ResourceChanges {
		if rc != nil && rc.Change != nil && rc.Change.Importing != nil {
			out[rc.Address] = true
		}
	}
	return out
}

// goneObjects are the addresses whose object the plan's refresh found gone (a delete in
// resource_drift): the state still holds them, and Terraform skips an import block into an
// address the state holds, refreshed or not.
func goneObjects(p *tfjson.Plan) map[string]bool {
	out := map[string]bool{}
	for _, rc := range p.ResourceDrift {
		if rc != nil && rc.Change != nil && rc.Change.Actions.Delete() {
			out[rc.Address] = true
		}
	}
	return out
}

// managedByARN maps the ARN of every managed resource of the plan's prior state to its
// address: a discovered resource of a type the importer does not map is still known as
// managed.
func managedByARN(p *tfjson.Plan) map[string]string {
	idx := map[string]string{}
	for _, r := range plan.ManagedResources(p.PriorState) {
		if v, ok := r.AttributeValues["arn"].(string); ok && v != "" {
			idx[v] = r.Address
		}
	}
	return idx
}

func managedIndex(p *tfjson.Plan) map[string]string {
	idx := map[string]string{}
	for _, r := range plan.ManagedResources(p.PriorState) {
		for _, attr := range []string{"id", "arn", "url"} {
			if v, ok := r.AttributeValues[attr].(string); ok && v != "" {
				idx[managedKey(r.Type, v)] = r.Address
			}
		}
	}
	return idx
}

func managedAddress(idx map[string]string, r discovery.Resource) (string, bool) {
	if r.Type == "" {
		return "", false
	}
	if a, ok := idx[managedKey(r.Type, r.ID)]; ok {
		return a, true
	}
	a, ok := idx[managedKey(r.Type, r.ARN)]
	return a, ok
}

// generatedAddress names an import target with no configuration after the resource,
// e.g. aws_sqs_queue.shop_prod_jobs, unique among the addresses in use.
func generatedAddress(r discovery.Resource, taken map[string]bool) string {
	name := r.Name
	if t := r.Tags["Name"]; t != "" && nameAttribute[r.Type] == "" {
		name = t
	}
	var b strings.Builder
	for _, ch := range strings.ToLower(name) {
		switch {
		case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9', ch == '_':
			b.WriteRune(ch)
		default:
			b.WriteByte('_')
		}
	}
	label := b.String()
	if label == "" || (label[0] >= '0' && label[0] <= '9') {
		label = "r_" + label
	}
	addr := r.Type + "." + label
	for n := 2; taken[addr]; n++ {
		addr = fmt.Sprintf("%s.%s_%d", r.Type, label, n)
	}
	taken[addr] = true
	return addr
}
