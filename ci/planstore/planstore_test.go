package planstore

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

func TestParseRef(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Ref
		wantErr string
	}{
		{in: "plans/prod/20261205T054000Z-9f86d081.tfplan", want: Ref{Env: "prod", Run: "20261205T054000Z-9f86d081"}},
		{in: "plans/staging/r_1.tfplan", want: Ref{Env: "staging", Run: "r_1"}},
		{in: "prod/20261205T054000Z-9f86d081.tfplan", wantErr: "does not start with plans/"},
		{in: "plans/prod/x.tfstate", wantErr: "does not end with .tfplan"},
		{in: "plans/x.tfplan", wantErr: "no environment directory"},
		{in: "plans/production/x.tfplan", wantErr: "unknown environment"},
		{in: "plans/prod/../test/x.tfplan", wantErr: "letters, digits"},
		{in: "plans/prod/a/b.tfplan", wantErr: "letters, digits"},
		{in: "plans/prod/.tfplan", wantErr: "letters, digits"},
		{in: "plans/prod/-x.tfplan", wantErr: "letters, digits"},
		{in: "plans/prod/x\n::error::pwned.tfplan", wantErr: `"plans/prod/x\n::error::pwned.tfplan"`},
		{in: "", wantErr: "does not start with plans/"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "--plan-ref") {
					t.Fatalf("ParseRef = %v, %v; want an error naming --plan-ref with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || got.Key() != tt.in {
				t.Fatalf("ParseRef = %+v, %v; want %+v with key %s", got, err, tt.want, tt.in)
			}
		})
	}
	if r := NewRef(environment.Prod, time.Date(2026, 12, 5, 5, 40, 0, 0, time.UTC), "9f86d081"); r.Key() != "plans/prod/20261205T054000Z-9f86d081.tfplan" {
		t.Errorf("NewRef key %s", r.Key())
	}
}

// A reference that parses is exactly the key it names, and a parsed run never leaves its
// environment's directory.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"plans/prod/20261205T054000Z-9f86d081.tfplan", "plans/test/a.tfplan", "plans/prod/../x.tfplan", "plans//x.tfplan", "plans/prod/x.tfplan/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseRef(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if ref.Key() != s {
			t.Fatalf("ParseRef(%q).Key() = %q", s, ref.Key())
		}
		if strings.ContainsAny(ref.Run, "/.\\ \n") || strings.Count(s, "/") != 2 {
			t.Fatalf("ParseRef(%q) run %q escapes its directory", s, ref.Run)
		}
	})
}

func TestCheckSHA256(t *testing.T) {
	if err := CheckSHA256(Sum([]byte("x"))); err != nil {
		t.Errorf("a real SHA-256 refused: %v", err)
	}
	for _, bad := range []string{"", "abc", strings.ToUpper(Sum([]byte("x"))), Sum([]byte("x")) + "0", "sha256:" + Sum([]byte("x"))} {
		if err := CheckSHA256(bad); err == nil || !strings.Contains(err.Error(), "--plan-sha256") {
			t.Errorf("CheckSHA256(%q) = %v", bad, err)
		}
	}
}

