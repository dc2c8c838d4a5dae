package plan

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// largeChanges is the size of the benchmark plan: the issue asks for at least 10,000.
const largeChanges = 10000

// largePlan returns a `terraform show -json` file with largeChanges resource changes, made
// by real Terraform (terraform_data with count, each with an object input and a trigger).
// PLAN_JSON names an existing file instead, so that peak RSS can be measured on the test
// binary alone: /usr/bin/time -v ./plan.test -test.bench=Large with PLAN_JSON set.
// The benchmark uses b.Loop, so this runs once per -count.
func largePlan(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("PLAN_JSON"); p != "" {
		return p
	}
	w := tftest.New(b, map[string]string{"main.tf": `
resource "terraform_data" "r" {
  count            = 10000
  input            = { name = "r-${count.index}", size = count.index, tags = { team = "core" } }
  triggers_replace = [count.index]
}
`})
	w.Init()
	path := filepath.Join(b.TempDir(), "plan.json")
	if err := os.WriteFile(path, w.PlanJSON(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkAnalyzeLarge reports ns/op and B/op for a 10,000-change plan, plus the plan's
// size and the peak heap in use while analysing it, both in MB. B/op counts every
// allocation, so it bounds the extra memory from above.
func BenchmarkAnalyzeLarge(b *testing.B) {
	path := largePlan(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	peak := peakHeap(func() {
		a, err := AnalyzeFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if a.Counts.Create < largeChanges {
			b.Fatalf("plan has %d creates, want %d", a.Counts.Create, largeChanges)
		}
	})
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AnalyzeFile(path); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.Size())/1e6, "plan-MB")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
}

// peakHeap runs fn while sampling the live heap and returns the highest value above the
// heap before fn started.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base, peak := m.HeapAlloc, m.HeapAlloc
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var s runtime.MemStats
		for {
			select {
			case <-done:
				return
			default:
			}
			runtime.ReadMemStats(&s)
			peak = max(peak, s.HeapAlloc)
			runtime.Gosched()
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak - base
}
