package findings

// Result is what a set of findings means for one environment.
type Result struct {
	Threshold  Severity
	Failing    []Finding // at or above Threshold and not suppressed
	Suppressed []Finding
	Total      int
}

// Passed reports whether no finding fails the threshold.
func (r Result) Passed() bool { return len(r.Failing) == 0 }

// Evaluate splits findings by an environment's threshold. A threshold of Unknown would
// fail on everything, including findings whose tool gave no severity, so it is read as
// Info: every finding with a severity fails.
func Evaluate(fs []Finding, threshold Severity) Result {
	if threshold == Unknown {
		threshold = Info
	}
	r := Result{Threshold: threshold, Total: len(fs)}
	for _, f := range fs {
		switch {
		case f.Suppressed != "":
			r.Suppressed = append(r.Suppressed, f)
		case f.Severity >= threshold:
			r.Failing = append(r.Failing, f)
		}
	}
	Sort(r.Failing)
	Sort(r.Suppressed)
	return r
}