// realPlans are two plan files Terraform wrote: one on no state, one on the state the first
// one's apply left, and that state as `terraform state pull` prints it.
func realPlans(t *testing.T) (first, second, pulled []byte) {
	t.Helper()
	w := tftest.New(t, map[string]string{"main.tf": `resource "terraform_data" "a" { input = "one" }`})
	w.Init()
	w.Run("plan", "-input=false", "-out=first.tfplan")
	w.Run("apply", "-input=false", "first.tfplan")
	w.Write("main.tf", `resource "terraform_data" "a" { input = "two" }`)
	w.Run("plan", "-input=false", "-out=second.tfplan")
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(w.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	return read("first.tfplan"), read("second.tfplan"), []byte(w.Run("state", "pull"))
}

// Staleness on real plan files: a plan made on the current state is fresh, one made before
// the last apply is stale, and a plan made on no state is stale once a state exists.
func TestPriorAndCheckFresh(t *testing.T) {
	first, second, pulled := realPlans(t)
	current, err := Current(pulled)
	if err != nil || current.Lineage == "" || current.Serial == 0 {
		t.Fatalf("Current = %+v, %v", current, err)
	}
	ref := Ref{Env: "prod", Run: "r1"}
	p1, err := Prior(first)
	if err != nil || p1 != (StateID{}) {
		t.Fatalf("Prior(first) = %+v, %v; want no state", p1, err)
	}
	p2, err := Prior(second)
	if err != nil || p2 != current {
		t.Fatalf("Prior(second) = %+v, %v; want the current state %+v", p2, err, current)
	}
	if err := CheckFresh("prod", ref, p2, current, time.Time{}); err != nil {
		t.Errorf("a plan on the current state is stale: %v", err)
	}
	err = CheckFresh("prod", ref, p1, current, time.Time{})
	if err == nil || !strings.Contains(err.Error(), "is stale: it was made on no state, and the state of prod is now serial") {
		t.Errorf("CheckFresh of a plan made before the apply = %v", err)
	}
	if empty, err := Current(nil); err != nil || CheckFresh("prod", ref, p1, empty, time.Time{}) != nil {
		t.Errorf("a plan on no state, with still no state: %v", err)
	}
	if _, err := Prior([]byte("not a zip")); err == nil || !strings.Contains(err.Error(), "not a Terraform plan file") {
		t.Errorf("Prior of junk = %v", err)
	}
}

// The store on moto S3 with a real plan file: stored encrypted with its record, read back
// and checked, refused for each way it can be wrong, and gone once deleted.
func TestStoreOnMoto(t *testing.T) {
	_, second, _ := realPlans(t)
	client, bucket := motoBucket(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	ref := NewRef(environment.Prod, now, "abc123")
	const commit = "0123456789abcdef0123456789abcdef01234567"
	meta, err := Put(ctx, client, bucket, ref, "terraform", second, commit, now)
	if err != nil {
		t.Fatal(err)
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(ref.Key())})
	if err != nil {
		t.Fatal(err)
	}
	if head.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Errorf("stored with encryption %q, want AES256", head.ServerSideEncryption)
	}
	plan, got, modified, err := Get(ctx, client, bucket, ref)
	if err != nil || !bytes.Equal(plan, second) || got != meta || modified.IsZero() {
		t.Fatalf("Get = %d bytes, %+v, %v, %v; want the plan and %+v", len(plan), got, modified, err, meta)
	}
	want := Want{Env: environment.Prod, SHA256: Sum(second), Commit: commit, MaxAge: time.Hour, Now: now.Add(time.Minute)}
	if err := Check(ref, want, plan, got, modified); err != nil {
		t.Fatalf("the approved plan is refused: %v", err)
	}

	tests := []struct {
		name    string
		ref     Ref
		change  func(w *Want, plan *[]byte, m *Meta)
		wantErr string
	}{
		{"a staging plan given to prod", Ref{Env: "staging", Run: ref.Run}, nil, "was made for staging, not prod"},
		{"a record that says staging", ref, func(_ *Want, _ *[]byte, m *Meta) { m.Env = "staging" }, `was recorded for "staging", not prod`},
		{"a wrong hash", ref, func(w *Want, _ *[]byte, _ *Meta) { w.SHA256 = Sum([]byte("other")) }, "not the approved"},
		{"a tampered object", ref, func(_ *Want, p *[]byte, _ *Meta) { *p = append(bytes.Clone(*p), 0) }, "not the plan that was reviewed"},
		{"an expired plan", ref, func(w *Want, _ *[]byte, _ *Meta) { w.Now = now.Add(2 * time.Hour) }, "older than 1h0m0s (plan_max_age of prod)"},
		{"an expired plan put back in the bucket", ref, func(w *Want, _ *[]byte, m *Meta) { m.Created = now.Add(-2 * time.Hour) }, "older than 1h0m0s"},
		{"another commit", ref, func(w *Want, _ *[]byte, _ *Meta) { w.Commit = strings.Repeat("f", 40) }, "was made from \"0123456789abcdef"},
		{"no recorded commit", ref, func(_ *Want, _ *[]byte, m *Meta) { m.Commit = "" }, "made from \"no recorded commit\""},
		{"a recorded commit and none given", ref, func(w *Want, _ *[]byte, _ *Meta) { w.Commit = "" },
			"was made from commit \"0123456789abcdef0123456789abcdef01234567\": give --commit, the commit being deployed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, p, m := want, bytes.Clone(plan), got
			if tt.change != nil {
				tt.change(&w, &p, &m)
			}
			err := Check(tt.ref, w, p, m, modified)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Check = %v, want %q", err, tt.wantErr)
			}
		})
	}

	// An object replaced in the bucket after the review fails the hash.
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(ref.Key()),
		Body: bytes.NewReader(append(bytes.Clone(second), '\n')), Metadata: map[string]string{metaEnv: "prod", metaCommit: commit, metaSHA256: Sum(second)}}); err != nil {
		t.Fatal(err)
	}
	plan, got, modified, err = Get(ctx, client, bucket, ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(ref, want, plan, got, modified); err == nil || !strings.Contains(err.Error(), "not the plan that was reviewed") {
		t.Errorf("a replaced object passed: %v", err)
	}

	if err := Delete(ctx, client, bucket, ref); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := Get(ctx, client, bucket, ref); err == nil || !strings.Contains(err.Error(), "no stored plan at s3://plans-state/"+ref.Key()+": it was applied already") {
		t.Errorf("Get after Delete = %v", err)
	}
}

