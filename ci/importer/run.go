package importer

import (
	"context"
	"encoding/json"
	"fmt"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/discovery"
)

// ReadPlan decodes `terraform show -json` of a saved plan.
func ReadPlan(data []byte) (*tfjson.Plan, error) {
	var p tfjson.Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("read plan JSON (want `terraform show -json PLANFILE`): %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("read plan JSON: %w", err)
	}
	return &p, nil
}

// Request is one import run: what to discover, the plan to map onto, where to write.
type Request struct {
	Discovery discovery.Config
	Options   Options
	PlanJSON  []byte // `terraform show -json` of a plan made without import blocks
	// Dir is the Terraform directory imports.tf is written to; empty to write nothing
	// and take Result.Blocks instead (a Dagger module adds them to its directory).
	Dir    string
	DryRun bool // map and report, write nothing
	// ImportIDs, when set, adjusts what discovery found before it is mapped. Import IDs
	// that hold an address (SQS queue URLs) must name the endpoint as Terraform reaches
	// it, which is not always how discovery reached it: the Dagger module passes
	// pipeline.ForContainers with the emulator's address inside its network.
	ImportIDs func([]discovery.Resource) ([]discovery.Resource, error)
}

// Result is what Prepare did. Blocks is the content of imports.tf (nil when there is
// nothing to import); File is its path, empty when nothing was written.
type Result struct {
	Plan   *Plan
	Stats  discovery.Stats
	Blocks []byte
	File   string
}

// Prepare discovers, maps and (unless DryRun or Dir is empty) writes imports.tf: the one
// flow the tests and the Dagger module share. Nothing is written when any step fails, so
// a failed discovery never leaves a partial set of import blocks. The caller then, if Plan.StateRemovals is not empty, runs `terraform state rm` for
// each; runs `terraform plan -out` (with -generate-config-out=generated.tf when
// Plan.GenerateConfigOut); reads the outcome with ReadOutcome and Plan.Resolve; and fails
// on Plan.Err.
func Prepare(ctx context.Context, req Request) (Result, error) {
	plan, err := ReadPlan(req.PlanJSON)
	if err != nil {
		return Result{}, err
	}
	found, err := discovery.Discover(ctx, req.Discovery)
	if err != nil {
		return Result{Stats: found.Stats}, fmt.Errorf("import: %w", err)
	}
	if req.ImportIDs != nil {
		if found.Resources, err = req.ImportIDs(found.Resources); err != nil {
			return Result{Stats: found.Stats}, fmt.Errorf("import: %w", err)
		}
	}
	mapped, err := Map(found.Resources, plan, req.Options)
	if err != nil {
		return Result{Stats: found.Stats}, fmt.Errorf("import: %w", err)
	}
	res := Result{Plan: mapped, Stats: found.Stats}
	if len(mapped.Imports()) > 0 {
		res.Blocks = mapped.ImportBlocks()
	}
	if req.DryRun || req.Dir == "" {
		return res, nil
	}
	if res.File, err = mapped.Write(req.Dir); err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	return res, nil
}
