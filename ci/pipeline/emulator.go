package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/discovery"
)

// ForContainers rewrites the import IDs discovery built from one endpoint so that they hold
// another. Only SQS queues carry an address in their ID (the queue URL). Discovery runs in
// the module's own process, which reaches an emulator at an engine-given address; Terraform
// runs in containers that reach the same emulator under their own host name, and imports
// the queue by the URL as it sees it. endpoint is the containers' emulator address, or ""
// for AWS. The input is not changed.
func ForContainers(found []discovery.Resource, endpoint string) ([]discovery.Resource, error) {
	out := make([]discovery.Resource, len(found))
	for i, r := range found {
		if r.Type == discovery.SQSQueue {
			url, err := discovery.QueueURL(r.ARN, endpoint)
			if err != nil {
				return nil, fmt.Errorf("import ID of %s: %w", r.ARN, err)
			}
			r.ID = url
		}
		out[i] = r
	}
	return out, nil
}

// EmulatorOverrideFile is the override file EmulatorOverride's provider settings go in:
// Terraform merges a *_override.tf into the blocks of the same name.
const EmulatorOverrideFile = "infrapipe_emulator_override.tf"

// EmulatorOverride is what a stack's aws provider blocks need to reach an AWS emulator: S3
// path-style addressing, as the emulator's buckets have no host names of their own (the
// provider would address <bucket>.aws). files are the root module's configuration files by
// name; ok is false when they declare no provider "aws" block, which an override could not
// match. Each alias gets its own block. A file that does not parse is passed over: Terraform
// names its error better.
func EmulatorOverride(files map[string][]byte) (contents string, ok bool) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	var aliases []string
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "provider", LabelNames: []string{"name"}}}}
	aliasSchema := &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "alias"}}}
	for _, name := range names {
		if !changes.IsConfigFile(name) || strings.HasSuffix(strings.TrimSuffix(name, ".json"), "_override.tf") || name == "override.tf" {
			continue
		}
		f, err := changes.ParseFile(name, files[name])
		if err != nil {
			continue
		}
		content, _, _ := f.Body.PartialContent(schema)
		for _, blk := range content.Blocks {
			if blk.Labels[0] != "aws" {
				continue
			}
			alias := ""
			attrs, _, _ := blk.Body.PartialContent(aliasSchema)
			if a, found := attrs.Attributes["alias"]; found {
				v, diags := a.Expr.Value(nil)
				if diags.HasErrors() || !v.Type().Equals(cty.String) || v.IsNull() {
					continue
				}
				alias = v.AsString()
			}
			if !slices.Contains(aliases, alias) {
				aliases = append(aliases, alias)
			}
		}
	}
	if len(aliases) == 0 {
		return "", false
	}
	var b strings.Builder
	b.WriteString("# Written by infrapipe for a run against an AWS emulator: its buckets have no host names.\n")
	for _, alias := range aliases {
		b.WriteString("\nprovider \"aws\" {\n")
		if alias != "" {
			fmt.Fprintf(&b, "  alias             = %q\n", alias)
		}
		b.WriteString("  s3_use_path_style = true\n}\n")
	}
	return b.String(), true
}