func TestSection(t *testing.T) {
	ref := Ref{Env: "prod", Run: "20261205T054000Z-9f86d081"}
	meta := Meta{Env: "prod", Commit: "0123456789abcdef0123456789abcdef01234567", Created: time.Date(2026, 12, 5, 5, 40, 0, 0, time.UTC), SHA256: Sum([]byte("p"))}
	md := Section(ref, meta, "dagger call apply --env=prod --plan-ref="+ref.Key()+" --plan-sha256="+meta.SHA256)
	for _, want := range []string{"## Stored plan", "`plans/prod/20261205T054000Z-9f86d081.tfplan`", "`" + meta.SHA256 + "`",
		"commit `0123456789abcdef", "2026-12-05 05:40 UTC", "```sh\ndagger call apply --env=prod --plan-ref="} {
		if !strings.Contains(md, want) {
			t.Errorf("section lacks %q:\n%s", want, md)
		}
	}
	if a := Applied(ref, meta.SHA256, ""); !strings.Contains(a, "deleted from the bucket") {
		t.Errorf("Applied = %q", a)
	}
	if a := Applied(ref, meta.SHA256, "access denied\n# forged"); strings.Contains(a, "\n#") {
		t.Errorf("a note was not escaped: %q", a)
	}
}

// A stack directory of any name is recorded and read back as it is: S3 user metadata is
// US-ASCII, so a name outside it ("stacks/réseau", a space) is stored escaped.
func TestStoreStackNames(t *testing.T) {
	_, second, _ := realPlans(t)
	client, bucket := motoBucket(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	long := "stacks/" + strings.Repeat("é", 60)
	for i, stack := range []string{"terraform", "stacks/réseau", "stacks/net work", "stacks/100%", "données", "=?utf-8?q?terraform?=", long} {
		t.Run(stack, func(t *testing.T) {
			ref := NewRef(environment.Prod, now, fmt.Sprintf("run%d", i))
			if _, err := Put(ctx, client, bucket, ref, stack, second, "", now); err != nil {
				t.Fatal(err)
			}
			_, got, _, err := Get(ctx, client, bucket, ref)
			if err != nil || got.Stack != stack {
				t.Errorf("Get: stack %q (%v), want %q", got.Stack, err, stack)
			}
			head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(ref.Key())})
			if err != nil {
				t.Fatal(err)
			}
			if v := head.Metadata[metaStack]; strings.ContainsFunc(v, func(r rune) bool { return r > unicode.MaxASCII }) {
				t.Errorf("stored metadata %q is not US-ASCII", v)
			}
		})
	}
	// S3 returns a value stored outside US-ASCII RFC 2047 encoded (B encoding).
	ref := NewRef(environment.Prod, now, "encoded")
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(ref.Key()), Body: bytes.NewReader(second),
		Metadata: map[string]string{metaEnv: "prod", metaStack: mime.BEncoding.Encode("UTF-8", "stacks/réseau")}}); err != nil {
		t.Fatal(err)
	}
	if _, got, _, err := Get(ctx, client, bucket, ref); err != nil || got.Stack != "stacks/réseau" {
		t.Errorf("Get of S3's encoded value: stack %q (%v)", got.Stack, err)
	}
}
