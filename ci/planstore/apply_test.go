package planstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
)

func TestParseFlags(t *testing.T) {
	const ref = "plans/prod/20261205T054000Z-9f86d081.tfplan"
	sha := Sum([]byte("plan"))
	for _, tt := range []struct {
		name, ref, sha string
		given          bool
		wantErr        string
	}{
		{name: "neither: the apply plans itself"},
		{name: "both", ref: ref, sha: sha, given: true},
		{name: "only the ref", ref: ref, wantErr: "give --plan-ref and --plan-sha256 together: both are in the summary of `plan --store-plan`"},
		{name: "only the hash", sha: sha, wantErr: "give --plan-ref and --plan-sha256 together"},
		{name: "a bad ref", ref: "plans/prod/../x.tfplan", sha: sha, wantErr: "--plan-ref"},
		{name: "a bad hash", ref: ref, sha: "abc", wantErr: "--plan-sha256 \"abc\" is not a SHA-256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, given, err := ParseFlags(tt.ref, tt.sha)
			if tt.wantErr != "" {
				if err == nil || given || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFlags = %+v, %v, %v; want %q", got, given, err, tt.wantErr)
				}
				return
			}
			if err != nil || given != tt.given || given && got.Key() != tt.ref {
				t.Fatalf("ParseFlags = %+v, %v, %v; want given %v, %s", got, given, err, tt.given, tt.ref)
			}
		})
	}
}

// motoBucket is an empty bucket on moto_server and an S3 client for it.
func motoBucket(t *testing.T) (*s3.Client, string) {
	t.Helper()
	const bucket = "plans-state"
	return mototest.Start(t).Bucket(t, bucket), bucket
}

// Two plans stored in the same second get names of their own, and each reads back as stored.
func TestStore(t *testing.T) {
	objs, bucket := motoBucket(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 5, 40, 0, 0, time.UTC)
	plans := [][]byte{[]byte("first plan"), []byte("second plan")}
	refs := map[string]bool{}
	for _, plan := range plans {
		ref, meta, err := Store(ctx, objs, bucket, environment.Prod, "terraform", plan, "abc", now)
		if err != nil {
			t.Fatal(err)
		}
		if refs[ref.Key()] || !strings.HasPrefix(ref.Key(), "plans/prod/20261205T054000Z-") {
			t.Errorf("ref %s: a second plan of the same second under the same name, or not named for prod at its time", ref.Key())
		}
		refs[ref.Key()] = true
		if _, err := ParseRef(ref.Key()); err != nil {
			t.Errorf("the stored plan's name does not parse back: %v", err)
		}
		got, gotMeta, _, err := Get(ctx, objs, bucket, ref)
		if err != nil || string(got) != string(plan) || gotMeta != meta || meta.SHA256 != Sum(plan) || meta.Commit != "abc" {
			t.Errorf("Get(%s) = %q, %+v, %v; want %q, %+v", ref.Key(), got, gotMeta, err, plan, meta)
		}
	}
}

