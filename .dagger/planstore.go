package main

import (
	"context"
	"time"

	"github.com/infrapipe/infrapipe/ci/planstore"
	"github.com/infrapipe/infrapipe/ci/workdir"
)

// storedRef is a stored plan an apply was given: its reference and the approved SHA-256.
type storedRef struct {
	ref    planstore.Ref
	sha256 string
	commit string // the commit being deployed; "" skips the check
}

// parseStoredRef checks --plan-ref and --plan-sha256 (ci/planstore) before anything runs; a
// nil result means no stored plan was given.
func parseStoredRef(planRef, planSha256, commit string) (*storedRef, error) {
	ref, given, err := planstore.ParseFlags(planRef, planSha256)
	if err != nil || !given {
		return nil, err
	}
	return &storedRef{ref: ref, sha256: planSha256, commit: commit}, nil
}

// storeForApply stores a judged plan (ci/workdir) and returns the summary section a
// reviewer approves, with the apply line; the plan's outputs gain plan_ref and plan_sha256
// for a workflow (PlanReport.Stored). A plan judged with --force-recreate is applied with
// it: the gate judges it again.
func (r *run) storeForApply(ctx context.Context, p judged, commit string, forceRecreate bool) (string, error) {
	ref, meta, err := workdir.Store(ctx, r.stateEnv(), p, commit, time.Now())
	if err != nil {
		return "", err
	}
	apply := r.m.envCall("apply", string(r.env)).Bool("force-recreate", forceRecreate).
		Flag("plan-ref", ref.Key()).Flag("plan-sha256", meta.SHA256).Flag("commit", commit)
	return p.Report.Stored(ref, meta, apply.String()), nil
}

// storedPlan is a stored plan, proven to be the approved one for this run and judged again
// (ci/workdir.Stored), in a freshly initialized container.
func (r *run) storedPlan(ctx context.Context, s *storedRef, forceRecreate bool) (judged, error) {
	d, err := r.initialized(ctx)
	if err != nil {
		return judged{}, err
	}
	want := planstore.Want{Env: r.env, SHA256: s.sha256, Commit: s.commit, MaxAge: r.profile.PlanMaxAge, Now: time.Now()}
	return workdir.Stored(ctx, d, r.stateEnv(), s.ref, want, forceRecreate)
}
