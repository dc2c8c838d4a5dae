// Package planstore keeps a saved plan between the plan a reviewer reads and the apply they
// approve. A plan file holds sensitive values in clear text, so it is not a workflow
// artifact: it goes to the environment's state bucket (plans/<env>/<run>.tfplan, encrypted
// at rest), and before it is applied it is checked bit for bit against the SHA-256 the
// reviewer saw, for its environment, its age, its commit, and whether the state moved since.
package planstore

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// Objects is the part of an S3 client the store uses; *s3.Client is one.
type Objects interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, opts ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
}

// Ref names a stored plan: plans/<env>/<run>.tfplan in the environment's state bucket.
type Ref struct {
	Env environment.Name
	Run string // e.g. 20261205T054000Z-9f86d081
}

const (
	prefix = "plans/"
	suffix = ".tfplan"
)

// runRE is what a run name may hold: no slash, no dot-dot, nothing a shell or a key
// would read differently.
var runRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_-]{0,99}$`)

// NewRef names a plan of env made at now; nonce (e.g. random hex) tells apart two plans of
// the same second.
func NewRef(env environment.Name, now time.Time, nonce string) Ref {
	return Ref{Env: env, Run: now.UTC().Format("20060102T150405Z") + "-" + nonce}
}

// Key is the object key in the state bucket.
func (r Ref) Key() string { return prefix + string(r.Env) + "/" + r.Run + suffix }

// String is the reference as apply takes it (--plan-ref): the key.
func (r Ref) String() string { return r.Key() }

// ParseRef reads a --plan-ref value: plans/<env>/<run>.tfplan.
func ParseRef(s string) (Ref, error) {
	bad := func(why string) error {
		return fmt.Errorf("--plan-ref %s is not a stored plan reference (%s): give the one plan --store-plan printed, e.g. plans/prod/20261205T054000Z-9f86d081.tfplan",
			untrusted.Quote(s), why)
	}
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return Ref{}, bad("it does not start with " + prefix)
	}
	rest, ok = strings.CutSuffix(rest, suffix)
	if !ok {
		return Ref{}, bad("it does not end with " + suffix)
	}
	env, run, ok := strings.Cut(rest, "/")
	if !ok {
		return Ref{}, bad("no environment directory")
	}
	name, err := environment.ParseName(env)
	if err != nil {
		return Ref{}, bad("unknown environment")
	}
	if !runRE.MatchString(run) {
		return Ref{}, bad("the run name takes letters, digits, - and _ only")
	}
	return Ref{Env: name, Run: run}, nil
}

// CheckEnv refuses a reference to another environment's plan before it is even fetched.
func (r Ref) CheckEnv(env environment.Name) error {
	if r.Env != env {
		return fmt.Errorf("the stored plan %s was made for %s, not %s: plan %s and apply that", r.Key(), r.Env, env, env)
	}
	return nil
}

// sha256RE is a SHA-256 as the summary prints it.
var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CheckSHA256 rejects a --plan-sha256 that is not a SHA-256 before anything runs.
func CheckSHA256(s string) error {
	if !sha256RE.MatchString(s) {
		return fmt.Errorf("--plan-sha256 %s is not a SHA-256: give the 64 lowercase hex digits the plan's summary shows", untrusted.Quote(s))
	}
	return nil
}

// commitRE is a full git commit ID: SHA-1, or SHA-256 for repositories that use it.
var commitRE = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// CheckCommit rejects a --commit that is not a full commit ID; "" is none given. A short
// or mistyped one would be recorded with a stored plan and then refuse its own apply.
func CheckCommit(c string) error {
	if c != "" && !commitRE.MatchString(c) {
		return fmt.Errorf("--commit %s is not a full commit ID: give the 40 lowercase hex digits of git rev-parse HEAD (or $GITHUB_SHA)", untrusted.Quote(c))
	}
	return nil
}

// Sum is the plan file's SHA-256 in hex.
func Sum(plan []byte) string {
	h := sha256.Sum256(plan)
	return hex.EncodeToString(h[:])
}

// Meta is what the store records beside a plan.
type Meta struct {
	Env environment.Name
	// Stack is the Terraform directory the plan was made in; "" for a plan stored before
	// stacks were recorded.
	Stack   string
	Commit  string // the commit the plan was made from; "" when not given
	Created time.Time
	SHA256  string
	// Applying is when an apply of the plan began (MarkApplying); zero while none has. A
	// plan still stored with it set is one whose apply did not finish.
	Applying time.Time
}

const (
	metaEnv      = "infrapipe-env"
	metaStack    = "infrapipe-stack"
	metaCommit   = "infrapipe-commit"
	metaCreated  = "infrapipe-created"
	metaSHA256   = "infrapipe-sha256"
	metaApplying = "infrapipe-apply-started"
)

// encodeWord is a metadata value S3 keeps as it is: v itself when it is printable US-ASCII
// that cannot read as an encoded word, else v as one RFC 2047 encoded word (base64), which
// decodeWords reads back exactly.
func encodeWord(v string) string {
	plain := !strings.Contains(v, "=?") && !strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r > '~' })
	if plain {
		return v
	}
	return "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(v)) + "?="
}

// decodeWords reads a metadata value that may be RFC 2047 encoded: S3 keeps user metadata in
// US-ASCII, so metadata() encodes a stack directory outside it, and S3 returns one stored
// otherwise encoded so too. A value that is not valid stays as it is.
func decodeWords(v string) string {
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// metadata is m as the object's user metadata; a stack directory outside US-ASCII is RFC
// 2047 encoded, as S3 wants (encodeWord).
func (m Meta) metadata() map[string]string {
	md := map[string]string{
		metaEnv:     string(m.Env),
		metaStack:   encodeWord(m.Stack),
		metaCommit:  m.Commit,
		metaCreated: m.Created.Format(time.RFC3339),
		metaSHA256:  m.SHA256,
	}
	if !m.Applying.IsZero() {
		md[metaApplying] = m.Applying.Format(time.RFC3339)
	}
	return md
}

// Put stores a plan of stack under ref in bucket, encrypted at rest, and returns what it
// recorded.
func Put(ctx context.Context, objs Objects, bucket string, ref Ref, stack string, plan []byte, commit string, now time.Time) (Meta, error) {
	meta := Meta{Env: ref.Env, Stack: stack, Commit: commit, Created: now.UTC(), SHA256: Sum(plan)}
	_, err := objs.PutObject(ctx, &s3.PutObjectInput{
		Bucket:               aws.String(bucket),
		Key:                  aws.String(ref.Key()),
		Body:                 bytes.NewReader(plan),
		ContentType:          aws.String("application/zip"),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
		Metadata:             meta.metadata(),
	})
	if err != nil {
		return Meta{}, fmt.Errorf("store the %s plan at s3://%s/%s: %w", ref.Env, bucket, ref.Key(), err)
	}
	return meta, nil
}

// maxPlan bounds a download: a plan file of a large stack is a few megabytes.
const maxPlan = 256 << 20

// Get reads a stored plan and what was recorded with it, and the object's LastModified, which
// the bucket sets on every write.
func Get(ctx context.Context, objs Objects, bucket string, ref Ref) ([]byte, Meta, time.Time, error) {
	out, err := objs.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(ref.Key())})
	if err != nil {
		var missing *types.NoSuchKey
		if errors.As(err, &missing) || strings.Contains(err.Error(), "StatusCode: 404") {
			return nil, Meta{}, time.Time{}, fmt.Errorf("no stored plan at s3://%s/%s: it was applied already, expired, or never stored; plan %s again with --store-plan",
				bucket, ref.Key(), ref.Env)
		}
		return nil, Meta{}, time.Time{}, fmt.Errorf("read the stored plan s3://%s/%s: %w", bucket, ref.Key(), err)
	}
	defer out.Body.Close()
	plan, err := io.ReadAll(io.LimitReader(out.Body, maxPlan+1))
	if err != nil {
		return nil, Meta{}, time.Time{}, fmt.Errorf("read the stored plan s3://%s/%s: %w", bucket, ref.Key(), err)
	}
	if len(plan) > maxPlan {
		return nil, Meta{}, time.Time{}, fmt.Errorf("the stored plan s3://%s/%s is over %d MiB: not a plan this pipeline stored", bucket, ref.Key(), maxPlan>>20)
	}
	meta := Meta{
		Env:    environment.Name(out.Metadata[metaEnv]),
		Stack:  decodeWords(out.Metadata[metaStack]),
		Commit: out.Metadata[metaCommit],
		SHA256: out.Metadata[metaSHA256],
	}
	meta.Created, _ = time.Parse(time.RFC3339, out.Metadata[metaCreated])
	meta.Applying, _ = time.Parse(time.RFC3339, out.Metadata[metaApplying])
	return plan, meta, aws.ToTime(out.LastModified), nil
}

// MarkApplying records on the stored plan, just before Terraform applies it, that its apply
// began at now. An apply that stops part-way leaves the plan spent but stored: the mark lets
// the next apply of it say so (CheckFresh), rather than blame some other apply. The object
// is copied onto itself with the same bytes, so its SHA-256 still proves it.
func MarkApplying(ctx context.Context, objs Objects, bucket string, ref Ref, meta Meta, now time.Time) error {
	meta.Applying = now.UTC()
	_, err := objs.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:               aws.String(bucket),
		Key:                  aws.String(ref.Key()),
		CopySource:           aws.String(bucket + "/" + ref.Key()),
		MetadataDirective:    types.MetadataDirectiveReplace,
		ContentType:          aws.String("application/zip"),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
		Metadata:             meta.metadata(),
	})
	if err != nil {
		return fmt.Errorf("mark the stored plan s3://%s/%s as being applied: %w", bucket, ref.Key(), err)
	}
	return nil
}

// Delete removes a stored plan once it is applied, so it cannot be applied twice.
func Delete(ctx context.Context, objs Objects, bucket string, ref Ref) error {
	if _, err := objs.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(ref.Key())}); err != nil {
		return fmt.Errorf("delete the applied plan s3://%s/%s: %w", bucket, ref.Key(), err)
	}
	return nil
}

// Want is what an apply expects of the stored plan it was given.
type Want struct {
	Env environment.Name
	// Stack is the Terraform directory of the apply; "" skips the check.
	Stack  string
	SHA256 string // the hash the reviewer approved
	// Commit is the commit being deployed; "" is refused for a plan that recorded one, and
	// passes for a plan that did not.
	Commit string
	MaxAge time.Duration
	Now    time.Time
}

// Check refuses a stored plan that is not the one approved for this apply: another
// environment's, a different file than the hash says, too old, or from another commit (or
// from a commit when none was given).
// Each refusal says what to do; nothing has been applied when it returns an error.
func Check(ref Ref, want Want, plan []byte, meta Meta, modified time.Time) error {
	if err := ref.CheckEnv(want.Env); err != nil {
		return err
	}
	if meta.Env != want.Env {
		return fmt.Errorf("the stored plan %s was recorded for %s, not %s: plan %s and apply that",
			ref.Key(), untrusted.Quote(string(meta.Env)), want.Env, want.Env)
	}
	if meta.Stack != "" && want.Stack != "" && meta.Stack != want.Stack {
		return fmt.Errorf("the stored plan %s was made for the stack %s, not %s: apply it with --terraform-dir=%s, or plan %s in %s and apply that",
			ref.Key(), untrusted.Quote(meta.Stack), want.Stack, untrusted.Quote(meta.Stack), want.Env, want.Stack)
	}
	// The stored object's own hash is not shown: were it replaced, the message would hand
	// the operator the hash to approve it with.
	if Sum(plan) != want.SHA256 {
		return fmt.Errorf("the stored plan %s is not the approved %s: its SHA-256 differs, so it is not the plan that was reviewed (changed or replaced since), or --plan-sha256 was mistyped; nothing was applied: compare --plan-sha256 with the reviewed summary, or plan %s again and have it reviewed",
			ref.Key(), want.SHA256, want.Env)
	}
	// The plan is as old as the earliest sign of it: putting the same bytes back in the
	// bucket renews LastModified, not the plan.
	created := modified
	if !meta.Created.IsZero() && meta.Created.Before(created) {
		created = meta.Created
	}
	if age := want.Now.Sub(created); want.MaxAge > 0 && age > want.MaxAge {
		return fmt.Errorf("the stored plan %s is %s old, older than %s (plan_max_age of %s): plan %s again",
			ref.Key(), age.Round(time.Minute), want.MaxAge, want.Env, want.Env)
	}
	if want.Commit == "" && meta.Commit != "" {
		return fmt.Errorf("the stored plan %s was made from commit %s: give --commit, the commit being deployed, so that apply can check it is that one; nothing was applied",
			ref.Key(), untrusted.Quote(meta.Commit))
	}
	if want.Commit != "" && meta.Commit != want.Commit {
		made := meta.Commit
		if made == "" {
			made = "no recorded commit"
		}
		return fmt.Errorf("the stored plan %s was made from %s, not commit %s: plan this commit and apply that",
			ref.Key(), untrusted.Quote(made), untrusted.Quote(want.Commit))
	}
	return nil
}

// StateID is the identity of a state version: Terraform applies a saved plan only onto the
// state it was made from.
type StateID struct {
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
}

// Prior reads the state a plan file was made from: the tfstate member of the plan's zip,
// which Terraform itself compares with the current state before it applies.
func Prior(plan []byte) (StateID, error) {
	zr, err := zip.NewReader(bytes.NewReader(plan), int64(len(plan)))
	if err != nil {
		return StateID{}, fmt.Errorf("the stored plan is not a Terraform plan file: %w", err)
	}
	for _, f := range zr.File {
		if f.Name != "tfstate" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return StateID{}, fmt.Errorf("the stored plan's prior state: %w", err)
		}
		defer rc.Close()
		var id StateID
		if err := json.NewDecoder(io.LimitReader(rc, maxPlan)).Decode(&id); err != nil {
			return StateID{}, fmt.Errorf("the stored plan's prior state: %w", err)
		}
		return id, nil
	}
	return StateID{}, errors.New("the stored plan is not a Terraform plan file: it has no prior state (tfstate)")
}

// Current reads the identity of the state `terraform state pull` printed; an empty pull is
// no state yet.
func Current(pulled []byte) (StateID, error) {
	if len(bytes.TrimSpace(pulled)) == 0 {
		return StateID{}, nil
	}
	var id StateID
	if err := json.Unmarshal(pulled, &id); err != nil {
		return StateID{}, fmt.Errorf("read the current state: %w", err)
	}
	return id, nil
}

// CheckFresh refuses a plan made on another state version than the current one: applied,
// it would be refused by Terraform half-way through the job, or describe changes that are
// no longer the ones to make. applying is the plan's own apply that began and did not
// finish (Meta.Applying), zero when none did: then the state moved under that apply.
func CheckFresh(env environment.Name, ref Ref, prior, current StateID, applying time.Time) error {
	if prior == current {
		return nil
	}
	describe := func(id StateID) string {
		if id.Lineage == "" {
			return "no state"
		}
		return fmt.Sprintf("serial %d of lineage %s", id.Serial, id.Lineage)
	}
	if !applying.IsZero() {
		return fmt.Errorf("the stored plan %s was applied already: an apply of it began at %s, and the state of %s is now %s; what that apply completed is in the state, and a saved plan applies only once: plan %s again and have it reviewed",
			ref.Key(), applying.UTC().Format(time.RFC3339), env, describe(current), env)
	}
	return fmt.Errorf("the stored plan %s is stale: it was made on %s, and the state of %s is now %s (something was applied since); plan %s again and have it reviewed",
		ref.Key(), describe(prior), env, describe(current), env)
}
