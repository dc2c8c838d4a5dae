package pipeline

import (
	"fmt"
	"slices"
	"strings"

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
	var aliases []string
	for _, blk := range changes.TopBlocks(files, "provider", "name") {
		if blk.Labels[0] != "aws" || changes.IsOverrideFile(blk.File) {
			continue
		}
		alias, _ := changes.StringAttr(blk.Body, "alias") // "" for the default provider
		if !slices.Contains(aliases, alias) {
			aliases = append(aliases, alias)
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
