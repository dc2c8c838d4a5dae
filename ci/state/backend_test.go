package state

import (
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
)

func goodBackend(env environment.Name) environment.Backend {
	return environment.Backend{
		Bucket: "acme-tfstate", Key: "shop/" + string(env) + "/terraform.tfstate", Region: "eu-west-1",
		UseLockfile: true, BackupPrefix: "backups/" + string(env) + "/",
	}
}

func TestValidateBackend(t *testing.T) {
	with := func(env environment.Name, edit func(*environment.Backend)) environment.Backend {
		b := goodBackend(env)
		edit(&b)
		return b
	}
	tests := []struct {
		name    string
		env     environment.Name
		backend environment.Backend
		wantErr []string // substrings; none means valid
	}{
		{"valid prod", environment.Prod, goodBackend(environment.Prod), nil},
		{"valid default key layout", environment.Test, with(environment.Test, func(b *environment.Backend) { b.Key = "test/terraform.tfstate" }), nil},
		{"valid dynamodb locking", environment.Staging, with(environment.Staging, func(b *environment.Backend) { b.UseLockfile, b.DynamoDBTable = false, "locks" }), nil},
		{"valid preview per pull request", environment.Preview, with(environment.Preview, func(b *environment.Backend) { b.Key = "shop/preview/pr-42/terraform.tfstate" }), nil},
		{"valid no backup prefix", environment.Prod, with(environment.Prod, func(b *environment.Backend) { b.BackupPrefix = "" }), nil},
		{"missing bucket", environment.Prod, with(environment.Prod, func(b *environment.Backend) { b.Bucket = "" }),
			[]string{"backend of prod: bucket is missing", "defaults.backend.bucket", "environments.prod.backend.bucket", `starts with "version: 1"`}},
		{"missing key", environment.Staging, with(environment.Staging, func(b *environment.Backend) { b.Key = "" }),
			[]string{"backend of staging: key is missing"}},
		{"missing region", environment.Test, with(environment.Test, func(b *environment.Backend) { b.Region = "" }),
			[]string{"backend of test: region is missing"}},
		{"all missing", environment.Prod, environment.Backend{UseLockfile: true},
			[]string{"bucket is missing", "key is missing", "region is missing"}},
		{"prod pointed at test key", environment.Prod, with(environment.Prod, func(b *environment.Backend) { b.Key = "shop/test/terraform.tfstate" }),
			[]string{`key "shop/test/terraform.tfstate" names environment "test"`, "refusing to run prod"}},
		{"staging key names prod in file name", environment.Staging, with(environment.Staging, func(b *environment.Backend) { b.Key = "shop/staging/prod.tfstate" }),
			[]string{`names environment "prod"`}},
		{"key names no environment", environment.Prod, with(environment.Prod, func(b *environment.Backend) { b.Key = "shop/terraform.tfstate" }),
			[]string{"does not name the environment", "shop/prod/terraform.tfstate"}},
		{"key with leading slash", environment.Prod, with(environment.Prod, func(b *environment.Backend) { b.Key = "/shop/prod/terraform.tfstate" }),
			[]string{`must not start or end with "/"`}},
		{"key with interpolation", environment.Prod, with(environment.Prod, func(b *environment.Backend) { b.Key = "shop/${prod}/x" }),
			[]string{"has characters outside"}},
		{"bad bucket", environment.Prod, with(environment.Prod, func(b *environment.Backend) { b.Bucket = "Acme_State" }),
			[]string{`bucket "Acme_State" is not a valid S3 bucket name`}},
		{"bad region", environment.Prod, with(environment.Prod, func(b *environment.Backend) { b.Region = "Ireland" }),
			[]string{`region "Ireland" is not an AWS region`}},
		{"no locking", environment.Prod, with(environment.Prod, func(b *environment.Backend) { b.UseLockfile = false }),
			[]string{"backend of prod: no state locking"}},
		{"backup prefix of another environment", environment.Prod, with(environment.Prod, func(b *environment.Backend) { b.BackupPrefix = "backups/staging/" }),
			[]string{`backup_prefix "backups/staging/" names environment "staging"`}},
		{"state under backup prefix", environment.Prod, with(environment.Prod, func(b *environment.Backend) {
			b.Key, b.BackupPrefix = "prod/backups/terraform.tfstate", "prod/backups/"
		}), []string{"lies under backup_prefix"}},
		{"unknown environment", "qa", goodBackend("qa"), []string{`unknown environment "qa"`, "preview, test, staging, prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateBackend(tt.env, tt.backend)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got none", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestValidateBackends(t *testing.T) {
	all := map[environment.Name]environment.Backend{}
	for _, env := range environment.Names {
		all[env] = goodBackend(env)
	}
	if err := ValidateBackends(all); err != nil {
		t.Fatalf("distinct keys: want valid, got %v", err)
	}

	// The built-in defaults (key "<env>/terraform.tfstate", backups/<env>/) must pass once a
	// bucket and region are set.
	defaults := map[environment.Name]environment.Backend{}
	for _, env := range environment.Names {
		p, err := environment.Default(env)
		if err != nil {
			t.Fatal(err)
		}
		p.Backend.Bucket, p.Backend.Region = "acme-tfstate", "us-east-1"
		defaults[env] = p.Backend
	}
	if err := ValidateBackends(defaults); err != nil {
		t.Fatalf("built-in defaults: want valid, got %v", err)
	}

	shared := map[environment.Name]environment.Backend{
		environment.Staging: goodBackend(environment.Staging),
		environment.Prod:    goodBackend(environment.Staging),
	}
	err := ValidateBackends(shared)
	if err == nil {
		t.Fatal("two environments on one key: want error, got none")
	}
	for _, want := range []string{
		"prod and staging share the state key acme-tfstate/shop/staging/terraform.tfstate",
		`backend of prod: key "shop/staging/terraform.tfstate" names environment "staging"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	// Same key in different buckets is two different states.
	other := goodBackend(environment.Prod)
	other.Bucket = "acme-tfstate-dr"
	if err := ValidateBackends(map[environment.Name]environment.Backend{environment.Prod: other, environment.Test: goodBackend(environment.Test)}); err != nil {
		t.Fatalf("different buckets: want valid, got %v", err)
	}
}

func TestTFBackend(t *testing.T) {
	b := goodBackend(environment.Prod)
	got := TFBackend(b, Endpoints{})
	want := `bucket       = "acme-tfstate"
key          = "shop/prod/terraform.tfstate"
region       = "eu-west-1"
encrypt      = true
use_lockfile = true
`
	if got != want {
		t.Errorf("real AWS:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "skip_") {
		t.Error("real AWS backend must not skip validation")
	}

	emu := TFBackend(b, Endpoints{S3: "http://127.0.0.1:5000", STS: "http://127.0.0.1:5000"})
	for _, want := range []string{
		`endpoints                   = { s3 = "http://127.0.0.1:5000", sts = "http://127.0.0.1:5000" }`,
		"use_path_style              = true",
		"skip_credentials_validation = true",
		"skip_requesting_account_id  = true",
	} {
		if !strings.Contains(emu, want) {
			t.Errorf("emulator backend lacks %q:\n%s", want, emu)
		}
	}
}

func TestInitArgsRefusesBadBackend(t *testing.T) {
	bad := goodBackend(environment.Prod)
	bad.Key = "shop/test/terraform.tfstate"
	if args, err := InitArgs(environment.Prod, bad, "prod.s3.tfbackend"); err == nil {
		t.Fatalf("want refusal before init, got %q", args)
	}
	args, err := InitArgs(environment.Prod, goodBackend(environment.Prod), "prod.s3.tfbackend")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(args, " "); !strings.Contains(got, "-backend-config=prod.s3.tfbackend") {
		t.Errorf("init args %q lack the backend file", got)
	}
}

func TestBackupPrefixWithoutEnvironment(t *testing.T) {
	b := goodBackend(environment.Prod)
	b.BackupPrefix = "backups/"
	err := ValidateBackend(environment.Prod, b)
	if err == nil || !strings.Contains(err.Error(), `use e.g. "backups/prod/"`) {
		t.Fatalf("want a suggestion of backups/prod/, got %v", err)
	}
}
