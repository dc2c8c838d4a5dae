package state

import (
	"errors"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/plan"
)

func TestReadDrift(t *testing.T) {
	drifted := readTestdata(t, "drift-refresh-only-exit2.json")
	clean := readTestdata(t, "drift-refresh-only-exit0.json")
	lockOut := string(readTestdata(t, "lock-s3-lockfile.txt"))
	tests := []struct {
		name     string
		exit     int
		output   string
		plan     []byte
		status   DriftStatus
		changes  string // address:action:attrs;...
		wantErr  string
		lockHeld bool
	}{
		{"no drift", 0, "", clean, DriftNone, "", "", false},
		{"drift", 2, "", drifted, DriftFound, "aws_s3_bucket.assets:delete:;aws_s3_bucket.logs:update:tags", "", false},
		{"exit 0 but the plan shows drift", 0, "", drifted, DriftFound, "aws_s3_bucket.assets:delete:;aws_s3_bucket.logs:update:tags", "", false},
		{"failed check", 1, "Refreshing...\nError: No valid credential sources found\n\nPlease see https://...", nil, DriftError, "", "", false},
		{"held lock", 1, lockOut, nil, "", "", "state of prod is locked", true},
		{"unknown exit code", 3, "", nil, "", "", "terraform exited 3; -detailed-exitcode gives 0, 1 or 2", false},
		{"drift without plan", 2, "", nil, "", "", "exit 2 but no plan JSON", false},
		{"plan not JSON", 2, "", []byte("Error: oops"), "", "", "drift check of prod: not JSON", false},
		{"state instead of plan", 2, "", readTestdata(t, "state-serial4.tfstate"), "", "", "this is a Terraform state, not a plan", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ReadDrift(environment.Prod, tt.exit, tt.output, tt.plan)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var le *LockError
				if errors.As(err, &le) != tt.lockHeld {
					t.Errorf("lock error = %v, want %v", errors.As(err, &le), tt.lockHeld)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range d.Changes {
				got = append(got, c.Address+":"+string(c.Kind)+":"+strings.Join(c.Attributes, ","))
			}
			if d.Status != tt.status || strings.Join(got, ";") != tt.changes {
				t.Errorf("status %s changes %q, want %s %q", d.Status, got, tt.status, tt.changes)
			}
			if d.Status == DriftError && !strings.HasPrefix(d.Error, "Error: No valid credential sources found") {
				t.Errorf("error = %q", d.Error)
			}
			if md := d.Markdown(); !strings.HasPrefix(md, "## Drift: prod\n") {
				t.Errorf("markdown:\n%s", md)
			}
		})
	}
}

