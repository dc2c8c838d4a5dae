package providertest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestPrune(t *testing.T) {
	root := t.TempDir()
	old := time.Now().Add(-unusedFor - time.Hour)
	entries := []struct {
		name  string
		rc    bool
		mtime time.Time
	}{
		{"current", true, old}, // being built or used now, however old
		{"stale", true, old},
		{"recent", true, time.Now().Add(-time.Hour)},
		{"unfinished", false, time.Time{}},
	}
	for _, e := range entries {
		dir := filepath.Join(root, e.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if !e.rc {
			continue
		}
		rc := filepath.Join(dir, "terraform.rc")
		if err := os.WriteFile(rc, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(rc, e.mtime, e.mtime); err != nil {
			t.Fatal(err)
		}
	}
	prune(root, "current")
	left, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if want := []string{"current", "recent"}; !slices.Equal(names, want) {
		t.Fatalf("after prune: %v, want %v", names, want)
	}
}
