package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestReadState(t *testing.T) {
	real := readTestdata(t, "state-serial4.tfstate")
	tests := []struct {
		name    string
		data    string
		want    Snapshot
		wantErr string
	}{
		{"real state", string(real), Snapshot{
			Version: 4, TerraformVersion: "1.11.4", Serial: 4, Lineage: "49367edf-2503-605e-e815-0cb0e1029e2e",
			Addresses: []string{"terraform_data.slow"}, Managed: 1,
		}, ""},
		{"indexed and module resources", `{"version":4,"serial":1,"lineage":"l","resources":[
			{"mode":"managed","type":"aws_s3_bucket","name":"b","instances":[{"index_key":0},{"index_key":1}]},
			{"module":"module.net","mode":"data","type":"aws_vpc","name":"v","instances":[{"index_key":"a"}]}]}`,
			Snapshot{Version: 4, Serial: 1, Lineage: "l", Addresses: []string{
				"aws_s3_bucket.b[0]", "aws_s3_bucket.b[1]", `module.net.data.aws_vpc.v["a"]`,
			}, Managed: 2}, ""},
		{"empty pull", "  \n", Snapshot{}, "no state"},
		{"error text", "Error: Failed to load state", Snapshot{}, "not a Terraform state (JSON)"},
		{"version 3", `{"version":3,"serial":1,"lineage":"l"}`, Snapshot{}, "state format version 3 is not supported"},
		{"no lineage", `{"version":4,"serial":1}`, Snapshot{}, `no "lineage"`},
		{"no serial", `{"version":4,"lineage":"l"}`, Snapshot{}, `no "serial"`},
		{"no version", `{"serial":1,"lineage":"l"}`, Snapshot{}, `no "version"`},
		{"negative serial", `{"version":4,"serial":-1,"lineage":"l"}`, Snapshot{}, "not a Terraform state (JSON)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadState([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Addresses, ",") != strings.Join(tt.want.Addresses, ",") {
				t.Errorf("addresses = %q, want %q", got.Addresses, tt.want.Addresses)
			}
			got.Addresses, tt.want.Addresses = nil, nil
			if got.Version != tt.want.Version || got.Serial != tt.want.Serial || got.Lineage != tt.want.Lineage || got.TerraformVersion != tt.want.TerraformVersion ||
				got.Managed != tt.want.Managed {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNewBackup(t *testing.T) {
	data := readTestdata(t, "state-serial4.tfstate")
	takenAt := time.Date(2026, 11, 27, 1, 2, 3, 0, time.FixedZone("CET", 3600))
	b, err := NewBackup(environment.Prod, data, takenAt)
	if err != nil {
		t.Fatal(err)
	}
	if b.Serial != 4 || b.Lineage != "49367edf-2503-605e-e815-0cb0e1029e2e" || b.Resources != 1 || len(b.SHA256) != 64 {
		t.Errorf("backup = %+v", b)
	}
	wantKey := "backups/prod/20261127T000203Z-serial-4-" + b.SHA256[:8] + ".tfstate"
	if got := b.Key(""); got != wantKey {
		t.Errorf("Key(\"\") = %q, want %q", got, wantKey)
	}
	if got := b.Key("state-backups/prod"); got != "state-backups/prod/"+b.FileName() {
		t.Errorf("Key(custom) = %q", got)
	}
	at, serial, sha8, err := ParseBackupName(wantKey)
	if err != nil || !at.Equal(takenAt) || serial != 4 || sha8 != b.SHA256[:8] {
		t.Errorf("ParseBackupName = %v %d %s %v", at, serial, sha8, err)
	}
	if err := b.Verify(data); err != nil {
		t.Errorf("Verify(original) = %v", err)
	}
	tampered := bytes.Replace(data, []byte(`"w"`), []byte(`"x"`), 1)
	if err := b.Verify(tampered); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("Verify(tampered) = %v, want checksum mismatch", err)
	}
	if _, err := NewBackup(environment.Prod, nil, takenAt); !errors.Is(err, ErrNoState) {
		t.Errorf("empty state: err = %v, want ErrNoState", err)
	}
	if _, err := NewBackup("qa", data, takenAt); err == nil || !strings.Contains(err.Error(), `backup: unknown environment "qa": valid environments are preview, test, staging, prod`) {
		t.Errorf("unknown env: err = %v, want one naming the input and the valid environments", err)
	}
	if _, _, _, err := ParseBackupName("backups/prod/latest.tfstate"); err == nil {
		t.Error("ParseBackupName accepted a free-form name")
	}
}

// withSerial returns the fixture state with another serial and lineage, as JSON would
// have it after more applies.
func withSerial(t *testing.T, data []byte, serial int, lineage string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["serial"] = serial
	if lineage != "" {
		m["lineage"] = lineage
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPrepareRestore(t *testing.T) {
	backup := readTestdata(t, "state-serial4.tfstate") // serial 4
	newer := withSerial(t, backup, 9, "")
	older := withSerial(t, backup, 2, "")
	foreign := withSerial(t, backup, 9, "11111111-2222-3333-4444-555555555555")

	t.Run("rollback bumps serial above current", func(t *testing.T) {
		r, err := PrepareRestore(environment.Prod, "", newer, backup)
		if err != nil {
			t.Fatal(err)
		}
		if r.SerialDelta != -5 || r.PushSerial != 10 || r.Current == nil || r.Current.Serial != 9 {
			t.Errorf("restore = %+v", r)
		}
		pushed, err := ReadState(r.State)
		if err != nil {
			t.Fatal(err)
		}
		if pushed.Serial != 10 || pushed.Lineage != r.Backup.Lineage {
			t.Errorf("pushed state serial %d lineage %s", pushed.Serial, pushed.Lineage)
		}
		// Only the serial changed, byte for byte.
		if want := bytes.Replace(backup, []byte(`"serial": 4,`), []byte(`"serial": 10,`), 1); !bytes.Equal(r.State, want) {
			t.Errorf("pushed state differs from the backup beyond the serial:\n%s", r.State)
		}
		if s := r.Summary(); !strings.Contains(s, "backup serial 4, current serial 9 (-5); pushed as serial 10") {
			t.Errorf("summary:\n%s", s)
		}
	})
	t.Run("backup newer than current is pushed as is", func(t *testing.T) {
		r, err := PrepareRestore(environment.Prod, "", older, backup)
		if err != nil {
			t.Fatal(err)
		}
		if r.SerialDelta != 2 || r.PushSerial != 4 || !bytes.Equal(r.State, backup) {
			t.Errorf("restore = %+v", r)
		}
	})
	t.Run("same serial still moves forward", func(t *testing.T) {
		r, err := PrepareRestore(environment.Prod, "", backup, backup)
		if err != nil {
			t.Fatal(err)
		}
		if r.SerialDelta != 0 || r.PushSerial != 5 || len(r.Swapped) != 0 || len(r.Backup.ids) == 0 {
			t.Errorf("restore = %+v; want no object swapped between a state and itself", r)
		}
	})
	t.Run("no current state", func(t *testing.T) {
		r, err := PrepareRestore(environment.Prod, "", nil, backup)
		if err != nil {
			t.Fatal(err)
		}
		if r.Current != nil || r.PushSerial != 4 || !bytes.Equal(r.State, backup) {
			t.Errorf("restore = %+v", r)
		}
		if !strings.Contains(r.Summary(), "current state: none") {
			t.Errorf("summary:\n%s", r.Summary())
		}
	})
	t.Run("foreign lineage refused", func(t *testing.T) {
		_, err := PrepareRestore(environment.Prod, "", foreign, backup)
		var le *LineageError
		if !errors.As(err, &le) {
			t.Fatalf("err = %v, want *LineageError", err)
		}
		for _, want := range []string{"49367edf-2503-605e-e815-0cb0e1029e2e", "11111111-2222-3333-4444-555555555555", "restore refused"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
	})
	t.Run("resource differences", func(t *testing.T) {
		var m map[string]any
		if err := json.Unmarshal(newer, &m); err != nil {
			t.Fatal(err)
		}
		res := m["resources"].([]any)[0].(map[string]any)
		res["name"] = "fast"
		current, _ := json.Marshal(m)
		r, err := PrepareRestore(environment.Prod, "", current, backup)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(r.Restored, ",") != "terraform_data.slow" || strings.Join(r.Dropped, ",") != "terraform_data.fast" {
			t.Errorf("restored %q dropped %q", r.Restored, r.Dropped)
		}
		if s := r.Summary(); !strings.Contains(s, "- terraform_data.fast (leaves state; the real resource is not destroyed)") {
			t.Errorf("summary:\n%s", s)
		}
	})
	t.Run("bad inputs", func(t *testing.T) {
		if _, err := PrepareRestore(environment.Prod, "", newer, []byte("oops")); err == nil || !strings.Contains(err.Error(), "restore prod: backup: not a Terraform state") {
			t.Errorf("bad backup: %v", err)
		}
		if _, err := PrepareRestore(environment.Prod, "", []byte("<html>"), backup); err == nil || !strings.Contains(err.Error(), "restore prod: current state") {
			t.Errorf("bad current: %v", err)
		}
		if _, err := PrepareRestore("qa", "", newer, backup); err == nil || !strings.Contains(err.Error(), `restore: unknown environment "qa": valid environments are preview, test, staging, prod`) {
			t.Errorf("unknown env: err = %v, want one naming the input and the valid environments", err)
		}
	})
}

func FuzzReadState(f *testing.F) {
	f.Add(readTestdata(f, "state-serial4.tfstate"))
	f.Add([]byte(`{"version":4,"serial":1,"lineage":"l","resources":[{"mode":"managed","type":"t","name":"n","instances":[{"index_key":1}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, err := ReadState(data)
		if err != nil {
			return
		}
		if snap.Lineage == "" || snap.Version != 4 {
			t.Fatalf("accepted %+v", snap)
		}
		bumped, err := setSerial(data, snap.Serial+1)
		if err != nil {
			return // e.g. duplicate keys
		}
		again, err := ReadState(bumped)
		if err != nil {
			t.Fatalf("bumped state unreadable: %v\n%s", err, bumped)
		}
		if again.Serial != snap.Serial+1 && snap.Serial+1 != 0 {
			t.Fatalf("serial %d after bump of %d", again.Serial, snap.Serial)
		}
	})
}

func TestBackupSummaryLine(t *testing.T) {
	b := Backup{Serial: 4, Lineage: "l-1", SHA256: "abc", Resources: 3, TakenAt: time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC), Env: "prod"}
	if got := b.SummaryLine(""); got != "- State backup: none needed, the environment has no state yet\n" {
		t.Errorf("no state: %q", got)
	}
	got := b.SummaryLine("backups/prod/x.tfstate")
	for _, want := range []string{"serial 4", "lineage `l-1`", "sha256 `abc`", "3 resources", "kept at `backups/prod/x.tfstate`", "returned as `backups/" + b.FileName() + "`"} {
		if !strings.Contains(got, want) {
			t.Errorf("line lacks %q: %s", want, got)
		}
	}
}