// TestDriftErr: the job's exit status. A failed check must fail even without
// --fail-on-drift, or a scheduled check that never runs reads as "no drift" for ever.
func TestDriftErr(t *testing.T) {
	drifted := Drift{Env: environment.Prod, Status: DriftFound, Changes: []DriftChange{{}, {}}}
	failed := Drift{Env: environment.Prod, Status: DriftError, Error: "Error: No valid credential sources found"}
	clean := Drift{Env: environment.Prod, Status: DriftNone}
	tests := []struct {
		name        string
		d           Drift
		failOnDrift bool
		wantErr     string // "" for none
	}{
		{"clean", clean, true, ""},
		{"drift, reported only", drifted, false, ""},
		{"drift, failing", drifted, true, "prod drifted: 2 resource(s) changed outside Terraform"},
		{"failed check", failed, false, "drift check of prod failed: Error: No valid credential sources found"},
		{"failed check, failing on drift", failed, true, "drift check of prod failed"},
		{"unknown status", Drift{Env: environment.Prod, Status: "maybe"}, false, `status "maybe" is not one of none, drift, error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Err(tt.failOnDrift)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Err(%v) = %v, want nil", tt.failOnDrift, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Err(%v) = %v, want %q", tt.failOnDrift, err, tt.wantErr)
			}
		})
	}
}

// TestDriftErrorMarkdown: Terraform's error is shown in a code block that its own text
// cannot close, whatever backticks it quotes.
func TestDriftErrorMarkdown(t *testing.T) {
	for _, tt := range []struct{ text, fence string }{
		{"Error: No valid credential sources found", "```"},
		{"Error: bad value \"```\n# injected heading\"", "````"},
	} {
		md := Drift{Env: environment.Test, Status: DriftError, Error: tt.text}.Markdown()
		want := "The drift check failed:\n\n" + tt.fence + "\n" + tt.text + "\n" + tt.fence + "\n"
		if !strings.HasSuffix(md, want) {
			t.Errorf("markdown:\n%s\nwant it to end with:\n%s", md, want)
		}
	}
}

// TestDriftMarkdownAddressIsInert: a for_each key may hold a backtick, a pipe or a line
// break; the address stays one code span in one table cell.
func TestDriftMarkdownAddressIsInert(t *testing.T) {
	d := Drift{Env: environment.Test, Status: DriftFound, Changes: []DriftChange{
		{Change: plan.Change{Address: "aws_s3_bucket.b[\"x`|<details>\n# y\"]", Kind: plan.Update}, Attributes: []string{"tags"}},
	}}
	want := "| update | ``aws_s3_bucket.b[\"x`\\|<details> # y\"]`` | tags |\n"
	if md := d.Markdown(); !strings.Contains(md, want) {
		t.Errorf("markdown:\n%s\nwant the row %q", md, want)
	}
}

func TestDriftArgs(t *testing.T) {
	p, err := environment.Default(environment.Prod)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(DriftArgs("drift.tfplan", append(LockArgs(p), "-var-file="+p.VarFile)...), " ")
	want := "plan -refresh-only -detailed-exitcode -input=false -no-color -out=drift.tfplan -lock=true -lock-timeout=5m0s -var-file=environments/prod.tfvars"
	if got != want {
		t.Errorf("DriftArgs = %q\nwant %q", got, want)
	}
}

func FuzzReadDrift(f *testing.F) {
	f.Add(2, "", readTestdata(f, "drift-refresh-only-exit2.json"))
	f.Add(0, "", readTestdata(f, "drift-refresh-only-exit0.json"))
	f.Add(1, string(readTestdata(f, "lock-s3-lockfile.txt")), []byte(nil))
	f.Add(1, "Refreshing...\nError: No valid credential sources found\n", []byte(nil))
	f.Fuzz(func(t *testing.T, exit int, output string, planJSON []byte) {
		const env = environment.Staging
		d, err := ReadDrift(env, exit, output, planJSON)
		if err != nil {
			// Every error says whose check it was: the drift check's, or the state lock's.
			if msg := err.Error(); !strings.Contains(msg, "drift check of staging") && !strings.Contains(msg, "state of staging") {
				t.Fatalf("error %q does not name the environment", msg)
			}
			return
		}
		if exit < 0 || exit > 2 {
			t.Fatalf("exit %d accepted as %s; -detailed-exitcode gives only 0, 1 or 2", exit, d.Status)
		}
		if d.Env != env {
			t.Errorf("env %q, want %q", d.Env, env)
		}
		if d.Changes == nil {
			t.Error("changes nil: drift.json would say null, not []")
		}
		switch d.Status {
		case DriftNone, DriftNoState:
			if len(d.Changes) > 0 {
				t.Errorf("status %s with %d changes", d.Status, len(d.Changes))
			}
		case DriftError:
			if exit != 1 || len(d.Changes) > 0 {
				t.Errorf("status %s from exit %d with %d changes", d.Status, exit, len(d.Changes))
			}
		case DriftFound:
		default:
			t.Errorf("status %q is not one of the package's", d.Status)
		}
		// Exit 1 is always a failed check, and a plan that exits 2 never reads as clean.
		if exit == 1 && d.Status != DriftError || exit == 2 && d.Status == DriftNone {
			t.Errorf("exit %d read as %s", exit, d.Status)
		}
		for i := 1; i < len(d.Changes); i++ {
			if d.Changes[i-1].Address > d.Changes[i].Address {
				t.Errorf("changes not sorted by address: %s before %s", d.Changes[i-1].Address, d.Changes[i].Address)
			}
		}
		if md := d.Markdown(); !strings.HasPrefix(md, "## Drift: staging\n") {
			t.Errorf("markdown does not name the environment:\n%s", md)
		}
	})
}

// The refresh's line names what it took in, or why it did not, on one line whatever
// Terraform printed; nothing to take in says nothing.
func TestRefreshLine(t *testing.T) {
	took := []DriftChange{{Change: plan.Change{Address: "aws_s3_bucket.logs"}, Attributes: []string{"tags", "versioning"}}}
	for _, tt := range []struct {
		name string
		took []DriftChange
		note string
		want string
	}{
		{"nothing", nil, "", ""},
		{"took in", took, "", "- The state was refreshed after the apply, taking in what the objects hold now: `aws_s3_bucket.logs` (tags, versioning)\n"},
		{"not applied", took, "aws_iam_role.app reads as gone right after the apply, so the refresh that would remove it from the state was not applied",
			"- The state was not refreshed after the apply, so the next drift check may report what the applied resources did to each other as changed outside Terraform: aws\\_iam\\_role.app reads as gone right after the apply, so the refresh that would remove it from the state was not applied\n"},
		{"failed", nil, "drift check failed in prod (exit code 1):\nError: No value for required variable", "- The state was not refreshed after the apply, so the next drift check may report what the applied resources did to each other as changed outside Terraform: drift check failed in prod (exit code 1):\n"},
	} {
		if got := RefreshLine(tt.took, tt.note); got != tt.want {
			t.Errorf("%s: RefreshLine =\n%q\nwant\n%q", tt.name, got, tt.want)
		}
	}
}
