package state

import (
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
)

func TestShownOnly(t *testing.T) {
	got := ShownOnly("dagger call restore-state --env=prod --from=latest --confirm")
	if !strings.Contains(got, "Nothing changed. To push this backup, run:") || !strings.Contains(got, "```sh\ndagger call restore-state --env=prod --from=latest --confirm\n```") {
		t.Errorf("ShownOnly = %q", got)
	}
}

func TestCheckRestoreSource(t *testing.T) {
	for _, tt := range []struct {
		from     string
		fromFile bool
		ok       bool
	}{
		{from: "latest", ok: true},
		{from: "backups/prod/x.tfstate", ok: true},
		{fromFile: true, ok: true},
		{},
		{from: "latest", fromFile: true},
	} {
		err := CheckRestoreSource(tt.from, tt.fromFile)
		if tt.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), "give exactly one of --from=<backup key or latest> and --from-file=<backup file>") {
			t.Errorf("CheckRestoreSource(%q, %v) = %v", tt.from, tt.fromFile, err)
		}
	}
}

// TestRestoreReport: restore-state's answer on a real state, shown only and pushed.
func TestRestoreReport(t *testing.T) {
	backup := readTestdata(t, "state-serial4.tfstate")
	r, err := PrepareRestore(environment.Prod, "", withSerial(t, backup, 9, ""), backup)
	if err != nil {
		t.Fatal(err)
	}
	const push = "dagger call restore-state --env=prod --from=latest --confirm"
	for _, tt := range []struct {
		name    string
		pushed  bool
		want    []string
		wantNot []string
	}{
		{name: "shown only", want: []string{r.Summary(), "Nothing changed. To push this backup, run:", "```sh\n" + push + "\n```"}, wantNot: []string{"Restored:"}},
		{name: "pushed", pushed: true, want: []string{r.Summary(), "\nRestored: pushed as serial 10 (the backend may record it one higher: Terraform counts its own write).\n"}, wantNot: []string{"Nothing changed", push}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Report(tt.pushed, push)
			if !strings.HasPrefix(got, r.Summary()) {
				t.Errorf("the report does not start with the comparison:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("report lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("report has %q:\n%s", w, got)
				}
			}
		})
	}
	// Into an empty backend Terraform gives the state its own lineage and serial: the
	// report names neither the backup's serial nor a number of its own.
	empty, err := PrepareRestore(environment.Prod, "", nil, backup)
	if err != nil {
		t.Fatal(err)
	}
	if got := empty.Report(true, push); strings.Contains(got, "pushed as serial") || !strings.Contains(got, "Restored into the empty backend") {
		t.Errorf("report of a restore into an empty backend:\n%s", got)
	}
}
