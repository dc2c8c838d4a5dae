package kpis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// Source is one environment as the caller reaches it. The clients are made only when
// needed: an environment without a state bucket never gets one, and Cost Explorer (billed
// per call) is asked once per environment tag key.
type Source struct {
	Profile environment.Profile
	// Objects is the S3 client of the profile's state bucket, which holds the records.
	Objects func(context.Context) (runs.Objects, error)
	// CostExplorer is the client the bill is read with.
	CostExplorer func(context.Context) (CostAndUsage, error)
}

// Opener opens one environment.
type Opener func(ctx context.Context, env environment.Name) (Source, error)

// Gather reads each environment's records of [from, to) under prefix and its targets and,
// with billing, what AWS billed it (one Cost Explorer read per environment tag key, shared
// by the environments using it). An environment that cannot be read is an input that says
// so (Unread), so the report names it; only when none can be read is it an error, naming
// each.
func Gather(ctx context.Context, envs []environment.Name, open Opener, prefix string, from, to time.Time, billing bool) ([]Input, error) {
	g := gatherer{open: open, prefix: prefix, from: from, to: to, billing: billing,
		billed: map[string]map[environment.Name]*Billed{}, billErr: map[string]error{}}
	var inputs []Input
	var failures []error
	for _, name := range envs {
		in, err := g.input(ctx, name)
		if err != nil {
			in.Unread = strings.TrimSpace(err.Error())
			failures = append(failures, fmt.Errorf("%s: %w", name, err))
		}
		inputs = append(inputs, in)
	}
	if len(failures) == len(envs) && len(envs) > 0 {
		return inputs, errors.Join(failures...)
	}
	return inputs, nil
}

type gatherer struct {
	open     Opener
	prefix   string
	from, to time.Time
	billing  bool
	billed   map[string]map[environment.Name]*Billed // by tag key
	billErr  map[string]error                        // by tag key
}

// input is one environment's records and targets, and its bill when asked; on error, what
// was read so far (the targets once the profile is known).
func (g *gatherer) input(ctx context.Context, name environment.Name) (Input, error) {
	in := Input{History: runs.History{Env: name, From: g.from, To: g.to}}
	src, err := g.open(ctx, name)
	if err != nil {
		return in, err
	}
	in.Targets = src.Profile.KPIs
	bucket := src.Profile.Backend.Bucket
	if bucket == "" {
		return in, fmt.Errorf("no state bucket (pipeline.yaml backend.bucket) holds its records")
	}
	objs, err := src.Objects(ctx)
	if err != nil {
		return in, err
	}
	h, err := runs.Index(ctx, objs, bucket, g.prefix, name, g.from, g.to)
	if err != nil {
		return in, err
	}
	in.History = h
	if !g.billing {
		return in, nil
	}
	tag := src.Profile.EnvironmentTagKey
	if _, ok := g.billed[tag]; !ok {
		g.billed[tag], g.billErr[tag] = readBilled(ctx, src, tag, g.from, g.to)
	}
	if err := g.billErr[tag]; err != nil {
		return in, err // the same failure for every environment of the tag key: asked once
	}
	in.Billed = g.billed[tag][name]
	if in.Billed == nil {
		in.Billed = &Billed{Days: map[time.Time]float64{}} // read, and nothing billed
	}
	return in, nil
}

func readBilled(ctx context.Context, src Source, tag string, from, to time.Time) (map[environment.Name]*Billed, error) {
	ce, err := src.CostExplorer(ctx)
	if err != nil {
		return nil, err
	}
	return ReadBilled(ctx, ce, tag, from, to)
}