// FetchApproved on moto S3 with real plan files and the real state: the approved plan made
// on the state pulled now comes back; every other is refused before anything is applied.
func TestFetchApproved(t *testing.T) {
	first, second, pulled := realPlans(t)
	objs, bucket := motoBucket(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	const commit = "0123456789abcdef0123456789abcdef01234567"
	store := func(plan []byte) Ref {
		ref, _, err := Store(ctx, objs, bucket, environment.Prod, "terraform", plan, commit, now)
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	onCurrent, onNoState := store(second), store(first)
	want := func(plan []byte) Want {
		return Want{Env: environment.Prod, SHA256: Sum(plan), Commit: commit, MaxAge: time.Hour, Now: now.Add(time.Minute)}
	}
	// Plans whose apply began: one that stopped before the state moved, and one after.
	began := now.Add(30 * time.Second)
	mark := func(plan []byte) Ref {
		ref := store(plan)
		_, meta, _, err := Get(ctx, objs, bucket, ref)
		if err == nil {
			err = MarkApplying(ctx, objs, bucket, ref, meta, began)
		}
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	beganUnmoved, beganMoved := mark(second), mark(first)
	tests := []struct {
		name    string
		ref     Ref
		want    Want
		pulled  []byte
		wantErr string
	}{
		{name: "the approved plan on the current state", ref: onCurrent, want: want(second), pulled: pulled},
		{name: "a plan on no state, still no state", ref: onNoState, want: want(first), pulled: nil},
		{name: "a plan made before the last apply", ref: onNoState, want: want(first), pulled: pulled,
			wantErr: "is stale: it was made on no state, and the state of prod is now serial"},
		{name: "a plan whose state is gone", ref: onCurrent, want: want(second), pulled: nil,
			wantErr: "is stale: it was made on serial"},
		{name: "another hash", ref: onCurrent, want: want(first), pulled: pulled, wantErr: "not the approved"},
		{name: "another commit", ref: onCurrent, want: func() Want { w := want(second); w.Commit = strings.Repeat("f", 40); return w }(), pulled: pulled,
			wantErr: "was made from \"0123456789abcdef"},
		{name: "too old", ref: onCurrent, want: func() Want { w := want(second); w.Now = now.Add(2 * time.Hour); return w }(), pulled: pulled,
			wantErr: "older than 1h0m0s"},
		{name: "another stack's plan", ref: onCurrent, want: func() Want { w := want(second); w.Stack = "stacks/network"; return w }(), pulled: pulled,
			wantErr: `was made for the stack "terraform", not stacks/network: apply it with --terraform-dir="terraform"`},
		{name: "the plan's own stack", ref: onCurrent, want: func() Want { w := want(second); w.Stack = "terraform"; return w }(), pulled: pulled},
		{name: "a staging plan given to prod", ref: Ref{Env: environment.Staging, Run: onCurrent.Run}, want: want(second), pulled: pulled,
			wantErr: "was made for staging, not prod"},
		{name: "no such plan", ref: Ref{Env: environment.Prod, Run: "gone"}, want: want(second), pulled: pulled,
			wantErr: "no stored plan at s3://plans-state/plans/prod/gone.tfplan: it was applied already"},
		{name: "a pull that is no state", ref: onCurrent, want: want(second), pulled: []byte("Error: no state"),
			wantErr: "read the current state"},
		{name: "an apply of it began and the state did not move", ref: beganUnmoved, want: want(second), pulled: pulled},
		{name: "an apply of it began and the state moved", ref: beganMoved, want: want(first), pulled: pulled,
			wantErr: "was applied already: an apply of it began at " + began.Format(time.RFC3339) + ", and the state of prod is now serial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, meta, err := FetchApproved(ctx, objs, bucket, tt.ref, tt.want, tt.pulled)
			if tt.wantErr != "" {
				if err == nil || plan != nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FetchApproved = %d bytes, %v; want %q", len(plan), err, tt.wantErr)
				}
				return
			}
			if err != nil || Sum(plan) != tt.want.SHA256 || meta.SHA256 != tt.want.SHA256 || meta.Commit != commit || meta.Stack != "terraform" {
				t.Fatalf("FetchApproved = %d bytes, %+v, %v; want the approved plan and its record", len(plan), meta, err)
			}
			if wantMark := tt.ref == beganUnmoved; meta.Applying.IsZero() == wantMark || (wantMark && !meta.Applying.Equal(began)) {
				t.Errorf("Applying = %v; want %v", meta.Applying, wantMark)
			}
		})
	}
}

func TestDeleteNote(t *testing.T) {
	if got := DeleteNote(nil); got != "" {
		t.Errorf("DeleteNote(nil) = %q", got)
	}
	got := DeleteNote(errors.New("delete the applied plan s3://b/plans/prod/x.tfplan: AccessDenied"))
	if !strings.HasPrefix(got, "the applied plan stays in the bucket (delete the applied plan s3://b/plans/prod/x.tfplan: AccessDenied)") ||
		!strings.HasSuffix(got, "Terraform refuses to apply it again, as the state has moved") {
		t.Errorf("DeleteNote = %q", got)
	}
}
