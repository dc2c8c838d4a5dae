// Package pipeline decides how one environment's pipeline runs and what its outcome is:
// which steps a profile asks for, how a step that could not run counts, how the steps'
// verdicts combine into one, the result.json that `verdict` reads back, and the `dagger
// call` line that reproduces a run. The Dagger module runs the steps; every choice it
// makes about them is made here, where it is tested without an engine.
package pipeline
