package stacks

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func selected(dir string, deps ...string) Selected {
	return Selected{Stack: Stack{Dir: dir, DependsOn: deps}}
}

// A chain a <- b <- d beside an independent c, and a diamond: what blocks holds exactly
// what depends on it, however deep; every stack runs once, after its dependencies.
func TestSchedule(t *testing.T) {
	chain := []Selected{selected("a"), selected("c"), selected("b", "a"), selected("d", "b")}
	diamond := []Selected{selected("net"), selected("db", "net"), selected("dns", "net"), selected("app", "db", "dns", "outside")}
	for _, tt := range []struct {
		name     string
		list     []Selected
		blocks   []string
		wantHeld map[string][]string
	}{
		{"nothing blocks", chain, nil, map[string][]string{}},
		{"the root blocks: the chain is held, c is not", chain, []string{"a"}, map[string][]string{"b": {"a"}, "d": {"b"}}},
		{"the middle blocks", chain, []string{"b"}, map[string][]string{"d": {"b"}}},
		{"a leaf blocks", chain, []string{"d", "c"}, map[string][]string{}},
		{"diamond: one side blocks", diamond, []string{"db"}, map[string][]string{"app": {"db"}}},
		{"diamond: the base blocks", diamond, []string{"net"}, map[string][]string{"db": {"net"}, "dns": {"net"}, "app": {"db", "dns"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var order []string
			held := map[string][]string{}
			err := Schedule(tt.list, 2, func(i int, h []string) bool {
				s := tt.list[i]
				mu.Lock()
				defer mu.Unlock()
				for _, d := range s.DependsOn {
					if d != "outside" && !slices.Contains(order, d) {
						t.Errorf("%s ran before its dependency %s", s.Dir, d)
					}
				}
				order = append(order, s.Dir)
				if len(h) > 0 {
					held[s.Dir] = h
				}
				return slices.Contains(tt.blocks, s.Dir)
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(order) != len(tt.list) {
				t.Errorf("ran %v, want each of %d stacks once", order, len(tt.list))
			}
			if !maps.EqualFunc(held, tt.wantHeld, slices.Equal[[]string]) {
				t.Errorf("held %v, want %v", held, tt.wantHeld)
			}
		})
	}
}

// At most maxParallel stacks run at once, and independent stacks do run together.
func TestScheduleBound(t *testing.T) {
	var list []Selected
	for i := range 12 {
		list = append(list, selected(strings.Repeat("s", i+1)))
	}
	for _, limit := range []int{1, 3} {
		var now, most atomic.Int32
		err := Schedule(list, limit, func(int, []string) bool {
			n := now.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(20 * time.Millisecond) // long enough for the others to start, if allowed
			now.Add(-1)
			return false
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := most.Load(); got != int32(limit) {
			t.Errorf("max parallel %d: %d ran at once", limit, got)
		}
	}
}

func TestScheduleRefuses(t *testing.T) {
	ran := false
	run := func(int, []string) bool { ran = true; return false }
	for _, tt := range []struct {
		name  string
		list  []Selected
		limit int
		want  string
	}{
		{"no slot", []Selected{selected("a")}, 0, "--max-parallel is 0: give at least 1"},
		{"a dependency after its user", []Selected{selected("b", "a"), selected("a")}, 2, "stack b depends on a, which does not come before it"},
		{"a stack on itself", []Selected{selected("a", "a")}, 2, "stack a depends on a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Schedule(tt.list, tt.limit, run)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
			if ran {
				t.Error("a stack ran")
			}
		})
	}
}
